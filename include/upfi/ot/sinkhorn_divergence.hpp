// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Debiased (unbalanced) Sinkhorn divergence between weighted point clouds, GeomLoss semantics, with envelope
/// gradients w.r.t. positions and log-masses, and a convergence report.
///
///     OT(a, b) = min_pi <pi, C> + eps KL(pi | a (x) b) + rho KL(pi 1 | a) + rho KL(pi^T 1 | b)
///     S(a, b)  = OT(a, b) - OT(a, a) / 2 - OT(b, b) / 2 + eps (|a| - |b|)^2 / 2      (debiased)
///
/// with C = |x - y|^2 / 2 by default, eps = blur^2, rho = reach^2 (kl_penalty) or rho = infinity (balanced). Dual
/// potentials are iterated in the log domain: f <- -kappa eps LSE_j(log b_j + (g_j - C_ij) / eps), kappa =
/// 1 / (1 + eps / rho), with GeomLoss's eps-scaling from diam^2 down to blur^2 (diam = diagonal of the joint bounding
/// box), symmetric (averaged) updates, the self-problems iterated alongside, and a final full update. Unlike
/// GeomLoss, the iteration then continues at the final eps (alternating updates for the cross problem, averaged ones
/// for the self-problems) until max |Delta potential| / eps < tolerance; max_iterations = 0 restores GeomLoss.
/// Unbalanced problems: each of those sweeps ends with a translation step (f + l, g - l) with the l that maximises the
/// dual, l = rho/2 log(<a, exp(-f/rho)> / <b, exp(-g/rho)>). Without it the common offset of the potentials (the
/// transported mass) contracts by only kappa^2 per sweep, which is nearly 1 when eps << rho (blur 0.1, reach 5: about
/// 20 000 sweeps to converge instead of about 400). The fixed point is unchanged.
/// Warm starts: initial potentials (sinkhorn_potentials; extend_potentials carries those of a solved problem to new
/// points) replace the eps-scaling schedule by warm_sweeps sweeps at the final eps.
///
/// Values at the optimum (Sejourne et al. 2019, Prop. 12; algorithms.md §8.3):
///  * balanced:   S = <a, f_ba - f_aa> + <b, g_ab - g_bb>
///  * unbalanced: S = (rho + eps/2) (<a, exp(-f_aa/rho) - exp(-f_ba/rho)> + <b, exp(-g_bb/rho) - exp(-g_ab/rho)>)
/// Gradients (envelope theorem, cost |x - y|^2 / 2): dS/dx_i = sum_j pi_ab_ij (x_i - y_j) - sum_j pi_aa_ij (x_i - x_j);
/// dS/da_i = f_ba_i - f_aa_i (balanced) or (rho + eps) (exp(-f_aa_i/rho) - exp(-f_ba_i/rho)) (unbalanced). These are
/// exact at convergence; GeomLoss's unbalanced autograd path scales position gradients by (rho+eps/2)/(rho+eps)
/// (algorithms.md §8.3), upfi does not.
/// @see Feydy et al. (2019), arXiv:1810.08278; Sejourne, Feydy, Vialard, Trouve, Peyre (2019), arXiv:1910.12958.

#include <upfi/concepts/ot.hpp>
#include <upfi/core/cloud.hpp>
#include <upfi/core/error.hpp>
#include <upfi/ot/cost.hpp>
#include <upfi/ot/marginal_penalty.hpp>
#include <upfi/ot/online_softmin.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace upfi::ot {

/// @brief Options of sinkhorn_divergence (GeomLoss names where they exist).
struct sinkhorn_options {
  double blur = 0.05;                ///< eps = blur^2 (a length, like GeomLoss's blur for p = 2)
  std::optional<double> reach = {};  ///< rho = reach^2; empty: balanced (masses must match)
  double scaling = 0.5;              ///< eps-scaling ratio per step of blur (0.5: fast; 0.8-0.9: more accurate)
  bool debias = true;                ///< subtract the self-transport terms (Sinkhorn divergence)
  double tolerance = 1e-6;           ///< stop when max |Delta potential| / eps < tolerance at the final eps
  int max_iterations = 200;          ///< extra iterations at the final eps; 0 reproduces GeomLoss's fixed schedule
  bool gradients = false;            ///< compute gradients w.r.t. positions and log-masses
  /// Store the cost matrices (dense variant, no cost recomputation across iterations) instead of computing costs on
  /// the fly. Empty: automatic, dense when the matrices hold at most dense_max_entries numbers.
  std::optional<bool> dense = {};
  double dense_max_entries = 2.5e7;  ///< 200 MB of doubles
  /// With initial potentials (a warm start): sweeps at the final eps that replace the eps-scaling schedule (alternating
  /// for the cross problem, averaged for the self-problems), before the extra sweeps and the final update.
  int warm_sweeps = 2;
};

