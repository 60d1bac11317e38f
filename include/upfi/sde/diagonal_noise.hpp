// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief State-dependent diagonal noise: D(t, x) = diag(D_11(t, x), ..., D_dd(t, x)), sigma_ii = sqrt(2 D_ii).
///
/// The user supplies the diagonal of D as a pointwise generic function; the row divergence (div D)_i = d_i D_ii(x)
/// is computed exactly with forward-mode duals (one pass per coordinate), and is also the Milstein correction
/// sigma_i d_i sigma_i = d_i D_ii. Negative D_ii (possible in a chemical-Langevin model away from the positive orthant)
/// are clamped to 0 in sigma, as in sqrt(max(0, .)).

#include <upfi/ad/dual.hpp>
#include <upfi/concepts/sde.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/detail/generic_math.hpp>
#include <upfi/sde/detail/small_buffer.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <utility>

namespace upfi::sde {

/// @brief Diagonal noise from a pointwise generic diffusion diagonal.
/// @tparam Diffusion a type with `dimension()` and `template <class T> void operator()(scalar_of_t<T> t, const T* x,
///         T* d_diag) const` writing D_ii(t, x).
template <class Diffusion>
class diagonal_noise {
  static_assert(HasDimension<Diffusion>,
                "upfi::sde::diagonal_noise: the diffusion function needs `dimension()` returning the state dimension");

 public:
  explicit diagonal_noise(Diffusion diffusion) : m_diffusion(std::move(diffusion)) {}

  [[nodiscard]] Eigen::Index dimension() const { return m_diffusion.dimension(); }
  [[nodiscard]] Eigen::Index noise_dimension() const { return m_diffusion.dimension(); }
  [[nodiscard]] const Diffusion& diffusion() const noexcept { return m_diffusion; }

  /// @brief sigma_ii(t, x) = sqrt(2 max(0, D_ii(t, x))).
  template <class T>
  void diagonal(scalar_of_t<T> t, const T* x, T* s) const {
    using std::sqrt;
    m_diffusion(t, x, s);
    for (Eigen::Index k = 0; k < dimension(); ++k) s[k] = sqrt(T(2) * detail::max0(s[k]));
  }

  /// @brief out_i = sigma_ii(t, x) dB_i.
  template <class T>
  void increment(scalar_of_t<T> t, const T* x, const T* db, T* out) const {
    diagonal(t, x, out);
    for (Eigen::Index k = 0; k < dimension(); ++k) out[k] = out[k] * db[k];
  }

  /// @brief Row divergence (div D)_i = d D_ii / d x_i, exact (forward-mode duals, d passes).
  template <class T>
  void divergence(scalar_of_t<T> t, const T* x, T* out) const {
    const auto d = static_cast<std::size_t>(dimension());
    detail::small_buffer<ad::dual<T>> xd(d), dd(d);
    for (std::size_t k = 0; k < d; ++k) xd[k] = ad::dual<T>(x[k], T(0));
    for (std::size_t i = 0; i < d; ++i) {
      xd[i].d = T(1);
      m_diffusion(t, xd.data(), dd.data());
      out[i] = dd[i].d;
      xd[i].d = T(0);
    }
  }

  [[nodiscard]] Eigen::MatrixXd diffusion_tensor(double t, const Eigen::VectorXd& x) const {
    Eigen::VectorXd diag(dimension());
    m_diffusion(t, x.data(), diag.data());
    return diag.asDiagonal();
  }
  [[nodiscard]] Eigen::VectorXd divergence(double t, const Eigen::VectorXd& x) const {
    Eigen::VectorXd out(dimension());
    divergence(t, x.data(), out.data());
    return out;
  }

 private:
  Diffusion m_diffusion;
};

}  // namespace upfi::sde
