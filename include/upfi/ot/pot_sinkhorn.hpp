// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief POT-style entropic OT on a given cost matrix (`ot.sinkhorn(a, b, M, reg, method="sinkhorn_log")` and
/// `ot.sinkhorn_unbalanced(a, b, M, reg, reg_m)` of POT 0.8.2), in the log domain, for users porting POT code.
///
/// Problem (POT's convention, reference measure 1, not a (x) b):
///     min_P <P, M> + reg sum_ij P_ij (log P_ij - 1) + reg_m KL(P 1 | a) + reg_m KL(P^T 1 | b),
/// balanced (hard marginals) when reg_m is infinite. P = diag(u) K diag(v), K = exp(-M / reg); log-domain updates
/// log u = phi (log a - LSE_j(log v_j - M_ij / reg)), phi = reg_m / (reg_m + reg) (1 when balanced), likewise for v.
/// Note the difference with sinkhorn_divergence (GeomLoss convention, reference measure a (x) b): the plans coincide
/// in the balanced case; the unbalanced ones do not.

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/cloud.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>

namespace upfi::ot {

/// @brief Options of pot_sinkhorn (POT's names).
struct pot_sinkhorn_options {
  double reg_m = std::numeric_limits<double>::infinity();  ///< marginal KL strength; infinity: balanced
  int max_iterations = 100000;                             ///< POT's numItermax
  double tolerance = 1e-9;                                 ///< POT's stopThr (L1 marginal error / scaling change)
};

/// @brief Result of pot_sinkhorn.
template <class S>
struct pot_sinkhorn_result {
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> plan;  ///< P (N x M)
  Eigen::Matrix<S, Eigen::Dynamic, 1> log_u, log_v;       ///< scalings: P = diag(u) K diag(v)
  S cost = 0;                                             ///< <P, M> (what POT's sinkhorn2 returns)
  bool converged = false;
  int iterations = 0;
  S error = 0;  ///< balanced: L1 error of the column marginal; unbalanced: max change of log u, log v
};

/// @brief Entropic OT on a cost matrix, POT conventions (see file comment).
/// @throws std::invalid_argument on size mismatches, negative or non-finite weights, non-finite costs, reg <= 0.
template <RealScalar S>
[[nodiscard]] pot_sinkhorn_result<S> pot_sinkhorn(const Eigen::Matrix<S, Eigen::Dynamic, 1>& a,
                                                  const Eigen::Matrix<S, Eigen::Dynamic, 1>& b,
                                                  const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& cost, S reg,
                                                  const pot_sinkhorn_options& o = {}) {
  constexpr const char* who = "upfi::ot::pot_sinkhorn";
  if (cost.rows() != a.size() || cost.cols() != b.size()) {
    core::detail::throw_invalid_argument(who, ": M is ", cost.rows(), " x ", cost.cols(), " for ", a.size(), " and ",
                                         b.size(), " weights");
  }
  if (!(reg > 0)) core::detail::throw_invalid_argument(who, ": reg = ", reg, " must be > 0");
  if (!(o.reg_m > 0)) core::detail::throw_invalid_argument(who, ": reg_m = ", o.reg_m, " must be > 0");
  if (!cost.allFinite()) core::detail::throw_invalid_argument(who, ": M must be finite");
  if ((a.array() < 0).any() || (b.array() < 0).any() || !a.allFinite() || !b.allFinite()) {
    core::detail::throw_invalid_argument(who, ": weights must be finite and >= 0");
  }
  const bool balanced = std::isinf(o.reg_m);
  const S phi = balanced ? S(1) : static_cast<S>(o.reg_m / (o.reg_m + static_cast<double>(reg)));
  const Eigen::Index n = a.size(), m = b.size();
  const Eigen::Matrix<S, Eigen::Dynamic, 1> log_a = a.array().log(), log_b = b.array().log();
  const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> log_k = -cost / reg;
  pot_sinkhorn_result<S> r;
  r.log_u = Eigen::Matrix<S, Eigen::Dynamic, 1>::Zero(n);
  r.log_v = Eigen::Matrix<S, Eigen::Dynamic, 1>::Zero(m);
  const auto lse_rows = [&](const Eigen::Matrix<S, Eigen::Dynamic, 1>& lv) {
    Eigen::Matrix<S, Eigen::Dynamic, 1> out(n);
    for (Eigen::Index i = 0; i < n; ++i) out[i] = core::log_sum_exp((log_k.row(i).transpose() + lv).eval());
    return out;
  };
  const auto lse_cols = [&](const Eigen::Matrix<S, Eigen::Dynamic, 1>& lu) {
    Eigen::Matrix<S, Eigen::Dynamic, 1> out(m);
    for (Eigen::Index j = 0; j < m; ++j) out[j] = core::log_sum_exp((log_k.col(j) + lu).eval());
    return out;
  };
  // LSE_j(log K_ij + log v_j) for the current v: used by the u update and, balanced, by the row-marginal error,
  // so each iteration needs one row and one column pass.
  Eigen::Matrix<S, Eigen::Dynamic, 1> row_lse = lse_rows(r.log_v);
  for (r.iterations = 1; r.iterations <= o.max_iterations; ++r.iterations) {
    const auto prev_u = r.log_u, prev_v = r.log_v;
    r.log_u = phi * (log_a - row_lse);
    r.log_v = phi * (log_b - lse_cols(r.log_u));
    row_lse = lse_rows(r.log_v);
    if (balanced) {
      // column marginal is exact after the v update; the row marginal error measures convergence
      r.error = ((r.log_u + row_lse).array().exp() - a.array()).abs().sum();
    } else {
      r.error = std::max((r.log_u - prev_u).cwiseAbs().maxCoeff(), (r.log_v - prev_v).cwiseAbs().maxCoeff());
    }
    if (!std::isfinite(r.error)) break;
    if (r.error < S(o.tolerance)) {
      r.converged = true;
      break;
    }
  }
  r.iterations = std::min(r.iterations, o.max_iterations);
  r.plan = ((log_k.colwise() + r.log_u).rowwise() + r.log_v.transpose()).array().exp();
  r.cost = (r.plan.array() * cost.array()).sum();
  return r;
}

}  // namespace upfi::ot
