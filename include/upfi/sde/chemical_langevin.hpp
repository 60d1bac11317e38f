// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Chemical Langevin equation with production p(x) and degradation q(x) at system volume V:
///
///     dX = (p(X) - q(X)) dt + V^{-1/2} diag(sqrt(p(X) + q(X))) dB,   D(x) = diag(p(x) + q(x)) / (2V).
///
/// The drift and the noise share p and q, so one object is both the DriftModel and the NoiseModel. Concentrations
/// stay non-negative only in the continuum limit: simulators apply a positivity rule (rejection by default, see
/// upfi::sde::positivity) because `nonnegative` is true. The probability-flow velocity needs
/// (div D)_i = (d_i p_i + d_i q_i) / (2V), provided exactly by duals.
/// @see algorithms.md §1.2 and §5.8.2; Gillespie (2000), "The chemical Langevin equation", J. Chem. Phys. 113, 297.

#include <upfi/concepts/sde.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/diagonal_noise.hpp>

#include <Eigen/Core>

#include <cmath>
#include <utility>

namespace upfi::sde {

/// @brief Linear degradation q_i(x) = lambda_i x_i.
class linear_degradation {
 public:
  /// @throws std::invalid_argument if a rate is negative or not finite.
  explicit linear_degradation(Eigen::VectorXd rates) : m_rates(std::move(rates)) {
    for (Eigen::Index k = 0; k < m_rates.size(); ++k) {
      if (!(m_rates[k] >= 0) || !std::isfinite(m_rates[k])) {
        core::detail::throw_invalid_argument("upfi::sde::linear_degradation: rate[", k, "] = ", m_rates[k],
                                             " must be finite and >= 0");
      }
    }
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_rates.size(); }
  [[nodiscard]] const Eigen::VectorXd& rates() const noexcept { return m_rates; }
  template <class T>
  void operator()(scalar_of_t<T>, const T* x, T* out) const {
    for (Eigen::Index k = 0; k < m_rates.size(); ++k) out[k] = static_cast<scalar_of_t<T>>(m_rates[k]) * x[k];
  }

 private:
  Eigen::VectorXd m_rates;
};

namespace detail {
// D_ii = (p_i + q_i) / (2V): the diffusion diagonal shared by the noise model.
template <class Production, class Degradation>
struct cle_diffusion {
  Production production;
  Degradation degradation;
  double volume;
  [[nodiscard]] Eigen::Index dimension() const { return production.dimension(); }
  template <class T>
  void operator()(scalar_of_t<T> t, const T* x, T* out) const {
    const auto d = static_cast<std::size_t>(dimension());
    small_buffer<T> q(d);
    production(t, x, out);
    degradation(t, x, q.data());
    const auto scale = static_cast<scalar_of_t<T>>(0.5 / volume);
    for (std::size_t k = 0; k < d; ++k) out[k] = (out[k] + q[k]) * scale;
  }
};
}  // namespace detail

/// @brief The chemical Langevin model: drift p - q and diffusion diag(p + q) / (2V).
/// @tparam Production, Degradation pointwise generic functions with `dimension()` and
///         `template <class T> void operator()(scalar_of_t<T> t, const T* x, T* out) const`.
template <class Production, class Degradation = linear_degradation>
class chemical_langevin {
 public:
  static constexpr bool nonnegative = true;  ///< concentrations: simulators apply a positivity rule

  /// @throws std::invalid_argument if the volume is not positive or the dimensions differ.
  chemical_langevin(Production production, Degradation degradation, double volume)
      : m_noise(detail::cle_diffusion<Production, Degradation>{std::move(production), std::move(degradation), volume}) {
    if (!(volume > 0) || !std::isfinite(volume)) {
      core::detail::throw_invalid_argument("upfi::sde::chemical_langevin: volume V = ", volume,
                                           " must be finite and > 0");
    }
    if (this->production().dimension() != this->degradation().dimension()) {
      core::detail::throw_invalid_argument("upfi::sde::chemical_langevin: production has dimension ",
                                           this->production().dimension(), " but degradation has ",
                                           this->degradation().dimension());
    }
  }

  [[nodiscard]] Eigen::Index dimension() const { return m_noise.dimension(); }
  [[nodiscard]] Eigen::Index noise_dimension() const { return m_noise.dimension(); }
  [[nodiscard]] double volume() const noexcept { return m_noise.diffusion().volume; }
  [[nodiscard]] const Production& production() const noexcept { return m_noise.diffusion().production; }
  [[nodiscard]] const Degradation& degradation() const noexcept { return m_noise.diffusion().degradation; }

  /// @brief v = p - q.
  template <class T>
  void drift(scalar_of_t<T> t, const T* x, T* v) const {
    const auto d = static_cast<std::size_t>(dimension());
    detail::small_buffer<T> q(d);
    production()(t, x, v);
    degradation()(t, x, q.data());
    for (std::size_t k = 0; k < d; ++k) v[k] = v[k] - q[k];
  }

  // Noise interface, forwarded to the diagonal noise built on D = diag(p + q) / (2V).
  template <class T>
  void diagonal(scalar_of_t<T> t, const T* x, T* s) const {
    m_noise.diagonal(t, x, s);
  }
  template <class T>
  void increment(scalar_of_t<T> t, const T* x, const T* db, T* out) const {
    m_noise.increment(t, x, db, out);
  }
  template <class T>
  void divergence(scalar_of_t<T> t, const T* x, T* out) const {
    m_noise.divergence(t, x, out);
  }
  [[nodiscard]] Eigen::MatrixXd diffusion_tensor(double t, const Eigen::VectorXd& x) const {
    return m_noise.diffusion_tensor(t, x);
  }
  [[nodiscard]] Eigen::VectorXd divergence(double t, const Eigen::VectorXd& x) const {
    return m_noise.divergence(t, x);
  }

 private:
  diagonal_noise<detail::cle_diffusion<Production, Degradation>> m_noise;
};

}  // namespace upfi::sde