/// @brief Dual potentials on the points of a problem: the initial values of a warm start (sinkhorn::operator()).
/// f_aa and g_bb are needed with debias only.
template <class S>
struct sinkhorn_potentials {
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  vector_type f_ba, g_ab, f_aa, g_bb;
};

/// @brief Result of sinkhorn_divergence: the value, the convergence report, the dual potentials and, on request,
/// the gradients.
template <class S>
struct sinkhorn_result {
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  S value = 0;                         ///< S_{eps,rho} (debias) or GeomLoss's non-debiased value
  bool converged = false;              ///< last_update < tolerance
  int iterations = 0;                  ///< soft-min sweeps performed (eps-scaling + extra)
  S last_update = 0;                   ///< max |Delta potential| / eps of the last symmetric update
  S epsilon = 0;                       ///< final eps = blur^2
  S marginal_error_x = 0;              ///< sum_i |(pi 1)_i - a_i| (balanced: should vanish; unbalanced: informative)
  S marginal_error_y = 0;              ///< sum_j |(pi^T 1)_j - b_j|
  vector_type f_ba, g_ab;              ///< potentials of OT(a, b) on x and y
  vector_type f_aa, g_bb;              ///< potentials of the self-problems (debias only)
  matrix_type grad_x, grad_y;          ///< dS/dx (N x d), dS/dy (M x d), when requested
  vector_type grad_log_a, grad_log_b;  ///< dS/dlog a, dS/dlog b, when requested
};

namespace detail {

template <class S>
using vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

// GeomLoss's schedule: [diam^p] + [exp(e) for e in arange(p log diam, p log blur, p log scaling)] + [blur^p], p = 2.
inline std::vector<double> epsilon_schedule(double diameter, double blur, double scaling) {
  std::vector<double> eps{diameter * diameter};
  const double start = 2 * std::log(diameter), stop = 2 * std::log(blur), step = 2 * std::log(scaling);
  for (double e = start; e > stop; e += step) eps.push_back(std::exp(e));
  eps.push_back(blur * blur);
  return eps;
}

template <class S>
void validate_cloud(const mat<S>& x, const vec<S>& log_w, const char* name) {
  core::require_finite(x, "upfi::ot::sinkhorn_divergence", name);
  if (log_w.size() != x.rows()) {
    core::detail::throw_invalid_argument("upfi::ot::sinkhorn_divergence: ", name, log_w.size(), " log-masses for ",
                                         x.rows(), " points");
  }
  bool any = false;
  for (Eigen::Index i = 0; i < log_w.size(); ++i) {
    if (std::isnan(log_w[i]) || log_w[i] == std::numeric_limits<S>::infinity()) {
      core::detail::throw_invalid_argument("upfi::ot::sinkhorn_divergence: ", name, "log-mass ", i, " is ", log_w[i],
                                           "; use -inf for a zero mass");
    }
    any = any || log_w[i] > -std::numeric_limits<S>::infinity();
  }
  if (!any) core::detail::throw_invalid_argument("upfi::ot::sinkhorn_divergence: ", name, "has no positive mass");
}

}  // namespace detail

/// @brief The Sinkhorn solver for one pair of clouds, with marginal penalty `Penalty` and ground cost `Cost`.
template <RealScalar S, MarginalPenalty Penalty = balanced, CostFunction Cost = squared_euclidean>
class sinkhorn {
 public:
  using vector_type = detail::vec<S>;
  using matrix_type = detail::mat<S>;

  sinkhorn(Penalty penalty = {}, Cost cost = {}) : m_penalty(std::move(penalty)), m_cost(std::move(cost)) {}

