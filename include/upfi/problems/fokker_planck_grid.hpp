// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Reference solution of the Fokker-Planck equation with growth on a grid (dimension 1 to 3).
///
/// For a drift model v(t, x), a constant diagonal diffusion D = diag(D_1 ... D_d) and the model's net growth
/// g = b - d (zero when it has no rates), the population density rho(t, x) of the branching SDE solves
///
///     d rho / dt = - div(v rho) + sum_k D_k d^2 rho / dx_k^2 + g rho.
///
/// This class solves it by finite volumes on a box with zero-flux walls: Scharfetter-Gummel fluxes at the cell faces
/// (exponential fitting: central differences where diffusion dominates, upwind where drift does, the 1-D stationary
/// profile exact) and Heun's SSP Runge-Kutta steps sized so that every forward-Euler stage keeps the density
/// non-negative. Mass is conserved to round-off when g = 0; errors are second order in the cell size for smooth
/// solutions (tests/problems/fokker_planck_grid.test.cpp measures both against UPFI Proposition 2.1's closed form).
///
/// What it is for: the exact marginals, masses and score grad log rho of a low-dimensional benchmark, against which
/// score estimators, snapshot simulators and the deterministic ceiling of force metrics can be checked
/// (benchmarks/reproduce/bistable_force_ceiling). The box must hold the population: the walls reflect, and
/// `boundary_mass()` reports how much sits in the outermost layer of cells.
///
/// `fokker_planck_score` (below) turns a solution into a score model over a range of times, the exact score that the
/// two-stage pipelines can train on in place of an estimate.

#include <upfi/concepts/sde.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/sde/detail/rates.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

namespace upfi::problems {

/// @brief The grid and stepping of fokker_planck_grid.
struct fokker_planck_grid_options {
  Eigen::VectorXd lower;            ///< lower corner of the box (length d)
  Eigen::VectorXd upper;            ///< upper corner of the box (length d)
  std::vector<Eigen::Index> cells;  ///< cells per axis (one entry: every axis), at least 3 each
  double cfl = 0.9;                 ///< step = cfl x the forward-Euler positivity limit, in (0, 1]
  bool autonomous = false;          ///< true: drift and rates ignore t, so face coefficients are computed once
};

/// @brief Finite-volume solution of the Fokker-Planck equation with growth (see the file comment).
///
/// `Model` models upfi::DriftModel with dimension 1, 2 or 3; its birth_rate / death_rate, when present, set the
/// growth. Results do not depend on the number of threads (core::parallel_for).
template <class Model>
class fokker_planck_grid {
  static_assert(DriftModel<Model>,
                "upfi::problems::fokker_planck_grid: Model must model upfi::DriftModel (dimension() and a pointwise "
                "generic drift(t, x, v))");

