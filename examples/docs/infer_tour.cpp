// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/infer.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold. Usage: infer_tour [model file]
#include <upfi/infer.hpp>
#include <upfi/sde.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "ou.upfi";
  // Data: OU cells dX = (A X + e) dt + sqrt(2 D) dB that divide at rate 1 + x0 (simulated by branching).
  Eigen::Matrix2d a, diffusion;
  a << -1.0, 0.0, 0.0, -1.0;
  diffusion = 0.05 * Eigen::Matrix2d::Identity();
  const upfi::sde::ornstein_uhlenbeck ou(a, Eigen::Vector2d(0.5, 0.0), diffusion);
  const upfi::sde::quadratic_growth rates(Eigen::Matrix2d::Zero(), Eigen::Vector2d(1.0, 0.0), 1.0);
  const upfi::sde::simulator sim(upfi::sde::with_growth(ou, rates), ou.noise(), {.dt = 0.01});
  const auto data = sim.snapshots(
      [](Eigen::Index n, const upfi::core::counter_rng& rng) {
        Eigen::MatrixXd x(n, 2);
        rng.fill_normal(x, 0);
        return Eigen::MatrixXd(0.3 * x);
      },
      300, {0.0, 0.3, 0.6}, /*seed=*/2);

  // [trainer]
  // UPFI: drift and growth networks through the probability flow with a frozen (here training-free) score
  const upfi::nn::mlp_options net{.inputs = 2, .outputs = 2, .hidden = {32, 32}};
  upfi::nn::mlp_options scalar = net;
  scalar.outputs = 1;
  auto field = upfi::flow::probability_flow(upfi::nn::mlp<double>(net, 1), upfi::score::kernel_score(data),
                                            upfi::flow::isotropic_diffusion{0.05}, upfi::nn::mlp<double>(scalar, 2));
  upfi::infer::flow_training_options o;  // UPFI Table 6 defaults; o.reach.reset() for a balanced loss (PFI)
  o.iterations = 300;
  o.batch = 128;
  o.report_every = 100;
  upfi::infer::flow_trainer trainer(field, data, o);
  const auto report = trainer.train([](const upfi::infer::flow_progress& p) {
    std::printf("%4ld  S = %.4f  lambda R = %.5f  (%.1f s)\n", p.iteration, p.loss.divergence, p.loss.regulariser,
                p.seconds);
  });
  const auto& fitted = trainer.field();
  // [trainer]
  tour::expect(report.history.back().loss.divergence < 0.5 * report.history.front().loss.divergence, "the loss falls");

  // [simulate]
  // The fitted SDE dX = v dt + sqrt(2 D) dB with log-masses d log m = g dt, from the first snapshot
  const auto paths = upfi::infer::simulate_model(fitted, data.cloud(0), {0.0, 0.6}, {.dt = 0.01, .seed = 3});
  const double model_mass = paths.log_masses.back().array().exp().mean();
  std::printf("relative mass at t = 0.6: model %.3f, data %.3f\n", model_mass, data.relative_mass(2));
  // [simulate]
  tour::expect(std::abs(model_mass / data.relative_mass(2) - 1) < 0.15, "the model's mass growth matches the data");

  // [file]
  // Model files: metadata and named arrays, shortest round-trip decimals, written atomically
  upfi::infer::model_file f;
  f.set_meta("method", "UPFI");
  upfi::infer::add_network(f, "drift", fitted.drift());
  upfi::infer::add_network(f, "growth", fitted.growth());
  upfi::infer::write_model_file(path, f);
  upfi::nn::mlp<double> drift(net, 0);  // same widths, any weights: load_network checks and overwrites them
  upfi::infer::load_network(upfi::infer::read_model_file(path), "drift", drift);
  // [file]
  tour::expect(drift.parameters() == fitted.drift().parameters(), "the model file reloads bit for bit");
  return tour::exit_code();
}
