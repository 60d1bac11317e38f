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
#include <vector>

namespace upfi::flow {

namespace detail {
// A rate network that keeps its forward workspace and computes its Jacobian diagonal (and that diagonal's VJP) from
// it: one forward pass serves the values, the diagonal and every VJP. A concept, so that the record type is only named
// once F is known to be a RecordingField (a field without records, like nn::linear_degradation_field, is not one).
template <class F>
concept workspace_diagonal_field = RecordingField<F> &&
    requires(const F& f, const typename F::record_type& r, Eigen::MatrixXd& out, Eigen::VectorXd* gp) {
  f.jacobian_diagonal(r, out);
  f.jacobian_diagonal_vjp(r, out, &out, gp);
};
}  // namespace detail

/// @brief The chemical-Langevin probability flow; Production and Degradation model DiagonalJacobianField.
template <DiagonalJacobianField Production, DiagonalJacobianField Degradation, ScoreModel Score,
          class Growth = no_growth>
class chemical_langevin_flow
    : public detail::row_blocked_field<chemical_langevin_flow<Production, Degradation, Score, Growth>> {
 public:
  static constexpr const char* name = "upfi::flow::chemical_langevin_flow";
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
  [[nodiscard]] const Production& production() const noexcept { return m_p; }
  [[nodiscard]] const Degradation& degradation() const noexcept { return m_q; }
  [[nodiscard]] const Growth& growth() const noexcept { return m_growth; }
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

  /// @brief What an evaluation keeps for the VJP, per row block: p, q and s, and the networks' forward workspaces
  /// (for production and degradation networks that model RecordingField with workspace-based Jacobian diagonals, like
  /// nn::mlp; see probability_flow::block_record).
  struct block_record {
    Eigen::Index rows = 0;
    Eigen::MatrixXd p, q, s;
    detail::part_record_t<Production> production;
    detail::part_record_t<Degradation> degradation;
    score_record_t<Score> score;
    detail::part_record_t<Growth> growth;
  };
  using record_type = std::vector<block_record>;
  static constexpr bool keeps_records = true;  // p, q and s at least

 private:
  friend class detail::row_blocked_field<chemical_langevin_flow>;

  // values and Jacobian diagonal of a rate network (one forward pass when it keeps a workspace)
  template <class F>
  static void rate_values(const F& f, double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& values,
                          Eigen::MatrixXd& diagonal, detail::part_record_t<F>* record) {
    if constexpr (detail::workspace_diagonal_field<F>) {
      detail::part_record_t<F> local;
      detail::part_record_t<F>& r = record != nullptr ? *record : local;
      f.evaluate(t, x, values, r);
      f.jacobian_diagonal(std::as_const(r), diagonal);
    } else {
      f.evaluate(t, x, values);
      f.jacobian_diagonal(t, x, diagonal);
    }
  }
  // VJP of (values, diagonal) of a rate network for cotangents c (values) and cj (diagonal)
  template <class F>
  static void rate_vjp(const F& f, const detail::part_record_t<F>* record, double t,
                       const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& c, const Eigen::MatrixXd& cj,
                       Eigen::MatrixXd* dx, Eigen::VectorXd* gp) {
    Eigen::MatrixXd part;
    if constexpr (detail::workspace_diagonal_field<F>) {
      if (record != nullptr) {
        f.vjp(*record, c, dx, gp);
        f.jacobian_diagonal_vjp(*record, cj, dx != nullptr ? &part : nullptr, gp);
        if (dx != nullptr) *dx += part;
        return;
      }
    }
    f.vjp(t, x, c, dx, gp);
    f.jacobian_diagonal_vjp(t, x, cj, dx != nullptr ? &part : nullptr, gp);
    if (dx != nullptr) *dx += part;
  }

  void evaluate_blocks(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out,
                       record_type* record) const {
    detail::evaluate_in_row_blocks(t, x, out, record,
                                   [this](double tb, const Eigen::Ref<const Eigen::MatrixXd>& xb, flow_values& o,
                                          Eigen::Ref<Eigen::MatrixXd> u, block_record* rec) {
                                     thread_local Eigen::MatrixXd p_local, q_local;
                                     Eigen::MatrixXd& p = rec != nullptr ? rec->p : p_local;
                                     Eigen::MatrixXd& q = rec != nullptr ? rec->q : q_local;
                                     Eigen::MatrixXd jp, jq;
                                     if (rec != nullptr) rec->rows = xb.rows();
                                     rate_values(m_p, tb, xb, p, jp, rec ? &rec->production : nullptr);
                                     rate_values(m_q, tb, xb, q, jq, rec ? &rec->degradation : nullptr);
                                     detail::evaluate_score(m_score, tb, xb, o.s, rec ? &rec->score : nullptr);
                                     if (rec != nullptr) rec->s = o.s;
                                     const double k = 1.0 / (2 * m_volume);
                                     o.v = p - q;
                                     u = o.v - k * (jp + jq) - k * ((p + q).array() * o.s.array()).matrix();
                                     detail::growth_values(m_growth, tb, xb, o.g, rec ? &rec->growth : nullptr);
                                   });
  }

  // The VJP on rows X (a row block with its record, or the whole cloud with rec = null: the parts evaluate again).
  void vjp_rows(const block_record* rec, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
                const Eigen::Ref<const Eigen::MatrixXd>& cu, const Eigen::Ref<const Eigen::MatrixXd>& cv,
                const Eigen::Ref<const Eigen::VectorXd>& cg, Eigen::MatrixXd* grad_x,
                Eigen::VectorXd* grad_params) const {
    const double k = 1.0 / (2 * m_volume);
    Eigen::MatrixXd p_local, q_local, s_local;
    if (rec == nullptr) {
      m_p.evaluate(t, x, p_local);
      m_q.evaluate(t, x, q_local);
      m_score.evaluate(t, x, s_local);
    }
    const Eigen::MatrixXd& p = rec != nullptr ? rec->p : p_local;
    const Eigen::MatrixXd& q = rec != nullptr ? rec->q : q_local;
    const Eigen::MatrixXd& s = rec != nullptr ? rec->s : s_local;
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
    Eigen::MatrixXd dx, part;
    rate_vjp(m_p, rec ? &rec->production : nullptr, t, x, cp, cj, grad_x != nullptr ? &dx : nullptr,
             grad_params != nullptr ? &gp : nullptr);
    rate_vjp(m_q, rec ? &rec->degradation : nullptr, t, x, cq, cj, grad_x != nullptr ? &part : nullptr,
             grad_params != nullptr ? &gq : nullptr);
    if (grad_x != nullptr) dx += part;
    if (grad_params != nullptr) {
      grad_params->head(pp) += gp;
      grad_params->segment(pp, pq) += gq;
    }
    if constexpr (ScoreModelWithVjp<Score>) {
      if (grad_x != nullptr && m_score_path) {
        detail::score_vjp_x(m_score, rec ? &rec->score : nullptr, t, x,
                            Eigen::MatrixXd(-k * (cu.array() * (p + q).array()).matrix()), part);
        dx += part;
      }
    }
    detail::growth_vjp(m_growth, t, x, cg, grad_x != nullptr ? &dx : nullptr, grad_params,
                       rec ? &rec->growth : nullptr);
    if (grad_x != nullptr) *grad_x = std::move(dx);
  }

  Production m_p;
  Degradation m_q;
  Score m_score;
  double m_volume;
  [[no_unique_address]] Growth m_growth;
  bool m_score_path = ScoreModelWithVjp<Score>;
};

}  // namespace upfi::flow