 public:
  /// @param diffusion D_k per coordinate (length d) or one value for every coordinate, finite and >= 0.
  /// @throws std::invalid_argument on a dimension outside 1 ... 3, inconsistent sizes, a box with upper <= lower,
  /// fewer than 3 cells on an axis, cfl outside (0, 1] or an invalid diffusion.
  fokker_planck_grid(Model model, const Eigen::VectorXd& diffusion, fokker_planck_grid_options options)
      : m_model(std::move(model)), m_options(std::move(options)) {
    constexpr const char* who = "upfi::problems::fokker_planck_grid";
    m_d = m_model.dimension();
    if (m_d < 1 || m_d > 3) {
      core::detail::throw_invalid_argument(who, ": dimension ", m_d,
                                           "; a grid is offered for d = 1, 2 or 3 (simulate beyond that)");
    }
    const auto& o = m_options;
    if (o.lower.size() != m_d || o.upper.size() != m_d) {
      core::detail::throw_invalid_argument(who, ": the box corners have ", o.lower.size(), " and ", o.upper.size(),
                                           " coordinates; the model has ", m_d);
    }
    if (!o.lower.allFinite() || !o.upper.allFinite() || !(o.upper.array() > o.lower.array()).all()) {
      core::detail::throw_invalid_argument(who, ": the box needs finite corners with upper > lower on every axis");
    }
    if (o.cells.size() != 1 && std::ssize(o.cells) != m_d) {
      core::detail::throw_invalid_argument(who, ": ", o.cells.size(), " cell counts for dimension ", m_d,
                                           " (give one, or one per axis)");
    }
    if (!(o.cfl > 0 && o.cfl <= 1)) core::detail::throw_invalid_argument(who, ": cfl = ", o.cfl, " must be in (0, 1]");
    if (diffusion.size() != 1 && diffusion.size() != m_d) {
      core::detail::throw_invalid_argument(who, ": diffusion has ", diffusion.size(), " entries; give 1 or ", m_d);
    }
    if (!diffusion.allFinite() || (diffusion.array() < 0).any()) {
      core::detail::throw_invalid_argument(who, ": the diffusion must be finite and >= 0");
    }
    m_size = 1;
    for (Eigen::Index k = 0; k < m_d; ++k) {
      const Eigen::Index n = o.cells.size() == 1 ? o.cells[0] : o.cells[static_cast<std::size_t>(k)];
      if (n < 3) core::detail::throw_invalid_argument(who, ": ", n, " cells on axis ", k, "; need at least 3");
      const auto ku = static_cast<std::size_t>(k);
      m_n[ku] = n;
      m_stride[ku] = m_size;
      m_h[ku] = (o.upper[k] - o.lower[k]) / static_cast<double>(n);
      m_diffusion[ku] = diffusion.size() == 1 ? diffusion[0] : diffusion[k];
      m_size *= n;
    }
    m_volume = 1;
    for (Eigen::Index k = 0; k < m_d; ++k) m_volume *= m_h[static_cast<std::size_t>(k)];
    m_rho = Eigen::VectorXd::Zero(m_size);
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_d; }
  /// @brief Number of cells.
  [[nodiscard]] Eigen::Index size() const noexcept { return m_size; }
  /// @brief Cell width along `axis`.
  [[nodiscard]] double spacing(Eigen::Index axis) const { return m_h.at(static_cast<std::size_t>(axis)); }
  [[nodiscard]] double cell_volume() const noexcept { return m_volume; }
  [[nodiscard]] double time() const noexcept { return m_t; }
  /// @brief The options the grid was made with (box, cells, cfl, autonomous).
  [[nodiscard]] const fokker_planck_grid_options& options() const noexcept { return m_options; }
  /// @brief Runge-Kutta steps taken so far.
  [[nodiscard]] long steps() const noexcept { return m_steps; }
  /// @brief The density at the cell centres (cell index: axis 0 fastest).
  [[nodiscard]] const Eigen::VectorXd& values() const noexcept { return m_rho; }

  /// @brief The cell centres, size() x d, in the order of values().
  [[nodiscard]] Eigen::MatrixXd centres() const {
    Eigen::MatrixXd c(m_size, m_d);
    for (Eigen::Index i = 0; i < m_size; ++i) {
      double x[3];
      centre(i, x);
      for (Eigen::Index k = 0; k < m_d; ++k) c(i, k) = x[k];
    }
    return c;
  }

  /// @brief Starts from the density m * p / int p at time t0, p evaluated at the cell centres (`pdf(const double* x)`,
  /// finite and >= 0, not all zero; it need not be normalised).
  /// @throws std::invalid_argument on a non-finite or negative pdf value, a pdf that vanishes on every cell, or a
  /// mass that is not finite and > 0.
  template <class Pdf>
  void initialize(Pdf&& pdf, double mass = 1, double t0 = 0) {
    constexpr const char* who = "upfi::problems::fokker_planck_grid::initialize";
    if (!(mass > 0) || !std::isfinite(mass)) core::detail::throw_invalid_argument(who, ": mass = ", mass);
    if (!std::isfinite(t0)) core::detail::throw_invalid_argument(who, ": t0 = ", t0);
    double sum = 0;
    for (Eigen::Index i = 0; i < m_size; ++i) {
      double x[3];
      centre(i, x);
      const double p = static_cast<double>(pdf(static_cast<const double*>(x)));
      if (!std::isfinite(p) || p < 0) {
        core::detail::throw_invalid_argument(who, ": pdf = ", p, " at cell ", i, "; it must be finite and >= 0");
      }
      m_rho[i] = p;
      sum += p;
    }
    if (!(sum > 0)) core::detail::throw_invalid_argument(who, ": the pdf is zero on every cell of the box");
    m_rho *= mass / (sum * m_volume);
    m_t = t0;
    m_steps = 0;
    m_coefficients_time = std::numeric_limits<double>::quiet_NaN();
  }

