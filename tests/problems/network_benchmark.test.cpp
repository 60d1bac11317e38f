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
    // the multiplicative model's noise at the true rates is the true noise: a perfect drift scores the floor
    CHECK(mult.fate_true_drift.tv == mult.fate_floor.tv);
    CHECK(mult.fate_floor.tv >= 0);
    CHECK(mult.fate_floor.tv <= 1);
  }
}
