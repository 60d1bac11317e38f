// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/io/csv.hpp>
#include <upfi/ot/emd.hpp>

#include <doctest/doctest.h>

#include "fixtures/ot_fixtures.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace fx = upfi::test::fixtures;

TEST_SUITE("ot/emd") {
  TEST_CASE("equals brute-force assignment on small uniform problems") {
    for (int trial = 0; trial < 120; ++trial) {
      const int n = 2 + trial % 6;
      Eigen::MatrixXd c(n, n);
      upfi::core::counter_rng(static_cast<std::uint64_t>(trial)).fill_uniform(c, 0);
      std::vector<int> perm(static_cast<std::size_t>(n));
      std::iota(perm.begin(), perm.end(), 0);
      double best = 1e300;
      do {
        double s = 0;
        for (int i = 0; i < n; ++i) s += c(i, perm[static_cast<std::size_t>(i)]);
        best = std::min(best, s);
      } while (std::next_permutation(perm.begin(), perm.end()));
      const auto r = upfi::ot::emd(Eigen::VectorXd::Constant(n, 1.0 / n), Eigen::VectorXd::Constant(n, 1.0 / n), c);
      CAPTURE(trial);
      REQUIRE(r.optimal);
      CHECK(r.cost == doctest::Approx(best / n).epsilon(1e-12));
    }
  }

  TEST_CASE("the plan is feasible, sparse (at most N + M - 1 entries) and matches POT's emd2 with weights") {
    const Eigen::MatrixXd x = Eigen::Map<const Eigen::MatrixXd>(fx::emd_x, 40, 2);
    const Eigen::MatrixXd y = Eigen::Map<const Eigen::MatrixXd>(fx::emd_y, 30, 2);
    const Eigen::VectorXd a = Eigen::Map<const Eigen::VectorXd>(fx::emd_a, 40);
    const Eigen::VectorXd b = Eigen::Map<const Eigen::VectorXd>(fx::emd_b, 30);
    CHECK(upfi::ot::wasserstein(x, y, 1, a, b) == doctest::Approx(fx::emd_w1).epsilon(1e-12));
    CHECK(upfi::ot::wasserstein(x, y, 2, a, b) == doctest::Approx(std::sqrt(fx::emd_w2_squared)).epsilon(1e-12));
    const Eigen::MatrixXd c = upfi::ot::cost_matrix<double>(x, y, upfi::ot::euclidean{});
    const auto r = upfi::ot::emd(a, b, c);
    CHECK(r.plan.size() <= 40 + 30 - 1);
    Eigen::VectorXd rows = Eigen::VectorXd::Zero(40), cols = Eigen::VectorXd::Zero(30);
    for (const auto& e : r.plan) {
      CHECK(e.mass > 0);
      rows[e.i] += e.mass;
      cols[e.j] += e.mass;
    }
    CHECK((rows - a).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((cols - b).cwiseAbs().maxCoeff() < 1e-14);
  }

  TEST_CASE("W1 between neighbouring snapshots reproduces the dataset READMEs' baselines") {
    // data/synthetic_grn/README.md: grn2 W1 prev = 0.593 at t = 1; data/emt_a549/README.md: 10-D W1 prev = 0.368.
    const auto grn = upfi::io::read_snapshot_csv(std::string(UPFI_DATA_DIR) + "/synthetic_grn/grn2_deepruot.csv");
    CHECK(upfi::ot::wasserstein(grn.cloud(1), grn.cloud(0)) == doctest::Approx(0.593).epsilon(0.001 / 0.593));
    const auto emt = upfi::io::read_snapshot_csv(std::string(UPFI_DATA_DIR) + "/emt_a549/emt_a549_ae10d.csv");
    CHECK(upfi::ot::wasserstein(emt.cloud(1), emt.cloud(0)) == doctest::Approx(0.368).epsilon(0.001 / 0.368));
  }

  TEST_CASE("zero weights, a single point and bad input") {
    Eigen::MatrixXd c(2, 3);
    c << 1, 2, 3, 4, 5, 6;
    const auto r = upfi::ot::emd(Eigen::Vector2d(1, 0), Eigen::Vector3d(0.5, 0.5, 0), c);
    CHECK(r.cost == doctest::Approx(1.5));
    CHECK(
        upfi::ot::emd(Eigen::VectorXd::Ones(1), Eigen::VectorXd::Ones(1), Eigen::MatrixXd::Constant(1, 1, 2.0)).cost ==
        2.0);
    CHECK_THROWS_AS((void)upfi::ot::emd(Eigen::Vector2d(1, 0), Eigen::Vector3d(1, 1, 0), c), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::ot::emd(Eigen::Vector2d(-1, 2), Eigen::Vector3d(0.5, 0.5, 0), c),
                    std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::ot::wasserstein(Eigen::MatrixXd::Zero(2, 2), Eigen::MatrixXd::Zero(2, 2), 3),
                    std::invalid_argument);
  }
}
