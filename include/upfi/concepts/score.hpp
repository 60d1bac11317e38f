// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Concepts of score models s_t(x) = grad_x log rho_t(x). See docs/score.md.

#include <Eigen/Core>

#include <concepts>
#include <utility>
#include <variant>

namespace upfi {

/// @brief A score model: `s.dimension()` and `s.evaluate(t, X, S)` writing the score at every row of the cloud X
/// (N x d -> N x d). Satisfied by the analytic scores, upfi::score::kernel_score and upfi::score::dsm_score.
template <class M>
concept ScoreModel = requires(const M& s, double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& out) {
  { s.dimension() } -> std::convertible_to<Eigen::Index>;
  s.evaluate(t, x, out);
};

/// @brief A score model with a vector-Jacobian product w.r.t. the positions: `s.vjp_x(t, X, C, dX)` writes
/// dX(n, :) = C(n, :) ds/dx(x_n) (the score's Jacobian is the Hessian of log rho, so it is symmetric).
template <class M>
concept ScoreModelWithVjp = ScoreModel<M> &&
    requires(const M& s, double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& out) {
  s.vjp_x(t, x, x, out);
};

/// @brief A score model with a VJP that can reuse an evaluation: `M::record_type`, `s.evaluate(t, X, S, record)` and
/// `s.vjp_x(record, C, dX)` (the VJP at the recorded evaluation's point, without evaluating the score again).
/// Satisfied by upfi::score::dsm_score.
template <class M>
concept RecordingScoreModel = ScoreModelWithVjp<M> && std::semiregular<typename M::record_type> &&
    requires(const M& s, double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& out, typename M::record_type& record) {
  s.evaluate(t, x, out, record);
  s.vjp_x(std::as_const(record), x, out);
};

namespace detail {
template <class M>
struct score_record {
  using type = std::monostate;
};
template <RecordingScoreModel M>
struct score_record<M> {
  using type = typename M::record_type;
};
}  // namespace detail

/// @brief The record type of a RecordingScoreModel, std::monostate for any other score model.
template <class M>
using score_record_t = typename detail::score_record<M>::type;

}  // namespace upfi
