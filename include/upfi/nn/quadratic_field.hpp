// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Trainable quadratic scalar field g(x) = 1/2 x^T S x + c^T x + b with S = (G + G^T) / 2 (or affine: S = 0):
/// the growth model of UPFI's OU-with-quadratic-fitness theory (algorithms.md §5.7), usable as a growth or potential
/// model wherever a DifferentiableField with one output is expected.

#include <upfi/core/error.hpp>

#include <Eigen/Core>

namespace upfi::nn {

/// @brief g(x) = 1/2 x^T S x + c^T x + b. Parameters: [vec(G) (column-major, quadratic only); c; b].
class quadratic_scalar_field {
 public:
  /// @brief Zero field of dimension d; `quadratic = false` drops the S term (affine growth, d + 1 parameters).
  /// @throws std::invalid_argument if d < 1.
  explicit quadratic_scalar_field(Eigen::Index d, bool quadratic = true) : m_d(d), m_quadratic(quadratic) {
    if (d < 1) core::detail::throw_invalid_argument("upfi::nn::quadratic_scalar_field: dimension ", d, " must be >= 1");
    m_params = Eigen::VectorXd::Zero((quadratic ? d * d : 0) + d + 1);
  }
  /// @brief From S (d x d, symmetric part used; empty for affine), c and b.
  quadratic_scalar_field(const Eigen::MatrixXd& s, const Eigen::VectorXd& c, double b)
      : quadratic_scalar_field(c.size(), s.size() != 0) {
    if (m_quadratic && (s.rows() != m_d || s.cols() != m_d)) {
      core::detail::throw_invalid_argument("upfi::nn::quadratic_scalar_field: S is ", s.rows(), " x ", s.cols(),
                                           ", c has ", c.size(), " entries");
    }
    if (m_quadratic) Eigen::Map<Eigen::MatrixXd>(m_params.data(), m_d, m_d) = s;
    linear() = c;
    m_params[m_params.size() - 1] = b;
  }

  [[nodiscard]] Eigen::Index inputs() const noexcept { return m_d; }
  [[nodiscard]] Eigen::Index outputs() const noexcept { return 1; }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept { return m_params.size(); }
  [[nodiscard]] Eigen::VectorXd& parameters() noexcept { return m_params; }
  [[nodiscard]] const Eigen::VectorXd& parameters() const noexcept { return m_params; }
  [[nodiscard]] bool quadratic() const noexcept { return m_quadratic; }

  /// @brief S = (G + G^T) / 2 (zero when affine).
  [[nodiscard]] Eigen::MatrixXd quadratic_matrix() const {
    if (!m_quadratic) return Eigen::MatrixXd::Zero(m_d, m_d);
    const Eigen::Map<const Eigen::MatrixXd> g(m_params.data(), m_d, m_d);
    return 0.5 * (g + g.transpose());
  }
  [[nodiscard]] Eigen::Map<Eigen::VectorXd> linear() noexcept { return {m_params.data() + offset_c(), m_d}; }
  [[nodiscard]] Eigen::Map<const Eigen::VectorXd> linear() const noexcept {
    return {m_params.data() + offset_c(), m_d};
  }
  [[nodiscard]] double constant() const noexcept { return m_params[m_params.size() - 1]; }

  void evaluate(double, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    check(x.cols());
    out.resize(x.rows(), 1);
    out.col(0) = x * linear();
    out.array() += constant();
    if (m_quadratic) out.col(0).array() += 0.5 * ((x * quadratic_matrix()).array() * x.array()).rowwise().sum();
  }
  /// @brief dX = cot (x S + c^T); dG += 1/2 X^T diag(cot) X; dc += X^T cot; db += sum cot.
  void vjp(double, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
           Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    check(x.cols());
    if (cot.rows() != x.rows() || cot.cols() != 1) {
      core::detail::throw_invalid_argument("upfi::nn::quadratic_scalar_field::vjp: cotangent must be N x 1");
    }
    if (grad_x != nullptr) {
      Eigen::MatrixXd slope = x * quadratic_matrix();
      slope.rowwise() += linear().transpose();
      *grad_x = slope.array().colwise() * cot.col(0).array();
    }
    if (grad_params != nullptr) {
      if (grad_params->size() != parameter_count()) {
        core::detail::throw_invalid_argument("upfi::nn::quadratic_scalar_field::vjp: gradient has ",
                                             grad_params->size(), " entries, expected ", parameter_count());
      }
      if (m_quadratic) {
        Eigen::Map<Eigen::MatrixXd>(grad_params->data(), m_d, m_d) += 0.5 * x.transpose() * cot.col(0).asDiagonal() * x;
      }
      grad_params->segment(offset_c(), m_d) += x.transpose() * cot.col(0);
      (*grad_params)[parameter_count() - 1] += cot.sum();
    }
  }

 private:
  [[nodiscard]] Eigen::Index offset_c() const noexcept { return m_quadratic ? m_d * m_d : 0; }
  void check(Eigen::Index cols) const {
    if (cols != m_d) {
      core::detail::throw_invalid_argument("upfi::nn::quadratic_scalar_field: cloud has ", cols, " columns, expected ",
                                           m_d);
    }
  }
  Eigen::Index m_d;
  bool m_quadratic;
  Eigen::VectorXd m_params;
};

}  // namespace upfi::nn
