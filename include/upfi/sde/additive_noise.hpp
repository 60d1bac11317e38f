// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Additive noise models: isotropic sigma I, diagonal diag(sigma), constant matrix Sigma (d x m).
///
/// Convention dX = v dt + Sigma dB, D = Sigma Sigma^T / 2 (constant, so div D = 0). All three model NoiseModel and
/// IsAdditiveNoise, and the first two HasDiagonalNoise.

#include <upfi/concepts/sde.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <cmath>
#include <utility>

namespace upfi::sde {

/// @brief sigma I: every coordinate gets an independent Brownian motion of amplitude sigma; D = sigma^2 / 2 I.
class additive_isotropic {
 public:
  static constexpr bool is_additive = true;

  /// @throws std::invalid_argument if sigma is negative or not finite, or d < 1.
  additive_isotropic(Eigen::Index dimension, double sigma) : m_dimension(dimension), m_sigma(sigma) {
    if (dimension < 1)
      core::detail::throw_invalid_argument("upfi::sde::additive_isotropic: dimension ", dimension, " must be >= 1");
    if (!(sigma >= 0) || !std::isfinite(sigma)) {
      core::detail::throw_invalid_argument("upfi::sde::additive_isotropic: sigma = ", sigma,
                                           " must be finite and >= 0");
    }
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_dimension; }
  [[nodiscard]] Eigen::Index noise_dimension() const noexcept { return m_dimension; }
  [[nodiscard]] double sigma() const noexcept { return m_sigma; }

  /// @brief out = sigma dB.
  template <class T>
  void increment(scalar_of_t<T>, const T*, const T* db, T* out) const {
    for (Eigen::Index k = 0; k < m_dimension; ++k) out[k] = static_cast<scalar_of_t<T>>(m_sigma) * db[k];
  }
  /// @brief sigma_ii = sigma.
  template <class T>
  void diagonal(scalar_of_t<T>, const T*, T* s) const {
    for (Eigen::Index k = 0; k < m_dimension; ++k) s[k] = T(static_cast<scalar_of_t<T>>(m_sigma));
  }
  /// @brief (div D)_i = 0.
  template <class T>
  void divergence(scalar_of_t<T>, const T*, T* out) const {
    for (Eigen::Index k = 0; k < m_dimension; ++k) out[k] = T(0);
  }
  [[nodiscard]] Eigen::MatrixXd sigma_matrix() const {
    return m_sigma * Eigen::MatrixXd::Identity(m_dimension, m_dimension);
  }
  [[nodiscard]] Eigen::MatrixXd diffusion_tensor(double, const Eigen::VectorXd&) const {
    return 0.5 * m_sigma * m_sigma * Eigen::MatrixXd::Identity(m_dimension, m_dimension);
  }
  [[nodiscard]] Eigen::VectorXd divergence(double, const Eigen::VectorXd&) const {
    return Eigen::VectorXd::Zero(m_dimension);
  }

 private:
  Eigen::Index m_dimension;
  double m_sigma;
};

/// @brief diag(sigma_1, ..., sigma_d): independent Brownian motions with per-coordinate amplitudes.
class additive_diagonal {
 public:
  static constexpr bool is_additive = true;

  /// @throws std::invalid_argument if sigma is empty or has a negative or non-finite entry.
  explicit additive_diagonal(Eigen::VectorXd sigma) : m_sigma(std::move(sigma)) {
    if (m_sigma.size() < 1) core::detail::throw_invalid_argument("upfi::sde::additive_diagonal: sigma is empty");
    for (Eigen::Index k = 0; k < m_sigma.size(); ++k) {
      if (!(m_sigma[k] >= 0) || !std::isfinite(m_sigma[k])) {
        core::detail::throw_invalid_argument("upfi::sde::additive_diagonal: sigma[", k, "] = ", m_sigma[k],
                                             " must be finite and >= 0");
      }
    }
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_sigma.size(); }
  [[nodiscard]] Eigen::Index noise_dimension() const noexcept { return m_sigma.size(); }
  [[nodiscard]] const Eigen::VectorXd& sigma() const noexcept { return m_sigma; }

