// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/nn.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/ad/gradient_check.hpp>
#include <upfi/nn.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main() {
  const Eigen::Index n = 256;
  const Eigen::MatrixXd x = Eigen::VectorXd::LinSpaced(n, -3.0, 3.0);
  const Eigen::MatrixXd target = x.array().sin().matrix();

  // [mlp]
  // Fit y = sin(x) with a batched MLP: one forward and one VJP per step over the whole cloud, AdamW updates
  upfi::nn::mlp<double> net(
      {.inputs = 1, .outputs = 1, .hidden = {32, 32}, .hidden_activation = upfi::nn::activation::tanh},
      /*seed=*/1);
  upfi::nn::mlp_workspace<double> ws;  // reused across calls
  Eigen::MatrixXd y;
  Eigen::VectorXd grad(net.parameter_count());
  const auto loss_gradient = [&](const upfi::nn::mlp<double>& f) {  // mean squared error and its gradient
    f.forward(0.0, x, y, ws);                                       // x: N x 1 -> y: N x 1
    const Eigen::MatrixXd residual = y - target;
    grad.setZero();
    f.vjp(ws, (2.0 / static_cast<double>(n)) * residual, nullptr, &grad);  // grad += J_theta^T dloss/dy
    return residual.squaredNorm() / static_cast<double>(n);
  };
  // [mlp]

  // [check]
  // Every VJP in upfi is tested against central finite differences like this
  const auto mse = [&](const Eigen::VectorXd& p) {
    auto copy = net;
    copy.parameters() = p;
    Eigen::MatrixXd out;
    copy.evaluate(0.0, x, out);
    return (out - target).squaredNorm() / static_cast<double>(n);
  };
  (void)loss_gradient(net);
  const auto check = upfi::ad::check_gradient(mse, net.parameters(), grad);
  std::printf("largest relative error of the parameter gradient: %.1e\n", check.max_rel_error);
  // [check]
  tour::expect(check.max_rel_error < 1e-6, "the VJP matches finite differences");

  // [train]
  upfi::nn::adam optimiser(net.parameter_count(), {.learning_rate = 1e-2, .weight_decay = 1e-4});
  double loss = 0;
  for (int step = 0; step < 1500; ++step) {
    loss = loss_gradient(net);
    optimiser.step(net.parameters(), grad);
  }
  std::printf("mean squared error after 1500 AdamW steps: %.2e\n", loss);
  // [train]
  tour::expect(loss < 1e-3, "the MLP fits sin(x)");

  // [gradient_field]
  // v = grad_x U for a scalar network U (the fitness-ODE drift); U itself is the growth rate g = U
  const upfi::nn::gradient_field<double> v({.inputs = 2, .hidden = {16, 16}, .time_input = true}, /*seed=*/3);
  const Eigen::MatrixXd points = Eigen::MatrixXd::Random(5, 2);
  Eigen::MatrixXd velocity, potential, shifted;
  v.evaluate(0.5, points, velocity);
  v.potential().evaluate(0.5, points, potential);
  // [gradient_field]
  Eigen::MatrixXd moved = points;
  moved.col(0).array() += 1e-6;
  v.potential().evaluate(0.5, moved, shifted);
  tour::expect(std::abs((shifted(0, 0) - potential(0, 0)) / 1e-6 - velocity(0, 0)) < 1e-4, "v = grad U");
  return tour::exit_code();
}
