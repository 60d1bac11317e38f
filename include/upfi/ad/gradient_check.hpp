// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Central finite-difference check of a gradient, used by the tests of every differentiable component.

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace upfi::ad {

/// @brief Outcome of check_gradient: the worst entry and its errors.
struct gradient_check_result {
  double max_abs_error = 0;  ///< max_i |g_i - fd_i|
  double max_rel_error = 0;  ///< max_i |g_i - fd_i| / max(|fd_i|, scale)
  Eigen::Index worst = -1;   ///< index of the largest relative error
  [[nodiscard]] bool passed(double rtol) const noexcept { return max_rel_error <= rtol; }
};

namespace detail {
/// Worst absolute and relative error of `analytic` against `fd`; relative errors use max(|fd_i|, scale),
/// scale = 1e-3 * max_i |fd_i|, so near-zero entries do not dominate.
inline gradient_check_result compare_derivatives(const Eigen::VectorXd& analytic, const Eigen::VectorXd& fd) {
  gradient_check_result r;
  const double scale = std::max(1e-300, 1e-3 * fd.cwiseAbs().maxCoeff());
  for (Eigen::Index i = 0; i < fd.size(); ++i) {
    const double err = std::abs(analytic[i] - fd[i]);
    const double rel = err / std::max(std::abs(fd[i]), scale);
    r.max_abs_error = std::max(r.max_abs_error, err);
    if (rel > r.max_rel_error || r.worst < 0) {
      r.max_rel_error = std::max(r.max_rel_error, rel);
      r.worst = i;
    }
  }
  return r;
}
}  // namespace detail

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
  return detail::compare_derivatives(grad, fd);
}

/// @brief Compares `grad` with central differences along `directions` pseudo-random unit vectors u (Rademacher signs,
/// from `seed`): (f(p + h u) - f(p - h u)) / 2h against grad . u, h = step * max(1, max_i |p_i|).
///
/// Costs 2 * directions evaluations of f instead of 2 * params.size(), which is what makes gradient checks of whole
/// training losses affordable under sanitizers. A wrong gradient passes only if its error is orthogonal to every
/// direction drawn; `worst` is the index of the worst direction. Relative errors use max(|fd_u|, scale) with
/// scale = 1e-3 * max_u |fd_u|, as check_gradient does.
template <class F>
[[nodiscard]] gradient_check_result check_directional_derivatives(F&& f, const Eigen::VectorXd& params,
                                                                  const Eigen::VectorXd& grad, int directions = 8,
                                                                  std::uint64_t seed = 1, double step = 1e-6) {
  if (directions < 1) throw std::invalid_argument("check_directional_derivatives: directions must be >= 1");
  if (grad.size() != params.size())
    throw std::invalid_argument("check_directional_derivatives: grad and params differ in size");
  const Eigen::Index n = params.size();
  const double h = step * std::max(1.0, n > 0 ? params.cwiseAbs().maxCoeff() : 0.0);
  std::uint64_t state = seed;
  const auto next = [&state] {  // splitmix64
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  Eigen::VectorXd fd(directions), dot(directions), u(n), point(n);
  for (int k = 0; k < directions; ++k) {
    for (Eigen::Index i = 0; i < n; ++i) u[i] = (next() >> 63) != 0 ? 1.0 : -1.0;
    u /= std::sqrt(static_cast<double>(std::max<Eigen::Index>(n, 1)));
    point = params + h * u;
    const double fp = f(point);
    point = params - h * u;
    const double fm = f(point);
    fd[k] = (fp - fm) / (2 * h);
    dot[k] = grad.dot(u);
  }
  return detail::compare_derivatives(dot, fd);
}

}  // namespace upfi::ad
