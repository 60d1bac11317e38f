// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// The probability-flow problem shared by compare_flow_odeint.cpp and compare_flow_upfi.cpp (and mirrored in NumPy by
// flow_scipy.py): OU drift A x + 0.1 with A = -I - 0.3 (K - K^T), constant Gaussian score N(0, 1.5 I), D = 0.5 I.
#pragma once
#include <upfi/flow/probability_flow.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/score/gaussian.hpp>

#include <Eigen/Core>

inline auto make_compare_flow(const Eigen::MatrixXd& k) {
  const Eigen::Index d = k.rows();
  const Eigen::MatrixXd a = -Eigen::MatrixXd::Identity(d, d) - 0.3 * (k - k.transpose());
  return upfi::flow::probability_flow(
      upfi::nn::linear_field(a, Eigen::VectorXd::Constant(d, 0.1)),
      upfi::score::gaussian_score(Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d) * 1.5),
      upfi::flow::matrix_diffusion{Eigen::MatrixXd::Identity(d, d) * 0.5});
}
