// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The UPFI bistable (bifurcating) benchmark with growth, in any dimension d >= 2 (algorithms.md §5.8.1).
///
///     V(x) = 0.9 |x - a|^2 |x - b|^2 + 10 sum_{i>=2} x_i^2,   a = -b = (1, 1, 0, ..., 0)   (0-based indices)
///     v(x) = -grad V = -1.8 [(x - a)|x - b|^2 + (x - b)|x - a|^2] - 20 (0, 0, x_2, ..., x_{d-1})
///     birth b(x) = 2.5 (1 + tanh(2 x_0)), no death, sigma = 1/2 (D = I/8), X_0 ~ N(0, 0.01 I).
/// @see Zhang, Maddu, Qiu, Chardes (2025), arXiv:2505.13197, §3 and App. C.7.

#include <upfi/concepts/sde.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/additive_noise.hpp>

#include <Eigen/Core>

#include <cmath>

namespace upfi::sde {

/// @brief The bistable system with growth. Models DriftModel and HasGrowth; noise() gives sigma = 1/2.
class bistable {
 public:
  /// @throws std::invalid_argument if d < 2 or a parameter is invalid.
  explicit bistable(Eigen::Index dimension, double birth_scale = 2.5, double sigma = 0.5)
      : m_dimension(dimension), m_birth_scale(birth_scale), m_sigma(sigma) {
    if (dimension < 2) {
      core::detail::throw_invalid_argument("upfi::sde::bistable: dimension ", dimension, " must be >= 2");
    }
    if (!(birth_scale >= 0) || !std::isfinite(birth_scale)) {
      core::detail::throw_invalid_argument("upfi::sde::bistable: birth_scale = ", birth_scale, " must be >= 0");
    }
    if (!(sigma >= 0) || !std::isfinite(sigma)) {
      core::detail::throw_invalid_argument("upfi::sde::bistable: sigma = ", sigma, " must be finite and >= 0");
    }
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_dimension; }
  [[nodiscard]] additive_isotropic noise() const { return additive_isotropic(m_dimension, m_sigma); }

  /// @brief v = -grad V.
  template <class T>
  void drift(scalar_of_t<T>, const T* x, T* v) const {
    using S = scalar_of_t<T>;
    const T da0 = x[0] - S(1), da1 = x[1] - S(1), db0 = x[0] + S(1), db1 = x[1] + S(1);
    T rest(0);
    for (Eigen::Index k = 2; k < m_dimension; ++k) rest = rest + x[k] * x[k];
    const T na = da0 * da0 + da1 * da1 + rest;  // |x - a|^2
    const T nb = db0 * db0 + db1 * db1 + rest;  // |x - b|^2
    const T nab = na + nb;
    v[0] = S(-1.8) * (da0 * nb + db0 * na);
    v[1] = S(-1.8) * (da1 * nb + db1 * na);
    for (Eigen::Index k = 2; k < m_dimension; ++k) v[k] = S(-1.8) * x[k] * nab - S(20) * x[k];
  }

  /// @brief b(x) = 2.5 (1 + tanh(2 x_0)).
  template <class T>
  [[nodiscard]] T birth_rate(scalar_of_t<T>, const T* x) const {
    using S = scalar_of_t<T>;
    using std::tanh;
    return static_cast<S>(m_birth_scale) * (S(1) + tanh(S(2) * x[0]));
  }

  /// @brief The potential V(x) (for plots and tests: v = -grad V).
  [[nodiscard]] double potential(const double* x) const {
    double na = (x[0] - 1) * (x[0] - 1) + (x[1] - 1) * (x[1] - 1);
    double nb = (x[0] + 1) * (x[0] + 1) + (x[1] + 1) * (x[1] + 1);
    double rest = 0;
    for (Eigen::Index k = 2; k < m_dimension; ++k) rest += x[k] * x[k];
    na += rest;
    nb += rest;
    return 0.9 * na * nb + 10.0 * rest;
  }

  /// @brief n initial cells X_0 ~ N(0, 0.01 I), from `rng` (index = cell, counter 0).
  [[nodiscard]] Eigen::MatrixXd initial_cells(Eigen::Index n, const core::counter_rng& rng) const {
    Eigen::MatrixXd x(n, m_dimension);
    rng.fill_normal(x, 0);
    return 0.1 * x;
  }

 private:
  Eigen::Index m_dimension;
  double m_birth_scale;
  double m_sigma;
};

}  // namespace upfi::sde
