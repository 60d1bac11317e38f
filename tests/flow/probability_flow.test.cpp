// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/ad/gradient_check.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/score/gaussian.hpp>

#include <Eigen/Cholesky>
#include <doctest/doctest.h>

#include "score/support.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <vector>

using upfi::flow::flow_state;
using upfi::flow::tableau;

namespace {
Eigen::MatrixXd random_matrix(Eigen::Index r, Eigen::Index c, std::uint32_t stream) {
  Eigen::MatrixXd z(r, c);
  upfi::core::counter_rng(upfi::test::seed(), stream).fill_normal(z, 0);
  return z;
}

// N points whose sample mean and (1/N) covariance are exactly mu and sigma.
Eigen::MatrixXd exact_moment_sample(const Eigen::VectorXd& mu, const Eigen::MatrixXd& sigma, Eigen::Index n) {
  Eigen::MatrixXd z = random_matrix(n, mu.size(), 40);
  z = z.rowwise() - z.colwise().mean();
  const Eigen::MatrixXd c = z.transpose() * z / static_cast<double>(n);
  const Eigen::MatrixXd lc = c.llt().matrixL(), ls = sigma.llt().matrixL();
  // Y = Z L_c^{-T} L_s^T has covariance L_s L_s^T
  const Eigen::MatrixXd w = lc.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(mu.size(), mu.size()));
  return ((z * w.transpose()) * ls.transpose()).rowwise() + mu.transpose();
}

auto ou_flow(const upfi::test::ou_case& c) {
  return upfi::flow::probability_flow(upfi::nn::linear_field(c.ou.drift_matrix(), c.ou.drift_offset()),
                                      upfi::score::ou_marginal_score(c.ou, c.m0, c.s0),
                                      upfi::flow::matrix_diffusion{c.ou.diffusion()});
}

double moment_error(const Eigen::MatrixXd& x, const Eigen::VectorXd& mu, const Eigen::MatrixXd& sigma) {
  const Eigen::RowVectorXd m = x.colwise().mean();
  const Eigen::MatrixXd xc = x.rowwise() - m;
  const Eigen::MatrixXd c = xc.transpose() * xc / static_cast<double>(x.rows());
  return std::max((m.transpose() - mu).cwiseAbs().maxCoeff(), (c - sigma).cwiseAbs().maxCoeff());
}
}  // namespace

