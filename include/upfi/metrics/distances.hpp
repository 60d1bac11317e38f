// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Distribution-level metrics of the benchmarks (algorithms.md §8.7): path energy distance between two sets of
/// trajectories, the exact Wasserstein-1 distance between (weighted) clouds (leave-one-out W1 at held-out times) and
/// the static-OT interpolation baseline.

#include <upfi/core/error.hpp>
#include <upfi/ot/emd.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <Eigen/Core>

#include <cmath>
#include <vector>

namespace upfi::metrics {

/// @brief Paths as one row per trajectory: the T states of a path on a uniform grid of spacing dt, flattened
/// [x(t_0), ..., x(t_{T-1})] and scaled by sqrt(dt) so that Euclidean norms approximate L2([0, T dt]) norms.
/// `states[k]` is the N x d cloud at grid time k (the same N paths in every cloud).
/// @throws std::invalid_argument on an empty list, inconsistent sizes, dt <= 0 or non-finite values.
[[nodiscard]] inline Eigen::MatrixXd flatten_paths(const std::vector<Eigen::MatrixXd>& states, double dt) {
  constexpr const char* who = "upfi::metrics::flatten_paths";
  if (states.empty() || !(dt > 0) || !std::isfinite(dt)) {
    core::detail::throw_invalid_argument(who, ": need at least one grid time and dt > 0, got ", states.size(),
                                         " times and dt = ", dt);
  }
  const Eigen::Index n = states.front().rows(), d = states.front().cols();
  Eigen::MatrixXd out(n, d * static_cast<Eigen::Index>(states.size()));
  for (std::size_t k = 0; k < states.size(); ++k) {
    if (states[k].rows() != n || states[k].cols() != d) {
      core::detail::throw_invalid_argument(who, ": the cloud at grid time ", k, " is ", states[k].rows(), " x ",
                                           states[k].cols(), ", expected ", n, " x ", d);
    }
    if (!states[k].allFinite()) core::detail::throw_invalid_argument(who, ": non-finite state at grid time ", k);
    out.middleCols(static_cast<Eigen::Index>(k) * d, d) = std::sqrt(dt) * states[k];
  }
  return out;
}

/// @brief Path energy distance (Szekely-Rizzo convention, 2 E|X-Y| - E|X-X'| - E|Y-Y'|) between two sets of paths on
/// the same uniform grid (see flatten_paths). GeomLoss's "energy" is half of this value.
[[nodiscard]] inline double path_energy_distance(const std::vector<Eigen::MatrixXd>& a,
                                                 const std::vector<Eigen::MatrixXd>& b, double dt) {
  if (a.size() != b.size()) {
    core::detail::throw_invalid_argument("upfi::metrics::path_energy_distance: ", a.size(), " and ", b.size(),
                                         " grid times");
  }
  return ot::energy_distance<double>(flatten_paths(a, dt), flatten_paths(b, dt));
}

/// @brief Exact W1 between two weighted clouds (Euclidean cost, network simplex). Empty weights mean uniform; weights
/// are normalised to total 1 (so unnormalised masses are compared as distributions).
/// @throws std::invalid_argument on dimension mismatch, non-finite points, or weights of the wrong size, negative or
/// summing to zero; upfi::core::error if the simplex stops before optimality.
[[nodiscard]] inline double wasserstein1(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, Eigen::VectorXd wx = {},
                                         Eigen::VectorXd wy = {}) {
  constexpr const char* who = "upfi::metrics::wasserstein1";
  if (x.cols() != y.cols() || x.rows() == 0 || y.rows() == 0) {
    core::detail::throw_invalid_argument(who, ": clouds are ", x.rows(), " x ", x.cols(), " and ", y.rows(), " x ",
                                         y.cols());
  }
  if (!x.allFinite() || !y.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite coordinates");
  const auto weights = [&](Eigen::VectorXd& w, Eigen::Index n, const char* side) {
    if (w.size() == 0) w = Eigen::VectorXd::Ones(n);
    if (w.size() != n || !w.allFinite() || (w.array() < 0).any() || !(w.sum() > 0)) {
      core::detail::throw_invalid_argument(who, ": weights of ", side, " must be ", n,
                                           " finite non-negative numbers with a positive sum");
    }
    w /= w.sum();
  };
  weights(wx, x.rows(), "x");
  weights(wy, y.rows(), "y");
  Eigen::MatrixXd cost(x.rows(), y.rows());
  for (Eigen::Index j = 0; j < y.rows(); ++j) cost.col(j) = (x.rowwise() - y.row(j)).rowwise().norm();
  const auto r = ot::emd(wx, wy, cost);
  if (!r.optimal) UPFI_THROW(core::error("upfi::metrics::wasserstein1: the network simplex did not reach optimality"));
  return r.cost;
}

/// @brief A weighted cloud (points and non-negative weights summing to 1).
struct weighted_cloud {
  Eigen::MatrixXd points;
  Eigen::VectorXd weights;
};

/// @brief The static-OT interpolation baseline of leave-one-out tests: McCann's displacement interpolation at
/// s in [0, 1] of the exact W2-optimal coupling between the uniformly weighted clouds x and y. Atoms are
/// (1 - s) x_i + s y_j on the support of the plan (at most N + M - 1), weighted by the plan.
/// @throws std::invalid_argument on bad clouds or s outside [0, 1].
[[nodiscard]] inline weighted_cloud ot_interpolation(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double s) {
  constexpr const char* who = "upfi::metrics::ot_interpolation";
  if (x.cols() != y.cols() || x.rows() == 0 || y.rows() == 0 || !x.allFinite() || !y.allFinite()) {
    core::detail::throw_invalid_argument(who, ": need two finite non-empty clouds of one dimension, got ", x.rows(),
                                         " x ", x.cols(), " and ", y.rows(), " x ", y.cols());
  }
  if (!(s >= 0 && s <= 1)) core::detail::throw_invalid_argument(who, ": s = ", s, " must lie in [0, 1]");
  Eigen::MatrixXd cost(x.rows(), y.rows());
  for (Eigen::Index j = 0; j < y.rows(); ++j) cost.col(j) = (x.rowwise() - y.row(j)).rowwise().squaredNorm();
  const auto r = ot::emd(Eigen::VectorXd::Constant(x.rows(), 1.0 / static_cast<double>(x.rows())),
                         Eigen::VectorXd::Constant(y.rows(), 1.0 / static_cast<double>(y.rows())), cost);
  if (!r.optimal) UPFI_THROW(core::error(core::detail::message(who, ": the network simplex did not reach optimality")));
  weighted_cloud out{Eigen::MatrixXd(static_cast<Eigen::Index>(r.plan.size()), x.cols()),
                     Eigen::VectorXd(static_cast<Eigen::Index>(r.plan.size()))};
  Eigen::Index k = 0;
  for (const auto& e : r.plan) {
    out.points.row(k) = (1 - s) * x.row(e.i) + s * y.row(e.j);
    out.weights[k++] = e.mass;
  }
  out.weights /= out.weights.sum();
  return out;
}

}  // namespace upfi::metrics
