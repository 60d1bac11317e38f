// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Linear degradation q(x) = lambda ⊙ x (every gene decays at its own rate lambda_i > 0), the degradation part
/// of the chemical Langevin equation of gene networks (algorithms.md §1.2, the authors' `CLEFlow`): a
/// DiagonalJacobianField for flow::chemical_langevin_flow, with the rates fixed (no parameters) or learned through
/// their logarithms (parameters theta = log lambda, so that the rates stay positive).
///
/// With a production network p >= 0 beside it the drift is p - lambda ⊙ x and the noise diag(p + lambda ⊙ x) / 2V =
/// diag(v + 2 lambda ⊙ x) / 2V: given the rates, the noise follows from the drift, as in the chemical Langevin
/// equation, instead of from a second free network (the "multiplicative" model of UPFI, p and q both networks).

#include <upfi/concepts/nn.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>

namespace upfi::nn {

/// @brief q(t, X) = X diag(lambda) on clouds (rows are cells).
class linear_degradation_field {
 public:
  /// @brief Rates `rates` (all finite and > 0), learned (parameters log rates) or fixed (no parameters).
  /// @throws std::invalid_argument if rates is empty or a rate is not finite and positive.
  explicit linear_degradation_field(const Eigen::VectorXd& rates, bool learned = true) : m_learned(learned) {
    if (rates.size() < 1) {
      core::detail::throw_invalid_argument("upfi::nn::linear_degradation_field: no rate given");
    }
    for (Eigen::Index i = 0; i < rates.size(); ++i) {
      if (!(rates[i] > 0) || !std::isfinite(rates[i])) {
        core::detail::throw_invalid_argument("upfi::nn::linear_degradation_field: rate[", i, "] = ", rates[i],
                                             " must be finite and > 0");
      }
    }
    m_log_rates = rates.array().log().matrix();
    if (!m_learned) m_fixed = rates;
  }
  [[nodiscard]] Eigen::Index inputs() const noexcept { return m_log_rates.size(); }
  [[nodiscard]] Eigen::Index outputs() const noexcept { return m_log_rates.size(); }
  [[nodiscard]] bool learned() const noexcept { return m_learned; }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept { return m_learned ? m_log_rates.size() : 0; }
  /// @brief The log rates when learned; an empty vector when the rates are fixed.
  [[nodiscard]] Eigen::VectorXd& parameters() noexcept { return m_learned ? m_log_rates : m_none; }
  /// @brief lambda (exp of the parameters when learned).
  [[nodiscard]] Eigen::VectorXd rates() const {
    return m_learned ? Eigen::VectorXd(m_log_rates.array().exp().matrix()) : m_fixed;
  }

  void evaluate(double, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    check(x.cols(), "evaluate");
    out = x * rates().asDiagonal();
  }
  /// @brief dX = C diag(lambda); d theta_i += lambda_i sum_n C_ni X_ni (learned rates).
  void vjp(double, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
           Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    check_cotangent(x, cot, grad_params, "vjp");
    const Eigen::VectorXd lambda = rates();
    if (grad_x != nullptr) *grad_x = cot * lambda.asDiagonal();
    if (grad_params != nullptr && m_learned) {
      *grad_params += ((cot.array() * x.array()).colwise().sum().transpose() * lambda.array()).matrix();
    }
  }
  /// @brief The Jacobian diagonal d q_i / d x_i = lambda_i at every row.
  void jacobian_diagonal(double, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& diag) const {
    check(x.cols(), "jacobian_diagonal");
    diag = rates().transpose().replicate(x.rows(), 1);
  }
  /// @brief VJP of jacobian_diagonal: dX = 0 (the diagonal does not depend on X); d theta_i += lambda_i sum_n C_ni.
  void jacobian_diagonal_vjp(double, const Eigen::Ref<const Eigen::MatrixXd>& x,
                             const Eigen::Ref<const Eigen::MatrixXd>& cot, Eigen::MatrixXd* grad_x,
                             Eigen::VectorXd* grad_params) const {
    check_cotangent(x, cot, grad_params, "jacobian_diagonal_vjp");
    if (grad_x != nullptr) grad_x->setZero(x.rows(), x.cols());
    if (grad_params != nullptr && m_learned) {
      *grad_params += (cot.colwise().sum().transpose().array() * rates().array()).matrix();
    }
  }

 private:
  void check(Eigen::Index cols, const char* what) const {
    if (cols != inputs()) {
      core::detail::throw_invalid_argument("upfi::nn::linear_degradation_field::", what, ": input has ", cols,
                                           " columns, expected ", inputs());
    }
  }
  void check_cotangent(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
                       const Eigen::VectorXd* grad_params, const char* what) const {
    check(x.cols(), what);
    if (cot.rows() != x.rows() || cot.cols() != x.cols()) {
      core::detail::throw_invalid_argument("upfi::nn::linear_degradation_field::", what, ": cotangent is ", cot.rows(),
                                           " x ", cot.cols(), ", expected ", x.rows(), " x ", x.cols());
    }
    if (grad_params != nullptr && grad_params->size() != parameter_count()) {
      core::detail::throw_invalid_argument("upfi::nn::linear_degradation_field::", what, ": parameter gradient has ",
                                           grad_params->size(), " entries, expected ", parameter_count());
    }
  }
  bool m_learned;
  Eigen::VectorXd m_log_rates;
  Eigen::VectorXd m_fixed;
  Eigen::VectorXd m_none;
};

static_assert(DiagonalJacobianField<linear_degradation_field>);

}  // namespace upfi::nn
