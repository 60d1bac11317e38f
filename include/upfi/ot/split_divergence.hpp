// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Split-sample Sinkhorn divergence between two weighted samples: the minibatch estimate whose sampling bias
/// cancels between the cross and the self terms, including the part that grows with the spread of the weights.
///
/// With each cloud cut into two halves (rows [0, n/2) and [n/2, n)), each carrying half of the cloud's mass
/// (unbalanced: the weights as they are, rescaled by n / (2 n_h) when n is odd; balanced: each half renormalised),
///
///     L = S(a1, b1) + S(a2, b2) - S(a1, a2) - S(b1, b2),
///
/// where S is the debiased Sinkhorn divergence (sinkhorn_divergence.hpp). Every OT(a_k, a_k) self-term of the four
/// divergences cancels, so L is a sum of OT problems between independent halves; its gradients are those of the four
/// divergences, summed per half. Why: S between two finite samples of one law is positive, and its expectation
/// depends on the samples' effective sizes. Weighted samples (cells carrying log-masses) have a smaller effective size
/// (sum w)^2 / sum w^2 than their count, so the plain minibatch divergence rewards models whose weights are uniform,
/// and the truth, whose cells grow unequally, does not minimise it (docs/results.md). If the expected divergence
/// between independent samples is F(A, B) = f(A) + f(B) (the sampling structures of the two sides adding up, exact for
/// the energy distance, approximate for Sinkhorn), E[L] = 0 when a and b have the same law, whatever the weights; when
/// they differ, E[L] approximates the divergence between the laws at the full masses (S is about 1-homogeneous in the
/// masses, so the two cross halves add up to the whole).
/// Only problems between different halves are solved (four of a quarter of the size each, or six with
/// split_pairing::all): a third (a half) of the work of S between the whole clouds. The variance is larger, since each
/// cross problem sees half of the points; split_pairing::all averages the cross term over all four pairs of halves.

#include <upfi/concepts/ot.hpp>
#include <upfi/core/cloud.hpp>
#include <upfi/core/error.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>

namespace upfi::ot {

namespace detail {

// The log-masses of the two halves (rows [0, n1) and [n1, n)) of a cloud, each half carrying half of the whole mass:
// balanced, by renormalising each half (a_j - log |half| + log(|a| / 2)); unbalanced, by the count alone
// (a_j + log(n / (2 n_h)), the identity for even n), so the mass differences between the halves, part of the sampling
// noise that the self term measures, are kept.
template <class S>
struct split_masses {
  vec<S> first, second;
  vec<S> w1, w2;  // balanced: the halves' mass fractions e^{a_j} / |half| and e^{a_j} / |a|, for pull_back
  bool balanced;

  split_masses(const vec<S>& log_a, Eigen::Index n1, bool balanced_) : balanced(balanced_) {
    const Eigen::Index n = log_a.size(), n2 = n - n1;
    first = log_a.head(n1);
    second = log_a.tail(n2);
    if (!balanced) {
      first.array() += std::log(static_cast<S>(n) / static_cast<S>(2 * n1));
      second.array() += std::log(static_cast<S>(n) / static_cast<S>(2 * n2));
      return;
    }
    const S l1 = core::log_sum_exp(first), l2 = core::log_sum_exp(second), total = core::log_sum_exp(log_a);
    if (l1 == -std::numeric_limits<S>::infinity() || l2 == -std::numeric_limits<S>::infinity()) {
      core::detail::throw_invalid_argument("upfi::ot::split_sinkhorn_divergence: a half of a cloud has no mass");
    }
    const S half = total - std::log(S(2));
    w1 = (first.array() - l1).exp();
    w2 = (second.array() - l2).exp();
    first.array() += half - l1;
    second.array() += half - l2;
    pw = (log_a.array() - total).exp();
  }

  // d/d log a of a function of (first, second) with gradients g1, g2 (the chain rule through the renormalisation).
  [[nodiscard]] vec<S> pull_back(const vec<S>& g1, const vec<S>& g2) const {
    vec<S> g(g1.size() + g2.size());
    g << g1, g2;
    if (!balanced) return g;
    const S s1 = g1.sum(), s2 = g2.sum();
    g.head(g1.size()) -= s1 * w1;
    g.tail(g2.size()) -= s2 * w2;
    g += (s1 + s2) * pw;
    return g;
  }

