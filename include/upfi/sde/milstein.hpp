// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Milstein step for diagonal noise:
///
///     x_i <- x_i + v_i dt + sigma_i dW_i + (1/2) sigma_i (d_i sigma_i) (dW_i^2 - dt),   sigma_i d_i sigma_i = d_i
///     D_ii.
///
/// Strong order 1 when sigma_i depends on x_i only (or, more generally, for commutative noise); with cross
/// dependence, as in a chemical-Langevin model, the Levy-area terms are omitted and the order drops to 0.5 with a
/// smaller constant. The correction uses the exact row divergence of the noise model (forward-mode duals).
/// @see Kloeden & Platen (1992), §10.3.

#include <upfi/concepts/sde.hpp>

#include <Eigen/Core>

#include <cstddef>

namespace upfi::sde {

/// @brief The Milstein scheme for diagonal noise.
class milstein {
 public:
  static constexpr bool uses_area = false;
  static constexpr double strong_order = 1.0;
  static constexpr const char* name = "milstein";

  template <class M, class N, class T>
  static constexpr bool supports = HasPointwiseDrift<M, T>&& HasDiagonalNoise<N, T>&& requires(const N& n,
                                                                                               scalar_of_t<T> t,
                                                                                               const T* x, T* out) {
    n.divergence(t, x, out);
  };

  template <class M, class N>
  void prepare(const M&, const N&) {}

  [[nodiscard]] static std::size_t scratch_size(Eigen::Index d, Eigen::Index) {
    return 3 * static_cast<std::size_t>(d);
  }

  template <class M, class N, class T>
  void step(const M& model, const N& noise, scalar_of_t<T> t, scalar_of_t<T> dt, T* x, const T* dw, const T*,
            T* scratch) const {
    using S = scalar_of_t<T>;
    const Eigen::Index d = model.dimension();
    T* v = scratch;
    T* s = scratch + d;
    T* g = scratch + 2 * d;
    model.drift(t, x, v);
    noise.diagonal(t, x, s);
    noise.divergence(t, x, g);
    for (Eigen::Index k = 0; k < d; ++k) {
      x[k] = x[k] + v[k] * dt + s[k] * dw[k] + S(0.5) * g[k] * (dw[k] * dw[k] - dt);
    }
  }
};

}  // namespace upfi::sde
