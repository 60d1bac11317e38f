// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/cloud.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/split_divergence.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"
#include "support/statistics.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

using upfi::ot::sinkhorn_divergence;
using upfi::ot::sinkhorn_options;
using upfi::ot::split_sinkhorn_divergence;
using upfi::test::mean_sem;
using upfi::test::summarise;

namespace {
Eigen::MatrixXd normals(Eigen::Index n, Eigen::Index d, std::uint32_t stream, std::uint32_t counter = 0) {
  Eigen::MatrixXd z(n, d);
  upfi::core::counter_rng(upfi::test::seed(), stream).fill_normal(z, counter);
  return z;
}
sinkhorn_options split_tight(double blur, std::optional<double> reach) {
  return {.blur = blur, .reach = reach, .tolerance = 1e-12, .max_iterations = 20000, .gradients = true};
}
// log-masses of total `mass`, log-normal with spread sd
Eigen::VectorXd spread_log_masses(Eigen::Index n, double sd, double mass, std::uint32_t stream, std::uint32_t counter) {
  Eigen::VectorXd l = sd * normals(n, 1, stream, counter).col(0);
  return l.array() - upfi::core::log_sum_exp(l) + std::log(mass);
}
// independent log-normal weights with expected total `mass`, as a pushed minibatch carries (the total varies with the
// draw; a fixed total would make the halves' masses anti-correlated, which the split estimate does not assume)
Eigen::VectorXd iid_log_masses(Eigen::Index n, double sd, double mass, std::uint32_t stream, std::uint32_t counter) {
  const Eigen::VectorXd l = sd * normals(n, 1, stream, counter).col(0);
  return l.array() + std::log(mass / static_cast<double>(n)) - sd * sd / 2;
}
}  // namespace

