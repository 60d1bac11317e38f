// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Gradient fields v(t, x) = scale * grad_x U(t, x) of a scalar network U (the fitness-ODE baseline of
/// algorithms.md §6 uses v = grad U and g = U with one network; scale = -1 gives a potential force -grad V).
///
/// Evaluating v is one forward and one backward pass of U. Its VJP w.r.t. the parameters and inputs is a second-order
/// quantity: for a cotangent C (N x d), sum_n C_n . grad U(x_n) is the directional derivative of U along C_n, computed
/// by one forward-mode tangent pass and differentiated in reverse (mlp::jvp_vjp). Its input part is the Hessian-vector
/// product H(x_n) C_n; ReLU networks have zero Hessians almost everywhere, which the VJP reproduces exactly.

#include <upfi/core/error.hpp>
#include <upfi/nn/mlp.hpp>

#include <Eigen/Core>

#include <cmath>
#include <utility>

namespace upfi::nn {

/// @brief v = scale * grad_x U for a scalar MLP U (outputs() == 1). Satisfies DifferentiableField.
template <RealScalar S = double>
class gradient_field {
 public:
  using network_type = mlp<S>;
  using vector_type = typename network_type::vector_type;
  using matrix_type = typename network_type::matrix_type;

  /// @throws std::invalid_argument unless `potential` has exactly one output and `scale` is finite and non-zero.
  explicit gradient_field(network_type potential, S scale = S(1)) : m_potential(std::move(potential)), m_scale(scale) {
    if (m_potential.outputs() != 1) {
      core::detail::throw_invalid_argument("upfi::nn::gradient_field: the potential must have 1 output, got ",
                                           m_potential.outputs());
    }
    if (!std::isfinite(static_cast<double>(scale)) || scale == S(0)) {
      core::detail::throw_invalid_argument("upfi::nn::gradient_field: scale = ", static_cast<double>(scale),
                                           " must be finite and non-zero");
    }
  }
  /// @brief Builds the potential network from `options` (outputs is forced to 1) and `seed`.
  explicit gradient_field(mlp_options options, std::uint64_t seed = 0, S scale = S(1))
      : gradient_field(network_type(with_one_output(std::move(options)), seed), scale) {}

  [[nodiscard]] Eigen::Index inputs() const noexcept { return m_potential.inputs(); }
  [[nodiscard]] Eigen::Index outputs() const noexcept { return m_potential.inputs(); }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept { return m_potential.parameter_count(); }
  [[nodiscard]] vector_type& parameters() noexcept { return m_potential.parameters(); }
  [[nodiscard]] const vector_type& parameters() const noexcept { return m_potential.parameters(); }
  [[nodiscard]] S scale() const noexcept { return m_scale; }
  /// @brief The scalar network U (for its values, e.g. the fitness g = U, and their VJP).
  [[nodiscard]] network_type& potential() noexcept { return m_potential; }
  [[nodiscard]] const network_type& potential() const noexcept { return m_potential; }

  /// @brief v(t, X) = scale * grad U (N x d).
  void evaluate(S t, const Eigen::Ref<const matrix_type>& x, matrix_type& out) const {
    mlp_workspace<S> ws;
    matrix_type u;
    m_potential.forward(t, x, u, ws);
    const matrix_type ones = matrix_type::Constant(x.rows(), 1, m_scale);
    m_potential.vjp(ws, ones, &out, nullptr);
  }
  [[nodiscard]] matrix_type operator()(S t, const Eigen::Ref<const matrix_type>& x) const {
    matrix_type out;
    evaluate(t, x, out);
    return out;
  }

  /// @brief VJP of evaluate(): for a cotangent C (N x d) writes d(sum C .* v)/dX = scale * H C when `grad_x` is
  /// non-null and ADDS the parameter gradient when `grad_params` is non-null.
  void vjp(S t, const Eigen::Ref<const matrix_type>& x, const Eigen::Ref<const matrix_type>& cot, matrix_type* grad_x,
           vector_type* grad_params) const {
    if (cot.rows() != x.rows() || cot.cols() != inputs()) {
      core::detail::throw_invalid_argument("upfi::nn::gradient_field::vjp: cotangent is ", cot.rows(), " x ",
                                           cot.cols(), ", expected ", x.rows(), " x ", inputs());
    }
    const matrix_type weights = matrix_type::Constant(x.rows(), 1, m_scale);
    m_potential.jvp_vjp(t, x, cot, weights, grad_x, grad_params);
  }

 private:
  static mlp_options with_one_output(mlp_options o) {
    o.outputs = 1;
    return o;
  }

  network_type m_potential;
  S m_scale;
};

}  // namespace upfi::nn
