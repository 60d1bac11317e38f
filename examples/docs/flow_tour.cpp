// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/flow.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/flow.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>
#include <upfi/score/gaussian.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main() {
  // dX = -X dt + sqrt(2 delta) dB from X_0 ~ N(0, s0^2 I): the marginal variance is
  // s_t^2 = delta + (s0^2 - delta) exp(-2t), so the probability flow maps x_0 to x_0 s_t / s0 exactly.
  const double delta = 0.5, s0 = 0.3;
  const auto variance = [&](double t) { return delta + (s0 * s0 - delta) * std::exp(-2 * t); };
  Eigen::MatrixXd x0(1000, 2);
  upfi::core::counter_rng(1).fill_normal(x0, 0);
  x0 *= s0;

  // [field]
  // u = v - D s with drift v = A x + e, the exact Gaussian score s_t, D = delta I; growth g = c . x + b
  using namespace upfi::flow;
  const auto score = upfi::score::gaussian_score(2, [&](double t) {
    return std::make_pair(Eigen::VectorXd(Eigen::VectorXd::Zero(2)),
                          Eigen::MatrixXd(variance(t) * Eigen::MatrixXd::Identity(2, 2)));
  });
  auto field = probability_flow(upfi::nn::linear_field(-Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
                                score, isotropic_diffusion{delta},
                                upfi::nn::quadratic_scalar_field(Eigen::MatrixXd(), Eigen::VectorXd::Zero(2), 0.3));
  // [field]

  // [integrate]
  // Weighted particles (x, log m) pushed from t = 0 to t = 1 by 100 RK4 steps, with the WFR regulariser
  // R = int sum_k m_k (|v_k|^2 + alpha g_k^2) dt
  const flow_state y0{x0, Eigen::VectorXd::Zero(x0.rows()), 0.0};
  const flow_state y1 = integrate(field, rk4(), 0.0, 1.0, y0, {.steps = 100, .alpha = 0.1});
  const double map_error = (y1.x - x0 * std::sqrt(variance(1.0)) / s0).cwiseAbs().maxCoeff();
  std::printf("max |x(1) - x(0) s_1 / s_0| = %.1e; log m(1) = %.4f (exact 0.3); R = %.4f\n", map_error, y1.log_m[0],
              y1.regulariser);
  // [integrate]
  tour::expect(map_error < 1e-6, "RK4 reproduces the exact flow map");
  tour::expect(std::abs(y1.log_m[0] - 0.3) < 1e-12, "log-masses grow by g t");

  // [adaptive]
  // Dormand-Prince 5(4) with dense output at t = 0.5
  const adaptive_result r = integrate_adaptive(field, 0.0, 1.0, y0, {.atol = 1e-8, .rtol = 1e-8}, {0.5});
  std::printf("adaptive: %ld accepted, %ld rejected steps, %ld field evaluations\n", r.accepted, r.rejected,
              r.evaluations);
  // [adaptive]
  tour::expect((r.at[0].x - x0 * std::sqrt(variance(0.5)) / s0).cwiseAbs().maxCoeff() < 1e-6,
               "dense output is accurate");

  // [vjp]
  // Reverse mode through the steps: gradients of L = sum |x(1)|^2 / 2 + R w.r.t. the parameters [vec A; e; c; b]
  const flow_gradients g = integrate_vjp(field, rk4(), 0.0, 1.0, y0, {.steps = 100, .alpha = 0.1}, y1.x,
                                         Eigen::VectorXd(), /*d loss / d R=*/1.0);
  const auto loss = [&](const Eigen::VectorXd& p) {
    auto f = field;
    f.set_parameters(p);
    const flow_state y = integrate(f, rk4(), 0.0, 1.0, y0, {.steps = 100, .alpha = 0.1});
    return 0.5 * y.x.squaredNorm() + y.regulariser;
  };
  const auto check = upfi::ad::check_gradient(loss, field.parameters(), g.params);
  std::printf("%ld parameters; largest relative error against finite differences %.1e\n",
              static_cast<long>(g.params.size()), check.max_rel_error);
  // [vjp]
  tour::expect(check.max_rel_error < 1e-5, "the reverse sweep matches finite differences");
  return tour::exit_code();
}