  /// @brief Solves and evaluates S(a, b) between (x, log a) and (y, log b).
  /// @throws std::invalid_argument on non-finite positions, NaN or +inf log-masses, size mismatches, a cloud without
  /// mass, invalid options, or (balanced) total masses that differ by more than 1e-6 relative.
  [[nodiscard]] sinkhorn_result<S> operator()(const matrix_type& x, const vector_type& log_a, const matrix_type& y,
                                              const vector_type& log_b, const sinkhorn_options& o = {}) const {
    return solve(x, log_a, y, log_b, o, nullptr);
  }

  /// @brief The same, warm-started from `initial` potentials on x and y (for instance those of a nearby problem,
  /// carried to these points by extend_potentials): options.warm_sweeps sweeps at the final eps replace the
  /// eps-scaling schedule. Good initial potentials give the cold result in fewer sweeps; the result is that of a
  /// different iteration, equal to the cold one at convergence (max_iterations > 0 and a small tolerance).
  /// @throws std::invalid_argument as the cold call, and if the initial potentials do not match the clouds (sizes, or
  /// f_aa / g_bb missing with debias) or are not finite.
  [[nodiscard]] sinkhorn_result<S> operator()(const matrix_type& x, const vector_type& log_a, const matrix_type& y,
                                              const vector_type& log_b, const sinkhorn_options& o,
                                              const sinkhorn_potentials<S>& initial) const {
    return solve(x, log_a, y, log_b, o, &initial);
  }

  /// @brief Carries the potentials of a solved problem `previous` between (x0, log a0) and (y0, log b0) to new points
  /// x and y by one Sinkhorn half-update at the final eps: f(x) = -kappa eps LSE_j(log b0_j + (g0_j - C(x, y0_j)) /
  /// eps), and likewise for g, f_aa and g_bb. At the previous points this reproduces the previous potentials (up to
  /// their convergence), elsewhere it is their natural extension (the soft c-transform): the warm start of a problem
  /// whose points moved or were resampled.
  /// @throws std::invalid_argument if `previous` does not match the previous clouds or the dimensions differ.
  [[nodiscard]] sinkhorn_potentials<S> extend_potentials(const sinkhorn_result<S>& previous, const matrix_type& x0,
                                                         const vector_type& log_a0, const matrix_type& y0,
                                                         const vector_type& log_b0, const matrix_type& x,
                                                         const matrix_type& y) const {
    constexpr const char* who = "upfi::ot::sinkhorn::extend_potentials";
    const bool debias = previous.f_aa.size() > 0;
    if (previous.f_ba.size() != x0.rows() || log_a0.size() != x0.rows() || previous.g_ab.size() != y0.rows() ||
        log_b0.size() != y0.rows() ||
        (debias && (previous.f_aa.size() != x0.rows() || previous.g_bb.size() != y0.rows()))) {
      core::detail::throw_invalid_argument(who, ": the previous result has potentials of sizes ", previous.f_ba.size(),
                                           " and ", previous.g_ab.size(), "; its clouds have ", x0.rows(), " and ",
                                           y0.rows(), " points with ", log_a0.size(), " and ", log_b0.size(),
                                           " log-masses");
    }
    if (x.cols() != x0.cols() || y.cols() != x0.cols() || y0.cols() != x0.cols()) {
      core::detail::throw_invalid_argument(who, ": clouds of ", x0.cols(), ", ", y0.cols(), ", ", x.cols(), " and ",
                                           y.cols(), " coordinates");
    }
    if (!(previous.epsilon > 0)) core::detail::throw_invalid_argument(who, ": the previous result has no eps");
    const S eps = previous.epsilon;
    const auto kappa = static_cast<S>(m_penalty.damping(static_cast<double>(eps)));
    const auto half_update = [&](const matrix_type& to, const vector_type& log_w, const vector_type& pot,
                                 const matrix_type& from) {
      vector_type out(from.rows());
      online_softmin<S>(from, to, vector_type(log_w + pot / eps), eps, out, m_cost);
      return vector_type(kappa * out);
    };
    sinkhorn_potentials<S> p;
    p.f_ba = half_update(y0, log_b0, previous.g_ab, x);
    p.g_ab = half_update(x0, log_a0, previous.f_ba, y);
    if (debias) {
      p.f_aa = half_update(x0, log_a0, previous.f_aa, x);
      p.g_bb = half_update(y0, log_b0, previous.g_bb, y);
    }
    return p;
  }

