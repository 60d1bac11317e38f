// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Deterministic transport fields with mass, the baselines of algorithms.md §6 built from the same parts as
/// the probability flow (same flow_values, same integrators, same trainer):
///   * `transport_flow<Drift, Growth>`: u = v(t, x), d/dt log m = g(t, x) with no noise correction (TIGON++: a drift
///     network and a growth network, trained by a full roll-out);
///   * `fitness_flow`: one scalar network U(t, x) with u = v = grad_x U and g = U (the fitness-ODE baseline; any
///     regular path of measures can be generated this way, cf. Action Matching).

#include <upfi/concepts/nn.hpp>
#include <upfi/core/error.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/nn/gradient_field.hpp>
#include <upfi/nn/mlp.hpp>

#include <Eigen/Core>

#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace upfi::flow {

/// @brief u = v(t, x) and g(t, x) (see the file comment). Parameters: [drift; growth]. Same interface as
/// probability_flow, so flow::integrate, flow::integrate_vjp and infer::flow_trainer accept it.
template <DifferentiableField Drift, class Growth = no_growth>
class transport_flow : public detail::row_blocked_field<transport_flow<Drift, Growth>> {
 public:
  static constexpr const char* name = "upfi::flow::transport_flow";
  static constexpr bool has_growth = !std::is_same_v<Growth, no_growth>;

  /// @throws std::invalid_argument unless the drift maps d -> d and the growth d -> 1.
  explicit transport_flow(Drift drift, Growth growth = {}) : m_drift(std::move(drift)), m_growth(std::move(growth)) {
    if (m_drift.outputs() != m_drift.inputs()) {
      core::detail::throw_invalid_argument("upfi::flow::transport_flow: the drift maps ", m_drift.inputs(), " -> ",
                                           m_drift.outputs(), "; it must map d -> d");
    }
    detail::check_growth(m_growth, dimension(), "upfi::flow::transport_flow");
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_drift.inputs(); }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept {
    return m_drift.parameter_count() + detail::growth_parameter_count(m_growth);
  }
  [[nodiscard]] Eigen::VectorXd parameters() const { return detail::joint_parameters(m_drift, m_growth); }
  void set_parameters(const Eigen::Ref<const Eigen::VectorXd>& p) {
    detail::set_joint_parameters(m_drift, m_growth, p, "upfi::flow::transport_flow::set_parameters");
  }
  [[nodiscard]] const Drift& drift() const noexcept { return m_drift; }
  [[nodiscard]] const Growth& growth() const noexcept { return m_growth; }

  /// @brief What an evaluation keeps for the VJP, per row block (see probability_flow::block_record).
  struct block_record {
    Eigen::Index rows = 0;
    detail::part_record_t<Drift> drift;
    detail::part_record_t<Growth> growth;
  };
  using record_type = std::vector<block_record>;
  static constexpr bool keeps_records =
      RecordingField<Drift> || !std::is_same_v<detail::part_record_t<Growth>, std::monostate>;

 private:
  friend class detail::row_blocked_field<transport_flow>;

  void evaluate_blocks(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out,
                       record_type* record) const {
    detail::evaluate_in_row_blocks(t, x, out, record,
                                   [this](double tb, const Eigen::Ref<const Eigen::MatrixXd>& xb, flow_values& o,
                                          Eigen::Ref<Eigen::MatrixXd> u, block_record* rec) {
                                     if (rec != nullptr) rec->rows = xb.rows();
                                     detail::evaluate_part(m_drift, tb, xb, o.v, rec ? &rec->drift : nullptr);
                                     u = o.v;
                                     detail::growth_values(m_growth, tb, xb, o.g, rec ? &rec->growth : nullptr);
                                   });
  }
  void vjp_rows(const block_record* rec, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
                const Eigen::Ref<const Eigen::MatrixXd>& cu, const Eigen::Ref<const Eigen::MatrixXd>& cv,
                const Eigen::Ref<const Eigen::VectorXd>& cg, Eigen::MatrixXd* grad_x,
                Eigen::VectorXd* grad_params) const {
    Eigen::MatrixXd dx;
    detail::drift_vjp(m_drift, rec ? &rec->drift : nullptr, t, x, cu, cv, grad_x != nullptr ? &dx : nullptr,
                      grad_params);
    detail::growth_vjp(m_growth, t, x, cg, grad_x != nullptr ? &dx : nullptr, grad_params,
                       rec ? &rec->growth : nullptr);
    if (grad_x != nullptr) *grad_x = std::move(dx);
  }

  Drift m_drift;
  [[no_unique_address]] Growth m_growth;
};

/// @brief The fitness-ODE field: one scalar MLP U(t, x) (time input optional) with u = v = grad_x U and g = U.
class fitness_flow {
 public:
  static constexpr bool has_growth = true;

  /// @throws std::invalid_argument unless the network has one output.
  explicit fitness_flow(nn::mlp<double> potential) : m_field(std::move(potential)) {}

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_field.inputs(); }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept { return m_field.parameter_count(); }
  [[nodiscard]] Eigen::VectorXd parameters() const { return m_field.parameters(); }
  void set_parameters(const Eigen::Ref<const Eigen::VectorXd>& p) {
    if (p.size() != parameter_count()) {
      core::detail::throw_invalid_argument("upfi::flow::fitness_flow::set_parameters: ", p.size(), " values, expected ",
                                           parameter_count());
    }
    m_field.parameters() = p;
  }
  /// @brief The scalar network U.
  [[nodiscard]] const nn::mlp<double>& potential() const noexcept { return m_field.potential(); }

  /// @brief u = v = grad U and g = U at time t on the cloud X (N x d).
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out) const {
    if (x.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::flow::fitness_flow::evaluate: cloud has ", x.cols(),
                                           " columns, expected ", dimension());
    }
    detail::evaluate_in_row_blocks(
        t, x, out,
        [this](double tb, const Eigen::Ref<const Eigen::MatrixXd>& xb, flow_values& o, Eigen::Ref<Eigen::MatrixXd> u) {
          nn::mlp_workspace<double> ws;
          m_field.potential().forward(tb, xb, o.s, ws);
          o.g = o.s.col(0);
          m_field.potential().vjp(ws, Eigen::MatrixXd::Ones(xb.rows(), 1), &o.v, nullptr);
          u = o.v;
        });
  }

  /// @brief VJP (see transport_flow::vjp): the drift part is a Hessian-vector product of U (mlp::jvp_vjp), the
  /// growth part U's own VJP; both land on the same parameters.
  void vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& cu, const Eigen::MatrixXd& cv,
           const Eigen::VectorXd& cg, Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    const Eigen::MatrixXd c = cv.size() == 0 ? cu : Eigen::MatrixXd(cu + cv);
    Eigen::MatrixXd dx;
    m_field.vjp(t, x, c, grad_x != nullptr ? &dx : nullptr, grad_params);
    if (cg.size() != 0) {
      Eigen::MatrixXd dxg;
      m_field.potential().vjp(t, x, Eigen::MatrixXd(cg), grad_x != nullptr ? &dxg : nullptr, grad_params);
      if (grad_x != nullptr) dx += dxg;
    }
    if (grad_x != nullptr) *grad_x = std::move(dx);
  }

 private:
  nn::gradient_field<double> m_field;
};

}  // namespace upfi::flow
