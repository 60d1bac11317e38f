// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/sde.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/problems/fokker_planck_grid.hpp>
#include <upfi/sde.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

// [custom]
// A user model: dimension() and a drift written once as a template over the scalar type (doubles, SIMD batches, duals)
struct my_drift {
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  template <class T>
  void drift(upfi::scalar_of_t<T>, const T* x, T* v) const {
    using std::tanh;  // ADL finds xsimd::tanh for batches, upfi::ad::tanh for duals
    v[0] = -x[0] + tanh(x[1]);
    v[1] = -x[1] + 0.5;  // constants mix with every T
  }
};
// [custom]

int main() {
  // [snapshots]
  // The UPFI bistable system in d = 2: cells divide faster on the x0 > 0 branch.
  const upfi::sde::bistable model(2);
  const upfi::sde::simulator sim(model, model.noise(), {.dt = 1e-3});  // Euler-Maruyama by default
  const auto series = sim.snapshots([&](Eigen::Index n, const auto& rng) { return model.initial_cells(n, rng); }, 500,
                                    {0.0, 0.25, 0.5}, /*seed=*/1);  // one independent realisation per time
  for (std::size_t k = 0; k < series.size(); ++k)
    std::printf("t = %.2f: %ld cells (relative mass %.2f)\n", series.time(k), static_cast<long>(series.count(k)),
                series.relative_mass(k));
  // [snapshots]
  tour::expect(series.count(2) > series.count(0), "the population grows");

  // [fokker_planck]
  // The same population without sampling: the Fokker-Planck equation with growth on a grid, from X_0 ~ N(0, 0.01 I)
  upfi::problems::fokker_planck_grid fp(model, Eigen::Vector2d::Constant(0.125),  // D = sigma^2 / 2
                                        {.lower = Eigen::Vector2d::Constant(-2.4),
                                         .upper = Eigen::Vector2d::Constant(2.4),
                                         .cells = {96},
                                         .autonomous = true});
  fp.initialize([](const double* x) { return std::exp(-(x[0] * x[0] + x[1] * x[1]) / 0.02); });  // mass 1 at t = 0
  fp.advance_to(0.5);
  const Eigen::MatrixXd exact_score = fp.score(series.cloud(2));  // grad log rho at the t = 0.5 cells
  std::printf("t = 0.5: mass %.3f (counted %.3f), %ld steps, mass at the walls %.1e\n", fp.mass(),
              series.relative_mass(2), fp.steps(), fp.boundary_mass());
  // [fokker_planck]
  // One branching realisation from 500 cells: its relative mass scatters by a few percent around the expected one.
  tour::expect(std::abs(series.relative_mass(2) / fp.mass() - 1) < 0.1, "the counted mass matches the expected mass");
  tour::expect(fp.boundary_mass() < 1e-8 && exact_score.allFinite(), "the box holds the population");

  // [ou]
  // Ornstein-Uhlenbeck dX = (A X + e) dt + sqrt(2 D) dB: exact moments, exact samples, and simulated paths
  Eigen::Matrix2d a, diffusion;
  a << -1.0, 0.5, 0.0, -2.0;
  diffusion << 0.2, 0.0, 0.0, 0.1;
  const upfi::sde::ornstein_uhlenbeck ou(a, Eigen::Vector2d(1.0, 0.0), diffusion);
  const Eigen::MatrixXd x0 = Eigen::MatrixXd::Zero(20000, 2);
  const Eigen::VectorXd exact_mean = ou.mean(1.0, Eigen::Vector2d::Zero());
  const upfi::sde::simulator ou_sim(ou, ou.noise(), {.dt = 0.01});
  const auto paths = ou_sim.paths(x0, {0.0, 0.5, 1.0}, upfi::core::counter_rng(7));
  const Eigen::VectorXd simulated_mean = paths.positions.back().colwise().mean();
  std::printf("mean at t = 1: exact (%.4f, %.4f), Euler-Maruyama (%.4f, %.4f)\n", exact_mean[0], exact_mean[1],
              simulated_mean[0], simulated_mean[1]);
  // [ou]
  // 20 000 paths: the Monte Carlo error of each mean is below 0.005 (4 sigma); Euler's bias at dt = 0.01 is ~0.003.
  tour::expect((simulated_mean - exact_mean).cwiseAbs().maxCoeff() < 0.01, "simulated mean matches the exact mean");
  const Eigen::MatrixXd exact = ou.sample_exact(x0, 1.0, upfi::core::counter_rng(8));
  tour::expect((exact.colwise().mean().transpose() - exact_mean).cwiseAbs().maxCoeff() < 0.01, "exact samples match");
  // [custom_run]
  const upfi::sde::simulator custom(my_drift{}, upfi::sde::additive_isotropic(2, 0.1), {.dt = 0.01});
  const auto stationary = custom.paths(Eigen::MatrixXd::Zero(4000, 2), {0.0, 8.0}, upfi::core::counter_rng(9));
  const Eigen::RowVector2d m = stationary.positions.back().colwise().mean();
  std::printf("stationary mean (%.4f, %.4f); x1 -> 0.5 and x0 -> E tanh(x1) = %.4f\n", m[0], m[1], std::tanh(0.5));
  // [custom_run]
  // x1 ~ N(0.5, 0.005): E tanh(x1) = tanh(0.5) - 0.0027; 4000 paths give a standard error of about 0.0012 per mean
  tour::expect(std::abs(m[1] - 0.5) < 0.006, "x1 relaxes to 0.5");
  tour::expect(std::abs(m[0] - std::tanh(0.5)) < 0.01, "x0 relaxes to E tanh(x1)");
  return tour::exit_code();
}
