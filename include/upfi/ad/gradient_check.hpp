// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Central finite-difference check of a gradient, used by the tests of every differentiable component.

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace upfi::ad {

/// @brief Outcome of check_gradient: the worst entry and its errors.
struct gradient_check_result {
  double max_abs_error = 0;  ///< max_i |g_i - fd_i|
  double max_rel_error = 0;  ///< max_i |g_i - fd_i| / max(|fd_i|, scale)
  Eigen::Index worst = -1;   ///< index of the largest relative error
  [[nodiscard]] bool passed(double rtol) const noexcept { return max_rel_error <= rtol; }
};

/// @brief Compares `grad` with central differences (f(p + h e_i) - f(p - h e_i)) / 2h, h = step * max(1, |p_i|).
/// Relative errors use max(|fd_i|, scale) with scale = 1e-3 * max_i |fd_i| so near-zero entries do not dominate.
template <class F>
[[nodiscard]] gradient_check_result check_gradient(F&& f, Eigen::VectorXd params, const Eigen::VectorXd& grad,
                                                   double step = 1e-6) {
  Eigen::VectorXd fd(params.size());
  for (Eigen::Index i = 0; i < params.size(); ++i) {
    const double p = params[i], h = step * std::max(1.0, std::abs(p));
    params[i] = p + h;
    const double fp = f(params);
    params[i] = p - h;
    const double fm = f(params);
    params[i] = p;
    fd[i] = (fp - fm) / (2 * h);
  }
  gradient_check_result r;
  const double scale = std::max(1e-300, 1e-3 * fd.cwiseAbs().maxCoeff());
  for (Eigen::Index i = 0; i < params.size(); ++i) {
    const double err = std::abs(grad[i] - fd[i]);
    const double rel = err / std::max(std::abs(fd[i]), scale);
    r.max_abs_error = std::max(r.max_abs_error, err);
    if (rel > r.max_rel_error || r.worst < 0) {
      r.max_rel_error = std::max(r.max_rel_error, rel);
      r.worst = i;
    }
  }
  return r;
}

}  // namespace upfi::ad