  /// @brief Integrates to time t1 (>= time()).
  /// @throws std::invalid_argument if t1 < time() or is not finite; std::runtime_error if the drift or the rates
  /// are not finite on the grid, or the density stops being finite (a growth rate too large for the horizon).
  void advance_to(double t1) {
    constexpr const char* who = "upfi::problems::fokker_planck_grid::advance_to";
    if (!std::isfinite(t1) || t1 < m_t) {
      core::detail::throw_invalid_argument(who, ": t1 = ", t1, " is before the current time ", m_t);
    }
    Eigen::VectorXd stage(m_size), rate(m_size);
    while (m_t < t1) {
      update_coefficients(m_t);
      const double remaining = t1 - m_t;
      // with autonomous coefficients, equal steps to t1; otherwise the positivity limit at the current time
      double dt = m_options.cfl / m_max_rate;
      if (m_options.autonomous) {
        const double n = std::ceil(remaining / dt - 1e-12);
        dt = remaining / std::max(n, 1.0);
      }
      const bool last = dt >= remaining * (1 - 1e-12);
      if (last) dt = remaining;
      // Heun (SSP RK2): u1 = u + dt L(u, t); u2 = u1 + dt L(u1, t + dt); u <- (u + u2) / 2
      apply(m_rho, rate);
      stage = m_rho + dt * rate;
      update_coefficients(last ? t1 : m_t + dt);
      apply(stage, rate);
      m_rho = 0.5 * (m_rho + stage + dt * rate);
      m_t = last ? t1 : m_t + dt;
      ++m_steps;
      if (!m_rho.allFinite()) {
        UPFI_THROW(std::runtime_error(
            core::detail::message(who, ": the density is not finite at t = ", m_t, " (step ", m_steps, ")")));
      }
    }
  }

  /// @brief Total mass int rho.
  [[nodiscard]] double mass() const { return m_rho.sum() * m_volume; }

  /// @brief Mean of the normalised density.
  [[nodiscard]] Eigen::VectorXd mean() const {
    Eigen::VectorXd m = Eigen::VectorXd::Zero(m_d);
    for (Eigen::Index i = 0; i < m_size; ++i) {
      double x[3];
      centre(i, x);
      for (Eigen::Index k = 0; k < m_d; ++k) m[k] += m_rho[i] * x[k];
    }
    return m / m_rho.sum();
  }

  /// @brief Covariance of the normalised density.
  [[nodiscard]] Eigen::MatrixXd covariance() const {
    const Eigen::VectorXd mu = mean();
    Eigen::MatrixXd c = Eigen::MatrixXd::Zero(m_d, m_d);
    for (Eigen::Index i = 0; i < m_size; ++i) {
      double x[3];
      centre(i, x);
      for (Eigen::Index a = 0; a < m_d; ++a) {
        for (Eigen::Index b = 0; b < m_d; ++b) c(a, b) += m_rho[i] * (x[a] - mu[a]) * (x[b] - mu[b]);
      }
    }
    return c / m_rho.sum();
  }

  /// @brief Mass in the outermost layer of cells, as a fraction of the total: the walls reflect, so a box that is too
  /// small shows up here first.
  [[nodiscard]] double boundary_mass() const {
    double edge = 0;
    for (Eigen::Index i = 0; i < m_size; ++i) {
      bool outer = false;
      for (Eigen::Index k = 0; k < m_d; ++k) {
        const Eigen::Index j = index_on(i, k);
        outer = outer || j == 0 || j + 1 == m_n[static_cast<std::size_t>(k)];
      }
      if (outer) edge += m_rho[i];
    }
    return edge / m_rho.sum();
  }

  /// @brief The density at the rows of x (n x d), interpolated multilinearly between cell centres (constant in the
  /// half cell beside a wall).
  /// @throws std::invalid_argument if x has the wrong number of columns or a row lies outside the box.
  [[nodiscard]] Eigen::VectorXd density(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    return interpolate_at(m_rho, nullptr, 0, x, "density").col(0);
  }

