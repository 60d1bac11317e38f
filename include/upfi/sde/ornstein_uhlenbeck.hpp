// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Ornstein-Uhlenbeck process dX = (A X + e) dt + Sigma dB (D = Sigma Sigma^T / 2 constant), with its exact
/// Gaussian transition, and the quadratic fitness g(x) = x^T Gamma x / 2 + c^T x + b of UPFI's Proposition 2.1.
///
/// Exact transition over a time t: X_t = F X_0 + f + N(0, Q) with F = exp(A t), f = int_0^t exp(A s) e ds and
/// Q = int_0^t exp(A s) 2D exp(A^T s) ds, all from matrix exponentials of block matrices (Van Loan 1978, "Computing
/// integrals involving the matrix exponential", IEEE TAC 23). No stability of A is required.

#include <upfi/concepts/sde.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/additive_noise.hpp>
#include <upfi/sde/detail/generic_math.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <cmath>
#include <cstdint>
#include <utility>

#include <unsupported/Eigen/MatrixFunctions>

namespace upfi::sde {

/// @brief Exact transition X_t = F X_0 + offset + N(0, covariance).
struct ou_transition {
  Eigen::MatrixXd propagator;  ///< F = exp(A t)
  Eigen::VectorXd offset;      ///< f = int_0^t exp(A s) e ds
  Eigen::MatrixXd covariance;  ///< Q = int_0^t exp(A s) 2D exp(A^T s) ds
};

/// @brief dX = (A X + e) dt + Sigma dB. Models DriftModel; noise() is the matching constant_matrix noise.
class ornstein_uhlenbeck {
 public:
  /// @param drift_matrix A (d x d); @param drift_offset e (length d); @param diffusion D (d x d, symmetric positive
  /// semi-definite). @throws std::invalid_argument on inconsistent sizes or non-finite entries.
  ornstein_uhlenbeck(Eigen::MatrixXd drift_matrix, Eigen::VectorXd drift_offset, Eigen::MatrixXd diffusion)
      : m_a(std::move(drift_matrix)), m_e(std::move(drift_offset)), m_d(std::move(diffusion)) {
    const Eigen::Index d = m_a.rows();
    if (d < 1 || m_a.cols() != d || m_e.size() != d || m_d.rows() != d || m_d.cols() != d) {
      core::detail::throw_invalid_argument("upfi::sde::ornstein_uhlenbeck: A is ", m_a.rows(), " x ", m_a.cols(),
                                           ", e has ", m_e.size(), " entries, D is ", m_d.rows(), " x ", m_d.cols(),
                                           "; they must be d x d, d and d x d");
    }
    if (!m_a.allFinite() || !m_e.allFinite() || !m_d.allFinite()) {
      core::detail::throw_invalid_argument("upfi::sde::ornstein_uhlenbeck: A, e and D must be finite");
    }
    if (!m_d.isApprox(m_d.transpose(), 1e-12)) {
      core::detail::throw_invalid_argument("upfi::sde::ornstein_uhlenbeck: D must be symmetric");
    }
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(m_d);
    if (eig.eigenvalues().minCoeff() < -1e-12 * std::max(1.0, eig.eigenvalues().cwiseAbs().maxCoeff())) {
      core::detail::throw_invalid_argument("upfi::sde::ornstein_uhlenbeck: D has eigenvalue ",
                                           eig.eigenvalues().minCoeff(), "; it must be positive semi-definite");
    }
    // Sigma = V sqrt(Lambda) sqrt(2): a square root of 2D that also exists for singular D.
    m_sigma = eig.eigenvectors() * (2.0 * eig.eigenvalues().cwiseMax(0.0)).cwiseSqrt().asDiagonal();
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_a.rows(); }
  [[nodiscard]] const Eigen::MatrixXd& drift_matrix() const noexcept { return m_a; }
  [[nodiscard]] const Eigen::VectorXd& drift_offset() const noexcept { return m_e; }
  [[nodiscard]] const Eigen::MatrixXd& diffusion() const noexcept { return m_d; }
  /// @brief The additive noise Sigma with Sigma Sigma^T = 2D.
  [[nodiscard]] constant_matrix noise() const { return constant_matrix(m_sigma); }

  /// @brief v = A x + e.
  template <class T>
  void drift(scalar_of_t<T>, const T* x, T* v) const {
    using S = scalar_of_t<T>;
    const Eigen::Index d = dimension();
    for (Eigen::Index i = 0; i < d; ++i) {
      T acc(static_cast<S>(m_e[i]));
      for (Eigen::Index j = 0; j < d; ++j) acc = acc + static_cast<S>(m_a(i, j)) * x[j];
      v[i] = acc;
    }
  }

