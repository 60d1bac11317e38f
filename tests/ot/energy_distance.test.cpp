// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <doctest/doctest.h>

#include <cmath>

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
}