  /// @brief The score grad log rho at the cell centres (size() x d, rows in the order of centres()): central
  /// differences of log rho (one-sided at the walls). Log rho is floored at the smallest normal double, so outside
  /// the population's support the values are not meaningful.
  [[nodiscard]] Eigen::MatrixXd score_at_centres() const {
    Eigen::VectorXd log_rho(m_size);
    for (Eigen::Index i = 0; i < m_size; ++i) {
      log_rho[i] = std::log(std::max(m_rho[i], std::numeric_limits<double>::min()));
    }
    Eigen::MatrixXd out(m_size, m_d);
    for (Eigen::Index k = 0; k < m_d; ++k) {
      const auto ku = static_cast<std::size_t>(k);
      const Eigen::Index s = m_stride[ku], n = m_n[ku];
      const double h = m_h[ku];
      for (Eigen::Index i = 0; i < m_size; ++i) {
        const Eigen::Index j = index_on(i, k);
        if (j == 0) {
          out(i, k) = (log_rho[i + s] - log_rho[i]) / h;
        } else if (j + 1 == n) {
          out(i, k) = (log_rho[i] - log_rho[i - s]) / h;
        } else {
          out(i, k) = (log_rho[i + s] - log_rho[i - s]) / (2 * h);
        }
      }
    }
    return out;
  }

  /// @brief The score grad log rho at the rows of x (n x d): score_at_centres() interpolated multilinearly.
  /// Meaningful where the density is well resolved.
  /// @throws std::invalid_argument as density().
  [[nodiscard]] Eigen::MatrixXd score(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    return interpolate_at(score_at_centres(), nullptr, 0, x, "score");
  }

  /// @brief Cell-centre values (size() x c, rows in the order of centres()) interpolated multilinearly at the rows of
  /// x (n x d; constant in the half cell beside a wall): n x c.
  /// @throws std::invalid_argument if values does not have size() rows, x has the wrong number of columns or a row
  /// of x lies outside the box.
  [[nodiscard]] Eigen::MatrixXd interpolate(const Eigen::Ref<const Eigen::MatrixXd>& values,
                                            const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    return interpolate_at(values, nullptr, 0, x, "interpolate");
  }

  /// @brief (1 - w) interpolate(first, x) + w interpolate(second, x) for two fields of the same shape (e.g. frames
  /// at two times, w the fraction of the interval), the corners and weights of each row found once for both.
  /// @throws std::invalid_argument as interpolate(), if the two fields differ in shape, or if w is not in [0, 1].
  [[nodiscard]] Eigen::MatrixXd interpolate(const Eigen::Ref<const Eigen::MatrixXd>& first,
                                            const Eigen::Ref<const Eigen::MatrixXd>& second, double w,
                                            const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    if (second.rows() != first.rows() || second.cols() != first.cols()) {
      core::detail::throw_invalid_argument("upfi::problems::fokker_planck_grid::interpolate: the two fields are ",
                                           first.rows(), " x ", first.cols(), " and ", second.rows(), " x ",
                                           second.cols());
    }
    if (!(w >= 0 && w <= 1)) {
      core::detail::throw_invalid_argument("upfi::problems::fokker_planck_grid::interpolate: weight ", w,
                                           " of the second field is not in [0, 1]");
    }
    return interpolate_at(first, &second, w, x, "interpolate");
  }

  /// @brief The VJP of interpolate(first, second, w, x) with respect to x: row n is cot(n, :) times the Jacobian of
  /// the blended interpolant at x_n (n x d). Exact: the interpolant is multilinear inside a cell (on a cell face, the
  /// derivative of the cell that interpolate() reads) and constant along an axis in the half cell beside a wall,
  /// where the derivative along that axis is 0. Pass the same field twice (any w) for a single field.
  /// @throws std::invalid_argument as interpolate(first, second, w, x), or if cot is not x.rows() x first.cols().
  [[nodiscard]] Eigen::MatrixXd interpolate_vjp(const Eigen::Ref<const Eigen::MatrixXd>& first,
                                                const Eigen::Ref<const Eigen::MatrixXd>& second, double w,
                                                const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                const Eigen::Ref<const Eigen::MatrixXd>& cot) const {
    constexpr const char* who = "upfi::problems::fokker_planck_grid::interpolate_vjp";
    if (second.rows() != first.rows() || second.cols() != first.cols() || first.rows() != m_size) {
      core::detail::throw_invalid_argument(who, ": the two fields are ", first.rows(), " x ", first.cols(), " and ",
                                           second.rows(), " x ", second.cols(), "; the grid has ", m_size, " cells");
    }
    if (!(w >= 0 && w <= 1)) {
      core::detail::throw_invalid_argument(who, ": weight ", w, " of the second field is not in [0, 1]");
    }
    check_points(x, "interpolate_vjp");
    if (cot.rows() != x.rows() || cot.cols() != first.cols()) {
      core::detail::throw_invalid_argument(who, ": cotangent is ", cot.rows(), " x ", cot.cols(), "; expected ",
                                           x.rows(), " x ", first.cols());
    }
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(x.rows(), m_d);
    std::array<Eigen::Index, 3> base{};
    std::array<double, 3> frac{}, slope{};
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      locate(x, r, base, frac, &slope);
      // every corner, also those of zero weight: their value still enters the slope across the cell
      for (int c = 0; c < (1 << m_d); ++c) {
        Eigen::Index i = 0;
        for (Eigen::Index k = 0; k < m_d; ++k) {
          i += (base[static_cast<std::size_t>(k)] + ((c >> k) & 1)) * m_stride[static_cast<std::size_t>(k)];
        }
        const double value = ((1 - w) * first.row(i) + w * second.row(i)).dot(cot.row(r));
        for (Eigen::Index k = 0; k < m_d; ++k) {
          const auto ku = static_cast<std::size_t>(k);
          if (slope[ku] == 0) continue;
          double g = ((c >> k) & 1) != 0 ? slope[ku] : -slope[ku];
          for (Eigen::Index j = 0; j < m_d; ++j) {
            if (j == k) continue;
            const auto ju = static_cast<std::size_t>(j);
            g *= ((c >> j) & 1) != 0 ? frac[ju] : 1 - frac[ju];
          }
          out(r, k) += g * value;
        }
      }
    }
    return out;
  }

