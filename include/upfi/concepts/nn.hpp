// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Concepts of trainable fields. See docs/nn.md.

#include <Eigen/Core>

#include <concepts>
#include <utility>

namespace upfi {

/// @brief A trainable cloud field: evaluates f(t, X) on a whole cloud (N x d_in -> N x d_out), exposes its parameters
/// as one flat vector and a vector-Jacobian product w.r.t. inputs and parameters (parameter gradients are ADDED).
/// Satisfied by upfi::nn::mlp<double>, upfi::nn::linear_field and upfi::nn::pointwise_field<Model>.
template <class F>
concept DifferentiableField = requires(const F& f, F& mutable_f, double t, const Eigen::MatrixXd& x,
                                       Eigen::MatrixXd& out, Eigen::VectorXd& grad_params) {
  { f.inputs() } -> std::convertible_to<Eigen::Index>;
  { f.outputs() } -> std::convertible_to<Eigen::Index>;
  { f.parameter_count() } -> std::convertible_to<Eigen::Index>;
  { mutable_f.parameters() } -> std::convertible_to<Eigen::VectorXd&>;
  f.evaluate(t, x, out);
  f.vjp(t, x, x, &out, &grad_params);
};

/// @brief A DifferentiableField that can keep what its VJP needs from an evaluation: `F::record_type` (default
/// constructible, copyable), `f.evaluate(t, X, Y, record)` (an evaluation that fills `record`) and
/// `f.vjp(record, dY, dX*, grad_params*)` (the VJP at that evaluation's point, without evaluating the field again).
/// Composite fields use it to skip the forward pass a VJP would otherwise repeat (flow::integrate_vjp, docs/flow.md).
/// Satisfied by upfi::nn::mlp (its record is the layers' pre-activations and activations).
template <class F>
concept RecordingField = DifferentiableField<F> && std::semiregular<typename F::record_type> &&
    requires(const F& f, double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& out, Eigen::VectorXd& grad_params,
             typename F::record_type& record) {
  f.evaluate(t, x, out, record);
  f.vjp(std::as_const(record), x, &out, &grad_params);
};

/// @brief A DifferentiableField (inputs == outputs) that also gives the diagonal of its input Jacobian,
/// d f_i / d x_i per sample, and that diagonal's VJP (needed by the chemical-Langevin probability flow, whose
/// velocity contains the row divergence of D = diag(p + q) / 2V). Satisfied by upfi::nn::mlp<double>.
template <class F>
concept DiagonalJacobianField = DifferentiableField<F> &&
    requires(const F& f, double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& out, Eigen::VectorXd& grad_params) {
  f.jacobian_diagonal(t, x, out);
  f.jacobian_diagonal_vjp(t, x, x, &out, &grad_params);
};

}  // namespace upfi
