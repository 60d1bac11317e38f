// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Particle clouds: `N x d` column-major positions with optional log-masses.
///
/// A cloud stores one particle per row and one coordinate per column (the POT / GeomLoss / AnnData convention,
/// `x.shape == (N, d)`). Column-major storage makes it structure-of-arrays: coordinate k of particles i..i+W is
/// contiguous, so SIMD lanes map to particles. Masses are carried as natural logarithms, because growth makes them
/// span many orders of magnitude; a cloud without log-masses has unit mass per particle.

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <utility>

namespace upfi::core {

/// @brief Positions of a cloud: `N x d`, column-major, dynamic size.
template <RealScalar Scalar>
using cloud_matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

/// @brief Per-particle column vector (log-masses, growth rates, potentials).
template <RealScalar Scalar>
using cloud_vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// @brief Throws std::invalid_argument naming the first non-finite entry of `x` (row, column, value).
/// @param what  the entity reported in the message, e.g. "upfi::core::particle_cloud"
/// @param where extra location text placed before the row, e.g. "snapshot 2 (t = 1), " (may be empty)
template <CloudMatrix Matrix>
void require_finite(const Matrix& x, std::string_view what, std::string_view where = {}) {
  if (x.allFinite()) return;  // vectorised fast path; the slow scan below only runs to build the message
  // Row-major scan so the reported entry is the first one a reader of the file would meet.
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      if (!std::isfinite(x(i, j))) {
        detail::throw_invalid_argument(what, ": ", where, "row ", i, ", column ", j, " holds ", x(i, j),
                                       "; every value must be finite (drop or impute that particle)");
      }
    }
  }
}

/// @brief Natural log of sum_i exp(v_i), stable for any magnitudes (max shift keeps every exp argument <= 0).
/// Returns -inf for an empty vector.
template <class Derived>
typename Derived::Scalar log_sum_exp(const Eigen::MatrixBase<Derived>& v) {
  using S = typename Derived::Scalar;
  if (v.size() == 0) return -std::numeric_limits<S>::infinity();
  const S m = v.maxCoeff();
  if (!std::isfinite(m)) return m;
  return m + std::log((v.array() - m).exp().sum());
}

/// @brief A weighted particle cloud: positions `N x d` and optional log-masses (length N).
///
/// Invariants, checked on construction and on set_log_masses(): every position and log-mass is finite, and the
/// log-mass vector is either empty (unit masses) or has one entry per particle.
/// @tparam Scalar float, double or long double.
template <class Scalar>
class particle_cloud {
  static_assert(RealScalar<Scalar>,
                "upfi::core::particle_cloud: Scalar must be a real floating-point type (float, double or long "
                "double); integer or complex clouds are not supported");

 public:
  using scalar_type = Scalar;
  // Spelled out rather than cloud_matrix<Scalar>: a constrained alias would add a second error after the gate.
  using matrix_type = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  using vector_type = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  /// @brief An empty cloud (0 particles, 0 coordinates).
  particle_cloud() = default;

  /// @brief A cloud with unit masses.
  /// @throws std::invalid_argument if a position is not finite.
  explicit particle_cloud(matrix_type positions) : m_positions(std::move(positions)) {
    require_finite(m_positions, "upfi::core::particle_cloud");
  }

  /// @brief A cloud with the given log-masses (natural logarithm of each particle's mass).
  /// @throws std::invalid_argument if a position or log-mass is not finite, or the lengths differ.
  particle_cloud(matrix_type positions, vector_type log_masses) : particle_cloud(std::move(positions)) {
    set_log_masses(std::move(log_masses));
  }

  /// @brief Number of particles N.
  [[nodiscard]] Eigen::Index size() const noexcept { return m_positions.rows(); }
  /// @brief Number of coordinates d.
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_positions.cols(); }
  /// @brief Positions, `N x d`.
  [[nodiscard]] const matrix_type& positions() const noexcept { return m_positions; }
  /// @brief Mutable positions; the caller keeps them finite and must not change N while log-masses are set.
  [[nodiscard]] matrix_type& positions() noexcept { return m_positions; }

  /// @brief True when explicit log-masses are stored; false means unit mass per particle.
  [[nodiscard]] bool has_log_masses() const noexcept { return m_log_masses.size() != 0; }
  /// @brief The stored log-masses (empty when has_log_masses() is false).
  [[nodiscard]] const vector_type& log_masses() const noexcept { return m_log_masses; }
  /// @brief Log-masses with unit masses expanded to zeros: always length N.
  [[nodiscard]] vector_type log_masses_or_zero() const {
    return has_log_masses() ? m_log_masses : vector_type::Zero(size());
  }
  /// @brief log of the total mass, `log sum_i m_i` (`log N` for unit masses, -inf for an empty cloud).
  [[nodiscard]] Scalar log_total_mass() const {
    if (!has_log_masses()) {
      return size() == 0 ? -std::numeric_limits<Scalar>::infinity() : std::log(static_cast<Scalar>(size()));
    }
    return log_sum_exp(m_log_masses);
  }

  /// @brief Replaces the log-masses. @throws std::invalid_argument on a length mismatch or a non-finite entry.
  void set_log_masses(vector_type log_masses) {
    if (log_masses.size() != size()) {
      detail::throw_invalid_argument("upfi::core::particle_cloud: ", log_masses.size(), " log-masses given for ",
                                     size(), " particles; pass one log-mass per row of the positions");
    }
    for (Eigen::Index i = 0; i < log_masses.size(); ++i) {
      if (!std::isfinite(log_masses[i])) {
        detail::throw_invalid_argument("upfi::core::particle_cloud: log-mass of row ", i, " is ", log_masses[i],
                                       "; log-masses must be finite (remove particles of zero mass)");
      }
    }
    m_log_masses = std::move(log_masses);
  }
  /// @brief Returns to unit masses.
  void clear_log_masses() noexcept { m_log_masses.resize(0); }

 private:
  matrix_type m_positions;
  vector_type m_log_masses;
};

}  // namespace upfi::core