 private:
  // values (and, if second is not null, (1 - w) values + w second) interpolated at the rows of x
  [[nodiscard]] Eigen::MatrixXd interpolate_at(const Eigen::Ref<const Eigen::MatrixXd>& values,
                                               const Eigen::Ref<const Eigen::MatrixXd>* second, double w,
                                               const Eigen::Ref<const Eigen::MatrixXd>& x, const char* what) const {
    if (values.rows() != m_size) {
      core::detail::throw_invalid_argument("upfi::problems::fokker_planck_grid::", what, ": ", values.rows(),
                                           " values per column; the grid has ", m_size, " cells");
    }
    check_points(x, what);
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(x.rows(), values.cols());
    std::array<Eigen::Index, 8> corner{};
    std::array<double, 8> weight{};
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      const int corners = interpolation_corners(x, r, corner, weight);  // once per row, shared by every column
      for (int c = 0; c < corners; ++c) {
        const auto cu = static_cast<std::size_t>(c);
        if (second == nullptr) {
          out.row(r) += weight[cu] * values.row(corner[cu]);
        } else {
          out.row(r) += weight[cu] * ((1 - w) * values.row(corner[cu]) + w * second->row(corner[cu]));
        }
      }
    }
    return out;
  }

  // coordinate of cell i along axis k
  [[nodiscard]] Eigen::Index index_on(Eigen::Index i, Eigen::Index k) const {
    const auto ku = static_cast<std::size_t>(k);
    return (i / m_stride[ku]) % m_n[ku];
  }

  void centre(Eigen::Index i, double* x) const {
    for (Eigen::Index k = 0; k < m_d; ++k) {
      const auto ku = static_cast<std::size_t>(k);
      x[k] = m_options.lower[k] + (static_cast<double>(index_on(i, k)) + 0.5) * m_h[ku];
    }
  }

  void check_points(const Eigen::Ref<const Eigen::MatrixXd>& x, const char* what) const {
    if (x.cols() != m_d) {
      core::detail::throw_invalid_argument("upfi::problems::fokker_planck_grid::", what, ": points have ", x.cols(),
                                           " columns; the grid has dimension ", m_d);
    }
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      for (Eigen::Index k = 0; k < m_d; ++k) {
        if (!(x(r, k) >= m_options.lower[k] && x(r, k) <= m_options.upper[k])) {
          core::detail::throw_invalid_argument("upfi::problems::fokker_planck_grid::", what, ": point ", r,
                                               " has coordinate ", k, " = ", x(r, k), " outside the box [",
                                               m_options.lower[k], ", ", m_options.upper[k], "]");
        }
      }
    }
  }

  // the cells and weights of the multilinear interpolation at row r of x (between cell centres, constant in the half
  // cell beside a wall): writes the corners with non-zero weight, returns how many
  int interpolation_corners(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Index r,
                            std::array<Eigen::Index, 8>& corner, std::array<double, 8>& weight) const {
    std::array<Eigen::Index, 3> base{};
    std::array<double, 3> w{};
    locate(x, r, base, w);
    int count = 0;
    for (int c = 0; c < (1 << m_d); ++c) {
      Eigen::Index i = 0;
      double wc = 1;
      for (Eigen::Index k = 0; k < m_d; ++k) {
        const auto ku = static_cast<std::size_t>(k);
        const bool up = ((c >> k) & 1) != 0;
        i += (base[ku] + (up ? 1 : 0)) * m_stride[ku];
        wc *= up ? w[ku] : 1 - w[ku];
      }
      if (wc != 0) {
        corner[static_cast<std::size_t>(count)] = i;
        weight[static_cast<std::size_t>(count)] = wc;
        ++count;
      }
    }
    return count;
  }

  // the interpolation cell of row r of x: per axis its lower centre index and the fraction towards the next centre
  // (clamped to the half cell beside a wall, where the interpolant is constant), and, if slope is given, d frac / dx
  // (1 / h between centres, 0 in the half cell beside a wall; on a face, the cell above it, as the corners use)
  void locate(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Index r, std::array<Eigen::Index, 3>& base,
              std::array<double, 3>& frac, std::array<double, 3>* slope = nullptr) const {
    for (Eigen::Index k = 0; k < m_d; ++k) {
      const auto ku = static_cast<std::size_t>(k);
      const double u = (x(r, k) - m_options.lower[k]) / m_h[ku] - 0.5;  // in centre units
      const double c = std::clamp(u, 0.0, static_cast<double>(m_n[ku] - 1));
      base[ku] = std::min(static_cast<Eigen::Index>(c), m_n[ku] - 2);
      frac[ku] = c - static_cast<double>(base[ku]);
      if (slope != nullptr) (*slope)[ku] = u >= 0 && u < static_cast<double>(m_n[ku] - 1) ? 1 / m_h[ku] : 0.0;
    }
  }

  // Scharfetter-Gummel weights of one face: flux = left rho_left - right rho_right
  static void face_weights(double v, double diffusion, double h, double& left, double& right) {
    if (diffusion == 0) {
      left = std::max(v, 0.0);
      right = std::max(-v, 0.0);
      return;
    }
    const auto bernoulli = [](double z) { return std::abs(z) < 1e-8 ? 1 - z / 2 : z / std::expm1(z); };
    const double p = v * h / diffusion;
    left = diffusion / h * bernoulli(-p);
    right = diffusion / h * bernoulli(p);
  }

  // face weights, growth and the largest positivity rate at time t (once only for an autonomous model)
  void update_coefficients(double t) {
    if (m_options.autonomous ? !std::isnan(m_coefficients_time) : m_coefficients_time == t) return;
    m_left.resize(static_cast<std::size_t>(m_d));
    m_right.resize(static_cast<std::size_t>(m_d));
    for (Eigen::Index k = 0; k < m_d; ++k) {
      m_left[static_cast<std::size_t>(k)].setZero(m_size);
      m_right[static_cast<std::size_t>(k)].setZero(m_size);
    }
    m_growth.resize(m_size);
    Eigen::VectorXd rate = Eigen::VectorXd::Zero(m_size);
    core::parallel_for(m_size, 1024, [&](Eigen::Index begin, Eigen::Index end) {
      double x[3], v[3];
      for (Eigen::Index i = begin; i < end; ++i) {
        centre(i, x);
        const double g =
            sde::detail::birth_of<Model, double>(m_model, t, x) - sde::detail::death_of<Model, double>(m_model, t, x);
        if (!std::isfinite(g)) fail("growth rate", t, x);
        m_growth[i] = g;
        for (Eigen::Index k = 0; k < m_d; ++k) {
          const auto ku = static_cast<std::size_t>(k);
          if (index_on(i, k) + 1 == m_n[ku]) continue;  // the wall: no face
          const double xk = x[k];
          x[k] = xk + m_h[ku] / 2;
          m_model.drift(t, static_cast<const double*>(x), v);
          if (!std::isfinite(v[k])) fail("drift", t, x);
          x[k] = xk;
          face_weights(v[k], m_diffusion[ku], m_h[ku], m_left[ku][i], m_right[ku][i]);
        }
      }
    });
    // positivity of a forward-Euler stage: dt (outflow rate + |g|) <= 1 on every cell
    for (Eigen::Index i = 0; i < m_size; ++i) {
      double out = std::abs(m_growth[i]);
      for (Eigen::Index k = 0; k < m_d; ++k) {
        const auto ku = static_cast<std::size_t>(k);
        const Eigen::Index j = index_on(i, k);
        if (j + 1 < m_n[ku]) out += m_left[ku][i] / m_h[ku];
        if (j > 0) out += m_right[ku][i - m_stride[ku]] / m_h[ku];
      }
      rate[i] = out;
    }
    m_max_rate = std::max(rate.maxCoeff(), std::numeric_limits<double>::min());
    m_coefficients_time = t;
  }

  [[noreturn]] void fail(const char* what, double t, const double* x) const {
    std::string at;
    for (Eigen::Index k = 0; k < m_d; ++k) at += (k ? ", " : "") + core::detail::format_number(x[k]);
    UPFI_THROW(std::runtime_error(core::detail::message("upfi::problems::fokker_planck_grid: the ", what,
                                                        " is not finite at t = ", t, ", x = (", at, ")")));
#if !UPFI_HAS_EXCEPTIONS
    std::abort();
#endif
  }

  // rate = d rho / dt: flux differences across each cell's faces plus growth
  void apply(const Eigen::VectorXd& rho, Eigen::VectorXd& rate) const {
    core::parallel_for(m_size, 1024, [&](Eigen::Index begin, Eigen::Index end) {
      for (Eigen::Index i = begin; i < end; ++i) {
        double r = m_growth[i] * rho[i];
        for (Eigen::Index k = 0; k < m_d; ++k) {
          const auto ku = static_cast<std::size_t>(k);
          const Eigen::Index s = m_stride[ku], j = index_on(i, k);
          const Eigen::VectorXd &left = m_left[ku], &right = m_right[ku];
          if (j + 1 < m_n[ku]) r -= (left[i] * rho[i] - right[i] * rho[i + s]) / m_h[ku];
          if (j > 0) r += (left[i - s] * rho[i - s] - right[i - s] * rho[i]) / m_h[ku];
        }
        rate[i] = r;
      }
    });
  }

  Model m_model;
  fokker_planck_grid_options m_options;
  Eigen::Index m_d = 0, m_size = 0;
  std::array<Eigen::Index, 3> m_n{}, m_stride{};
  std::array<double, 3> m_h{}, m_diffusion{};
  double m_volume = 1;
  Eigen::VectorXd m_rho, m_growth;
  std::vector<Eigen::VectorXd> m_left, m_right;  // per axis: weights of the face on the upper side of each cell
  double m_max_rate = 0;
  double m_coefficients_time = std::numeric_limits<double>::quiet_NaN();
  double m_t = 0;
  long m_steps = 0;
};