  /// @brief Exact transition over an elapsed time t >= 0.
  [[nodiscard]] ou_transition transition(double t) const {
    if (!(t >= 0) || !std::isfinite(t)) {
      core::detail::throw_invalid_argument("upfi::sde::ornstein_uhlenbeck::transition: t = ", t, " must be >= 0");
    }
    const Eigen::Index d = dimension();
    // Van Loan: exp([[-A, 2D], [0, A^T]] t) = [[., G], [0, H]] with H = exp(A^T t), Q = H^T G.
    Eigen::MatrixXd m = Eigen::MatrixXd::Zero(2 * d, 2 * d);
    m.topLeftCorner(d, d) = -m_a * t;
    m.topRightCorner(d, d) = 2.0 * m_d * t;
    m.bottomRightCorner(d, d) = m_a.transpose() * t;
    const Eigen::MatrixXd em = m.exp();
    ou_transition out;
    out.propagator = em.bottomRightCorner(d, d).transpose();
    out.covariance = out.propagator * em.topRightCorner(d, d);
    out.covariance = 0.5 * (out.covariance + out.covariance.transpose()).eval();
    // Offset: exp([[A, e], [0, 0]] t) = [[F, f], [0, 1]].
    Eigen::MatrixXd n = Eigen::MatrixXd::Zero(d + 1, d + 1);
    n.topLeftCorner(d, d) = m_a * t;
    n.topRightCorner(d, 1) = m_e * t;
    out.offset = n.exp().topRightCorner(d, 1);
    return out;
  }

  /// @brief Mean at time t of a process started with mean `mean0`.
  [[nodiscard]] Eigen::VectorXd mean(double t, const Eigen::VectorXd& mean0) const {
    const ou_transition tr = transition(t);
    return tr.propagator * mean0 + tr.offset;
  }
  /// @brief Covariance at time t of a process started with covariance `cov0`.
  [[nodiscard]] Eigen::MatrixXd covariance(double t, const Eigen::MatrixXd& cov0) const {
    const ou_transition tr = transition(t);
    return tr.propagator * cov0 * tr.propagator.transpose() + tr.covariance;
  }

  /// @brief Exact samples at time t of the processes started at the rows of x0 (N x d): row i uses normals
  /// (index = first_index + i, counter = counter ...) of `rng`. Thread-count independent.
  [[nodiscard]] Eigen::MatrixXd sample_exact(const Eigen::MatrixXd& x0, double t, const core::counter_rng& rng,
                                             std::uint32_t counter = 0, std::uint64_t first_index = 0) const {
    if (x0.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::sde::ornstein_uhlenbeck::sample_exact: states have ", x0.cols(),
                                           " columns but the process has dimension ", dimension());
    }
    const ou_transition tr = transition(t);
    // Square root of Q by eigen-decomposition (Q may be singular, e.g. at t = 0 or for degenerate D).
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(tr.covariance);
    const Eigen::MatrixXd root = eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
    Eigen::MatrixXd z(x0.rows(), dimension());
    rng.fill_normal(z, counter, first_index);
    return (x0 * tr.propagator.transpose() + z * root.transpose()).rowwise() + tr.offset.transpose();
  }

 private:
  Eigen::MatrixXd m_a;
  Eigen::VectorXd m_e;
  Eigen::MatrixXd m_d;
  Eigen::MatrixXd m_sigma;
};

/// @brief Quadratic fitness g(x) = x^T Gamma x / 2 + c^T x + b split into birth max(g, 0) and death max(-g, 0).
/// With Gamma negative semi-definite a Gaussian population stays Gaussian under an OU drift (UPFI Prop. 2.1).
class quadratic_growth {
 public:
  /// @throws std::invalid_argument on inconsistent sizes, non-finite entries or a non-symmetric Gamma.
  quadratic_growth(Eigen::MatrixXd gamma, Eigen::VectorXd c, double b)
      : m_gamma(std::move(gamma)), m_c(std::move(c)), m_b(b) {
    if (m_gamma.rows() != m_gamma.cols() || m_c.size() != m_gamma.rows()) {
      core::detail::throw_invalid_argument("upfi::sde::quadratic_growth: Gamma is ", m_gamma.rows(), " x ",
                                           m_gamma.cols(), " and c has ", m_c.size(), " entries");
    }
    if (!m_gamma.allFinite() || !m_c.allFinite() || !std::isfinite(b)) {
      core::detail::throw_invalid_argument("upfi::sde::quadratic_growth: Gamma, c and b must be finite");
    }
    if (!m_gamma.isApprox(m_gamma.transpose(), 1e-12)) {
      core::detail::throw_invalid_argument("upfi::sde::quadratic_growth: Gamma must be symmetric");
    }
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_c.size(); }
  [[nodiscard]] const Eigen::MatrixXd& gamma() const noexcept { return m_gamma; }
  [[nodiscard]] const Eigen::VectorXd& c() const noexcept { return m_c; }
  [[nodiscard]] double b() const noexcept { return m_b; }

  /// @brief Net fitness g(x).
  template <class T>
  [[nodiscard]] T fitness(scalar_of_t<T>, const T* x) const {
    using S = scalar_of_t<T>;
    T g(static_cast<S>(m_b));
    for (Eigen::Index i = 0; i < m_c.size(); ++i) {
      T row(0);
      for (Eigen::Index j = 0; j < m_c.size(); ++j) row = row + static_cast<S>(m_gamma(i, j)) * x[j];
      g = g + (static_cast<S>(0.5) * row + static_cast<S>(m_c[i])) * x[i];
    }
    return g;
  }
  template <class T>
  [[nodiscard]] T birth_rate(scalar_of_t<T> t, const T* x) const {
    return detail::max0(fitness(t, x));
  }
  template <class T>
  [[nodiscard]] T death_rate(scalar_of_t<T> t, const T* x) const {
    return detail::max0(-fitness(t, x));
  }

 private:
  Eigen::MatrixXd m_gamma;
  Eigen::VectorXd m_c;
  double m_b;
};

}  // namespace upfi::sde
