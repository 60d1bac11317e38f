// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/score/gaussian.hpp>

#include <doctest/doctest.h>

#include "score/support.hpp"
#include "support/random_matrix.hpp"
#include "support/seed.hpp"

using upfi::score::gaussian_mixture_score;
using upfi::score::gaussian_score;

namespace {
using upfi::test::random_matrix;
// max over rows of |score - central FD of log density| relative to the score scale
template <class LogDensity>
double score_vs_fd(const Eigen::MatrixXd& score, const Eigen::MatrixXd& x, LogDensity&& logp) {
  const double h = 1e-5;
  Eigen::MatrixXd fd(x.rows(), x.cols());
  for (Eigen::Index q = 0; q < x.cols(); ++q) {
    Eigen::MatrixXd xp = x, xm = x;
    xp.col(q).array() += h;
    xm.col(q).array() -= h;
    fd.col(q) = (logp(xp) - logp(xm)) / (2 * h);
  }
  return (score - fd).cwiseAbs().maxCoeff() / (1.0 + fd.cwiseAbs().maxCoeff());
}
}  // namespace

TEST_SUITE("score/analytic") {
  TEST_CASE("Gaussian score: gradient of the log density, Hessian VJP, validation") {
    Eigen::MatrixXd cov(2, 2);
    cov << 1.5, 0.4, 0.4, 0.7;
    const gaussian_score g(upfi::test::vec(0.3, -1.0), cov);
    const Eigen::MatrixXd x = random_matrix(20, 2, 1);
    Eigen::MatrixXd s;
    g.evaluate(0.0, x, s);
    CHECK(score_vs_fd(s, x, [&](const Eigen::MatrixXd& y) { return g.log_density(0.0, y); }) < 1e-8);
    CHECK(upfi::test::vjp_vs_fd(g, 0.0, x, random_matrix(20, 2, 2)) < 1e-7);
    Eigen::MatrixXd bad(2, 2);
    bad << 1, 2, 2, 1;  // indefinite
    CHECK_THROWS_WITH_AS(gaussian_score(Eigen::VectorXd::Zero(2), bad), doctest::Contains("positive-definite"),
                         std::invalid_argument);
    CHECK_THROWS_AS(g.evaluate(0.0, Eigen::MatrixXd::Zero(3, 3), s), std::invalid_argument);
  }

  TEST_CASE("OU marginal score: moments of the exact transition, and the score of exact samples") {
    const auto c = upfi::test::make_ou_case(3, upfi::test::seed());
    const auto score = upfi::score::ou_marginal_score(c.ou, c.m0, c.s0);
    const auto st = score.moments(0.8);
    CHECK((st.mean - c.ou.mean(0.8, c.m0)).norm() < 1e-14);
    // E[s] = 0 and E[s s^T] = P (Fisher information) under the marginal: k-sigma bounds on 20000 exact samples
    const auto data = upfi::test::ou_snapshots(c, {0.8}, 20000, upfi::test::seed());
    Eigen::MatrixXd s;
    score.evaluate(0.8, data.cloud(0), s);
    const Eigen::RowVectorXd mean = s.colwise().mean();
    const Eigen::MatrixXd fisher = s.transpose() * s / 20000.0;
    for (Eigen::Index q = 0; q < 3; ++q) {
      CHECK(std::abs(mean[q]) < 5 * std::sqrt(st.precision(q, q) / 20000.0));
      CHECK(fisher(q, q) == doctest::Approx(st.precision(q, q)).epsilon(5 * std::sqrt(2.0 / 20000.0)));
    }
  }

  TEST_CASE("Gaussian mixture score: log-density gradient, Hessian VJP, sampling") {
    Eigen::MatrixXd c1(2, 2), c2(2, 2);
    c1 << 0.3, 0.1, 0.1, 0.5;
    c2 << 0.8, -0.2, -0.2, 0.4;
    const gaussian_mixture_score m({0.3, 0.7}, {upfi::test::vec(-1, 0), upfi::test::vec(1.5, 0.5)}, {c1, c2});
    const Eigen::MatrixXd x = 1.5 * random_matrix(30, 2, 3);
    Eigen::MatrixXd s;
    m.evaluate(0.0, x, s);
    CHECK(score_vs_fd(s, x, [&](const Eigen::MatrixXd& y) { return m.log_density(y); }) < 1e-8);
    CHECK(upfi::test::vjp_vs_fd(m, 0.0, x, random_matrix(30, 2, 4)) < 1e-7);
    const Eigen::MatrixXd y = m.sample(40000, upfi::test::seed());
    const Eigen::RowVector2d expected = 0.3 * upfi::test::row(-1, 0) + 0.7 * upfi::test::row(1.5, 0.5);
    // per-coordinate mixture variance bounds the standard error
    CHECK((y.colwise().mean() - expected).cwiseAbs().maxCoeff() < 5 * std::sqrt(2.0 / 40000.0));
    CHECK_THROWS_AS(gaussian_mixture_score({1.0, -1.0}, {Eigen::VectorXd::Zero(2), Eigen::VectorXd::Zero(2)}, {c1, c2}),
                    std::invalid_argument);
    CHECK_THROWS_AS(gaussian_mixture_score({1.0}, {Eigen::VectorXd::Zero(2), Eigen::VectorXd::Zero(2)}, {c1, c2}),
                    std::invalid_argument);
  }
}