/// @brief The score of a Fokker-Planck solution as a score model (upfi::ScoreModelWithVjp): the grid's
/// score_at_centres() stored at frame times, interpolated multilinearly in space and linearly in time. An oracle for
/// the two-stage pipelines (the exact score in place of an estimated one, in d <= 3), e.g.
/// `bistable_benchmark_options::exact_score_cells`.
///
/// Points outside the box are an error by default; with `outside_box::nearest` they get the score at the nearest
/// point of the box (a trainer's early iterates can push cells past any finite box, where the density is ~0 anyway).
enum class outside_box { error, nearest };

template <class Model>
class fokker_planck_score {
 public:
  /// @brief Advances `grid` through `times` (strictly increasing, the first >= grid.time()), storing the score at
  /// each; the grid is kept at the last time.
  /// @throws std::invalid_argument on empty, non-finite or unsorted times, or a first time before the grid's.
  fokker_planck_score(fokker_planck_grid<Model> grid, std::vector<double> times,
                      outside_box outside = outside_box::error)
      : m_state(std::make_shared<state>(std::move(grid), std::move(times))), m_outside(outside) {
    auto& g = m_state->grid;
    const auto& ts = m_state->times;
    auto& frames = m_state->frames;
    constexpr const char* who = "upfi::problems::fokker_planck_score";
    if (ts.empty()) core::detail::throw_invalid_argument(who, ": no frame times");
    for (std::size_t k = 0; k < ts.size(); ++k) {
      if (!std::isfinite(ts[k]) || (k > 0 && !(ts[k] > ts[k - 1]))) {
        core::detail::throw_invalid_argument(who, ": frame time ", k, " = ", ts[k],
                                             "; times must be finite and strictly increasing");
      }
    }
    if (ts.front() < g.time()) {
      core::detail::throw_invalid_argument(who, ": the first frame time ", ts.front(), " is before the grid's time ",
                                           g.time());
    }
    frames.reserve(ts.size());
    for (const double t : ts) {
      g.advance_to(t);
      frames.push_back(g.score_at_centres());
    }
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_state->grid.dimension(); }
  [[nodiscard]] const std::vector<double>& times() const noexcept { return m_state->times; }
  /// @brief The grid, at the last frame time.
  [[nodiscard]] const fokker_planck_grid<Model>& grid() const noexcept { return m_state->grid; }

