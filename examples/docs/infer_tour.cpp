// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/infer.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold. Usage: infer_tour [model file]
#include <upfi/flow.hpp>
#include <upfi/infer/calibrate.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/infer/model_file.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/score/kernel_score.hpp>
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
  // [baselines]
  // The UPFI paper's deterministic baselines, trained by a full roll-out from the first snapshot:
  // TIGON++ (drift and growth networks, no noise correction) and fitness-ODE (one scalar U: v = grad U, g = U)
  const auto tigon = upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 3), upfi::nn::mlp<double>(scalar, 4));
  const auto fitness = upfi::flow::fitness_flow(upfi::nn::mlp<double>(scalar, 5));
  upfi::infer::flow_training_options rollout = o;
  rollout.scheme = upfi::infer::training_scheme::full_rollout;
  upfi::infer::flow_trainer tigon_trainer(tigon, data, rollout);
  upfi::infer::flow_trainer fitness_trainer(fitness, data, rollout);
  const double tigon_loss = tigon_trainer.train().history.back().loss.divergence;
  const double fitness_loss = fitness_trainer.train().history.back().loss.divergence;
  std::printf("last divergence: TIGON++ %.4f, fitness-ODE %.4f\n", tigon_loss, fitness_loss);
  // [baselines]
  tour::expect(std::isfinite(tigon_loss) && std::isfinite(fitness_loss), "the baselines train");

  // [calibration]
  // Beyond the papers: choose the diffusion D by held-out-snapshot validation (each value refitted without t = 0.3)
  const auto make = [&](double d, const upfi::core::snapshot_series<double>& train) {  // sees only the training data
    return upfi::flow::probability_flow(upfi::nn::mlp<double>(net, 1), upfi::score::kernel_score(train),
                                        upfi::flow::isotropic_diffusion{d}, upfi::nn::mlp<double>(scalar, 2));
  };
  upfi::infer::diffusion_calibration_options co;
  co.training = o;
  co.training.iterations = 150;
  const auto calibration = upfi::infer::calibrate_diffusion(make, data, {0.01, 0.05, 0.25}, co);
  for (const auto& p : calibration.curve) std::printf("D = %.2f: validation loss %.4f\n", p.value, p.validation_loss);
  std::printf("best D = %.2f (relative spread of the curve %.2f)\n", calibration.best(), calibration.relative_spread());
  // [calibration]
  tour::expect(calibration.curve.size() == 3, "one validation loss per grid value");
  return tour::exit_code();
}
