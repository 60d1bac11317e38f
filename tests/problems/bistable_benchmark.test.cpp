// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/problems/bistable_benchmark.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace {
// A reduced version of the paper's protocol (d = 2, 500 cells, five snapshots) that runs in well under a minute.
upfi::problems::bistable_benchmark_options small_run() {
  upfi::problems::bistable_benchmark_options o;
  o.hidden = {32, 32};
  o.training.iterations = 400;
  o.training.batch = 128;
  o.training.report_every = 100;
  o.score_samples = 1000;
  o.path_count = 200;
  o.fate_queries = 40;
  o.fate_paths = 100;
  o.data_seed = 1000;
  return o;
}
}  // namespace

TEST_SUITE("problems") {
  TEST_CASE("bistable benchmark: UPFI's fates correlate with the truth and beat PFI's [slow]") {
    const auto o = small_run();
    const auto upfi = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::upfi, o);
    const auto pfi = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::pfi, o);
    MESSAGE("UPFI: energy " << upfi.path_energy << ", cosine " << upfi.force.cosine << ", fate "
                            << upfi.fate_correlation << " (nearest region now: " << upfi.fate_nearest.correlation
                            << "; undecided " << upfi.undecided_queries << ": " << upfi.fate_undecided.correlation
                            << " vs " << upfi.fate_nearest_undecided.correlation << "), growth corr "
                            << upfi.growth_correlation << " (" << upfi.training_seconds << " s); PFI: energy "
                            << pfi.path_energy << ", cosine " << pfi.force.cosine << ", fate " << pfi.fate_correlation
                            << " (" << pfi.training_seconds << " s)");
    REQUIRE(upfi.cells.size() == 5);
    CHECK(upfi.cells.back() > 10 * upfi.cells.front());  // the fast branch divides: the data carry growth
    // the paper's failure mode: PFI explains the growth by a drift toward the fast-dividing branch
    CHECK(upfi.fate_correlation > 0.9);
    CHECK(upfi.fate_correlation > pfi.fate_correlation + 0.1);
    CHECK(upfi.force.cosine < 0.15);  // the drift direction at the data (paper: 0.07 +- 0.02 after 5000 iterations)
    // the fitted growth follows the true birth rate 2.5 (1 + tanh 2 x_0); PFI has none
    CHECK(upfi.growth_correlation > 0.8);
    CHECK(pfi.growth_correlation == 0.0);
    // by symmetry half the true paths end at x0 > 0 (200 paths: sd 0.035). At this short schedule both models send
    // most of theirs there (about 0.95); the full protocol is needed for UPFI's balance (docs/results.md)
    MESSAGE("paths ending at x0 > 0: true " << upfi.branch_fraction_true << ", UPFI " << upfi.branch_fraction_model
                                            << ", PFI " << pfi.branch_fraction_model);
    CHECK(std::abs(upfi.branch_fraction_true - 0.5) < 0.15);
    CHECK(upfi.branch_fraction_true == pfi.branch_fraction_true);  // the same true paths
    for (const double f : {upfi.branch_fraction_model, pfi.branch_fraction_model}) CHECK((f >= 0 && f <= 1));
  }

  TEST_CASE("bistable benchmark: the training history is reported and the method names are the paper's") {
    // bookkeeping only: few cells and a coarse simulation step keep it fast under the sanitizers
    auto o = small_run();
    o.cells = 100;
    o.simulation_dt = 0.01;
    o.score_samples = 200;
    o.training.iterations = 4;
    o.training.batch = 64;
    o.training.report_every = 2;
    o.path_count = 20;
    o.fate_queries = 5;
    o.fate_paths = 10;
    long calls = 0;
    const auto r = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, o,
                                                          [&](const upfi::infer::flow_progress&) { ++calls; });
    CHECK(calls == 2);
    CHECK(r.report.history.size() == 2);
    CHECK(r.path_energy > 0);
    CHECK(std::abs(r.growth_correlation) <= 1.0);  // TIGON++ has growth
    // the per-snapshot force errors pool to the reported ones: cell-weighted means over the snapshots
    REQUIRE(r.force_per_snapshot.size() == r.cells.size());
    double cosine = 0, l2 = 0, cells = 0;
    for (std::size_t k = 0; k < r.cells.size(); ++k) {
      const auto n = static_cast<double>(r.cells[k]);
      cosine += n * r.force_per_snapshot[k].cosine;
      l2 += n * r.force_per_snapshot[k].mean_norm;
      cells += n;
    }
    CHECK(cosine / cells == doctest::Approx(r.force.cosine).epsilon(1e-12));
    CHECK(l2 / cells == doctest::Approx(r.force.mean_norm).epsilon(1e-12));
    CHECK(r.force_per_snapshot.front().mean_norm != r.force_per_snapshot.back().mean_norm);
    // the fitted drift at the data is what the force errors scored: the truth's drift on each snapshot against it
    const auto data = upfi::problems::bistable_snapshots(o);
    REQUIRE(r.drift_at_data.size() == data.size());
    for (std::size_t k = 0; k < data.size(); ++k) {
      Eigen::MatrixXd f;
      upfi::problems::detail::drift_on_cloud(upfi::sde::bistable(2), data.time(k), data.cloud(k), f);
      CHECK(upfi::metrics::force_errors(f, r.drift_at_data[k]).mean_norm == r.force_per_snapshot[k].mean_norm);
    }
    CHECK_THROWS_WITH_AS((void)upfi::problems::detail::force_errors_by_snapshot({Eigen::MatrixXd::Ones(2, 2)}, {}),
                         "upfi::problems::force_errors_by_snapshot: 1 reference and 0 fitted fields",
                         std::invalid_argument);
    CHECK(std::string(upfi::problems::method_name(upfi::problems::bistable_method::fitness_ode)) == "fitness-ODE");
    CHECK(upfi::problems::bistable_method_named("fitness") == upfi::problems::bistable_method::fitness_ode);
    CHECK(upfi::problems::bistable_method_named("tigon") == upfi::problems::bistable_method::tigon);
    CHECK_THROWS_WITH_AS((void)upfi::problems::bistable_method_named("TIGON"),
                         "upfi::problems::bistable_method_named: unknown method 'TIGON' (upfi, pfi, tigon, fitness)",
                         std::invalid_argument);
    CHECK(r.model.meta("activation") == "silu");
    // the hidden activation reaches the networks: the same seeds give another fit, and the model file records it
    auto relu = o;
    relu.hidden_activation = upfi::nn::activation::relu;
    const auto with_relu = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, relu);
    CHECK(with_relu.model.meta("activation") == "relu");
    CHECK(with_relu.path_energy != r.path_energy);
    CHECK(with_relu.force.mean_norm != r.force.mean_norm);
    // the model file records the score: none for the deterministic baselines; the kernel score's sample cap; the DSM
    // network's widths, learning rate and length (the options reach the score)
    CHECK(r.model.meta("score") == "none");
    auto stochastic = o;
    stochastic.training.iterations = 2;
    stochastic.path_count = 10;
    stochastic.fate_queries = 2;
    stochastic.fate_paths = 4;
    const auto kernel = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::pfi, stochastic);
    CHECK(kernel.model.meta("score") == "kernel, at most 200 samples per snapshot");
    stochastic.dsm_iterations = 3;
    stochastic.score_hidden = {8, 4};
    stochastic.score_learning_rate = 1e-3;
    const auto dsm = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::upfi, stochastic);
    CHECK(dsm.model.meta("score") == "dsm 8,4, lr 0.001, 3 iterations, ensemble 1");
    CHECK(std::isfinite(dsm.path_energy));
    // the exact score (an oracle from the Fokker-Planck grid) reaches the fit: another fit than the kernel score's
    auto exact = stochastic;
    exact.dsm_iterations = 0;
    exact.exact_score_cells = 48;
    const auto oracle = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::pfi, exact);
    CHECK(oracle.model.meta("score") == "exact (Fokker-Planck grid, 48 cells per axis on [-2.4, 2.4], 49 frames)");
    CHECK(std::isfinite(oracle.path_energy));
    CHECK(oracle.force.mean_norm != kernel.force.mean_norm);
    exact.dimension = 4;
    CHECK_THROWS_WITH_AS((void)upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::upfi, exact),
                         doctest::Contains("the exact score needs cells >= 0, d <= 3 and no DSM score"),
                         std::invalid_argument);
    // fates from the first inner snapshot only: its queries, one row each
    o.fate_snapshots = {1};
    const auto first = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, o);
    CHECK(first.fates_true.size() == 5);
    CHECK(r.fates_true.size() == 15);  // 5 queries at each of the 3 inner snapshots
    CHECK(first.fates_true == r.fates_true.head(5));
    o.fate_snapshots = {4};  // the last snapshot is not inner
    CHECK_THROWS_WITH_AS((void)upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::upfi, o),
                         doctest::Contains("fate snapshot 4 is not an inner snapshot"), std::invalid_argument);
    o.fate_snapshots.clear();
    // restarts: member 0 is the single fit (same seed), every member's parameters are stored, and the evaluated
    // model is their average (other metrics than either member's)
    auto twice = o;
    twice.restarts = 2;
    const auto avg = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, twice);
    CHECK(avg.model.meta("restarts") == "2");
    REQUIRE(avg.model.has_array("parameters_1"));
    CHECK(avg.model.array("parameters") == r.model.array("parameters"));
    CHECK(avg.model.array("parameters_1") != r.model.array("parameters"));
    CHECK(avg.restart_losses.size() == 2);
    CHECK(avg.restart_losses.front() == r.restart_losses.front());
    CHECK(avg.force.mean_norm != r.force.mean_norm);
    // selection: only the member with the lowest objective on common minibatches is kept and evaluated
    auto pick = twice;
    pick.select_restart = true;
    pick.restart_selection_batches = 3;
    const auto chosen = upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, pick);
    REQUIRE(chosen.selection_losses.size() == 2);
    const int best = chosen.selection_losses[0] <= chosen.selection_losses[1] ? 0 : 1;
    MESSAGE("selection losses " << chosen.selection_losses[0] << ", " << chosen.selection_losses[1]);
    CHECK(chosen.selected_restart == best);
    CHECK(chosen.model.meta("selected_restart") == std::to_string(best));
    CHECK_FALSE(chosen.model.has_array("parameters_1"));
    CHECK(chosen.model.array("parameters") == avg.model.array(best == 0 ? "parameters" : "parameters_1"));
    CHECK(chosen.restart_losses == avg.restart_losses);
    CHECK((chosen.force.mean_norm == r.force.mean_norm) == (best == 0));  // member 0 is the single fit
    CHECK(avg.selected_restart == -1);
    CHECK(avg.selection_losses.empty());
    pick.restart_selection_batches = 0;
    CHECK_THROWS_WITH_AS((void)upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, pick),
                         doctest::Contains("restart_selection_batches = 0"), std::invalid_argument);
    twice.restarts = 0;
    CHECK_THROWS_WITH_AS((void)upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::tigon, twice),
                         doctest::Contains("restarts = 0"), std::invalid_argument);
    o.dimension = 1;
    CHECK_THROWS_AS((void)upfi::problems::run_bistable_benchmark(upfi::problems::bistable_method::upfi, o),
                    std::invalid_argument);
  }
  TEST_CASE("bistable benchmark: bistable_density is the data's population without sampling") {
    auto grid = upfi::problems::bistable_density(2, 96);
    CHECK(grid.time() == 0);
    CHECK(grid.mass() == doctest::Approx(1).epsilon(1e-12));
    CHECK(grid.mean().cwiseAbs().maxCoeff() < 1e-12);
    CHECK((grid.covariance() - 0.01 * Eigen::Matrix2d::Identity()).cwiseAbs().maxCoeff() < 1e-3);
    auto o = small_run();
    o.cells = 1000;
    o.snapshots = 3;  // t = 0, 0.5, 1
    o.simulation_dt = 0.01;
    const auto data = upfi::problems::bistable_snapshots(o);
    grid.advance_to(0.5);
    // a branching realisation from 1000 cells scatters by about 3 % around the expected mass (4.49), and dividing with
    // probability b dt per step grows it by (1 + b dt) instead of exp(b dt): about 3 % less at dt = 0.01 (measured
    // 4.21, 6 % low)
    MESSAGE("mass at t = 0.5: counted " << data.relative_mass(1) << ", expected " << grid.mass());
    CHECK(data.relative_mass(1) / grid.mass() == doctest::Approx(1).epsilon(0.1));
    CHECK_THROWS_WITH_AS((void)upfi::problems::bistable_density(4, 10), doctest::Contains("dimension 4"),
                         std::invalid_argument);
  }
}
