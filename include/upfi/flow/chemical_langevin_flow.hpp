// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Probability flow of the chemical-Langevin form (algorithms.md §1.2, UPFI's "multiplicative" model): trainable
/// production p(x) >= 0 and degradation q(x) >= 0 fields (e.g. MLPs with a softplus output), drift v = p - q and
/// diffusion D = diag(p + q) / 2V, so that
///   u_i = p_i - q_i - (d_i p_i + d_i q_i) / 2V - (p_i + q_i) s_i / 2V,
/// the middle term being the row divergence of D, which needs the diagonal of the input Jacobians (mlp computes it by
/// forward-mode tangents, and its VJP by reverse over forward). Parameters: [p; q; growth].

#include <upfi/concepts/nn.hpp>
#include <upfi/concepts/score.hpp>
#include <upfi/core/error.hpp>
#include <upfi/flow/probability_flow.hpp>

#include <Eigen/Core>

#include <cmath>
#include <type_traits>
#include <utility>

namespace upfi::flow {

/// @brief The chemical-Langevin probability flow; Production and Degradation model DiagonalJacobianField.
template <DiagonalJacobianField Production, DiagonalJacobianField Degradation, ScoreModel Score,
          class Growth = no_growth>
class chemical_langevin_flow {
 public:
  static constexpr bool has_growth = !std::is_same_v<Growth, no_growth>;

  /// @throws std::invalid_argument on inconsistent dimensions or a non-positive volume.
  chemical_langevin_flow(Production production, Degradation degradation, Score score, double volume, Growth growth = {})
      : m_p(std::move(production)),
        m_q(std::move(degradation)),
        m_score(std::move(score)),
        m_volume(volume),
        m_growth(std::move(growth)) {
    constexpr const char* who = "upfi::flow::chemical_langevin_flow";
    const Eigen::Index d = m_p.inputs();
    if (m_p.outputs() != d || m_q.inputs() != d || m_q.outputs() != d || m_score.dimension() != d) {
      core::detail::throw_invalid_argument(who, ": production ", m_p.inputs(), " -> ", m_p.outputs(), ", degradation ",
                                           m_q.inputs(), " -> ", m_q.outputs(), ", score ", m_score.dimension(),
                                           "; all must be d -> d");
    }
    if (!(volume > 0) || !std::isfinite(volume)) {
      core::detail::throw_invalid_argument(who, ": volume = ", volume, " must be finite and > 0");
    }
    detail::check_growth(m_growth, d, who);
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_p.inputs(); }
  [[nodiscard]] double volume() const noexcept { return m_volume; }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept {
    return m_p.parameter_count() + m_q.parameter_count() + detail::growth_parameter_count(m_growth);
  }
  [[nodiscard]] Eigen::VectorXd parameters() const {
    Eigen::VectorXd out(parameter_count());
    const Eigen::Index pp = m_p.parameter_count(), pq = m_q.parameter_count();
    out.head(pp) = const_cast<Production&>(m_p).parameters();
    out.segment(pp, pq) = const_cast<Degradation&>(m_q).parameters();
    if constexpr (!std::is_same_v<Growth, no_growth>) {
      out.tail(m_growth.parameter_count()) = const_cast<Growth&>(m_growth).parameters();
    }
    return out;
  }
  void set_parameters(const Eigen::Ref<const Eigen::VectorXd>& p) {
    if (p.size() != parameter_count()) {
      core::detail::throw_invalid_argument("upfi::flow::chemical_langevin_flow::set_parameters: ", p.size(),
                                           " values, expected ", parameter_count());
    }
    const Eigen::Index pp = m_p.parameter_count(), pq = m_q.parameter_count();
    m_p.parameters() = p.head(pp);
    m_q.parameters() = p.segment(pp, pq);
    if constexpr (!std::is_same_v<Growth, no_growth>) m_growth.parameters() = p.tail(m_growth.parameter_count());
  }
  void set_score_input_path(bool on) {
    if (on && !ScoreModelWithVjp<Score>) {
      core::detail::throw_invalid_argument("upfi::flow::chemical_langevin_flow: the score model has no vjp_x");
    }
    m_score_path = on;
  }

