// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>
#include <upfi/ot/transport_plan.hpp>

#include <doctest/doctest.h>

#include "fixtures/ot_fixtures.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

using upfi::ot::sinkhorn_divergence;
using upfi::ot::sinkhorn_options;
using upfi::ot::uniform_log_masses;

namespace {
Eigen::MatrixXd cloud(Eigen::Index n, Eigen::Index d, std::uint32_t stream, double shift = 0) {
  Eigen::MatrixXd z(n, d);
  upfi::core::counter_rng(upfi::test::seed(), stream).fill_normal(z, 0);
  return z.array() + shift;
}
// tightly converged options
sinkhorn_options tight(double blur, std::optional<double> reach = {}, bool debias = true) {
  return {
      .blur = blur, .reach = reach, .debias = debias, .tolerance = 1e-12, .max_iterations = 20000, .gradients = true};
}
// OT_{eps,rho} between single points of masses ma, mb at cost c (closed form of the scalar problem).
double one_point_ot(double ma, double mb, double c, double eps, double rho) {
  const double log_p = (eps * std::log(ma * mb) + rho * std::log(ma) + rho * std::log(mb) - c) / (eps + 2 * rho);
  const double p = std::exp(log_p);
  const auto kl = [](double q, double r) { return q * std::log(q / r) - q + r; };
  return p * c + eps * kl(p, ma * mb) + rho * kl(p, ma) + rho * kl(p, mb);
}
}  // namespace

