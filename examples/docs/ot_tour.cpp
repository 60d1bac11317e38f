// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/ot.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main() {
  // Two Gaussian clouds in the plane, the second shifted by (1, 0).
  const Eigen::Index n = 300, m = 250;
  Eigen::MatrixXd x(n, 2), y(m, 2);
  upfi::core::counter_rng(1).fill_normal(x, 0);
  upfi::core::counter_rng(2).fill_normal(y, 0);
  y.col(0).array() += 1.0;

  // [sinkhorn]
  // GeomLoss's SamplesLoss("sinkhorn", p=2, blur=0.3) between weighted clouds, with gradients;
  // add .reach = 2.0 for the unbalanced divergence (masses may differ, KL penalty rho = reach^2)
  const Eigen::VectorXd log_a = upfi::ot::uniform_log_masses(n);
  const Eigen::VectorXd log_b = upfi::ot::uniform_log_masses(m);
  const auto r = upfi::ot::sinkhorn_divergence<double>(x, log_a, y, log_b, {.blur = 0.3, .gradients = true});
  if (!r.converged) std::printf("not converged: last update %g after %d sweeps\n", r.last_update, r.iterations);
  std::printf("S = %.4f; dS/dx_0 = (%.2e, %.2e)\n", r.value, r.grad_x(0, 0), r.grad_x(0, 1));
  // [sinkhorn]
  // For a pure translation by u, the balanced W2^2/2 is |u|^2/2 = 0.5; the divergence is close to it.
  tour::expect(r.converged, "the divergence converged");
  tour::expect(r.value > 0.3 && r.value < 0.7, "S is near |u|^2 / 2");
  // The gradients of a translation point along -u on average.
  tour::expect(r.grad_x.col(0).sum() < 0, "gradients pull x toward y");

  // [plan]
  // The entropic plan, streamed (never stored as an N x M matrix)
  const auto plan = upfi::ot::transport_plan<double>::from(r, x, log_a, y, log_b);
  const Eigen::MatrixXd targets = plan.barycentric_projection();  // where each x_i is sent, N x d
  std::printf("x_0 -> (%.3f, %.3f); plan mass %.4f\n", targets(0, 0), targets(0, 1), plan.row_marginal().sum());
  // [plan]
  tour::expect((targets - x).col(0).mean() > 0.7, "the plan moves the cloud by about (1, 0)");

  // [exact]
  // Exact OT (network simplex) and kernel discrepancies
  const double w1 = upfi::ot::wasserstein(x, y, 1), w2 = upfi::ot::wasserstein(x, y, 2);
  const double energy = upfi::ot::energy_distance<double>(x, y);  // 2E|X-Y| - E|X-X'| - E|Y-Y'|
  std::printf("W1 = %.4f, W2 = %.4f, energy distance = %.4f\n", w1, w2, energy);
  // [exact]
  tour::expect(w1 <= w2 + 1e-12, "W1 <= W2");
  tour::expect(std::abs(w1 - 1.0) < 0.25, "W1 is near the shift");
  tour::expect(energy > 0, "the energy distance of different clouds is positive");
  return tour::exit_code();
}
