// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Euler-Maruyama step: x <- x + v(t, x) dt + sigma(t, x) dW. Any noise model; strong order 0.5 (1.0 for
/// additive noise), weak order 1.
///
/// Stepper interface shared by euler_maruyama, milstein and srk15 (used by upfi::sde::simulator):
///  * `prepare(model, noise)` caches what the stepper needs (called once per simulator);
///  * `scratch_size(d, m)` scalars of scratch per particle; `uses_area`: whether dZ = int (W_s - W_t) ds is needed;
///  * `supports<M, N, T>`: whether the model and noise can be evaluated with scalar type T for this stepper;
///  * `step(model, noise, t, dt, x, dW, dZ, scratch)` advances one particle (or one SIMD batch of particles).

#include <upfi/concepts/sde.hpp>

#include <Eigen/Core>

#include <cstddef>

namespace upfi::sde {

/// @brief The Euler-Maruyama scheme (Kloeden & Platen 1992, §9.1).
class euler_maruyama {
 public:
  static constexpr bool uses_area = false;
  static constexpr double strong_order = 0.5;
  static constexpr const char* name = "euler_maruyama";

  template <class M, class N, class T>
  static constexpr bool supports = HasPointwiseDrift<M, T>&& HasNoiseIncrement<N, T>;

  template <class M, class N>
  void prepare(const M&, const N&) {}

  [[nodiscard]] static std::size_t scratch_size(Eigen::Index d, Eigen::Index) {
    return 2 * static_cast<std::size_t>(d);
  }

  template <class M, class N, class T>
  void step(const M& model, const N& noise, scalar_of_t<T> t, scalar_of_t<T> dt, T* x, const T* dw, const T*,
            T* scratch) const {
    const Eigen::Index d = model.dimension();
    T* v = scratch;
    T* dx = scratch + d;
    model.drift(t, x, v);
    noise.increment(t, x, dw, dx);
    for (Eigen::Index k = 0; k < d; ++k) x[k] = x[k] + v[k] * dt + dx[k];
  }
};

}  // namespace upfi::sde
