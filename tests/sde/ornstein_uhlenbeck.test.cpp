// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/problems/ou_growth_moments.hpp>
#include <upfi/sde/ornstein_uhlenbeck.hpp>
#include <upfi/sde/simulator.hpp>
#include <upfi/sde/with_growth.hpp>

#include <Eigen/Cholesky>
#include <doctest/doctest.h>

#include "support/seed.hpp"
#include "support/statistics_moments.hpp"

#include <cmath>
#include <stdexcept>

namespace {
upfi::sde::ornstein_uhlenbeck test_process() {
  Eigen::Matrix2d a, d;
  a << -1.0, 0.5, -0.3, -0.8;
  d << 0.10, 0.03, 0.03, 0.15;
  return {a, Eigen::Vector2d(0.2, -0.1), d};
}
// n samples of N(mean, cov) from the counter-based generator.
Eigen::MatrixXd gaussian(Eigen::Index n, const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov,
                         std::uint32_t stream) {
  Eigen::MatrixXd z(n, mean.size());
  upfi::core::counter_rng(upfi::test::seed(), stream).fill_normal(z, 0);
  const Eigen::MatrixXd l = cov.llt().matrixL();
  return (z * l.transpose()).rowwise() + mean.transpose();
}
}  // namespace

TEST_SUITE("sde/ornstein_uhlenbeck") {
  TEST_CASE("scalar transition matches the closed form") {
    const double a = -0.7, e = 0.3, dd = 0.2, t = 1.3;
    const upfi::sde::ornstein_uhlenbeck ou(Eigen::MatrixXd::Constant(1, 1, a), Eigen::VectorXd::Constant(1, e),
                                           Eigen::MatrixXd::Constant(1, 1, dd));
    const auto tr = ou.transition(t);
    CHECK(tr.propagator(0, 0) == doctest::Approx(std::exp(a * t)).epsilon(1e-13));
    CHECK(tr.offset[0] == doctest::Approx(e / a * (std::exp(a * t) - 1)).epsilon(1e-13));
    CHECK(tr.covariance(0, 0) == doctest::Approx(dd / a * (std::exp(2 * a * t) - 1)).epsilon(1e-13));
    // unstable and zero drift work too (no inverse of A is involved)
    const upfi::sde::ornstein_uhlenbeck bm(Eigen::MatrixXd::Zero(1, 1), Eigen::VectorXd::Zero(1),
                                           Eigen::MatrixXd::Constant(1, 1, dd));
    CHECK(bm.transition(t).covariance(0, 0) == doctest::Approx(2 * dd * t).epsilon(1e-13));
  }

  TEST_CASE("the drift is A x + e on scalars and the covariance solves the Lyapunov ODE") {
    const auto ou = test_process();
    static_assert(upfi::DriftModel<upfi::sde::ornstein_uhlenbeck>);
    const Eigen::Vector2d x(0.4, -1.2);
    Eigen::Vector2d v;
    ou.drift(0.0, x.data(), v.data());
    CHECK(v.isApprox(ou.drift_matrix() * x + ou.drift_offset()));
    // d Sigma/dt = A Sigma + Sigma A^T + 2D by central differences of covariance(t)
    const Eigen::Matrix2d s0 = 0.3 * Eigen::Matrix2d::Identity();
    const double h = 1e-5, t = 0.6;
    const Eigen::MatrixXd ds = (ou.covariance(t + h, s0) - ou.covariance(t - h, s0)) / (2 * h);
    const Eigen::MatrixXd st = ou.covariance(t, s0);
    const Eigen::MatrixXd rhs = ou.drift_matrix() * st + st * ou.drift_matrix().transpose() + 2 * ou.diffusion();
    CHECK((ds - rhs).norm() < 1e-8);
  }

  TEST_CASE("exact sampling reproduces mean and covariance at several times (5 sigma)") {
    const auto ou = test_process();
    const Eigen::Vector2d m0(1.0, -0.5);
    const Eigen::Matrix2d s0 = 0.05 * Eigen::Matrix2d::Identity();
    const Eigen::MatrixXd x0 = gaussian(20000, m0, s0, 0);
    for (double t : {0.1, 0.5, 2.0}) {
      CAPTURE(t);
      const Eigen::MatrixXd xt = ou.sample_exact(x0, t, upfi::core::counter_rng(upfi::test::seed(), 1));
      upfi::test::check_gaussian_moments(xt, ou.mean(t, m0), ou.covariance(t, s0));
    }
  }

  TEST_CASE("Euler-Maruyama paths reproduce the exact mean and covariance at several times [slow]") {
    const auto ou = test_process();
    const Eigen::Vector2d m0(1.0, -0.5);
    const Eigen::Matrix2d s0 = 0.05 * Eigen::Matrix2d::Identity();
    const upfi::sde::simulator sim(ou, ou.noise(), {.dt = 1e-3});
    const auto paths =
        sim.paths(gaussian(20000, m0, s0, 2), {0.0, 0.25, 0.5, 1.0}, upfi::core::counter_rng(upfi::test::seed(), 3));
    for (std::size_t k = 1; k < paths.times.size(); ++k) {
      CAPTURE(paths.times[k]);
      // Euler's O(dt) bias (about 1e-3 here) is far below the 5-sigma sampling bound (about 1e-2).
      upfi::test::check_gaussian_moments(paths.positions[k], ou.mean(paths.times[k], m0),
                                         ou.covariance(paths.times[k], s0));
    }
  }

  TEST_CASE("with quadratic growth, branching and weighted populations follow the moment ODEs [slow]") {
    const auto ou = test_process();
    Eigen::Matrix2d gamma;
    gamma << -0.4, 0.1, 0.1, -0.2;
    const Eigen::Vector2d c(0.3, -0.2);
    const double b = 0.5;
    const upfi::sde::with_growth model(ou, upfi::sde::quadratic_growth(gamma, c, b));
    const Eigen::Vector2d m0(0.2, 0.1);
    const Eigen::Matrix2d s0 = 0.2 * Eigen::Matrix2d::Identity();
    const double t = 1.0;
    const auto exact = upfi::problems::ou_growth_moments(ou.drift_matrix(), ou.drift_offset(), ou.diffusion(), gamma, c,
                                                         b, {1.0, m0, s0}, t);
    const upfi::sde::simulator sim(model, ou.noise(), {.dt = 2e-3});
    const Eigen::Index n0 = 20000;
    const Eigen::MatrixXd x0 = gaussian(n0, m0, s0, 4);

    SUBCASE("branching population") {
      const Eigen::MatrixXd xt = sim.population(x0, 0.0, t, upfi::core::counter_rng(upfi::test::seed(), 5));
      const double mass = static_cast<double>(xt.rows()) / static_cast<double>(n0);
      // Lineages make cells correlated: use half the cells as the effective sample size.
      CHECK(std::abs(mass - exact.mass) < 5 * std::sqrt(exact.mass / static_cast<double>(n0)) + 0.01 * exact.mass);
      upfi::test::check_gaussian_moments(xt, exact.mean, exact.covariance, 5.0, 0.5 * static_cast<double>(xt.rows()),
                                         0.005);
    }
    SUBCASE("weighted paths (growth carried by log-weights, no branching)") {
      const auto paths = sim.paths(x0, {0.0, t}, upfi::core::counter_rng(upfi::test::seed(), 6), true);
      const Eigen::VectorXd w = paths.log_weights.back().array().exp();
      const double mass = w.mean();
      const double n_eff = w.sum() * w.sum() / w.squaredNorm();
      CHECK(std::abs(mass - exact.mass) < 5 * exact.mass / std::sqrt(n_eff) + 0.01 * exact.mass);
      const Eigen::MatrixXd& x = paths.positions.back();
      const Eigen::VectorXd mean = (x.transpose() * w) / w.sum();
      const Eigen::MatrixXd centred = x.rowwise() - mean.transpose();
      const Eigen::MatrixXd cov = centred.transpose() * w.asDiagonal() * centred / w.sum();
      for (int i = 0; i < 2; ++i) {
        CAPTURE(i);
        CHECK(std::abs(mean[i] - exact.mean[i]) < 5 * std::sqrt(exact.covariance(i, i) / n_eff) + 0.005);
        for (int j = 0; j < 2; ++j) {
          const double se = std::sqrt(
              (exact.covariance(i, i) * exact.covariance(j, j) + exact.covariance(i, j) * exact.covariance(i, j)) /
              n_eff);
          CHECK(std::abs(cov(i, j) - exact.covariance(i, j)) < 5 * se + 0.005);
        }
      }
    }
  }

  TEST_CASE("invalid OU parameters are rejected") {
    CHECK_THROWS_AS(upfi::sde::ornstein_uhlenbeck(Eigen::Matrix2d::Identity(), Eigen::Vector3d::Zero(),
                                                  Eigen::Matrix2d::Identity()),
                    std::invalid_argument);
    Eigen::Matrix2d neg;
    neg << 1, 0, 0, -1;
    CHECK_THROWS_AS(upfi::sde::ornstein_uhlenbeck(Eigen::Matrix2d::Identity(), Eigen::Vector2d::Zero(), neg),
                    std::invalid_argument);
    CHECK_THROWS_AS((void)test_process().transition(-1.0), std::invalid_argument);
    CHECK_THROWS_AS(upfi::sde::quadratic_growth(Eigen::Matrix2d::Identity(), Eigen::Vector3d::Zero(), 0.0),
                    std::invalid_argument);
  }
}