 private:
  [[nodiscard]] sinkhorn_result<S> solve(const matrix_type& x, const vector_type& log_a, const matrix_type& y,
                                         const vector_type& log_b, const sinkhorn_options& o,
                                         const sinkhorn_potentials<S>* initial) const {
    constexpr const char* who = "upfi::ot::sinkhorn_divergence";
    detail::validate_cloud<S>(x, log_a, "x: ");
    detail::validate_cloud<S>(y, log_b, "y: ");
    if (x.cols() != y.cols())
      core::detail::throw_invalid_argument(who, ": x has ", x.cols(), " coordinates, y ", y.cols());
    if (!(o.blur > 0) || !std::isfinite(o.blur))
      core::detail::throw_invalid_argument(who, ": blur = ", o.blur, " must be > 0");
    if (!(o.scaling > 0 && o.scaling < 1))
      core::detail::throw_invalid_argument(who, ": scaling = ", o.scaling, " must be in (0, 1)");
    if (!(o.tolerance > 0)) core::detail::throw_invalid_argument(who, ": tolerance must be > 0");
    if (o.max_iterations < 0) core::detail::throw_invalid_argument(who, ": max_iterations must be >= 0");
    if (initial != nullptr) {
      if (o.warm_sweeps < 0) core::detail::throw_invalid_argument(who, ": warm_sweeps must be >= 0");
      const auto check = [&](const vector_type& p, Eigen::Index rows, const char* name) {
        if (p.size() != rows) {
          core::detail::throw_invalid_argument(who, ": initial potential ", name, " has ", p.size(), " values for ",
                                               rows, " points", o.debias && p.size() == 0 ? " (debias needs it)" : "");
        }
        if (!p.allFinite()) core::detail::throw_invalid_argument(who, ": initial potential ", name, " is not finite");
      };
      check(initial->f_ba, x.rows(), "f_ba");
      check(initial->g_ab, y.rows(), "g_ab");
      if (o.debias) {
        check(initial->f_aa, x.rows(), "f_aa");
        check(initial->g_bb, y.rows(), "g_bb");
      }
    }
    const S mass_a = std::exp(core::log_sum_exp(log_a)), mass_b = std::exp(core::log_sum_exp(log_b));
    if (m_penalty.is_balanced() && std::abs(mass_a - mass_b) > S(1e-6) * std::max(mass_a, mass_b)) {
      core::detail::throw_invalid_argument(who, ": balanced OT needs equal total masses, got ", mass_a, " and ", mass_b,
                                           "; normalise the weights or pass a reach (unbalanced OT)");
    }

    sinkhorn_result<S> r;
    const Eigen::Index n = x.rows(), m = y.rows();
    // Diameter of the joint bounding box (GeomLoss's max_diameter), at least blur so the schedule is non-empty.
    const Eigen::Matrix<S, 1, Eigen::Dynamic> lo = x.colwise().minCoeff().cwiseMin(y.colwise().minCoeff());
    const Eigen::Matrix<S, 1, Eigen::Dynamic> hi = x.colwise().maxCoeff().cwiseMax(y.colwise().maxCoeff());
    const double diameter = std::max(static_cast<double>((hi - lo).norm()), o.blur);
    const std::vector<double> schedule = detail::epsilon_schedule(diameter, o.blur, o.scaling);

    vector_type f_ba(n), g_ab(m), f_aa, g_bb, tmp_f(n), tmp_g(m), tmp_aa, tmp_bb;
    if (o.debias) {
      f_aa.resize(n);
      g_bb.resize(m);
      tmp_aa.resize(n);
      tmp_bb.resize(m);
    }
    // Dense variant: the cost matrices of the four problems, row-major, computed once.
    using row_major = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const double entries =
        static_cast<double>(n) * static_cast<double>(m) * 2 +
        (o.debias ? static_cast<double>(n) * static_cast<double>(n) + static_cast<double>(m) * static_cast<double>(m)
                  : 0.0);
    const bool dense = o.dense.value_or(entries <= o.dense_max_entries);
    row_major c_xy, c_yx, c_xx, c_yy;
    if (dense) {
      c_xy = cost_matrix<S>(x, y, m_cost);
      c_yx = c_xy.transpose();
      if (o.debias) {
        c_xx = cost_matrix<S>(x, x, m_cost);
        c_yy = cost_matrix<S>(y, y, m_cost);
      }
    }
    // softmin(eps, C(from, to), log w + pot / eps), damped by kappa; `stored` is the matching cost matrix.
    const auto softmin = [&](const matrix_type& from, const matrix_type& to, const row_major& stored,
                             const vector_type& log_w, const vector_type* pot, S eps, S kappa, vector_type& out) {
      vector_type h = pot != nullptr ? vector_type(log_w + *pot / eps) : log_w;
      if (dense) {
        dense_softmin<S>(stored, h, eps, out);
      } else {
        online_softmin<S>(from, to, h, eps, out, m_cost);
      }
      out *= kappa;
    };
    // One sweep over the four potentials. `symmetric`: f and g from the previous iterate, then averaged (GeomLoss's
    // eps-scaling loop); `alternating`: g from the new f (Gauss-Seidel, faster at fixed eps; self-problems averaged);
    // `jacobi`: from the previous iterate, not averaged (GeomLoss's final update).
    enum class sweep_mode { symmetric, alternating, jacobi };
    const auto sweep = [&](S eps, sweep_mode mode) -> S {
      const S kappa = static_cast<S>(m_penalty.damping(static_cast<double>(eps)));
      S change = 0;
      const auto update = [&](vector_type& p, const vector_type& q, bool average) {
        if (average) {
          const vector_type next = S(0.5) * (p + q);
          change = std::max(change, (next - p).cwiseAbs().maxCoeff() / eps);
          p = next;
        } else {
          change = std::max(change, (q - p).cwiseAbs().maxCoeff() / eps);
          p = q;
        }
      };
      if (mode == sweep_mode::alternating) {
        softmin(x, y, c_xy, log_b, &g_ab, eps, kappa, tmp_f);
        update(f_ba, tmp_f, false);
        softmin(y, x, c_yx, log_a, &f_ba, eps, kappa, tmp_g);
        update(g_ab, tmp_g, false);
        if (!m_penalty.is_balanced()) {
          // Translation step: (f + lambda, g - lambda) leaves the entropic term of the dual unchanged; the lambda that
          // maximises the dual is rho/2 log(<a, exp(-f/rho)> / <b, exp(-g/rho)>). The plain iteration contracts this
          // mode only by kappa^2 per sweep (nearly 1 when eps << rho).
          const S rho = static_cast<S>(penalty_rho());
          const S shift =
              rho / 2 *
              (core::log_sum_exp(vector_type(log_a - f_ba / rho)) - core::log_sum_exp(vector_type(log_b - g_ab / rho)));
          f_ba.array() += shift;
          g_ab.array() -= shift;
          change = std::max(change, std::abs(shift) / eps);
        }
      } else {
        softmin(x, y, c_xy, log_b, &g_ab, eps, kappa, tmp_f);
        softmin(y, x, c_yx, log_a, &f_ba, eps, kappa, tmp_g);
        update(f_ba, tmp_f, mode == sweep_mode::symmetric);
        update(g_ab, tmp_g, mode == sweep_mode::symmetric);
      }
      if (o.debias) {
        softmin(x, x, c_xx, log_a, &f_aa, eps, kappa, tmp_aa);
        softmin(y, y, c_yy, log_b, &g_bb, eps, kappa, tmp_bb);
        update(f_aa, tmp_aa, mode != sweep_mode::jacobi);
        update(g_bb, tmp_bb, mode != sweep_mode::jacobi);
      }
      ++r.iterations;
      return change;
    };

    S change = std::numeric_limits<S>::infinity();
    if (initial != nullptr) {
      // Warm start: the given potentials, then sweeps at the final eps in place of the eps-scaling schedule.
      f_ba = initial->f_ba;
      g_ab = initial->g_ab;
      if (o.debias) {
        f_aa = initial->f_aa;
        g_bb = initial->g_bb;
      }
      for (int it = 0; it < o.warm_sweeps; ++it)
        change = sweep(static_cast<S>(schedule.back()), sweep_mode::alternating);
    } else {
      // Initialisation at the largest eps, then the eps-scaling sweeps.
      const auto eps0 = static_cast<S>(schedule.front());
      const S kappa = static_cast<S>(m_penalty.damping(schedule.front()));
      softmin(x, y, c_xy, log_b, nullptr, eps0, kappa, f_ba);
      softmin(y, x, c_yx, log_a, nullptr, eps0, kappa, g_ab);
      if (o.debias) {
        softmin(x, x, c_xx, log_a, nullptr, eps0, kappa, f_aa);
        softmin(y, y, c_yy, log_b, nullptr, eps0, kappa, g_bb);
      }
      for (double e : schedule) change = sweep(static_cast<S>(e), sweep_mode::symmetric);
    }
    const auto eps = static_cast<S>(schedule.back());
    for (int it = 0; it < o.max_iterations && !(change < S(o.tolerance)); ++it) {
      change = sweep(eps, sweep_mode::alternating);
    }
    // GeomLoss's final full (Jacobi) update.
    const S final_change = sweep(eps, sweep_mode::jacobi);
    r.last_update = o.max_iterations == 0 ? final_change : std::max(change, final_change);
    r.converged = r.last_update < S(o.tolerance);
    r.epsilon = eps;

    // Value.
    const vector_type a = log_a.array().exp(), b = log_b.array().exp();
    if (m_penalty.is_balanced()) {
      r.value = o.debias ? a.dot(f_ba - f_aa) + b.dot(g_ab - g_bb) : a.dot(f_ba) + b.dot(g_ab);
    } else {
      const S rho = static_cast<S>(penalty_rho());
      const S c = rho + eps / 2;
      const auto e = [rho](const vector_type& p) { return vector_type((-p / rho).array().exp()); };
      r.value = o.debias ? c * (a.dot(e(f_aa) - e(f_ba)) + b.dot(e(g_bb) - e(g_ab)))
                         : c * (a.dot(vector_type::Ones(n) - e(f_ba)) + b.dot(vector_type::Ones(m) - e(g_ab)));
    }

    // Rows of the plan: masses and barycentres of the targets (detail::plan_rows).
    const auto plan_rows = [&](const matrix_type& from, const vector_type& log_from, const vector_type& pot_from,
                               const matrix_type& to, const vector_type& log_to, const vector_type& pot_to) {
      return detail::plan_rows<S>(from, log_from, pot_from, to, log_to, pot_to, eps, to, m_cost);
    };
    const auto [row_mass, bary_x] = plan_rows(x, log_a, f_ba, y, log_b, g_ab);
    const auto [col_mass, bary_y] = plan_rows(y, log_b, g_ab, x, log_a, f_ba);
    r.marginal_error_x = (row_mass - a).cwiseAbs().sum();
    r.marginal_error_y = (col_mass - b).cwiseAbs().sum();

    if (o.gradients) {
      if constexpr (!std::is_same_v<Cost, squared_euclidean>) {
        core::detail::throw_invalid_argument(who, ": gradients are implemented for the squared Euclidean cost only");
      }
      r.grad_x = row_mass.asDiagonal() * (x - bary_x);
      r.grad_y = col_mass.asDiagonal() * (y - bary_y);
      if (o.debias) {
        const auto [self_a, bary_aa] = plan_rows(x, log_a, f_aa, x, log_a, f_aa);
        const auto [self_b, bary_bb] = plan_rows(y, log_b, g_bb, y, log_b, g_bb);
        r.grad_x -= self_a.asDiagonal() * (x - bary_aa);
        r.grad_y -= self_b.asDiagonal() * (y - bary_bb);
      }
      if (m_penalty.is_balanced()) {
        r.grad_log_a = a.cwiseProduct(o.debias ? vector_type(f_ba - f_aa) : f_ba);
        r.grad_log_b = b.cwiseProduct(o.debias ? vector_type(g_ab - g_bb) : g_ab);
      } else {
        const S rho = static_cast<S>(penalty_rho());
        const auto e = [rho](const vector_type& p) { return vector_type((-p / rho).array().exp()); };
        if (o.debias) {
          r.grad_log_a = (rho + eps) * a.cwiseProduct(e(f_aa) - e(f_ba));
          r.grad_log_b = (rho + eps) * b.cwiseProduct(e(g_bb) - e(g_ab));
        } else {
          r.grad_log_a = a.cwiseProduct(((rho + eps / 2) * vector_type::Ones(n) - (rho + eps) * e(f_ba)));
          r.grad_log_b = b.cwiseProduct(((rho + eps / 2) * vector_type::Ones(m) - (rho + eps) * e(g_ab)));
        }
      }
      // zero-mass points: exact zeros instead of 0 * finite rounding noise
      for (Eigen::Index i = 0; i < n; ++i) {
        if (a[i] == 0) r.grad_x.row(i).setZero();
      }
      for (Eigen::Index j = 0; j < m; ++j) {
        if (b[j] == 0) r.grad_y.row(j).setZero();
      }
    }
    r.f_ba = std::move(f_ba);
    r.g_ab = std::move(g_ab);
    r.f_aa = std::move(f_aa);
    r.g_bb = std::move(g_bb);
    return r;
  }

