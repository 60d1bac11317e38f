// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Pointwise comparison metrics (algorithms.md §8.7): force errors at data points, Pearson correlation (growth
/// and fate correlations), total-variation fate error.

#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>

namespace upfi::metrics {

/// @brief Force errors of an inferred drift against the true one at the same points.
struct force_error {
  double cosine = 0;       ///< mean over points of 1 - <v, v_hat> / (|v| |v_hat|) (points where either is 0 skipped)
  double rms = 0;          ///< sqrt(mean |v - v_hat|^2)
  double mean_norm = 0;    ///< mean |v - v_hat|
  double relative_l2 = 0;  ///< |v - v_hat|_F / |v|_F
};

/// @brief Force errors between the true drift `v` and the inferred `v_hat` (N x d each).
/// @throws std::invalid_argument on shape mismatch, no rows or non-finite values.
[[nodiscard]] inline force_error force_errors(const Eigen::MatrixXd& v, const Eigen::MatrixXd& v_hat) {
  constexpr const char* who = "upfi::metrics::force_errors";
  if (v.rows() != v_hat.rows() || v.cols() != v_hat.cols() || v.rows() == 0) {
    core::detail::throw_invalid_argument(who, ": fields are ", v.rows(), " x ", v.cols(), " and ", v_hat.rows(), " x ",
                                         v_hat.cols());
  }
  if (!v.allFinite() || !v_hat.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite values");
  force_error e;
  double cos_sum = 0;
  Eigen::Index cos_count = 0;
  for (Eigen::Index i = 0; i < v.rows(); ++i) {
    const double nv = v.row(i).norm(), nh = v_hat.row(i).norm();
    if (nv > 0 && nh > 0) {
      cos_sum += 1 - v.row(i).dot(v_hat.row(i)) / (nv * nh);
      ++cos_count;
    }
  }
  const auto n = static_cast<double>(v.rows());
  e.cosine = cos_count > 0 ? cos_sum / static_cast<double>(cos_count) : 0.0;
  e.rms = std::sqrt((v - v_hat).rowwise().squaredNorm().sum() / n);
  e.mean_norm = (v - v_hat).rowwise().norm().sum() / n;
  const double nv = v.norm();
  e.relative_l2 = nv > 0 ? (v - v_hat).norm() / nv : (v - v_hat).norm();
  return e;
}

/// @brief Pearson correlation of two equally long vectors.
/// @throws std::invalid_argument on length mismatch, fewer than two values, non-finite values or a constant vector.
[[nodiscard]] inline double pearson(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  constexpr const char* who = "upfi::metrics::pearson";
  if (a.size() != b.size() || a.size() < 2) {
    core::detail::throw_invalid_argument(who, ": need two vectors of equal length >= 2, got ", a.size(), " and ",
                                         b.size());
  }
  if (!a.allFinite() || !b.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite values");
  const Eigen::ArrayXd x = a.array() - a.mean(), y = b.array() - b.mean();
  const double sx = std::sqrt(x.square().sum()), sy = std::sqrt(y.square().sum());
  if (!(sx > 0) || !(sy > 0)) core::detail::throw_invalid_argument(who, ": a vector is constant");
  return (x * y).sum() / (sx * sy);
}

/// @brief Mean over queries (rows) of the total variation 1/2 sum_c |p_c - p_hat_c| between fate distributions.
/// @throws std::invalid_argument on shape mismatch, no rows, or entries outside [0, 1].
[[nodiscard]] inline double tv_fate_error(const Eigen::MatrixXd& p, const Eigen::MatrixXd& p_hat) {
  constexpr const char* who = "upfi::metrics::tv_fate_error";
  if (p.rows() != p_hat.rows() || p.cols() != p_hat.cols() || p.rows() == 0) {
    core::detail::throw_invalid_argument(who, ": fate matrices are ", p.rows(), " x ", p.cols(), " and ", p_hat.rows(),
                                         " x ", p_hat.cols());
  }
  if (!((p.array() >= 0).all() && (p.array() <= 1).all() && (p_hat.array() >= 0).all() && (p_hat.array() <= 1).all())) {
    core::detail::throw_invalid_argument(who, ": probabilities must lie in [0, 1]");
  }
  return 0.5 * (p - p_hat).cwiseAbs().rowwise().sum().mean();
}

}  // namespace upfi::metrics
