// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/metrics.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/core/counter_rng.hpp>
#include <upfi/metrics.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main() {
  // Snapshots at t = 0 and t = 2 of a cloud drifting by (2, 0), and the truth at t = 1 (shifted by (1, 0)).
  Eigen::MatrixXd x0(400, 2), x1(400, 2), x2(400, 2);
  upfi::core::counter_rng(1).fill_normal(x0, 0);
  upfi::core::counter_rng(2).fill_normal(x1, 0);
  upfi::core::counter_rng(3).fill_normal(x2, 0);
  x1.col(0).array() += 1.0;
  x2.col(0).array() += 2.0;

  // [interpolation]
  // Leave-one-out at t = 1: the static-OT baseline (McCann interpolation on the exact W2 plan) against the truth
  const auto baseline = upfi::metrics::ot_interpolation(x0, x2, /*s=*/0.5);
  const double w1_baseline = upfi::metrics::wasserstein1(baseline.points, x1, baseline.weights);
  const double w1_previous = upfi::metrics::wasserstein1(x0, x1);  // "nothing moves" reference
  std::printf("W1 to the held-out snapshot: OT interpolation %.3f, previous snapshot %.3f\n", w1_baseline, w1_previous);
  // [interpolation]
  // Finite-sample W1 between two independent 400-point samples of the same law is about 0.15 in d = 2.
  tour::expect(w1_baseline < 0.3, "the OT interpolation recovers the shifted cloud");
  tour::expect(w1_previous > 0.9, "the previous snapshot is about one unit away");

  // [fates]
  // Fate probabilities in the double well dX = (X - X^3) dt + sigma dB: regions from k-means on the end states
  const auto drift = [](double, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) { v = x - x.array().cube().matrix(); };
  Eigen::MatrixXd ends(200, 1);
  ends << Eigen::VectorXd::Constant(100, -1.0), Eigen::VectorXd::Constant(100, 1.0);
  const auto regions = upfi::metrics::kmeans(ends, 2, /*seed=*/1);
  Eigen::MatrixXd queries(3, 1);
  queries << -0.5, 0.0, 0.5;
  const Eigen::MatrixXd fates = upfi::metrics::fate_probabilities(
      drift, Eigen::MatrixXd::Constant(1, 1, 0.5), queries, regions.centres, {.t1 = 3, .steps = 300, .paths = 2000});
  for (Eigen::Index q = 0; q < 3; ++q)
    std::printf("from x = %+.1f: P(region 0) = %.3f, P(region 1) = %.3f\n", queries(q, 0), fates(q, 0), fates(q, 1));
  // [fates]
  // symmetric query: 1/2 within 4 binomial sigmas (0.045 for 2000 paths); the others lean towards their own well
  tour::expect(std::abs(fates(1, 0) - 0.5) < 0.045, "the saddle splits evenly");
  tour::expect(fates.row(0).maxCoeff() > 0.8 && fates.row(2).maxCoeff() > 0.8, "off-centre queries commit");
  tour::expect(std::abs(fates.row(0).sum() - 1) < 1e-12, "fate rows sum to 1");
  return tour::exit_code();
}