TEST_SUITE("ot/split_divergence") {
  TEST_CASE("the value is the combination of debiased divergences between the halves, for both pairings") {
    const Eigen::MatrixXd x = normals(20, 2, 0), y = normals(16, 2, 1).array() + 0.5;
    const Eigen::VectorXd la = spread_log_masses(20, 0.5, 2.0, 2, 0), lb = spread_log_masses(16, 0.0, 3.0, 2, 1);
    sinkhorn_options o = split_tight(0.3, 1.0);
    o.gradients = false;
    const auto s = [&](const Eigen::MatrixXd& p, const Eigen::VectorXd& lp, const Eigen::MatrixXd& q,
                       const Eigen::VectorXd& lq) { return sinkhorn_divergence<double>(p, lp, q, lq, o).value; };
    const Eigen::MatrixXd x1 = x.topRows(10), x2 = x.bottomRows(10), y1 = y.topRows(8), y2 = y.bottomRows(8);
    const Eigen::VectorXd a1 = la.head(10), a2 = la.tail(10), b1 = lb.head(8), b2 = lb.tail(8);
    const double self = s(x1, a1, x2, a2) + s(y1, b1, y2, b2);
    const auto matched = split_sinkhorn_divergence<double>(x, la, y, lb, o);
    REQUIRE(matched.converged);
    CHECK(matched.value == doctest::Approx(s(x1, a1, y1, b1) + s(x2, a2, y2, b2) - self).epsilon(1e-9));
    CHECK(matched.value == doctest::Approx(matched.cross - matched.self_x - matched.self_y).epsilon(1e-12));
    CHECK(matched.grad_x.size() == 0);  // gradients only on request
    const auto all = split_sinkhorn_divergence<double>(x, la, y, lb, o, upfi::ot::split_pairing::all);
    const double cross = (s(x1, a1, y1, b1) + s(x1, a1, y2, b2) + s(x2, a2, y1, b1) + s(x2, a2, y2, b2)) / 2;
    CHECK(all.value == doctest::Approx(cross - self).epsilon(1e-9));
    CHECK(all.self_x == matched.self_x);
  }

  TEST_CASE(
      "unbalanced, odd sizes: gradients w.r.t. positions and log-masses of both halves match finite differences") {
    const Eigen::MatrixXd x = normals(15, 2, 3), y = normals(12, 2, 4).array() + 0.6;
    const Eigen::VectorXd la = spread_log_masses(15, 0.4, 1.5, 5, 0), lb = spread_log_masses(12, 0.2, 1.0, 5, 1);
    const auto o = split_tight(0.4, 0.8);
    const auto r = split_sinkhorn_divergence<double>(x, la, y, lb, o);
    REQUIRE(r.converged);
    const auto value = [&](const Eigen::MatrixXd& xx, const Eigen::VectorXd& aa, const Eigen::MatrixXd& yy,
                           const Eigen::VectorXd& bb) {
      return split_sinkhorn_divergence<double>(xx, aa, yy, bb, o).value;
    };
    const double h = 1e-5;
    for (const auto& [i, k] :
         {std::pair{0, 0}, std::pair{6, 1}, std::pair{7, 0}, std::pair{14, 1}}) {  // halves 0-6, 7-14
      const int row = i;  // a copy: Clang 14 cannot capture a structured binding in CAPTURE's lambda
      CAPTURE(row);
      Eigen::MatrixXd xp = x, xm = x;
      xp(i, k) += h;
      xm(i, k) -= h;
      CHECK(r.grad_x(i, k) == doctest::Approx((value(xp, la, y, lb) - value(xm, la, y, lb)) / (2 * h)).epsilon(1e-6));
      Eigen::VectorXd ap = la, am = la;
      ap[i] += h;
      am[i] -= h;
      CHECK(r.grad_log_a[i] == doctest::Approx((value(x, ap, y, lb) - value(x, am, y, lb)) / (2 * h)).epsilon(1e-6));
    }
    for (int j : {2, 9}) {
      CAPTURE(j);
      Eigen::MatrixXd yp = y, ym = y;
      yp(j, 1) += h;
      ym(j, 1) -= h;
      CHECK(r.grad_y(j, 1) == doctest::Approx((value(x, la, yp, lb) - value(x, la, ym, lb)) / (2 * h)).epsilon(1e-6));
      Eigen::VectorXd bp = lb, bm = lb;
      bp[j] += h;
      bm[j] -= h;
      CHECK(r.grad_log_b[j] == doctest::Approx((value(x, la, y, bp) - value(x, la, y, bm)) / (2 * h)).epsilon(1e-6));
    }
  }

  TEST_CASE("balanced, odd sizes, unequal weights: each half renormalised; gradients along mass-preserving moves") {
    const Eigen::MatrixXd x = normals(15, 2, 6), y = normals(13, 2, 7).array() + 0.4;
    const Eigen::VectorXd la = spread_log_masses(15, 0.5, 1.0, 8, 0), lb = spread_log_masses(13, 0.0, 1.0, 8, 1);
    const auto o = split_tight(0.4, {});
    const auto r = split_sinkhorn_divergence<double>(x, la, y, lb, o);  // halves of 7 and 8 points, equal masses
    REQUIRE(r.converged);
    const auto value = [&](const Eigen::MatrixXd& xx, const Eigen::VectorXd& aa) {
      return split_sinkhorn_divergence<double>(xx, aa, y, lb, o).value;
    };
    const double h = 1e-5;
    Eigen::MatrixXd xp = x, xm = x;
    xp(10, 0) += h;
    xm(10, 0) -= h;
    CHECK(r.grad_x(10, 0) == doctest::Approx((value(xp, la) - value(xm, la)) / (2 * h)).epsilon(1e-6));
    // move mass from point 9 (second half) to point 2 (first half): the halves' shares change, the total does not
    const auto moved = [&](double t) {
      Eigen::VectorXd a = la;
      a[2] = std::log(std::exp(la[2]) + t);
      a[9] = std::log(std::exp(la[9]) - t);
      return a;
    };
    const double fd = (value(x, moved(h)) - value(x, moved(-h))) / (2 * h);
    CHECK(r.grad_log_a[2] * std::exp(-la[2]) - r.grad_log_a[9] * std::exp(-la[9]) == doctest::Approx(fd).epsilon(1e-5));
    CHECK(std::abs(fd) > 1e-4);  // the move changes the value: the check is not 0 = 0
  }

  TEST_CASE("same law: the split estimate is unbiased whatever the weight spread, the plain divergence is not [slow]") {
    // Two independent samples of N(0, I_2), expected mass 3 a side, the first sample's log-weights independent normals
    // with sd 0 or 1 (independent of the positions: both sides still have the same law). 48 repetitions of 64 points.
    const sinkhorn_options o{.blur = 0.1, .reach = 1.0};
    const int reps = 48, n = 64;
    Eigen::VectorXd plain[2], split[2];
    for (int s = 0; s < 2; ++s) {
      plain[s].resize(reps);
      split[s].resize(reps);
      for (int r = 0; r < reps; ++r) {
        const auto c = static_cast<std::uint32_t>(r);
        const Eigen::MatrixXd x = normals(n, 2, 10, c), y = normals(n, 2, 11, c);
        const Eigen::VectorXd la = iid_log_masses(n, s, 3.0, 12, c), lb = iid_log_masses(n, 0, 3.0, 13, c);
        plain[s][r] = sinkhorn_divergence<double>(x, la, y, lb, o).value;
        split[s][r] = split_sinkhorn_divergence<double>(x, la, y, lb, o).value;
      }
    }
    const mean_sem p0 = summarise(plain[0]), p1 = summarise(plain[1]), s0 = summarise(split[0]),
                   s1 = summarise(split[1]);
    MESSAGE("plain " << p0.mean << " +- " << p0.sem << " -> " << p1.mean << " +- " << p1.sem << "; split " << s0.mean
                     << " +- " << s0.sem << " -> " << s1.mean << " +- " << s1.sem);
    CHECK(p0.mean > 10 * p0.sem);                               // the minibatch bias
    CHECK(p1.mean - p0.mean > 4 * std::hypot(p0.sem, p1.sem));  // grows with the spread
    CHECK(std::abs(s0.mean) < 4 * s0.sem);                      // none for the split estimate
    CHECK(std::abs(s1.mean) < 4 * s1.sem);
    CHECK(std::abs(s1.mean - s0.mean) < 4 * std::hypot(s0.sem, s1.sem));
  }

  TEST_CASE("different laws: the split estimate does not depend on the batch size, the plain divergence does [slow]") {
    // N(0, I_2) against N((1, 0), I_2), unit masses; 40 repetitions at 32 points, 10 at 256.
    const sinkhorn_options o{.blur = 0.1, .reach = 1.0};
    const auto estimates = [&](int n, int reps) {
      Eigen::VectorXd plain(reps), split(reps);
      for (int r = 0; r < reps; ++r) {
        const auto c = static_cast<std::uint32_t>(1000 * n + r);
        const Eigen::MatrixXd x = normals(n, 2, 20, c);
        Eigen::MatrixXd y = normals(n, 2, 21, c);
        y.col(0).array() += 1.0;
        const Eigen::VectorXd l = Eigen::VectorXd::Constant(n, -std::log(static_cast<double>(n)));
        plain[r] = sinkhorn_divergence<double>(x, l, y, l, o).value;
        split[r] = split_sinkhorn_divergence<double>(x, l, y, l, o).value;
      }
      return std::pair{summarise(plain), summarise(split)};
    };
    const auto [p_small, s_small] = estimates(32, 40);
    const auto [p_large, s_large] = estimates(256, 10);
    MESSAGE("plain " << p_small.mean << " +- " << p_small.sem << " (32) vs " << p_large.mean << " +- " << p_large.sem
                     << " (256); split " << s_small.mean << " +- " << s_small.sem << " vs " << s_large.mean << " +- "
                     << s_large.sem);
    CHECK(p_small.mean - p_large.mean > 4 * std::hypot(p_small.sem, p_large.sem));
    CHECK(std::abs(s_small.mean - s_large.mean) < 4 * std::hypot(s_small.sem, s_large.sem));
    CHECK(s_large.mean > 4 * s_large.sem);  // a real difference is still seen
  }

  TEST_CASE("bad input raises clear errors") {
    const Eigen::MatrixXd x = normals(6, 2, 30), y = normals(5, 2, 31);
    const Eigen::VectorXd la = Eigen::VectorXd::Zero(6), lb = Eigen::VectorXd::Zero(5);
    const sinkhorn_options u{.reach = 1.0};
    CHECK_THROWS_WITH_AS(
        (void)split_sinkhorn_divergence<double>(Eigen::MatrixXd(x.topRows(1)), Eigen::VectorXd(la.head(1)), y, lb, u),
        doctest::Contains("at least 2 points a side; got 1 and 5"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)split_sinkhorn_divergence<double>(x, Eigen::VectorXd(la.head(5)), y, lb, u),
                         doctest::Contains("5 and 5 log-masses for 6 and 5 points"), std::invalid_argument);
    Eigen::VectorXd empty_half = la;
    empty_half.head(3).setConstant(-std::numeric_limits<double>::infinity());
    CHECK_THROWS_WITH_AS((void)split_sinkhorn_divergence<double>(x, empty_half, y, lb, sinkhorn_options{}),
                         doctest::Contains("a half of a cloud has no mass"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)split_sinkhorn_divergence<double>(x, empty_half, y, lb, u),
                         doctest::Contains("no positive mass"), std::invalid_argument);
    Eigen::MatrixXd nan_x = x;
    nan_x(4, 1) = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS((void)split_sinkhorn_divergence<double>(nan_x, la, y, lb, u),
                         doctest::Contains("x: row 4, column 1 holds nan"), std::invalid_argument);
  }
}