  [[nodiscard]] double penalty_rho() const {
    if constexpr (requires { m_penalty.rho(); }) {
      return m_penalty.rho();
    } else {
      return std::numeric_limits<double>::infinity();
    }
  }

  Penalty m_penalty;
  Cost m_cost;
};

namespace detail {

// Calls f(solver) with the solver that `options` select: unbalanced (KL penalty, rho = reach^2) or balanced.
template <RealScalar S, class F>
decltype(auto) with_solver(const sinkhorn_options& options, const char* who, F&& f) {
  if (options.reach) {
    if (!(*options.reach > 0)) {
      core::detail::throw_invalid_argument(who, ": reach = ", *options.reach,
                                           " must be > 0 (leave it empty for balanced OT)");
    }
    return f(sinkhorn<S, kl_penalty>(kl_penalty::from_reach(*options.reach)));
  }
  return f(sinkhorn<S, balanced>());
}

template <class To, class From>
sinkhorn_potentials<To> cast_potentials(const sinkhorn_potentials<From>& p) {
  return {p.f_ba.template cast<To>(), p.g_ab.template cast<To>(), p.f_aa.template cast<To>(),
          p.g_bb.template cast<To>()};
}

}  // namespace detail

/// @brief GeomLoss-style entry point: `SamplesLoss("sinkhorn", p=2, blur, reach, scaling, debias)` between weighted
/// clouds given by positions and log-masses; balanced when `options.reach` is empty.
template <RealScalar S>
[[nodiscard]] sinkhorn_result<S> sinkhorn_divergence(const detail::mat<S>& x, const detail::vec<S>& log_a,
                                                     const detail::mat<S>& y, const detail::vec<S>& log_b,
                                                     const sinkhorn_options& options = {}) {
  return detail::with_solver<S>(options, "upfi::ot::sinkhorn_divergence",
                                [&](const auto& solver) { return solver(x, log_a, y, log_b, options); });
}

