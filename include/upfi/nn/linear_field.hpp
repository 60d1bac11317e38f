// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Trainable affine drift v(x) = A x + e (the OU drift of PFI's analysis), a DifferentiableField with
/// parameters [vec(A) (column-major); e].

#include <upfi/concepts/nn.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

namespace upfi::nn {

/// @brief v(x) = A x + e on clouds (rows are particles: V = X A^T + 1 e^T).
class linear_field {
 public:
  /// @brief A = 0, e = 0 of dimension d. @throws std::invalid_argument if d < 1.
  explicit linear_field(Eigen::Index d) : m_d(d) {
    if (d < 1) core::detail::throw_invalid_argument("upfi::nn::linear_field: dimension ", d, " must be >= 1");
    m_params = Eigen::VectorXd::Zero(d * d + d);
  }
  /// @brief From A (d x d) and e (d). @throws std::invalid_argument on inconsistent sizes.
  linear_field(const Eigen::MatrixXd& a, const Eigen::VectorXd& e) : linear_field(a.rows()) {
    if (a.cols() != m_d || e.size() != m_d) {
      core::detail::throw_invalid_argument("upfi::nn::linear_field: A is ", a.rows(), " x ", a.cols(), ", e has ",
                                           e.size(), " entries");
    }
    matrix() = a;
    offset() = e;
  }
  [[nodiscard]] Eigen::Index inputs() const noexcept { return m_d; }
  [[nodiscard]] Eigen::Index outputs() const noexcept { return m_d; }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept { return m_params.size(); }
  [[nodiscard]] Eigen::VectorXd& parameters() noexcept { return m_params; }
  [[nodiscard]] const Eigen::VectorXd& parameters() const noexcept { return m_params; }
  [[nodiscard]] Eigen::Map<Eigen::MatrixXd> matrix() { return {m_params.data(), m_d, m_d}; }
  [[nodiscard]] Eigen::Map<const Eigen::MatrixXd> matrix() const { return {m_params.data(), m_d, m_d}; }
  [[nodiscard]] Eigen::Map<Eigen::VectorXd> offset() { return {m_params.data() + m_d * m_d, m_d}; }
  [[nodiscard]] Eigen::Map<const Eigen::VectorXd> offset() const { return {m_params.data() + m_d * m_d, m_d}; }

  void evaluate(double, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    check(x.cols());
    out.noalias() = x * matrix().transpose();
    out.rowwise() += offset().transpose();
  }
  /// @brief dX = C A; d vec(A) += vec(C^T X); de += column sums of C.
  void vjp(double, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
           Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    check(x.cols());
    if (cot.rows() != x.rows() || cot.cols() != m_d) {
      core::detail::throw_invalid_argument("upfi::nn::linear_field::vjp: cotangent must be N x d");
    }
    if (grad_x != nullptr) *grad_x = cot * matrix();
    if (grad_params != nullptr) {
      if (grad_params->size() != parameter_count()) {
        core::detail::throw_invalid_argument("upfi::nn::linear_field::vjp: parameter gradient has wrong size");
      }
      Eigen::Map<Eigen::MatrixXd>(grad_params->data(), m_d, m_d).noalias() += cot.transpose() * x;
      Eigen::Map<Eigen::VectorXd>(grad_params->data() + m_d * m_d, m_d) += cot.colwise().sum().transpose();
    }
  }

 private:
  void check(Eigen::Index cols) const {
    if (cols != m_d) {
      core::detail::throw_invalid_argument("upfi::nn::linear_field: input has ", cols, " columns, expected ", m_d);
    }
  }
  Eigen::Index m_d;
  Eigen::VectorXd m_params;
};

}  // namespace upfi::nn
