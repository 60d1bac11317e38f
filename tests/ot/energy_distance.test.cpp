// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <doctest/doctest.h>

#include "support/statistics.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

TEST_SUITE("ot/energy_distance") {
  TEST_CASE("closed forms on two points") {
    const Eigen::MatrixXd x = Eigen::MatrixXd::Zero(1, 2);
    Eigen::MatrixXd y(1, 2);
    y << 3, 4;
    CHECK(upfi::ot::energy_distance<double>(x, y) == doctest::Approx(10.0));  // 2 |x - y|, full Szekely-Rizzo
    CHECK(upfi::ot::gaussian_mmd2<double>(x, y, 5.0) == doctest::Approx(2 - 2 * std::exp(-25.0 / 50.0)));
    // {0, 2} vs {1}: 2 * 1 - (0 + 2 + 2 + 0) / 4 - 0 = 1
    Eigen::MatrixXd a(2, 1), b(1, 1);
    a << 0, 2;
    b << 1;
    CHECK(upfi::ot::energy_distance<double>(a, b) == doctest::Approx(1.0));
  }

  TEST_CASE("zero for identical distributions, positive and symmetric otherwise; weights") {
    Eigen::MatrixXd x(40, 3), y(30, 3);
    upfi::core::counter_rng(1).fill_normal(x, 0);
    upfi::core::counter_rng(2).fill_normal(y, 0);
    y.array() += 0.5;
    CHECK(std::abs(upfi::ot::energy_distance<double>(x, x)) < 1e-12);
    const double e = upfi::ot::energy_distance<double>(x, y);
    CHECK(e > 0);
    CHECK(e == doctest::Approx(upfi::ot::energy_distance<double>(y, x)).epsilon(1e-12));
    // duplicating points is the same as doubling their weight
    Eigen::MatrixXd xx(41, 3);
    xx << x, x.row(0);
    Eigen::VectorXd w = Eigen::VectorXd::Ones(40);
    w[0] = 2;
    CHECK(upfi::ot::energy_distance<double>(xx, y) ==
          doctest::Approx(upfi::ot::energy_distance<double>(x, y, w)).epsilon(1e-12));
    CHECK(upfi::ot::gaussian_mmd2<double>(x, y, 1.0) > 0);
    CHECK_THROWS_AS((void)upfi::ot::gaussian_mmd2<double>(x, y, 0.0), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::ot::energy_distance<double>(x, Eigen::MatrixXd::Zero(3, 2)), std::invalid_argument);
  }

  TEST_CASE("mean_pairwise_distance: closed form, and the expected energy distance of two samples of one law") {
    Eigen::MatrixXd p(3, 1);
    p << 0, 1, 3;  // pairs 1, 3, 2
    CHECK(upfi::ot::mean_pairwise_distance<double>(p) == doctest::Approx(2.0));
    // E|Y - Y'| = 2 / sqrt(pi) for a standard normal line; the estimate is unbiased (k-sigma over 30 clouds)
    const int reps = 30;
    double mean = 0;
    std::vector<double> ratios;
    for (int r = 0; r < reps; ++r) {
      Eigen::MatrixXd x(200, 1), y(300, 1);
      upfi::core::counter_rng(10, static_cast<std::uint32_t>(r)).fill_normal(x, 0);
      upfi::core::counter_rng(11, static_cast<std::uint32_t>(r)).fill_normal(y, 0);
      const double mu = upfi::ot::mean_pairwise_distance<double>(y);
      mean += mu / reps;
      // uniform weights: E[energy] = (1/200 + 1/300) E|Y - Y'|
      const double ratio = upfi::ot::energy_distance<double>(x, y) / ((1.0 / 200 + 1.0 / 300) * mu);
      ratios.push_back(ratio);
    }
    CHECK(mean == doctest::Approx(2 / std::sqrt(std::numbers::pi)).epsilon(0.02));
    const auto [mean_ratio, sem] = upfi::test::summarise(ratios);
    MESSAGE("energy / floor over " << reps << " pairs of samples: " << mean_ratio << " +- " << sem);
    CHECK(std::abs(mean_ratio - 1) < 4 * sem);
    CHECK_THROWS_WITH_AS((void)upfi::ot::mean_pairwise_distance<double>(Eigen::MatrixXd::Zero(1, 2)),
                         "upfi::ot::mean_pairwise_distance: need at least two points, got 1", std::invalid_argument);
    p(1, 0) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS((void)upfi::ot::mean_pairwise_distance<double>(p),
                         "upfi::ot::mean_pairwise_distance: non-finite coordinates", std::invalid_argument);
  }
}