TEST_SUITE("ot/sinkhorn_divergence") {
  TEST_CASE("balanced: both marginals are reproduced and the dual objective equals the primal") {
    const Eigen::MatrixXd x = cloud(40, 2, 0), y = cloud(30, 2, 1, 0.7);
    const Eigen::VectorXd la = uniform_log_masses(40), lb = uniform_log_masses(30);
    const auto r = sinkhorn_divergence<double>(x, la, y, lb, tight(0.4, {}, false));
    REQUIRE(r.converged);
    CHECK(r.marginal_error_x < 1e-10);
    CHECK(r.marginal_error_y < 1e-10);
    const auto plan = upfi::ot::transport_plan<double>::from(r, x, la, y, lb).dense();
    double primal = 0;
    for (Eigen::Index i = 0; i < 40; ++i) {
      for (Eigen::Index j = 0; j < 30; ++j) {
        const double c = 0.5 * (x.row(i) - y.row(j)).squaredNorm(), ab = std::exp(la[i] + lb[j]);
        primal += plan(i, j) * c + r.epsilon * (plan(i, j) * std::log(plan(i, j) / ab) - plan(i, j) + ab);
      }
    }
    CHECK(r.value == doctest::Approx(primal).epsilon(1e-10));
  }

  TEST_CASE("GeomLoss mode (fixed eps-scaling schedule) reproduces the GeomLoss-style reference values") {
    namespace fx = upfi::test::fixtures;
    const Eigen::MatrixXd x = Eigen::Map<const Eigen::MatrixXd>(fx::geo_x, 12, 3);
    const Eigen::MatrixXd y = Eigen::Map<const Eigen::MatrixXd>(fx::geo_y, 9, 3);
    const Eigen::VectorXd la = Eigen::Map<const Eigen::VectorXd>(fx::geo_a, 12).array().log();
    const Eigen::VectorXd lb = Eigen::Map<const Eigen::VectorXd>(fx::geo_b, 9).array().log();
    for (int k = 0; k < fx::geo_case_count; ++k) {
      const double blur = fx::geo_cases[4 * k], reach = fx::geo_cases[4 * k + 1];
      const bool debias = fx::geo_cases[4 * k + 2] > 0.5;
      CAPTURE(blur);
      CAPTURE(reach);
      CAPTURE(debias);
      sinkhorn_options o{.blur = blur, .scaling = 0.5, .debias = debias, .max_iterations = 0};
      if (reach > 0) o.reach = reach;
      CHECK(sinkhorn_divergence<double>(x, la, y, lb, o).value ==
            doctest::Approx(fx::geo_cases[4 * k + 3]).epsilon(1e-11));
    }
  }

  TEST_CASE("unbalanced single points: closed form of OT(a,b) - OT(a,a)/2 - OT(b,b)/2 + eps (|a| - |b|)^2 / 2") {
    const double ma = 0.7, mb = 1.6, eps = 0.09, rho = 0.5;
    Eigen::MatrixXd x(1, 2), y(1, 2);
    x << 0.2, -0.1;
    y << 0.9, 0.4;
    const double c = 0.5 * (x - y).squaredNorm();
    const auto r =
        sinkhorn_divergence<double>(x, Eigen::VectorXd::Constant(1, std::log(ma)), y,
                                    Eigen::VectorXd::Constant(1, std::log(mb)), tight(std::sqrt(eps), std::sqrt(rho)));
    const double expected = one_point_ot(ma, mb, c, eps, rho) - 0.5 * one_point_ot(ma, ma, 0, eps, rho) -
                            0.5 * one_point_ot(mb, mb, 0, eps, rho) + 0.5 * eps * (ma - mb) * (ma - mb);
    REQUIRE(r.converged);
    CHECK(r.value == doctest::Approx(expected).epsilon(1e-10));
  }

  TEST_CASE("rho -> infinity recovers the balanced divergence") {
    const Eigen::MatrixXd x = cloud(25, 3, 0), y = cloud(20, 3, 1, 0.5);
    const Eigen::VectorXd la = uniform_log_masses(25), lb = uniform_log_masses(20);
    const double bal = sinkhorn_divergence<double>(x, la, y, lb, tight(0.5)).value;
    double previous = std::numeric_limits<double>::infinity();
    for (double reach : {3.0, 30.0, 300.0}) {
      const double unb = sinkhorn_divergence<double>(x, la, y, lb, tight(0.5, reach)).value;
      CAPTURE(reach);
      CHECK(std::abs(unb - bal) < previous);
      previous = std::abs(unb - bal);
    }
    CHECK(previous < 1e-4 * bal);
  }

  TEST_CASE("the divergence is non-negative and vanishes for identical clouds") {
    const Eigen::MatrixXd x = cloud(30, 2, 0), y = cloud(30, 2, 1, 0.2);
    const Eigen::VectorXd l = uniform_log_masses(30);
    for (std::optional<double> reach : {std::optional<double>{}, std::optional<double>{1.0}}) {
      CHECK(sinkhorn_divergence<double>(x, l, y, l, tight(0.3, reach)).value > 0);
      CHECK(std::abs(sinkhorn_divergence<double>(x, l, x, l, tight(0.3, reach)).value) < 1e-12);
    }
  }

  TEST_CASE("gradients w.r.t. positions and log-masses match central finite differences") {
    const Eigen::MatrixXd x = cloud(15, 2, 0), y = cloud(12, 2, 1, 0.6);
    Eigen::VectorXd la = uniform_log_masses(15), lb = uniform_log_masses(12);
    la[3] += 0.3;
    lb[5] -= 0.2;
    const double h = 1e-5;
    for (bool debias : {true, false}) {
      for (std::optional<double> reach : {std::optional<double>{}, std::optional<double>{0.8}}) {
        CAPTURE(debias);
        CAPTURE(reach.has_value());
        const auto opts = tight(0.4, reach, debias);
        Eigen::VectorXd la_b = la, lb_b = lb;
        if (!reach) {  // balanced needs equal masses
          la_b = la.array() - upfi::core::log_sum_exp(la);
          lb_b = lb.array() - upfi::core::log_sum_exp(lb);
        }
        const auto r = sinkhorn_divergence<double>(x, la_b, y, lb_b, opts);
        REQUIRE(r.converged);
        const auto value = [&](const Eigen::MatrixXd& xx, const Eigen::VectorXd& aa, const Eigen::MatrixXd& yy,
                               const Eigen::VectorXd& bb) {
          return sinkhorn_divergence<double>(xx, aa, yy, bb, opts).value;
        };
        for (auto [i, k] : {std::pair{0, 0}, std::pair{3, 1}, std::pair{14, 1}}) {
          Eigen::MatrixXd xp = x, xm = x;
          xp(i, k) += h;
          xm(i, k) -= h;
          CHECK(r.grad_x(i, k) ==
                doctest::Approx((value(xp, la_b, y, lb_b) - value(xm, la_b, y, lb_b)) / (2 * h)).epsilon(1e-6));
        }
        Eigen::MatrixXd yp = y, ym = y;
        yp(5, 0) += h;
        ym(5, 0) -= h;
        CHECK(r.grad_y(5, 0) ==
              doctest::Approx((value(x, la_b, yp, lb_b) - value(x, la_b, ym, lb_b)) / (2 * h)).epsilon(1e-6));
        if (reach) {
          Eigen::VectorXd ap = la, am = la, bp = lb, bm = lb;
          ap[3] += h;
          am[3] -= h;
          bp[5] += h;
          bm[5] -= h;
          CHECK(r.grad_log_a[3] ==
                doctest::Approx((value(x, ap, y, lb) - value(x, am, y, lb)) / (2 * h)).epsilon(1e-6));
          CHECK(r.grad_log_b[5] ==
                doctest::Approx((value(x, la, y, bp) - value(x, la, y, bm)) / (2 * h)).epsilon(1e-6));
        } else {
          // balanced: the mass gradient is defined up to a constant; check it along a mass-preserving direction
          Eigen::VectorXd dir = Eigen::VectorXd::Zero(15);
          dir[2] = 1;
          dir[7] = -std::exp(la_b[2] - la_b[7]);  // keeps sum_i exp(la_i) fixed to first order
          const auto shifted = [&](double t) {
            Eigen::VectorXd a = (la_b.array().exp() + t * (dir.array() * la_b.array().exp())).log();
            return Eigen::VectorXd(a.array() - upfi::core::log_sum_exp(a) + upfi::core::log_sum_exp(lb_b));
          };
          const double fd = (value(x, shifted(h), y, lb_b) - value(x, shifted(-h), y, lb_b)) / (2 * h);
          CHECK(r.grad_log_a.dot(dir) == doctest::Approx(fd).epsilon(1e-5));
        }
      }
    }
  }

  TEST_CASE("robustness: eps from 1e-4 to 1e2 times diam^2, float and double, never NaN") {
    const Eigen::MatrixXd x = cloud(40, 2, 0), y = cloud(35, 2, 1, 1.0);
    const double diameter = 6.0;
    for (double ratio : {1e-4, 1e-2, 1.0, 1e2}) {
      CAPTURE(ratio);
      const double blur = diameter * std::sqrt(ratio);
      for (std::optional<double> reach : {std::optional<double>{}, std::optional<double>{2.0}}) {
        sinkhorn_options o{.blur = blur, .reach = reach, .max_iterations = 50, .gradients = true};
        const auto rd = sinkhorn_divergence<double>(x, uniform_log_masses(40), y, uniform_log_masses(35), o);
        CHECK(std::isfinite(rd.value));
        CHECK(rd.grad_x.allFinite());
        const auto rf = sinkhorn_divergence<float>(x.cast<float>(), uniform_log_masses<float>(40), y.cast<float>(),
                                                   uniform_log_masses<float>(35), o);
        CHECK(std::isfinite(rf.value));
        CHECK(rf.grad_x.allFinite());
        if (ratio >= 1e-2) CHECK(rf.value == doctest::Approx(rd.value).epsilon(2e-3));
      }
    }
  }

  TEST_CASE("robustness: duplicated points, a single point, huge coordinates, zero-mass entries") {
    const Eigen::MatrixXd x = cloud(20, 2, 0), y = cloud(18, 2, 1, 0.5);
    const Eigen::VectorXd la = uniform_log_masses(20), lb = uniform_log_masses(18);
    const double base = sinkhorn_divergence<double>(x, la, y, lb, tight(0.3)).value;
    SUBCASE("duplicating every point with half the mass changes nothing") {
      Eigen::MatrixXd xx(40, 2);
      xx << x, x;
      const Eigen::VectorXd ll = uniform_log_masses(40);
      CHECK(sinkhorn_divergence<double>(xx, ll, y, lb, tight(0.3)).value == doctest::Approx(base).epsilon(1e-9));
    }
    SUBCASE("a single point against a cloud") {
      const auto r = sinkhorn_divergence<double>(x.topRows(1), uniform_log_masses(1), y, lb, tight(0.3));
      CHECK(std::isfinite(r.value));
      CHECK(r.value > 0);
    }
    SUBCASE("translation by 1e6 leaves the value unchanged") {
      const Eigen::MatrixXd xs = x.array() + 1e6, ys = y.array() + 1e6;
      CHECK(sinkhorn_divergence<double>(xs, la, ys, lb, tight(0.3)).value == doctest::Approx(base).epsilon(1e-6));
    }
    SUBCASE("zero-mass points (log-mass -inf) are ignored, with zero gradients") {
      Eigen::MatrixXd xx(23, 2);
      xx << x, cloud(3, 2, 5, 10.0);
      Eigen::VectorXd ll(23);
      ll << la, Eigen::VectorXd::Constant(3, -std::numeric_limits<double>::infinity());
      const auto r = sinkhorn_divergence<double>(xx, ll, y, lb, tight(0.3));
      CHECK(r.value == doctest::Approx(base).epsilon(1e-9));
      CHECK(r.grad_x.bottomRows(3).isZero());
      CHECK(r.grad_log_a.allFinite());
    }
  }

  TEST_CASE("the dense (stored-cost) and online variants agree") {
    const Eigen::MatrixXd x = cloud(70, 5, 0), y = cloud(60, 5, 1, 0.4);
    const Eigen::VectorXd la = uniform_log_masses(70), lb = uniform_log_masses(60);
    for (std::optional<double> reach : {std::optional<double>{}, std::optional<double>{1.5}}) {
      auto o = tight(0.3, reach);
      o.dense = true;
      const auto d = sinkhorn_divergence<double>(x, la, y, lb, o);
      o.dense = false;
      const auto online = sinkhorn_divergence<double>(x, la, y, lb, o);
      CHECK(d.value == doctest::Approx(online.value).epsilon(1e-12));
      CHECK((d.grad_x - online.grad_x).cwiseAbs().maxCoeff() < 1e-12);
    }
  }

  TEST_CASE("non-convergence is reported, not silent") {
    const Eigen::MatrixXd x = cloud(30, 2, 0), y = cloud(30, 2, 1, 2.0);
    const auto r = sinkhorn_divergence<double>(x, uniform_log_masses(30), y, uniform_log_masses(30),
                                               {.blur = 0.01, .tolerance = 1e-14, .max_iterations = 3});
    CHECK_FALSE(r.converged);
    CHECK(r.last_update > 1e-14);
    CHECK(r.iterations > 3);
  }

  TEST_CASE("batched problems give the same results as separate calls") {
    std::vector<Eigen::MatrixXd> xs{cloud(10, 2, 0), cloud(14, 2, 1)}, ys{cloud(12, 2, 2, 0.5), cloud(9, 2, 3, 1.0)};
    std::vector<Eigen::VectorXd> las{uniform_log_masses(10), uniform_log_masses(14)},
        lbs{uniform_log_masses(12), uniform_log_masses(9)};
    const auto all = upfi::ot::sinkhorn_divergences<double>(xs, las, ys, lbs, {.blur = 0.3});
    REQUIRE(all.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
      CHECK(all[k].value == sinkhorn_divergence<double>(xs[k], las[k], ys[k], lbs[k], {.blur = 0.3}).value);
    }
    CHECK_THROWS_AS((void)upfi::ot::sinkhorn_divergences<double>(xs, las, ys, {lbs[0]}), std::invalid_argument);
  }

  TEST_CASE("unbalanced, eps << rho: the translation step converges the mass mode in few sweeps") {
    // blur 0.1, reach 5: kappa^2 = (1 + eps / rho)^-2 = 0.9992, so the plain iteration would shrink an error in the
    // common offset of the potentials (the masses) by 0.08 % per sweep; GeomLoss's schedule leaves it at O(eps).
    const Eigen::MatrixXd x = 0.5 * cloud(60, 2, 0), y = 0.5 * cloud(50, 2, 1, 0.3);
    const Eigen::VectorXd la = uniform_log_masses(60), lb = uniform_log_masses(50).array() + std::log(2.0);
    sinkhorn_options o{.blur = 0.1, .reach = 5.0, .tolerance = 1e-8, .max_iterations = 1000, .gradients = true};
    const auto r = sinkhorn_divergence<double>(x, la, y, lb, o);
    MESSAGE(r.iterations << " sweeps, last update " << r.last_update);
    REQUIRE(r.converged);  // the plain iteration needs about 20 000 sweeps here
    // optimality of the KL-penalised marginals: (pi 1)_i = a_i exp(-f_i / rho), (pi^T 1)_j = b_j exp(-g_j / rho)
    const auto plan = upfi::ot::transport_plan<double>::from(r, x, la, y, lb);
    const Eigen::VectorXd rows = plan.row_marginal(), cols = plan.column_marginal();
    const Eigen::VectorXd want_rows = (la - r.f_ba / 25.0).array().exp();
    const Eigen::VectorXd want_cols = (lb - r.g_ab / 25.0).array().exp();
    CHECK(((rows - want_rows).array() / want_rows.array()).abs().maxCoeff() < 1e-6);
    CHECK(((cols - want_cols).array() / want_cols.array()).abs().maxCoeff() < 1e-6);
  }

  TEST_CASE("warm start from the converged potentials of the same problem: one final update gives the cold result") {
    const Eigen::MatrixXd x = cloud(40, 2, 0), y = cloud(30, 2, 1, 0.7);
    for (const std::optional<double> reach : {std::optional<double>{}, std::optional<double>{1.0}}) {
      CAPTURE(reach.has_value());
      const Eigen::VectorXd la = uniform_log_masses(40);
      const Eigen::VectorXd lb = uniform_log_masses(30).array() + (reach ? std::log(1.3) : 0.0);
      const sinkhorn_options o = tight(0.3, reach);
      const auto cold = sinkhorn_divergence<double>(x, la, y, lb, o);
      REQUIRE(cold.converged);
      sinkhorn_options w = o;
      w.warm_sweeps = 0;
      w.max_iterations = 0;
      const auto warm = sinkhorn_divergence<double>(x, la, y, lb, w, {cold.f_ba, cold.g_ab, cold.f_aa, cold.g_bb});
      CHECK(warm.iterations == 1);
      CHECK(warm.converged);
      CHECK(warm.value == doctest::Approx(cold.value).epsilon(1e-11));
      CHECK((warm.f_ba - cold.f_ba).cwiseAbs().maxCoeff() < 1e-11);
      CHECK((warm.grad_x - cold.grad_x).cwiseAbs().maxCoeff() < 1e-11);
      CHECK((warm.grad_log_a - cold.grad_log_a).cwiseAbs().maxCoeff() < 1e-11);
    }
  }

  TEST_CASE("extend_potentials: the previous potentials at the previous points, a warm start at moved ones") {
    const Eigen::MatrixXd x = cloud(40, 2, 0), y = cloud(30, 2, 1, 0.7);
    Eigen::MatrixXd nudge(40, 2);
    upfi::core::counter_rng(upfi::test::seed(), 7).fill_normal(nudge, 0);
    const Eigen::MatrixXd x2 = x + 0.05 * nudge, y2 = cloud(30, 2, 5, 0.7);  // moved sources, resampled targets
    for (const std::optional<double> reach : {std::optional<double>{}, std::optional<double>{1.0}}) {
      CAPTURE(reach.has_value());
      const Eigen::VectorXd la = uniform_log_masses(40);
      const Eigen::VectorXd lb = uniform_log_masses(30).array() + (reach ? std::log(1.3) : 0.0);
      const sinkhorn_options o = tight(0.3, reach);
      const auto first = sinkhorn_divergence<double>(x, la, y, lb, o);
      REQUIRE(first.converged);
      const auto same = upfi::ot::extend_potentials<double>(first, x, la, y, lb, x, y, o);
      // converged potentials are a fixed point of the half-updates (up to the balanced problem's free constant,
      // which the symmetric self-problems and the alternating cross update fix the same way)
      CHECK((same.f_aa - first.f_aa).cwiseAbs().maxCoeff() < 1e-9);
      CHECK((same.g_bb - first.g_bb).cwiseAbs().maxCoeff() < 1e-9);
      CHECK((same.f_ba - first.f_ba).cwiseAbs().maxCoeff() < 1e-9);
      CHECK((same.g_ab - first.g_ab).cwiseAbs().maxCoeff() < 1e-9);
      // the nearby problem: the same converged result from the extended potentials, in fewer sweeps
      const auto cold = sinkhorn_divergence<double>(x2, la, y2, lb, o);
      const auto warm = sinkhorn_divergence<double>(
          x2, la, y2, lb, o, upfi::ot::extend_potentials<double>(first, x, la, y, lb, x2, y2, o));
      REQUIRE(cold.converged);
      REQUIRE(warm.converged);
      CHECK(warm.value == doctest::Approx(cold.value).epsilon(1e-9));
      CHECK((warm.grad_x - cold.grad_x).cwiseAbs().maxCoeff() < 1e-9);
      if (reach) {
        CHECK((warm.grad_log_b - cold.grad_log_b).cwiseAbs().maxCoeff() < 1e-9);
      } else {  // balanced potentials are defined up to a constant (f + c, g - c)
        const Eigen::VectorXd shift = warm.g_ab - cold.g_ab;
        CHECK(shift.maxCoeff() - shift.minCoeff() < 1e-9);
      }
      CHECK(warm.iterations < cold.iterations);
      // single-precision kernels from the same warm start
      const upfi::ot::sinkhorn_potentials<double> init =
          upfi::ot::extend_potentials<double>(first, x, la, y, lb, x2, y2, o);
      sinkhorn_options of = o;
      of.tolerance = 1e-5;
      const auto in_float = upfi::ot::sinkhorn_divergence_in<float, double>(x2, la, y2, lb, of, &init);
      CHECK(in_float.value == doctest::Approx(cold.value).epsilon(1e-4));
      CHECK((in_float.grad_x - cold.grad_x).cwiseAbs().maxCoeff() < 1e-4);
    }
  }

  TEST_CASE("warm start: invalid initial potentials raise clear errors") {
    const Eigen::MatrixXd x = cloud(5, 2, 0), y = cloud(4, 2, 1);
    const Eigen::VectorXd la = uniform_log_masses(5), lb = uniform_log_masses(4);
    const auto r = sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.5});
    const upfi::ot::sinkhorn_potentials<double> good{r.f_ba, r.g_ab, r.f_aa, r.g_bb};
    CHECK_NOTHROW((void)sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.5}, good));
    auto p = good;
    p.f_ba = Eigen::VectorXd::Zero(3);
    CHECK_THROWS_WITH_AS((void)sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.5}, p),
                         "upfi::ot::sinkhorn_divergence: initial potential f_ba has 3 values for 5 points",
                         std::invalid_argument);
    p = good;
    p.g_bb = Eigen::VectorXd();
    CHECK_THROWS_WITH_AS((void)sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.5}, p),
                         "upfi::ot::sinkhorn_divergence: initial potential g_bb has 0 values for 4 points (debias "
                         "needs it)",
                         std::invalid_argument);
    CHECK_NOTHROW((void)sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.5, .debias = false}, p));
    p = good;
    p.g_ab[1] = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS((void)sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.5}, p),
                         "upfi::ot::sinkhorn_divergence: initial potential g_ab is not finite", std::invalid_argument);
    sinkhorn_options negative{.blur = 0.5};
    negative.warm_sweeps = -1;
    CHECK_THROWS_WITH_AS((void)sinkhorn_divergence<double>(x, la, y, lb, negative, good),
                         "upfi::ot::sinkhorn_divergence: warm_sweeps must be >= 0", std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::ot::extend_potentials<double>(r, x, la, y, lb.head(3), x, y, {.blur = 0.5}),
                    std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::ot::extend_potentials<double>(r, x, la, y, lb, cloud(5, 3, 2), y, {.blur = 0.5}),
                    std::invalid_argument);
  }

  TEST_CASE("invalid inputs raise clear errors") {
    const Eigen::MatrixXd x = cloud(5, 2, 0), y = cloud(4, 2, 1);
    const Eigen::VectorXd la = uniform_log_masses(5), lb = uniform_log_masses(4);
    CHECK_THROWS_WITH_AS((void)sinkhorn_divergence<double>(x, la, y, Eigen::VectorXd::Zero(4)),
                         "upfi::ot::sinkhorn_divergence: balanced OT needs equal total masses, got 1 and 4; normalise "
                         "the weights or pass a reach (unbalanced OT)",
                         std::invalid_argument);
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(x, la, cloud(4, 3, 1), lb), std::invalid_argument);
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0}), std::invalid_argument);
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(x, la, y, lb, {.scaling = 1.0}), std::invalid_argument);
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(x, la, y, lb, {.reach = -1.0}), std::invalid_argument);
    Eigen::MatrixXd bad = x;
    bad(2, 1) = std::nan("");
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(bad, la, y, lb), std::invalid_argument);
    Eigen::VectorXd nan_mass = la;
    nan_mass[0] = std::nan("");
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(x, nan_mass, y, lb), std::invalid_argument);
    CHECK_THROWS_AS((void)sinkhorn_divergence<double>(
                        x, Eigen::VectorXd::Constant(5, -std::numeric_limits<double>::infinity()), y, lb),
                    std::invalid_argument);
    CHECK_THROWS_AS(upfi::ot::kl_penalty(0.0), std::invalid_argument);
    // other costs: values yes, gradients refused clearly
    const upfi::ot::sinkhorn<double, upfi::ot::balanced, upfi::ot::euclidean> p1;
    CHECK(p1(x, la, y, lb, {.blur = 0.5}).value > 0);
    CHECK_THROWS_WITH_AS((void)p1(x, la, y, lb, {.blur = 0.5, .gradients = true}),
                         "upfi::ot::sinkhorn_divergence: gradients are implemented for the squared Euclidean cost only",
                         std::invalid_argument);
  }
}