/// @brief The same, warm-started from `initial` potentials on x and y (sinkhorn::operator(), options.warm_sweeps).
template <RealScalar S>
[[nodiscard]] sinkhorn_result<S> sinkhorn_divergence(const detail::mat<S>& x, const detail::vec<S>& log_a,
                                                     const detail::mat<S>& y, const detail::vec<S>& log_b,
                                                     const sinkhorn_options& options,
                                                     const sinkhorn_potentials<S>& initial) {
  return detail::with_solver<S>(options, "upfi::ot::sinkhorn_divergence",
                                [&](const auto& solver) { return solver(x, log_a, y, log_b, options, initial); });
}

/// @brief The potentials of `previous` (a result of sinkhorn_divergence between (x0, log a0) and (y0, log b0) with
/// these options) carried to new clouds x and y: the warm start of the problem on the new points
/// (sinkhorn::extend_potentials). One half-update per potential, the cost of one sweep.
template <RealScalar S>
[[nodiscard]] sinkhorn_potentials<S> extend_potentials(const sinkhorn_result<S>& previous, const detail::mat<S>& x0,
                                                       const detail::vec<S>& log_a0, const detail::mat<S>& y0,
                                                       const detail::vec<S>& log_b0, const detail::mat<S>& x,
                                                       const detail::mat<S>& y, const sinkhorn_options& options) {
  return detail::with_solver<S>(options, "upfi::ot::extend_potentials", [&](const auto& solver) {
    return solver.extend_potentials(previous, x0, log_a0, y0, log_b0, x, y);
  });
}

