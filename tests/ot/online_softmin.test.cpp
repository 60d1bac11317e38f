// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/online_softmin.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <cmath>
#include <limits>

namespace {
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> random_cloud(Eigen::Index n, Eigen::Index d, std::uint32_t stream) {
  Eigen::MatrixXd z(n, d);
  upfi::core::counter_rng(upfi::test::seed(), stream).fill_normal(z, 0);
  return z.cast<S>();
}
}  // namespace

TEST_SUITE("ot/online_softmin") {
  TEST_CASE_TEMPLATE("the SIMD tiled kernel matches the scalar oracle at every tail size", S, float, double) {
    constexpr Eigen::Index w = static_cast<Eigen::Index>(upfi::simd::batch<S>::size);
    const S tol = std::is_same_v<S, float> ? S(2e-5) : S(1e-12);
    for (Eigen::Index m : {Eigen::Index{1}, w - 1, w, w + 1, 4 * w + 3, Eigen::Index{513}, Eigen::Index{1100}}) {
      if (m < 1) continue;
      CAPTURE(m);
      const auto x = random_cloud<S>(37, 3, 0);
      const auto y = random_cloud<S>(m, 3, 1);
      const Eigen::Matrix<S, Eigen::Dynamic, 1> h = random_cloud<S>(m, 1, 2).col(0);
      Eigen::Matrix<S, Eigen::Dynamic, 1> fast(37), ref;
      upfi::ot::online_softmin<S>(x, y, h, S(0.05), fast);
      upfi::ot::reference::online_softmin<S>(x, y, h, S(0.05), ref);
      CHECK(((fast - ref).array().abs() / (S(1) + ref.array().abs())).maxCoeff() < tol);
    }
  }

  TEST_CASE("zero-weight columns (h = -inf) are ignored; a row without weight gives +inf") {
    const auto x = random_cloud<double>(5, 2, 0);
    const auto y = random_cloud<double>(9, 2, 1);
    Eigen::VectorXd h = Eigen::VectorXd::Zero(9), h_sub(4);
    const double inf = std::numeric_limits<double>::infinity();
    for (int j : {0, 2, 5, 6, 8}) h[j] = -inf;
    Eigen::MatrixXd y_sub(4, 2);
    y_sub << y.row(1), y.row(3), y.row(4), y.row(7);
    h_sub.setZero();
    Eigen::VectorXd a(5), b(5);
    upfi::ot::online_softmin<double>(x, y, h, 0.1, a);
    upfi::ot::online_softmin<double>(x, y_sub, h_sub, 0.1, b);
    CHECK((a - b).cwiseAbs().maxCoeff() < 1e-13);
    upfi::ot::online_softmin<double>(x, y, Eigen::VectorXd::Constant(9, -inf), 0.1, a);
    CHECK(a.array().isInf().all());
  }

  TEST_CASE("huge coordinates and tiny eps stay finite (costs from differences, max-shifted exps)") {
    Eigen::MatrixXd x = random_cloud<double>(20, 4, 0).array() + 1e7;
    Eigen::MatrixXd y = random_cloud<double>(30, 4, 1).array() + 1e7;
    Eigen::VectorXd out(20);
    upfi::ot::online_softmin<double>(x, y, Eigen::VectorXd::Zero(30), 1e-6, out);
    CHECK(out.allFinite());
    // translation invariance: the same values without the offset
    Eigen::VectorXd ref(20);
    upfi::ot::online_softmin<double>(Eigen::MatrixXd(x.array() - 1e7), Eigen::MatrixXd(y.array() - 1e7),
                                     Eigen::VectorXd::Zero(30), 1e-6, ref);
    CHECK((out - ref).cwiseAbs().maxCoeff() < 1e-6);
  }

  TEST_CASE("softmax averages are convex combinations matching a dense computation") {
    const auto x = random_cloud<double>(11, 2, 0);
    const auto y = random_cloud<double>(600, 2, 1);
    const Eigen::VectorXd h = random_cloud<double>(600, 1, 2).col(0);
    Eigen::MatrixXd avg(11, 2);
    Eigen::VectorXd lse(11);
    upfi::ot::online_softmax_average<double>(x, y, h, 0.2, y, avg, lse);
    for (Eigen::Index i = 0; i < 11; ++i) {
      Eigen::VectorXd logits(600);
      for (Eigen::Index j = 0; j < 600; ++j) logits[j] = h[j] - 0.5 * (x.row(i) - y.row(j)).squaredNorm() / 0.2;
      const double m = logits.maxCoeff();
      const Eigen::VectorXd wgt = (logits.array() - m).exp();
      CHECK(lse[i] == doctest::Approx(m + std::log(wgt.sum())).epsilon(1e-12));
      CHECK((avg.row(i) - (wgt.transpose() * y) / wgt.sum()).norm() < 1e-12);
    }
  }

  TEST_CASE("invalid arguments") {
    Eigen::VectorXd out(3);
    CHECK_THROWS_AS(upfi::ot::online_softmin<double>(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(4, 3),
                                                     Eigen::VectorXd::Zero(4), 0.1, out),
                    std::invalid_argument);
    CHECK_THROWS_AS(upfi::ot::online_softmin<double>(Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(4, 2),
                                                     Eigen::VectorXd::Zero(4), 0.0, out),
                    std::invalid_argument);
  }
}
