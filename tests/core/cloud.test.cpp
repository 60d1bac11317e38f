// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/cloud.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

using upfi::core::particle_cloud;

TEST_SUITE("core/cloud") {
  TEST_CASE_TEMPLATE("a cloud without log-masses has unit masses", T, float, double) {
    using cloud = particle_cloud<T>;
    typename cloud::matrix_type x(3, 2);
    x << 1, 2, 3, 4, 5, 6;
    const cloud c(x);
    CHECK(c.size() == 3);
    CHECK(c.dimension() == 2);
    CHECK_FALSE(c.has_log_masses());
    CHECK(c.log_masses_or_zero() == cloud::vector_type::Zero(3));
    CHECK(c.log_total_mass() == doctest::Approx(std::log(3.0)));
    CHECK(c.positions()(2, 1) == T(6));
  }

  TEST_CASE("log_total_mass is stable for masses far beyond the floating-point range") {
    Eigen::MatrixXd x = Eigen::MatrixXd::Zero(3, 1);
    Eigen::VectorXd lm(3);
    lm << 1000.0, 1000.0, -1000.0;  // exp(1000) overflows double; the log-sum-exp does not
    particle_cloud<double> c(x, lm);
    CHECK(c.log_total_mass() == doctest::Approx(1000.0 + std::log(2.0)));
    c.clear_log_masses();
    CHECK_FALSE(c.has_log_masses());
    CHECK(particle_cloud<double>().log_total_mass() == -std::numeric_limits<double>::infinity());
  }

  TEST_CASE("log_sum_exp matches the naive formula where that is finite") {
    Eigen::VectorXd v(4);
    v << 0.1, -2.0, 3.0, 0.5;
    CHECK(upfi::core::log_sum_exp(v) == doctest::Approx(std::log(v.array().exp().sum())).epsilon(1e-14));
    CHECK(upfi::core::log_sum_exp(Eigen::VectorXd(0)) == -std::numeric_limits<double>::infinity());
  }

  TEST_CASE("non-finite positions are rejected with row, column and value") {
    Eigen::MatrixXd x = Eigen::MatrixXd::Zero(4, 3);
    x(2, 1) = std::numeric_limits<double>::quiet_NaN();
    x(3, 0) = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(particle_cloud<double>{x},
                         "upfi::core::particle_cloud: row 2, column 1 holds nan; every value must be finite (drop or "
                         "impute that particle)",
                         std::invalid_argument);
  }

  TEST_CASE("log-masses must match the particle count and be finite") {
    const Eigen::MatrixXd x = Eigen::MatrixXd::Zero(3, 2);
    CHECK_THROWS_WITH_AS(particle_cloud<double>(x, Eigen::VectorXd::Zero(2)),
                         "upfi::core::particle_cloud: 2 log-masses given for 3 particles; pass one log-mass per row "
                         "of the positions",
                         std::invalid_argument);
    Eigen::VectorXd lm = Eigen::VectorXd::Zero(3);
    lm[1] = -std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(particle_cloud<double>(x, lm),
                         "upfi::core::particle_cloud: log-mass of row 1 is -inf; log-masses must be finite (remove "
                         "particles of zero mass)",
                         std::invalid_argument);
  }
}
