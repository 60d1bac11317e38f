// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Fate probabilities (algorithms.md §8.7): k-means regions on the last snapshot, then, from each query state,
/// M Euler-Maruyama paths of a drift with constant noise; the fate distribution of a query is the fraction of its
/// paths that end in each region.

#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace upfi::metrics {

/// @brief Result of kmeans: centres (k x d), labels of the rows, within-cluster sum of squares, Lloyd iterations.
struct kmeans_result {
  Eigen::MatrixXd centres;
  std::vector<Eigen::Index> labels;
  double inertia = 0;
  int iterations = 0;
  bool converged = false;  ///< the assignment stopped changing within max_iterations
};

/// @brief Index of the nearest centre of every row of x.
[[nodiscard]] inline std::vector<Eigen::Index> nearest_centre(const Eigen::MatrixXd& centres,
                                                              const Eigen::MatrixXd& x) {
  if (centres.cols() != x.cols() || centres.rows() == 0) {
    core::detail::throw_invalid_argument("upfi::metrics::nearest_centre: ", centres.rows(), " centres of dimension ",
                                         centres.cols(), " for points of dimension ", x.cols());
  }
  std::vector<Eigen::Index> out(static_cast<std::size_t>(x.rows()));
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    Eigen::Index best = 0;
    (centres.rowwise() - x.row(i)).rowwise().squaredNorm().minCoeff(&best);
    out[static_cast<std::size_t>(i)] = best;
  }
  return out;
}

/// @brief k-means (k-means++ seeding from counter-based random numbers, then Lloyd iterations): deterministic for a
/// seed. @throws std::invalid_argument if k < 1, k > N or the data are not finite.
[[nodiscard]] inline kmeans_result kmeans(const Eigen::MatrixXd& x, Eigen::Index k, std::uint64_t seed = 0,
                                          int max_iterations = 300) {
  constexpr const char* who = "upfi::metrics::kmeans";
  if (k < 1 || k > x.rows() || max_iterations < 1) {
    core::detail::throw_invalid_argument(who, ": need 1 <= k <= N and max_iterations >= 1, got k = ", k,
                                         ", N = ", x.rows());
  }
  if (!x.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite data");
  const core::counter_rng rng(seed, 0x6b6d);
  const Eigen::Index n = x.rows();
  kmeans_result r;
  r.centres.resize(k, x.cols());
  // k-means++: the first centre uniformly, the next ones with probability proportional to D^2
  auto pick = [&](const Eigen::VectorXd& w, std::uint32_t draw) {
    const double u = rng.uniform<double>(0, draw) * w.sum();
    double acc = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      acc += w[i];
      if (u < acc) return i;
    }
    return n - 1;
  };
  r.centres.row(0) = x.row(pick(Eigen::VectorXd::Ones(n), 0));
  Eigen::VectorXd d2 = (x.rowwise() - r.centres.row(0)).rowwise().squaredNorm();
  for (Eigen::Index c = 1; c < k; ++c) {
    r.centres.row(c) = x.row(d2.sum() > 0 ? pick(d2, static_cast<std::uint32_t>(c)) : c);
    d2 = d2.cwiseMin((x.rowwise() - r.centres.row(c)).rowwise().squaredNorm());
  }
  r.labels.assign(static_cast<std::size_t>(n), -1);
  for (r.iterations = 1; r.iterations <= max_iterations; ++r.iterations) {
    const auto labels = nearest_centre(r.centres, x);
    if (labels == r.labels) {
      r.converged = true;
      break;
    }
    r.labels = labels;
    Eigen::MatrixXd sums = Eigen::MatrixXd::Zero(k, x.cols());
    Eigen::VectorXd counts = Eigen::VectorXd::Zero(k);
    for (Eigen::Index i = 0; i < n; ++i) {
      sums.row(r.labels[static_cast<std::size_t>(i)]) += x.row(i);
      counts[r.labels[static_cast<std::size_t>(i)]] += 1;
    }
    for (Eigen::Index c = 0; c < k; ++c) {
      if (counts[c] > 0) r.centres.row(c) = sums.row(c) / counts[c];  // an empty cluster keeps its centre
    }
  }
  r.iterations = std::min(r.iterations, max_iterations);
  r.inertia = 0;
  for (Eigen::Index i = 0; i < n; ++i)
    r.inertia += (x.row(i) - r.centres.row(r.labels[static_cast<std::size_t>(i)])).squaredNorm();
  return r;
}

/// @brief Options of fate_probabilities.
struct fate_options {
  double t0 = 0, t1 = 1;
  int steps = 100;           ///< Euler-Maruyama steps over [t0, t1]
  Eigen::Index paths = 200;  ///< M paths per query
  std::uint64_t seed = 0;
};

/// @brief Fate distributions (queries x regions): from each query state, `paths` Euler-Maruyama paths of
/// dX = v(t, X) dt + sigma dB (sigma d x d constant; D = sigma sigma^T / 2), each ending in the region of its nearest
/// centre. `drift(t, X, out)` evaluates v on a cloud (any upfi field's evaluate). Deterministic for a seed.
/// @throws std::invalid_argument on inconsistent dimensions or options.
template <class Drift>
[[nodiscard]] Eigen::MatrixXd fate_probabilities(Drift&& drift, const Eigen::MatrixXd& sigma,
                                                 const Eigen::MatrixXd& queries, const Eigen::MatrixXd& centres,
                                                 const fate_options& o = {}) {
  constexpr const char* who = "upfi::metrics::fate_probabilities";
  const Eigen::Index d = queries.cols(), m = o.paths;
  if (sigma.rows() != d || sigma.cols() != d || centres.cols() != d || centres.rows() < 1 || o.steps < 1 || m < 1 ||
      !(o.t1 > o.t0)) {
    core::detail::throw_invalid_argument(who, ": need sigma d x d, centres of dimension d, steps >= 1, paths >= 1 ",
                                         "and t1 > t0 (d = ", d, ")");
  }
  const double h = (o.t1 - o.t0) / o.steps, sq = std::sqrt(h);
  Eigen::MatrixXd x(queries.rows() * m, d);
  for (Eigen::Index q = 0; q < queries.rows(); ++q) x.middleRows(q * m, m).rowwise() = queries.row(q);
  const core::counter_rng rng(o.seed, 0x66617465);
  Eigen::MatrixXd v, z(x.rows(), d);
  for (int s = 0; s < o.steps; ++s) {
    drift(o.t0 + s * h, x, v);
    // each row consumes counters_per_vector(d) counters per step: steps must not share counters (d > 2)
    rng.fill_normal(z, static_cast<std::uint32_t>(s) * core::counter_rng::counters_per_vector(d));
    x += h * v + sq * z * sigma.transpose();
    if (!x.allFinite()) {
      UPFI_THROW(core::error(core::detail::message(who, ": paths became non-finite at step ", s + 1)));
    }
  }
  const auto regions = nearest_centre(centres, x);
  Eigen::MatrixXd p = Eigen::MatrixXd::Zero(queries.rows(), centres.rows());
  // counts, then one division: exact fractions in [0, 1] (m additions of 1/m can overshoot 1 by an ulp)
  for (Eigen::Index i = 0; i < x.rows(); ++i) p(i / m, regions[static_cast<std::size_t>(i)]) += 1.0;
  return p / static_cast<double>(m);
}

}  // namespace upfi::metrics