  template <class T>
  void increment(scalar_of_t<T>, const T*, const T* db, T* out) const {
    for (Eigen::Index k = 0; k < m_sigma.size(); ++k) out[k] = static_cast<scalar_of_t<T>>(m_sigma[k]) * db[k];
  }
  template <class T>
  void diagonal(scalar_of_t<T>, const T*, T* s) const {
    for (Eigen::Index k = 0; k < m_sigma.size(); ++k) s[k] = T(static_cast<scalar_of_t<T>>(m_sigma[k]));
  }
  template <class T>
  void divergence(scalar_of_t<T>, const T*, T* out) const {
    for (Eigen::Index k = 0; k < m_sigma.size(); ++k) out[k] = T(0);
  }
  [[nodiscard]] Eigen::MatrixXd sigma_matrix() const { return m_sigma.asDiagonal(); }
  [[nodiscard]] Eigen::MatrixXd diffusion_tensor(double, const Eigen::VectorXd&) const {
    return (0.5 * m_sigma.array().square()).matrix().asDiagonal();
  }
  [[nodiscard]] Eigen::VectorXd divergence(double, const Eigen::VectorXd&) const {
    return Eigen::VectorXd::Zero(m_sigma.size());
  }

 private:
  Eigen::VectorXd m_sigma;
};

/// @brief A constant d x m matrix Sigma: correlated additive noise, D = Sigma Sigma^T / 2.
class constant_matrix {
 public:
  static constexpr bool is_additive = true;

  /// @brief From the noise matrix Sigma (d x m). @throws std::invalid_argument if empty or not finite.
  explicit constant_matrix(Eigen::MatrixXd sigma) : m_sigma(std::move(sigma)) {
    if (m_sigma.size() == 0) core::detail::throw_invalid_argument("upfi::sde::constant_matrix: Sigma is empty");
    if (!m_sigma.allFinite()) core::detail::throw_invalid_argument("upfi::sde::constant_matrix: Sigma is not finite");
  }
  /// @brief From a diffusion tensor D (symmetric positive definite): Sigma = cholesky(2 D), lower triangular.
  /// @throws std::invalid_argument if D is not square, symmetric and positive definite.
  [[nodiscard]] static constant_matrix from_diffusion(const Eigen::MatrixXd& diffusion) {
    if (diffusion.rows() != diffusion.cols() || diffusion.rows() == 0) {
      core::detail::throw_invalid_argument("upfi::sde::constant_matrix::from_diffusion: D is ", diffusion.rows(), " x ",
                                           diffusion.cols(), "; it must be square and non-empty");
    }
    if (!diffusion.isApprox(diffusion.transpose(), 1e-12)) {
      core::detail::throw_invalid_argument("upfi::sde::constant_matrix::from_diffusion: D is not symmetric");
    }
    const Eigen::LLT<Eigen::MatrixXd> llt(2.0 * diffusion);
    if (llt.info() != Eigen::Success) {
      core::detail::throw_invalid_argument(
          "upfi::sde::constant_matrix::from_diffusion: D is not positive definite; pass Sigma directly for a "
          "degenerate noise");
    }
    return constant_matrix(llt.matrixL());
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_sigma.rows(); }
  [[nodiscard]] Eigen::Index noise_dimension() const noexcept { return m_sigma.cols(); }

  /// @brief out = Sigma dB.
  template <class T>
  void increment(scalar_of_t<T>, const T*, const T* db, T* out) const {
    using S = scalar_of_t<T>;
    for (Eigen::Index i = 0; i < m_sigma.rows(); ++i) {
      T acc(0);
      for (Eigen::Index j = 0; j < m_sigma.cols(); ++j) acc = acc + static_cast<S>(m_sigma(i, j)) * db[j];
      out[i] = acc;
    }
  }
  template <class T>
  void divergence(scalar_of_t<T>, const T*, T* out) const {
    for (Eigen::Index k = 0; k < m_sigma.rows(); ++k) out[k] = T(0);
  }
  [[nodiscard]] const Eigen::MatrixXd& sigma_matrix() const noexcept { return m_sigma; }
  [[nodiscard]] Eigen::MatrixXd diffusion_tensor(double, const Eigen::VectorXd&) const {
    return 0.5 * m_sigma * m_sigma.transpose();
  }
  [[nodiscard]] Eigen::VectorXd divergence(double, const Eigen::VectorXd&) const {
    return Eigen::VectorXd::Zero(m_sigma.rows());
  }

 private:
  Eigen::MatrixXd m_sigma;
};

}  // namespace upfi::sde