  /// @brief The diffusion diagonal (p + q) / 2V at every row (N x d).
  [[nodiscard]] Eigen::MatrixXd diffusion_diagonal(double t, const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    Eigen::MatrixXd p, q;
    m_p.evaluate(t, x, p);
    m_q.evaluate(t, x, q);
    return (p + q) / (2 * m_volume);
  }

  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out) const {
    if (x.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::flow::chemical_langevin_flow::evaluate: cloud has ", x.cols(),
                                           " columns, expected ", dimension());
    }
    detail::evaluate_in_row_blocks(
        t, x, out,
        [this](double tb, const Eigen::Ref<const Eigen::MatrixXd>& xb, flow_values& o, Eigen::Ref<Eigen::MatrixXd> u) {
          Eigen::MatrixXd p, q, jp, jq;
          m_p.evaluate(tb, xb, p);
          m_q.evaluate(tb, xb, q);
          m_p.jacobian_diagonal(tb, xb, jp);
          m_q.jacobian_diagonal(tb, xb, jq);
          m_score.evaluate(tb, xb, o.s);
          const double k = 1.0 / (2 * m_volume);
          o.v = p - q;
          u = o.v - k * (jp + jq) - k * ((p + q).array() * o.s.array()).matrix();
          detail::growth_values(m_growth, tb, xb, o.g);
        });
  }

  /// @brief VJP for cotangents on u, v (may be empty) and g (may be empty); see probability_flow::vjp.
  void vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& cu, const Eigen::MatrixXd& cv,
           const Eigen::VectorXd& cg, Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    const double k = 1.0 / (2 * m_volume);
    Eigen::MatrixXd p, q, s;
    m_p.evaluate(t, x, p);
    m_q.evaluate(t, x, q);
    m_score.evaluate(t, x, s);
    const Eigen::MatrixXd cus = k * (cu.array() * s.array()).matrix();
    Eigen::MatrixXd cp = cu - cus, cq = -cu - cus;
    if (cv.size() != 0) {
      cp += cv;
      cq -= cv;
    }
    const Eigen::MatrixXd cj = -k * cu;  // cotangent of the Jacobian diagonals
    const Eigen::Index pp = m_p.parameter_count(), pq = m_q.parameter_count();
    Eigen::VectorXd gp = Eigen::VectorXd::Zero(grad_params != nullptr ? pp : 0);
    Eigen::VectorXd gq = Eigen::VectorXd::Zero(grad_params != nullptr ? pq : 0);
    Eigen::VectorXd* gpp = grad_params != nullptr ? &gp : nullptr;
    Eigen::VectorXd* gqp = grad_params != nullptr ? &gq : nullptr;
    Eigen::MatrixXd dx, part;
    Eigen::MatrixXd* partp = grad_x != nullptr ? &part : nullptr;
    m_p.vjp(t, x, cp, grad_x != nullptr ? &dx : nullptr, gpp);
    m_q.vjp(t, x, cq, partp, gqp);
    if (grad_x != nullptr) dx += part;
    m_p.jacobian_diagonal_vjp(t, x, cj, partp, gpp);
    if (grad_x != nullptr) dx += part;
    m_q.jacobian_diagonal_vjp(t, x, cj, partp, gqp);
    if (grad_x != nullptr) dx += part;
    if (grad_params != nullptr) {
      grad_params->head(pp) += gp;
      grad_params->segment(pp, pq) += gq;
    }
    if constexpr (ScoreModelWithVjp<Score>) {
      if (grad_x != nullptr && m_score_path) {
        m_score.vjp_x(t, x, Eigen::MatrixXd(-k * (cu.array() * (p + q).array()).matrix()), part);
        dx += part;
      }
    }
    detail::growth_vjp(m_growth, t, x, cg, grad_x != nullptr ? &dx : nullptr, grad_params);
    if (grad_x != nullptr) *grad_x = std::move(dx);
  }

 private:
  Production m_p;
  Degradation m_q;
  Score m_score;
  double m_volume;
  [[no_unique_address]] Growth m_growth;
  bool m_score_path = ScoreModelWithVjp<Score>;
};

}  // namespace upfi::flow