TEST_SUITE("flow/probability_flow") {
  TEST_CASE("OU with the analytic score: pushed samples have the exact moments at t1, at each stepper's order") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto field = ou_flow(c);
    const double t0 = 0.2, t1 = 1.0;
    const Eigen::VectorXd mu0 = c.ou.mean(t0, c.m0), mu1 = c.ou.mean(t1, c.m0);
    const Eigen::MatrixXd s0 = c.ou.covariance(t0, c.s0), s1 = c.ou.covariance(t1, c.s0);
    const flow_state y0{exact_moment_sample(mu0, s0, 400), Eigen::VectorXd::Zero(400), 0};
    CHECK(moment_error(y0.x, mu0, s0) < 1e-12);
    for (const tableau& tb : {upfi::flow::euler(), upfi::flow::heun(), upfi::flow::rk4(), upfi::flow::dopri5()}) {
      CAPTURE(tb.name);
      std::vector<double> errors;
      const int base = tb.order >= 4 ? 2 : 8;
      for (int steps : {base, 2 * base, 4 * base}) {
        const auto y1 = upfi::flow::integrate(field, tb, t0, t1, y0, {.steps = steps});
        errors.push_back(moment_error(y1.x, mu1, s1));
      }
      const double order = std::log2(errors[1] / errors[2]);
      MESSAGE(tb.name << ": moment errors " << errors[0] << " " << errors[1] << " " << errors[2] << ", observed order "
                      << order);
      CHECK(errors[2] < errors[1]);
      CHECK(std::abs(order - tb.order) < (tb.order >= 5 ? 0.6 : 0.35));  // DOPRI5 nears round-off at 8 steps
    }
  }

  TEST_CASE("gradients through 1-10 steps of every stepper match finite differences") {
    const Eigen::Index d = 2, n = 5;
    Eigen::Matrix2d cov;
    cov << 1.0, 0.3, 0.3, 0.8;
    upfi::nn::mlp<double> drift(
        {.inputs = d, .outputs = d, .hidden = {6}, .hidden_activation = upfi::nn::activation::tanh}, 3);
    upfi::nn::mlp<double> growth({.inputs = d, .outputs = 1, .hidden = {5}}, 4);
    auto field =
        upfi::flow::probability_flow(std::move(drift), upfi::score::gaussian_score(Eigen::Vector2d(0.2, -0.1), cov),
                                     upfi::flow::isotropic_diffusion{0.4}, std::move(growth));
    const flow_state y0{0.7 * random_matrix(n, d, 1), 0.3 * random_matrix(n, 1, 2).col(0), 0};
    const Eigen::MatrixXd cx = random_matrix(n, d, 3);
    const Eigen::VectorXd cl = random_matrix(n, 1, 4).col(0);
    const double beta = 0.37, alpha = 0.5;
    for (const tableau& tb : {upfi::flow::euler(), upfi::flow::heun(), upfi::flow::rk4(), upfi::flow::dopri5()}) {
      for (int steps : {1, 3, 10}) {
        CAPTURE(tb.name);
        CAPTURE(steps);
        const upfi::flow::fixed_step_options o{.steps = steps, .alpha = alpha};
        const auto loss = [&](const auto& f, const flow_state& y) {
          const flow_state y1 = upfi::flow::integrate(f, tb, 0.1, 0.9, y, o);
          return (y1.x.array() * cx.array()).sum() + y1.log_m.dot(cl) + beta * y1.regulariser;
        };
        const auto g = upfi::flow::integrate_vjp(field, tb, 0.1, 0.9, y0, o, cx, cl, beta);
        const auto lp = [&](const Eigen::VectorXd& p) {
          auto copy = field;
          copy.set_parameters(p);
          return loss(copy, y0);
        };
        CHECK(upfi::ad::check_gradient(lp, field.parameters(), g.params).max_rel_error < 1e-6);
        const auto lx = [&](const Eigen::VectorXd& v) {
          flow_state y = y0;
          y.x = Eigen::Map<const Eigen::MatrixXd>(v.data(), n, d);
          return loss(field, y);
        };
        const Eigen::VectorXd xflat = Eigen::Map<const Eigen::VectorXd>(y0.x.data(), y0.x.size());
        CHECK(upfi::ad::check_gradient(lx, xflat, Eigen::Map<const Eigen::VectorXd>(g.x0.data(), g.x0.size()))
                  .max_rel_error < 1e-6);
        const auto ll = [&](const Eigen::VectorXd& v) {
          flow_state y = y0;
          y.log_m = v;
          return loss(field, y);
        };
        CHECK(upfi::ad::check_gradient(ll, y0.log_m, g.log_m0).max_rel_error < 1e-6);
      }
    }
    // dropping the path through the score's input (the authors' no-grad score) changes the position gradient
    auto dropped = field;
    dropped.set_score_input_path(false);
    const upfi::flow::fixed_step_options o{.steps = 3};
    const auto full = upfi::flow::integrate_vjp(field, upfi::flow::rk4(), 0.1, 0.9, y0, o, cx, cl);
    const auto approx = upfi::flow::integrate_vjp(dropped, upfi::flow::rk4(), 0.1, 0.9, y0, o, cx, cl);
    CHECK((full.x0 - approx.x0).norm() > 1e-3 * full.x0.norm());
  }

  TEST_CASE("Dormand-Prince step-size control meets the tolerance on a stiff-ish linear problem; dense output") {
    // u = A x with eigenvalues -1 and -30 (no score term: delta = 0); exact solution exp(A t) x0
    Eigen::Matrix2d a;
    a << -1.0, 2.0, 0.0, -30.0;
    const auto field =
        upfi::flow::probability_flow(upfi::nn::linear_field(a, Eigen::Vector2d::Zero()),
                                     upfi::score::gaussian_score(Eigen::Vector2d::Zero(), Eigen::Matrix2d::Identity()),
                                     upfi::flow::isotropic_diffusion{0.0});
    const flow_state y0{random_matrix(20, 2, 5), Eigen::VectorXd::Zero(20), 0};
    const auto exact = [&](double t) {
      // A is upper triangular: closed form of exp(A t)
      Eigen::Matrix2d e;
      e << std::exp(-t), 2.0 * (std::exp(-t) - std::exp(-30.0 * t)) / 29.0, 0.0, std::exp(-30.0 * t);
      return Eigen::MatrixXd(y0.x * e.transpose());
    };
    long previous_steps = 0;
    for (double tol : {1e-3, 1e-6, 1e-9}) {
      CAPTURE(tol);
      const auto r = upfi::flow::integrate_adaptive(field, 0.0, 2.0, y0, {.atol = tol, .rtol = tol}, {0.05, 0.5, 1.3});
      const double err = (r.state.x - exact(2.0)).cwiseAbs().maxCoeff();
      double dense = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        dense = std::max(dense, (r.at[k].x - exact(std::vector<double>{0.05, 0.5, 1.3}[k])).cwiseAbs().maxCoeff());
      }
      MESSAGE("tol " << tol << ": error at t1 " << err << ", dense-output error " << dense << ", " << r.accepted
                     << " accepted / " << r.rejected << " rejected steps");
      CHECK(err < 20 * tol);
      CHECK(dense < 1e3 * std::pow(tol, 0.75));
      CHECK(r.accepted > previous_steps);
      previous_steps = r.accepted;
    }
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {.atol = 0.0}), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {.rtol = -1.0}), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 1.0, 0.0, y0), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {}, {0.5, 0.2}), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 100.0, y0, {.max_steps = 5}),
                         doctest::Contains("more than 5 steps"), upfi::core::error);
  }

  TEST_CASE("fixed-step driver: observers, shape checks") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto field = ou_flow(c);
    const flow_state y0{random_matrix(10, 2, 6), Eigen::VectorXd::Zero(10), 0};
    std::vector<double> seen;
    (void)upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, y0, {.steps = 4},
                                [&](double t, const flow_state&) { seen.push_back(t); });
    REQUIRE(seen.size() == 4);
    CHECK(seen.back() == doctest::Approx(1.0));
    CHECK_THROWS_AS((void)upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, y0, {.steps = 0}),
                    std::invalid_argument);
    flow_state bad = y0;
    bad.log_m.resize(3);
    CHECK_THROWS_AS((void)upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, bad), std::invalid_argument);
    CHECK_THROWS_AS(
        upfi::flow::probability_flow(upfi::nn::linear_field(3), upfi::score::ou_marginal_score(c.ou, c.m0, c.s0),
                                     upfi::flow::isotropic_diffusion{1.0}),
        std::invalid_argument);
  }
}