 private:
  vec<S> pw;  // e^{a_j} / |a|
};

}  // namespace detail

/// @brief Which pairs of halves form the cross term of split_sinkhorn_divergence.
enum class split_pairing {
  matched,  ///< S(a1, b1) + S(a2, b2): two cross problems
  all       ///< (S(a1, b1) + S(a1, b2) + S(a2, b1) + S(a2, b2)) / 2: four, the same expectation, less variance
};

/// @brief Result of split_sinkhorn_divergence: the value, its terms, the convergence of every problem and, on request
/// (options.gradients), the gradients w.r.t. the positions and log-masses of both clouds.
template <class S>
struct split_divergence_result {
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  S value = 0;            ///< cross - self_x - self_y
  S cross = 0;            ///< the cross term, in OT (not debiased, sinkhorn_options::debias = false) values
  S self_x = 0;           ///< OT(a1, a2)
  S self_y = 0;           ///< OT(b1, b2)
  bool converged = true;  ///< every problem converged
  int iterations = 0;     ///< soft-min sweeps, summed over the problems
  matrix_type grad_x, grad_y;
  vector_type grad_log_a, grad_log_b;
};

/// @brief The split-sample divergence between (x, log a) and (y, log b), each cut into its first and second half of
/// rows: L = S(a1, b1) + S(a2, b2) - S(a1, a2) - S(b1, b2) (split_pairing::matched), or the cross term averaged over
/// all four pairs of halves (split_pairing::all). Computed from OT problems between different halves only (the
/// self-transport terms of the debiased S cancel; options.debias is ignored), with kernels in `Kernel` (float: twice
/// the SIMD lanes), returned in S. The draws must be independent and in random order (a minibatch): the halves are the
/// first and the last rows. Unbalanced, the weights must be independent too: weights rescaled to a fixed total make
/// the halves' masses anti-correlated and bias the value downwards as their spread grows (docs/ot.md).
/// @throws std::invalid_argument if a cloud has fewer than 2 points, if a half has no mass, and as
/// sinkhorn_divergence (non-finite input, size mismatches, invalid options).
template <RealScalar Kernel = double, RealScalar S = double>
[[nodiscard]] split_divergence_result<S> split_sinkhorn_divergence(const detail::mat<S>& x, const detail::vec<S>& log_a,
                                                                   const detail::mat<S>& y, const detail::vec<S>& log_b,
                                                                   const sinkhorn_options& options = {},
                                                                   split_pairing pairing = split_pairing::matched) {
  constexpr const char* who = "upfi::ot::split_sinkhorn_divergence: ";
  if (x.rows() < 2 || y.rows() < 2)
    core::detail::throw_invalid_argument(who, "needs at least 2 points a side; got ", x.rows(), " and ", y.rows());
  if (log_a.size() != x.rows() || log_b.size() != y.rows()) {
    core::detail::throw_invalid_argument(who, log_a.size(), " and ", log_b.size(), " log-masses for ", x.rows(),
                                         " and ", y.rows(), " points");
  }
  // before the split, so that the reported row is one of x or y
  core::require_finite(x, "upfi::ot::split_sinkhorn_divergence", "x: ");
  core::require_finite(y, "upfi::ot::split_sinkhorn_divergence", "y: ");
  const Eigen::Index n1 = x.rows() / 2, n2 = x.rows() - n1, m1 = y.rows() / 2, m2 = y.rows() - m1;
  const bool balanced = !options.reach.has_value();
  const detail::split_masses<S> am(log_a, n1, balanced), bm(log_b, m1, balanced);
  const detail::mat<S> x1 = x.topRows(n1), x2 = x.bottomRows(n2), y1 = y.topRows(m1), y2 = y.bottomRows(m2);
  sinkhorn_options ot_options = options;
  ot_options.debias = false;
  split_divergence_result<S> r;
  const bool grads = options.gradients;
  if (grads) {
    r.grad_x = detail::mat<S>::Zero(x.rows(), x.cols());
    r.grad_y = detail::mat<S>::Zero(y.rows(), y.cols());
  }
  detail::vec<S> ga1 = detail::vec<S>::Zero(n1), ga2 = detail::vec<S>::Zero(n2), gb1 = detail::vec<S>::Zero(m1),
                 gb2 = detail::vec<S>::Zero(m2);
  // OT between half `p` of one cloud (rows from p_row) and half `q` of a cloud (rows from q_row): returns its value
  // and adds its gradients, times `weight` (the problem's coefficient in L), to the halves' gradients
  const auto ot = [&](S weight, const detail::mat<S>& p, const detail::vec<S>& lp, detail::mat<S>& grad_p,
                      Eigen::Index p_row, detail::vec<S>& gp, const detail::mat<S>& q, const detail::vec<S>& lq,
                      detail::mat<S>& grad_q, Eigen::Index q_row, detail::vec<S>& gq) {
    const sinkhorn_result<S> o = sinkhorn_divergence_in<Kernel, S>(p, lp, q, lq, ot_options);
    r.converged = r.converged && o.converged;
    r.iterations += o.iterations;
    if (grads) {
      grad_p.middleRows(p_row, p.rows()) += weight * o.grad_x;
      grad_q.middleRows(q_row, q.rows()) += weight * o.grad_y;
      gp += weight * o.grad_log_a;
      gq += weight * o.grad_log_b;
    }
    return o.value;
  };
  const S half = pairing == split_pairing::all ? S(0.5) : S(1);
  r.cross += half * ot(half, x1, am.first, r.grad_x, 0, ga1, y1, bm.first, r.grad_y, 0, gb1);
  r.cross += half * ot(half, x2, am.second, r.grad_x, n1, ga2, y2, bm.second, r.grad_y, m1, gb2);
  if (pairing == split_pairing::all) {
    r.cross += half * ot(half, x1, am.first, r.grad_x, 0, ga1, y2, bm.second, r.grad_y, m1, gb2);
    r.cross += half * ot(half, x2, am.second, r.grad_x, n1, ga2, y1, bm.first, r.grad_y, 0, gb1);
  }
  r.self_x = ot(S(-1), x1, am.first, r.grad_x, 0, ga1, x2, am.second, r.grad_x, n1, ga2);
  r.self_y = ot(S(-1), y1, bm.first, r.grad_y, 0, gb1, y2, bm.second, r.grad_y, m1, gb2);
  r.value = r.cross - r.self_x - r.self_y;
  if (grads) {
    r.grad_log_a = am.pull_back(ga1, ga2);
    r.grad_log_b = bm.pull_back(gb1, gb2);
  }
  return r;
}

}  // namespace upfi::ot
