// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/problems/network_benchmark.hpp>

#include <doctest/doctest.h>

#include <cmath>

namespace {
// The plumbing at toy size: a handful of cells, snapshots, iterations and paths (seconds).
upfi::problems::network_benchmark_options toy_run() {
  upfi::problems::network_benchmark_options o;
  o.cells = 120;
  o.snapshots = 4;
  o.dsm_iterations = 30;
  o.hidden = {16};
  o.training.iterations = 4;
  o.training.batch = 32;
  o.training.report_every = 2;
  o.path_count = 40;
  o.path_dt = 0.25;
  o.fate_queries = 4;
  o.fate_paths = 20;
  o.fate_dt = 0.02;
  o.data_seed = 5;
  return o;
}
}  // namespace

TEST_SUITE("problems") {
  TEST_CASE("network benchmark: BF and HSC runs give finite metrics, masses grow, results are reproducible [slow]") {
    using upfi::problems::network_noise;
    using upfi::problems::network_system;
    const auto o = toy_run();
    const auto data = upfi::problems::network_snapshots(network_system::bf, o);
    REQUIRE(data.size() == 4);
    CHECK(data.time(3) == doctest::Approx(1.25));
    CHECK(data.count(0) == 120);
    CHECK(data.relative_mass(3) > 1.1);  // the g7 branch divides
    CHECK(data.cloud(3).minCoeff() >= 0.0);

    const auto add = upfi::problems::run_network_benchmark(network_system::bf, true, network_noise::additive, o);
    CHECK(add.report.history.size() == 2);
    CHECK(add.diffusion > 0);
    CHECK(std::isfinite(add.path_energy));
    CHECK(add.force_l2 > 0);
    CHECK(add.fate_tv >= 0);
    CHECK(add.fate_tv <= 1);
    CHECK(add.model.meta("system") == "BF");
    CHECK(add.model.meta("noise") == "add.");
    // per-query fates: 2 inner snapshots x 4 queries, distributions over the 2 BF fates, tagged with their snapshot
    REQUIRE(add.fates_true.rows() == 8);
    REQUIRE(add.fates_model.rows() == 8);
    CHECK(add.fates_true.cols() == 2);
    for (Eigen::Index i = 0; i < 8; ++i) {
      CHECK(add.fates_true.row(i).sum() == doctest::Approx(1.0));
      CHECK(add.fates_model.row(i).sum() == doctest::Approx(1.0));
      CHECK(add.fate_snapshot[static_cast<std::size_t>(i)] == 1 + static_cast<std::size_t>(i / 4));
    }
    // the mean TV of the rows is the reported fate error
    CHECK(add.fate_tv ==
          doctest::Approx(0.5 * (add.fates_true - add.fates_model).cwiseAbs().rowwise().sum().mean()).epsilon(1e-12));
    // the sampling floor: TV between two independent simulations of the truth. For 2 fates a query's TV is
    // |p1 - p2| with p1, p2 binomial over M = 20 paths: mean <= sqrt(2 p (1 - p) / M) <= 0.158, sd below that, so the
    // mean over 8 queries stays under 0.158 + 4 * 0.158 / sqrt(8) = 0.38 (4 sigma)
    CHECK(add.fate_floor.tv >= 0);
    CHECK(add.fate_floor.tv < 0.38);
    CHECK(std::abs(add.fate_floor.correlation) <= 1.0);
    // the true drift with the additive model's noise: another distribution, so another TV (but a valid one)
    CHECK(add.fate_true_drift.tv >= 0);
    CHECK(add.fate_true_drift.tv <= 1);
    CHECK(add.fate_true_drift.tv != add.fate_floor.tv);
    // the null model sends each query to one region j, and TV(p, e_j) = 1 - p_j >= 1 - max_c p_c
    CHECK(add.fate_nearest.tv <= 1);
    CHECK(add.fate_nearest.tv >= (1 - add.fates_true.rowwise().maxCoeff().array()).mean() - 1e-12);
    // the undecided queries: those whose largest true fate probability is below 0.95
    CHECK(add.undecided_queries == (add.fates_true.rowwise().maxCoeff().array() < 0.95).count());
    CHECK(add.fate_undecided.tv >= 0);
    CHECK(add.fate_undecided.tv <= 1);
    // growth diagnostics (UPFI): one mean per snapshot; the true birth rate rises as the g7 branch appears
    REQUIRE(add.birth_mean.size() == 4);
    REQUIRE(add.growth_mean.size() == 4);
    CHECK(add.birth_mean[3] > add.birth_mean[0]);
    CHECK(std::isfinite(add.growth_correlation));
    CHECK(std::abs(add.growth_correlation) <= 1.0);
    const auto again = upfi::problems::run_network_benchmark(network_system::bf, true, network_noise::additive, o);
    CHECK(again.path_energy == add.path_energy);
    CHECK(again.fate_tv == add.fate_tv);
    CHECK(again.fate_floor.tv == add.fate_floor.tv);

    const auto mult =
        upfi::problems::run_network_benchmark(network_system::hsc, false, network_noise::multiplicative, o);
    CHECK(mult.diffusion == 0);
    CHECK(mult.cells.size() == 4);
    CHECK(std::isfinite(mult.path_energy));
    CHECK(mult.fate_tv >= 0);
    CHECK(mult.fate_tv <= 1);
    CHECK(mult.model.meta("method") == "PFI");
    CHECK(mult.growth_correlation == 0.0);  // PFI has no growth
    CHECK(mult.birth_mean.empty());
    CHECK(mult.fates_true.cols() == 4);  // HSC's four fates
    CHECK(mult.fate_floor.tv >= 0);
    CHECK(mult.fate_floor.tv <= 1);
    // the swaps (true drift with the fitted noise, fitted drift with the true noise) and the truth simulated like the
    // model: each its own simulation, so its own (valid) scores
    for (const auto& swap : {mult.fate_true_drift, mult.fate_true_noise, mult.fate_truth_model_steps}) {
      CHECK(swap.tv >= 0);
      CHECK(swap.tv <= 1);
      CHECK(swap.tv != mult.fate_floor.tv);
    }
    CHECK(add.fate_true_noise.tv != add.fate_tv);

    // the chemical Langevin form: a production network and linear degradation, fixed (the truth's rate) or learned
    // (one log rate per gene more in the model's parameters)
    auto cle_options = o;
    const auto cle = upfi::problems::run_network_benchmark(network_system::bf, true, network_noise::cle, cle_options);
    CHECK(cle.model.meta("noise") == "CLE");
    CHECK(std::isfinite(cle.path_energy));
    CHECK(cle.fate_true_drift.tv <= 1);
    cle_options.cle_learn_rates = true;
    const auto learned =
        upfi::problems::run_network_benchmark(network_system::bf, true, network_noise::cle, cle_options);
    CHECK(learned.model.array("parameters").size() == cle.model.array("parameters").size() + 7);  // BF: 7 genes
    // the fixed rates are the truth's; the learned ones start there and move, by at most about lr per AdamW step on
    // the log rates (4 steps of lr 3e-3; a factor 2 of slack for Adam's normalised step and the weight decay)
    REQUIRE(cle.degradation_rates.size() == 7);
    CHECK((cle.degradation_rates.array() == o.network.degradation).all());
    REQUIRE(learned.degradation_rates.size() == 7);
    CHECK((learned.degradation_rates.array() != o.network.degradation).any());
    CHECK(((learned.degradation_rates.array() / o.network.degradation).log().abs() <= 2 * 4 * 3e-3).all());
    CHECK(add.degradation_rates.size() == 0);
    CHECK(add.fate_truth_model_steps.tv < 0.38);  // the truth again (at a coarser step): under the floor's bound
    CHECK(again.fate_true_noise.tv == add.fate_true_noise.tv);
  }

  TEST_CASE("network benchmark: a swapped field moves by its drift and by its own noise diagonal") {
    // simulate_model on detail::swapped_field: one Euler-Maruyama step of length h from x is x + h v + sqrt(2 D h) z
    // with D the field's noise diagonal and z the stream's normals, so with the same seed a noise diagonal 4 times
    // larger doubles the noise increment, and a zero diagonal leaves the drift step alone
    using upfi::problems::detail::swapped_field;
    const swapped_field::drift_function drift = [](double, const Eigen::MatrixXd& x, upfi::flow::flow_values& f) {
      f.v = -2.0 * x;
    };
    const auto constant = [](double value) {
      return swapped_field::noise_function([value](double, const Eigen::MatrixXd& x) {
        return Eigen::MatrixXd(Eigen::MatrixXd::Constant(x.rows(), x.cols(), value));
      });
    };
    const Eigen::MatrixXd x0 = Eigen::MatrixXd::Random(50, 3);
    const upfi::infer::model_simulation_options so{.dt = 0.1, .seed = 4};
    const auto end_of = [&](const swapped_field& f) {
      return upfi::infer::simulate_model(f, x0, {0.0, 0.1}, so).positions[1];
    };
    const Eigen::MatrixXd still = end_of({3, drift, constant(0.0)});
    CHECK((still - 0.8 * x0).cwiseAbs().maxCoeff() < 1e-15);
    const Eigen::MatrixXd small = end_of({3, drift, constant(0.25)}), large = end_of({3, drift, constant(1.0)});
    CHECK((2.0 * (small - still) - (large - still)).cwiseAbs().maxCoeff() < 1e-12);
    // the increments are the stream's normals times sqrt(2 D h) = sqrt(0.05): mean 0, variance 0.05 (150 draws)
    const Eigen::ArrayXXd z = (small - still).array() / std::sqrt(0.05);
    CHECK(std::abs(z.mean()) < 4.0 / std::sqrt(150.0));
    CHECK(std::abs(z.square().mean() - 1.0) < 4.0 * std::sqrt(2.0 / 150.0));
    // and the growth is zero: the log-masses stay at 0
    CHECK(upfi::infer::simulate_model(swapped_field{3, drift, constant(1.0)}, x0, {0.0, 0.1}, so)
              .log_masses[1]
              .cwiseAbs()
              .maxCoeff() == 0.0);
  }
}