/// @brief The divergence computed in the scalar type `Kernel` (e.g. float: twice the SIMD lanes) between clouds held
/// in `S`, with the result (value, report, potentials, gradients) converted back to `S`; warm-started when `initial`
/// is not null.
template <RealScalar Kernel, RealScalar S>
[[nodiscard]] sinkhorn_result<S> sinkhorn_divergence_in(const detail::mat<S>& x, const detail::vec<S>& log_a,
                                                        const detail::mat<S>& y, const detail::vec<S>& log_b,
                                                        const sinkhorn_options& options = {},
                                                        const sinkhorn_potentials<S>* initial = nullptr) {
  if constexpr (std::is_same_v<Kernel, S>) {
    return initial != nullptr ? sinkhorn_divergence<S>(x, log_a, y, log_b, options, *initial)
                              : sinkhorn_divergence<S>(x, log_a, y, log_b, options);
  } else {
    const detail::mat<Kernel> xk = x.template cast<Kernel>(), yk = y.template cast<Kernel>();
    const detail::vec<Kernel> ak = log_a.template cast<Kernel>(), bk = log_b.template cast<Kernel>();
    const sinkhorn_result<Kernel> k =
        initial != nullptr
            ? sinkhorn_divergence<Kernel>(xk, ak, yk, bk, options, detail::cast_potentials<Kernel>(*initial))
            : sinkhorn_divergence<Kernel>(xk, ak, yk, bk, options);
    sinkhorn_result<S> r;
    r.value = static_cast<S>(k.value);
    r.converged = k.converged;
    r.iterations = k.iterations;
    r.last_update = static_cast<S>(k.last_update);
    r.epsilon = static_cast<S>(k.epsilon);
    r.marginal_error_x = static_cast<S>(k.marginal_error_x);
    r.marginal_error_y = static_cast<S>(k.marginal_error_y);
    r.f_ba = k.f_ba.template cast<S>();
    r.g_ab = k.g_ab.template cast<S>();
    r.f_aa = k.f_aa.template cast<S>();
    r.g_bb = k.g_bb.template cast<S>();
    r.grad_x = k.grad_x.template cast<S>();
    r.grad_y = k.grad_y.template cast<S>();
    r.grad_log_a = k.grad_log_a.template cast<S>();
    r.grad_log_b = k.grad_log_b.template cast<S>();
    return r;
  }
}

