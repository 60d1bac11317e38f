// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Snapshot series: times t_0 < ... < t_K, one cloud per time, observed relative masses.
///
/// Cross-sectional data: snapshot i holds N_i cells measured at t_i (each cell is measured once). The observed
/// relative mass M_i estimates |rho_{t_i}| / |rho_{t_0}| (algorithms.md §1.4). Three conventions exist:
///  * `mass_convention::counts`: M_i = N_i / N_0 (cell counts are population sizes, e.g. simulated branching data);
///  * `mass_convention::given`: masses supplied by the user (e.g. from cell counting, independent of sequencing);
///  * `mass_convention::frequencies_only`: counts reflect sampling depth only; M_i = 1 and growth is identifiable
///    only up to a time-dependent constant.
/// @see Zhang, Maddu, Qiu, Chardes (2025), arXiv:2505.13197, §1 and App. C.10.

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/cloud.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace upfi::core {

/// @brief How the observed relative masses M_i of a snapshot_series were obtained.
enum class mass_convention {
  counts,           ///< M_i = N_i / N_0: cell counts are population sizes
  given,            ///< supplied by the user
  frequencies_only  ///< counts carry no population signal; M_i = 1
};

/// @brief Human-readable name of a mass convention ("counts", "given", "frequencies_only").
inline const char* to_string(mass_convention c) noexcept {
  switch (c) {
    case mass_convention::counts:
      return "counts";
    case mass_convention::given:
      return "given";
    case mass_convention::frequencies_only:
      return "frequencies_only";
  }
  return "unknown";
}

/// @brief Times, clouds and observed relative masses of a time course of cross-sectional measurements.
///
/// Invariants (checked by every constructor; each violation is a std::invalid_argument naming the snapshot, and
/// for data values the row, column and value): at least one snapshot; times finite and strictly increasing; every
/// cloud non-empty with the same number d >= 1 of coordinates; every coordinate finite; relative masses finite and
/// positive. Sizes N_i may differ between snapshots.
/// @tparam Scalar float, double or long double.
template <class Scalar>
class snapshot_series {
  static_assert(RealScalar<Scalar>,
                "upfi::core::snapshot_series: Scalar must be a real floating-point type (float, double or long "
                "double)");

 public:
  using scalar_type = Scalar;
  // Spelled out rather than cloud_matrix<Scalar>: a constrained alias would add a second error after the gate.
  using matrix_type = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

  /// @brief Masses from counts: M_i = N_i / N_0 (mass_convention::counts).
  snapshot_series(std::vector<Scalar> times, std::vector<matrix_type> clouds)
      : m_times(std::move(times)), m_clouds(std::move(clouds)), m_convention(mass_convention::counts) {
    validate_clouds();
    m_masses.resize(m_clouds.size());
    for (std::size_t i = 0; i < m_clouds.size(); ++i) {
      m_masses[i] = static_cast<Scalar>(m_clouds[i].rows()) / static_cast<Scalar>(m_clouds[0].rows());
    }
  }

  /// @brief User-given relative masses (mass_convention::given); need not start at 1.
  snapshot_series(std::vector<Scalar> times, std::vector<matrix_type> clouds, std::vector<Scalar> relative_masses)
      : m_times(std::move(times)),
        m_clouds(std::move(clouds)),
        m_masses(std::move(relative_masses)),
        m_convention(mass_convention::given) {
    validate_clouds();
    validate_masses();
  }

  /// @brief Frequencies only: M_i = 1 and frequencies_only() is true.
  [[nodiscard]] static snapshot_series frequencies_only(std::vector<Scalar> times, std::vector<matrix_type> clouds) {
    snapshot_series s(std::move(times), std::move(clouds));
    std::fill(s.m_masses.begin(), s.m_masses.end(), Scalar(1));
    s.m_convention = mass_convention::frequencies_only;
    return s;
  }

  /// @brief Number of snapshots K + 1.
  [[nodiscard]] std::size_t size() const noexcept { return m_clouds.size(); }
  /// @brief Number of coordinates d.
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_clouds.front().cols(); }
  /// @brief Time of snapshot i.
  [[nodiscard]] Scalar time(std::size_t i) const { return m_times.at(i); }
  /// @brief All times, strictly increasing.
  [[nodiscard]] const std::vector<Scalar>& times() const noexcept { return m_times; }
  /// @brief Cloud of snapshot i, `N_i x d`.
  [[nodiscard]] const matrix_type& cloud(std::size_t i) const { return m_clouds.at(i); }
  /// @brief All clouds.
  [[nodiscard]] const std::vector<matrix_type>& clouds() const noexcept { return m_clouds; }
  /// @brief Number of cells N_i of snapshot i.
  [[nodiscard]] Eigen::Index count(std::size_t i) const { return m_clouds.at(i).rows(); }
  /// @brief Total number of cells over all snapshots.
  [[nodiscard]] Eigen::Index total_count() const noexcept {
    Eigen::Index n = 0;
    for (const auto& c : m_clouds) n += c.rows();
    return n;
  }
  /// @brief Observed relative mass M_i of snapshot i.
  [[nodiscard]] Scalar relative_mass(std::size_t i) const { return m_masses.at(i); }
  /// @brief All observed relative masses.
  [[nodiscard]] const std::vector<Scalar>& relative_masses() const noexcept { return m_masses; }
  /// @brief How the relative masses were obtained.
  [[nodiscard]] mass_convention masses() const noexcept { return m_convention; }
  /// @brief True when counts carry no population-size signal (algorithms.md §1.4).
  [[nodiscard]] bool frequencies_only() const noexcept { return m_convention == mass_convention::frequencies_only; }

  /// @brief The snapshots at the given strictly increasing indices, keeping their times and relative masses
  /// (e.g. a leave-one-out training set). The mass convention is kept.
  /// @throws std::invalid_argument if `indices` is empty, out of range or not strictly increasing.
  [[nodiscard]] snapshot_series select(std::span<const std::size_t> indices) const {
    if (indices.empty()) {
      detail::throw_invalid_argument("upfi::core::snapshot_series::select: no snapshot index given");
    }
    snapshot_series out = *this;
    out.m_times.clear();
    out.m_clouds.clear();
    out.m_masses.clear();
    for (std::size_t k = 0; k < indices.size(); ++k) {
      const std::size_t i = indices[k];
      if (i >= size()) {
        detail::throw_invalid_argument("upfi::core::snapshot_series::select: index ", i, " is out of range for ",
                                       size(), " snapshots");
      }
      if (k > 0 && i <= indices[k - 1]) {
        detail::throw_invalid_argument("upfi::core::snapshot_series::select: indices must be strictly increasing; ", i,
                                       " follows ", indices[k - 1]);
      }
      out.m_times.push_back(m_times[i]);
      out.m_clouds.push_back(m_clouds[i]);
      out.m_masses.push_back(m_masses[i]);
    }
    return out;
  }

  /// @brief All snapshots except snapshot k (leave-one-out). @throws std::invalid_argument if k is out of range or
  /// the series has a single snapshot.
  [[nodiscard]] snapshot_series without(std::size_t k) const {
    if (k >= size() || size() < 2) {
      detail::throw_invalid_argument("upfi::core::snapshot_series::without: cannot leave out snapshot ", k, " of ",
                                     size());
    }
    std::vector<std::size_t> keep;
    for (std::size_t i = 0; i < size(); ++i) {
      if (i != k) keep.push_back(i);
    }
    return select(keep);
  }

  /// @brief The same snapshots with the relative masses replaced by a least-squares polynomial of degree `degree` in
  /// time fitted to log M_i (mass_convention::given). Why: counted masses carry sampling noise of their own (on the
  /// UPFI bistable benchmark each snapshot is an independent realisation, and M_i scatters by 4-7 %); an unbalanced
  /// loss weighs mass mismatches heavily, and a fit can bend its dynamics to follow that noise (docs/results.md). A
  /// low degree keeps the trend and drops the scatter; degree size() - 1 reproduces the masses.
  /// @throws std::invalid_argument for a frequencies-only series (no masses to smooth) or a degree outside
  /// 0 ... size() - 1.
  [[nodiscard]] snapshot_series with_smoothed_masses(int degree) const {
    constexpr const char* who = "upfi::core::snapshot_series::with_smoothed_masses";
    if (frequencies_only()) {
      detail::throw_invalid_argument(who, ": a frequencies-only series has no masses to smooth");
    }
    if (degree < 0 || static_cast<std::size_t>(degree) >= size()) {
      detail::throw_invalid_argument(who, ": degree ", degree, " must lie in 0 ... ", size() - 1, " for ", size(),
                                     " snapshots");
    }
    // Vandermonde matrix in tau = (t - t_0) / (t_K - t_0) in [0, 1] (well conditioned for the low degrees meant here)
    const auto n = static_cast<Eigen::Index>(size());
    const double span = size() > 1 ? static_cast<double>(m_times.back() - m_times.front()) : 1.0;
    Eigen::MatrixXd v(n, degree + 1);
    Eigen::VectorXd log_m(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const double tau = static_cast<double>(m_times[k] - m_times.front()) / span;
      double p = 1;
      for (int j = 0; j <= degree; ++j, p *= tau) v(i, j) = p;
      log_m[i] = std::log(static_cast<double>(m_masses[k]));
    }
    const Eigen::VectorXd fitted = v * v.colPivHouseholderQr().solve(log_m);
    snapshot_series out = *this;
    for (Eigen::Index i = 0; i < n; ++i)
      out.m_masses[static_cast<std::size_t>(i)] = static_cast<Scalar>(std::exp(fitted[i]));
    out.m_convention = mass_convention::given;
    out.validate_masses();
    return out;
  }

  /// @brief Per-coordinate mean over all cells of all snapshots (1 x d), for input standardisation.
  [[nodiscard]] Eigen::Matrix<Scalar, 1, Eigen::Dynamic> pooled_mean() const {
    Eigen::Matrix<Scalar, 1, Eigen::Dynamic> sum = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>::Zero(dimension());
    for (const auto& c : m_clouds) sum += c.colwise().sum();
    return sum / static_cast<Scalar>(total_count());
  }

  /// @brief Per-coordinate standard deviation over all cells (1 x d, population convention: divides by N).
  [[nodiscard]] Eigen::Matrix<Scalar, 1, Eigen::Dynamic> pooled_std() const {
    const auto mean = pooled_mean();
    Eigen::Matrix<Scalar, 1, Eigen::Dynamic> ss = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>::Zero(dimension());
    for (const auto& c : m_clouds) ss += (c.rowwise() - mean).array().square().colwise().sum().matrix();
    return (ss / static_cast<Scalar>(total_count())).cwiseSqrt();
  }

 private:
  static std::string where(std::size_t i, Scalar t) { return detail::message("snapshot ", i, " (t = ", t, "), "); }

  void validate_clouds() const {
    constexpr const char* who = "upfi::core::snapshot_series";
    if (m_clouds.empty()) {
      detail::throw_invalid_argument(who, ": no snapshot given; a series needs at least one cloud");
    }
    if (m_times.size() != m_clouds.size()) {
      detail::throw_invalid_argument(who, ": ", m_times.size(), " times given for ", m_clouds.size(),
                                     " clouds; pass one time per snapshot");
    }
    for (std::size_t i = 0; i < m_times.size(); ++i) {
      if (!std::isfinite(m_times[i])) {
        detail::throw_invalid_argument(who, ": snapshot ", i, " has time ", m_times[i], "; times must be finite");
      }
      if (i > 0 && !(m_times[i] > m_times[i - 1])) {
        detail::throw_invalid_argument(who, ": snapshot ", i, " has time ", m_times[i], ", not greater than snapshot ",
                                       i - 1, "'s time ", m_times[i - 1],
                                       "; times must be strictly increasing (sort the snapshots, merge duplicates)");
      }
    }
    const Eigen::Index d = m_clouds[0].cols();
    for (std::size_t i = 0; i < m_clouds.size(); ++i) {
      const auto& c = m_clouds[i];
      if (c.rows() == 0) {
        detail::throw_invalid_argument(who, ": snapshot ", i, " (t = ", m_times[i],
                                       ") has no cells; drop empty time points");
      }
      if (c.cols() == 0) {
        detail::throw_invalid_argument(who, ": snapshot ", i, " (t = ", m_times[i],
                                       ") has no coordinates; clouds are N x d with d >= 1");
      }
      if (c.cols() != d) {
        detail::throw_invalid_argument(who, ": snapshot ", i, " (t = ", m_times[i], ") has ", c.cols(),
                                       " coordinates but snapshot 0 has ", d,
                                       "; every snapshot must live in the same space");
      }
      require_finite(c, who, where(i, m_times[i]));
    }
  }

  void validate_masses() const {
    constexpr const char* who = "upfi::core::snapshot_series";
    if (m_masses.size() != m_clouds.size()) {
      detail::throw_invalid_argument(who, ": ", m_masses.size(), " relative masses given for ", m_clouds.size(),
                                     " snapshots; pass one mass per snapshot");
    }
    for (std::size_t i = 0; i < m_masses.size(); ++i) {
      if (!std::isfinite(m_masses[i]) || !(m_masses[i] > 0)) {
        detail::throw_invalid_argument(who, ": snapshot ", i, " (t = ", m_times[i], ") has relative mass ", m_masses[i],
                                       "; relative masses must be finite and positive");
      }
    }
  }

  std::vector<Scalar> m_times;
  std::vector<matrix_type> m_clouds;
  std::vector<Scalar> m_masses;
  mass_convention m_convention;
};

}  // namespace upfi::core
