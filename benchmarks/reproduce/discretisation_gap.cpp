// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Does a fitted field lean on the training's discretisation? Fits UPFI to a snapshot CSV as infer::fit_snapshots does
// (normalised units, kernel score, autonomous 64x64x64 drift and growth networks, D_z = 0.05, batch 128, reach 5),
// with STEPS steps of the stepper per interval, then pushes up to 1000 cells of every snapshot to the next time with
// the trained field twice: with the training's STEPS steps and with 50, and prints the weighted energy distance to
// (up to 1000 cells of) the next snapshot for both, beside the distance of the unmoved cells. A large gap means the
// fit is a property of the coarse step map, not of the flow that simulations (fine steps) follow (docs/results.md,
// "The 2-Euler-step map"). Not part of CI.
//
//   discretisation_gap DATA.csv [ITERATIONS = 2000] [STEPS = 2] [euler|heun = euler]
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/subsample.hpp>
#include <upfi/infer/fit.hpp>
#include <upfi/io/csv.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: discretisation_gap DATA.csv [ITERATIONS] [STEPS] [euler|heun]\n");
    return 2;
  }
  try {
    const auto data = upfi::io::read_snapshot_csv(argv[1]);
    const long iterations = argc > 2 ? std::atol(argv[2]) : 2000;
    const int steps = argc > 3 ? std::atoi(argv[3]) : 2;
    const upfi::flow::tableau stepper = upfi::flow::tableau_named(argc > 4 ? argv[4] : "euler");
    const auto scaling = upfi::infer::data_scaling::of(data);
    const auto z = scaling.to_model(data);
    const Eigen::Index d = data.dimension();
    upfi::infer::flow_training_options to;
    to.iterations = iterations;
    to.batch = 128;
    to.lambda = 1e-3;
    to.steps = steps;
    to.stepper = stepper;
    to.reach = 5.0;
    upfi::nn::mlp_options net{.inputs = d, .outputs = d, .hidden = {64, 64, 64}, .time_input = false};
    upfi::nn::mlp_options scalar = net;
    scalar.outputs = 1;
    upfi::score::kernel_score_options ko;
    ko.max_samples = 2000;
    ko.seed = 7;
    upfi::infer::flow_trainer trainer(
        upfi::flow::probability_flow(upfi::nn::mlp<double>(net, 0), upfi::score::kernel_score(z, ko),
                                     upfi::flow::isotropic_diffusion{0.05}, upfi::nn::mlp<double>(scalar, 1)),
        z, to);
    (void)trainer.train({});
    std::printf(
        "| interval | unmoved | %d %s steps | 50 %s steps | mass x (%d / 50 steps / data) |\n|---|---|---|---|---|\n",
        steps, stepper.name.c_str(), stepper.name.c_str(), steps);
    for (std::size_t i = 0; i + 1 < z.size(); ++i) {
      const auto stream = static_cast<std::uint32_t>(i);
      const Eigen::MatrixXd x = upfi::core::random_rows(z.cloud(i), 1000, upfi::core::counter_rng(3, stream));
      const Eigen::MatrixXd y = upfi::core::random_rows(z.cloud(i + 1), 1000, upfi::core::counter_rng(4, stream));
      double energy[2] = {0, 0}, mass[2] = {0, 0};
      for (int k = 0; k < 2; ++k) {
        const upfi::flow::flow_state start{x, Eigen::VectorXd::Zero(x.rows()), 0};
        const auto end = upfi::flow::integrate(trainer.field(), stepper, z.time(i), z.time(i + 1), start,
                                               {.steps = k == 0 ? steps : 50});
        const Eigen::VectorXd w = end.log_m.array().exp();
        energy[k] = upfi::ot::energy_distance<double>(end.x, y, w);
        mass[k] = w.mean();
      }
      std::printf("| [%g, %g] | %.4f | %.4f | %.4f | %.3f / %.3f / %.3f |\n", data.time(i), data.time(i + 1),
                  upfi::ot::energy_distance<double>(x, y), energy[0], energy[1], mass[0], mass[1],
                  data.relative_mass(i + 1) / data.relative_mass(i));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "discretisation_gap: %s\n", e.what());
    return 1;
  }
  return 0;
}