/// @brief Uniform log-masses log(1/N) for N points (GeomLoss's default weights).
template <RealScalar S = double>
[[nodiscard]] detail::vec<S> uniform_log_masses(Eigen::Index n) {
  return detail::vec<S>::Constant(n, -std::log(static_cast<S>(n)));
}

/// @brief K independent problems in one call (one per time interval): results in order.
/// @throws std::invalid_argument if the lists differ in length.
template <RealScalar S>
[[nodiscard]] std::vector<sinkhorn_result<S>> sinkhorn_divergences(const std::vector<detail::mat<S>>& xs,
                                                                   const std::vector<detail::vec<S>>& log_as,
                                                                   const std::vector<detail::mat<S>>& ys,
                                                                   const std::vector<detail::vec<S>>& log_bs,
                                                                   const sinkhorn_options& options = {}) {
  if (xs.size() != log_as.size() || xs.size() != ys.size() || xs.size() != log_bs.size()) {
    core::detail::throw_invalid_argument("upfi::ot::sinkhorn_divergences: ", xs.size(), " x clouds, ", log_as.size(),
                                         " x masses, ", ys.size(), " y clouds, ", log_bs.size(), " y masses");
  }
  std::vector<sinkhorn_result<S>> out;
  out.reserve(xs.size());
  for (std::size_t k = 0; k < xs.size(); ++k)
    out.push_back(sinkhorn_divergence<S>(xs[k], log_as[k], ys[k], log_bs[k], options));
  return out;
}

}  // namespace upfi::ot