  /// @brief out = the score at the rows of x (n x d) at time t in [times().front(), times().back()].
  /// @throws std::invalid_argument if t is outside the frames' range or a point outside the box.
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    const auto [k, w] = bracket(t, "evaluate");
    const auto& st = *m_state;
    Eigen::MatrixXd clamped;
    const auto at = inside(x, clamped);
    out = w > 0 ? st.grid.interpolate(st.frames[k], st.frames[k + 1], w, at) : st.grid.interpolate(st.frames[k], at);
  }

  /// @brief out(n, :) = cot(n, :) ds/dx at row n of x, the exact derivative of the interpolant in one pass
  /// (fokker_planck_grid::interpolate_vjp: multilinear inside a cell, constant along an axis in the half cell beside a
  /// wall); with outside_box::nearest the derivative along an axis is 0 where the point lies beyond the box along it.
  /// @throws std::invalid_argument as evaluate(), or if cot is not x.rows() x dimension().
  void vjp_x(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const {
    if (cot.rows() != x.rows() || cot.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::problems::fokker_planck_score::vjp_x: cotangent is ", cot.rows(),
                                           " x ", cot.cols(), "; expected ", x.rows(), " x ", dimension());
    }
    const auto [k, w] = bracket(t, "vjp_x");
    const auto& st = *m_state;
    Eigen::MatrixXd clamped;
    const auto at = inside(x, clamped);
    out = st.grid.interpolate_vjp(st.frames[k], st.frames[w > 0 ? k + 1 : k], w, at, cot);
    if (m_outside == outside_box::nearest) {
      const auto& o = st.grid.options();
      for (Eigen::Index c = 0; c < dimension(); ++c) {
        out.col(c) = (x.col(c).array() < o.lower[c] || x.col(c).array() > o.upper[c]).select(0.0, out.col(c));
      }
    }
  }

 private:
  // x itself, or with outside_box::nearest the nearest points of the box (stored in clamped)
  [[nodiscard]] Eigen::Ref<const Eigen::MatrixXd> inside(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                         Eigen::MatrixXd& clamped) const {
    if (m_outside != outside_box::nearest) return x;
    const auto& o = m_state->grid.options();
    clamped =
        x.cwiseMax(o.lower.transpose().replicate(x.rows(), 1)).cwiseMin(o.upper.transpose().replicate(x.rows(), 1));
    return clamped;
  }

  // frame k and weight w of frame k + 1 for time t
  [[nodiscard]] std::pair<std::size_t, double> bracket(double t, const char* what) const {
    const auto& ts = m_state->times;
    const double front = ts.front(), back = ts.back();
    const double slack = 1e-12 * std::max({1.0, std::abs(front), std::abs(back)});
    if (!(t >= front - slack && t <= back + slack)) {
      core::detail::throw_invalid_argument("upfi::problems::fokker_planck_score::", what, ": t = ", t,
                                           " is outside the frames' range [", front, ", ", back, "]");
    }
    if (ts.size() == 1 || t <= front) return {0, 0.0};
    if (t >= back) return {ts.size() - 1, 0.0};
    const auto it = std::upper_bound(ts.begin(), ts.end(), t);
    const auto k = static_cast<std::size_t>(it - ts.begin()) - 1;
    return {k, (t - ts[k]) / (ts[k + 1] - ts[k])};
  }

  // shared and immutable once built: copies of the score (a field holds one by value) are cheap
  struct state {
    state(fokker_planck_grid<Model> g, std::vector<double> t) : grid(std::move(g)), times(std::move(t)) {}
    fokker_planck_grid<Model> grid;
    std::vector<double> times;
    std::vector<Eigen::MatrixXd> frames;  // score_at_centres() at each time
  };
  std::shared_ptr<state> m_state;
  outside_box m_outside = outside_box::error;
};

}  // namespace upfi::problems
