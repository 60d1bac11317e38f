// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Derivative-free stochastic Runge-Kutta scheme of strong order 1.5 for additive noise dX = a(t, X) dt + B dW
/// (B constant, d x m), with b_j the j-th column of B:
///
///     Y_j^+- = x + a(t, x) dt / m +- b_j sqrt(dt),                         j = 1..m
///     x <- x + a dt + B dW + (dt / 4) sum_j [a(t + dt/m, Y_j^+) - 2 a(t, x) + a(t + dt/m, Y_j^-)]
///            + (1 / (2 sqrt(dt))) sum_j [a(t + dt/m, Y_j^+) - a(t + dt/m, Y_j^-)] dZ_j,
///
/// with dZ_j = int_t^{t+dt} (W_j(s) - W_j(t)) ds. Expanding a(Y^+-) to second order reproduces every term of the
/// order-1.5 Ito-Taylor scheme for additive noise, a dt + B dW + sum_j (Da b_j) dZ_j + (dt^2/2)(a_t + Da a +
/// (1/2) sum_j D^2a[b_j, b_j]) (Kloeden & Platen 1992, §10.4 and the explicit schemes of §11.2), without derivatives.
/// Cost: 2m + 1 drift evaluations per step.

#include <upfi/concepts/sde.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstddef>

namespace upfi::sde {

/// @brief Strong order 1.5 SRK for additive noise (requires IsAdditiveNoise).
class srk15 {
 public:
  static constexpr bool uses_area = true;
  static constexpr double strong_order = 1.5;
  static constexpr const char* name = "srk15";

  template <class M, class N, class T>
  static constexpr bool supports = HasPointwiseDrift<M, T>&& IsAdditiveNoise<N>;

  /// @brief Caches the noise matrix B. @throws std::invalid_argument if the noise is not additive.
  template <class M, class N>
  void prepare(const M&, const N& noise) {
    if constexpr (IsAdditiveNoise<N>) {
      m_b = noise.sigma_matrix();
    } else {
      core::detail::throw_invalid_argument(
          "upfi::sde::srk15: the scheme needs additive noise (additive_isotropic, "
          "additive_diagonal or constant_matrix); use milstein or euler_maruyama");
    }
  }

  [[nodiscard]] static std::size_t scratch_size(Eigen::Index d, Eigen::Index) {
    return 6 * static_cast<std::size_t>(d);
  }

  template <class M, class N, class T>
  void step(const M& model, const N&, scalar_of_t<T> t, scalar_of_t<T> dt, T* x, const T* dw, const T* dz,
            T* scratch) const {
    using S = scalar_of_t<T>;
    using std::sqrt;
    const Eigen::Index d = model.dimension();
    const Eigen::Index m = m_b.cols();
    T* a0 = scratch;
    T* y = scratch + d;
    T* ap = scratch + 2 * d;
    T* am = scratch + 3 * d;
    T* second = scratch + 4 * d;  // sum_j [a(Y+) - 2 a + a(Y-)]
    T* area = scratch + 5 * d;    // sum_j [a(Y+) - a(Y-)] dZ_j
    model.drift(t, x, a0);
    const S sqrt_dt = sqrt(dt);
    const S shift = dt / static_cast<S>(m);
    for (Eigen::Index k = 0; k < d; ++k) {
      second[k] = T(0);
      area[k] = T(0);
    }
    for (Eigen::Index j = 0; j < m; ++j) {
      for (Eigen::Index k = 0; k < d; ++k) y[k] = x[k] + a0[k] * shift + static_cast<S>(m_b(k, j)) * sqrt_dt;
      model.drift(t + shift, y, ap);
      for (Eigen::Index k = 0; k < d; ++k) y[k] = x[k] + a0[k] * shift - static_cast<S>(m_b(k, j)) * sqrt_dt;
      model.drift(t + shift, y, am);
      for (Eigen::Index k = 0; k < d; ++k) {
        second[k] = second[k] + (ap[k] - S(2) * a0[k] + am[k]);
        area[k] = area[k] + (ap[k] - am[k]) * dz[j];
      }
    }
    const S quarter_dt = dt / S(4);
    const S inv_two_sqrt_dt = S(1) / (S(2) * sqrt_dt);
    for (Eigen::Index k = 0; k < d; ++k) {
      T bdw(0);
      for (Eigen::Index j = 0; j < m; ++j) bdw = bdw + static_cast<S>(m_b(k, j)) * dw[j];
      x[k] = x[k] + a0[k] * dt + bdw + quarter_dt * second[k] + inv_two_sqrt_dt * area[k];
    }
  }

 private:
  Eigen::MatrixXd m_b;
};

}  // namespace upfi::sde
