// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/score.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/core/counter_rng.hpp>
#include <upfi/score.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace {
// data-weighted relative L2 error of a score against the exact one at the points x
template <class Score>
double relative_error(const Score& s, double t, const Eigen::MatrixXd& x, const Eigen::MatrixXd& exact) {
  Eigen::MatrixXd estimate;
  s.evaluate(t, x, estimate);
  return (estimate - exact).norm() / exact.norm();
}
}  // namespace

int main() {
  // Two Gaussian snapshots: N(0, I) at t = 0 and N((2, 0), I / 2) at t = 1, 2000 cells each.
  Eigen::MatrixXd x0(2000, 2), x1(2000, 2);
  upfi::core::counter_rng(1).fill_normal(x0, 0);
  upfi::core::counter_rng(2).fill_normal(x1, 0);
  x1 = std::sqrt(0.5) * x1;
  x1.col(0).array() += 2.0;
  const upfi::core::snapshot_series<double> series({0.0, 1.0}, {x0, x1});
  // Fresh points from N(0, I), where the exact score at t = 0 is -x.
  Eigen::MatrixXd fresh(1000, 2);
  upfi::core::counter_rng(3).fill_normal(fresh, 0);
  const Eigen::MatrixXd exact = -fresh;

  // [kernel]
  // Training-free: the gradient of log of a Gaussian KDE, bandwidth chosen by held-out implicit score matching
  const upfi::score::kernel_score kde(series, {.rule = upfi::score::bandwidth_rule::held_out});
  Eigen::MatrixXd s;
  kde.evaluate(0.0, fresh, s);  // any t: between snapshots the density is the time-linear mixture of the two KDEs
  std::printf("kernel score: relative L2 error %.3f at t = 0\n", relative_error(kde, 0.0, fresh, exact));
  // [kernel]
  tour::expect(relative_error(kde, 0.0, fresh, exact) < 0.4, "the kernel score is within 40 % of the exact score");

  // [dsm]
  // The papers' estimator: noise-conditional denoising score matching (short run; the papers use 25 000 iterations)
  upfi::score::dsm_report report;
  const auto dsm = upfi::score::train_dsm(
      series, {.hidden = {32, 32}, .iterations = 1500, .learning_rate = 3e-3},
      [](const upfi::score::dsm_progress& p) {
        std::printf("  %5ld  loss %.4f  %.1f s\n", p.iteration, p.loss, p.seconds);
      },
      &report);
  std::printf("DSM score: relative L2 error %.3f at t = 0\n", relative_error(dsm, 0.0, fresh, exact));
  // [dsm]
  tour::expect(relative_error(dsm, 0.0, fresh, exact) < 0.25, "the DSM score is within 25 % of the exact score");
  return tour::exit_code();
}
