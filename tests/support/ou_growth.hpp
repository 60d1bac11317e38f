// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// The OU-with-affine-growth ground truth shared by the inference tests: exact Gaussian moments, snapshots drawn from
// them (masses by counts), the exact Gaussian score and the training schedule.

#include <upfi/core/snapshot_series.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>
#include <upfi/problems/ou_growth_moments.hpp>
#include <upfi/score/gaussian.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "random_matrix.hpp"

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace upfi::test {

// Ground truth of the OU-with-growth tests: dX = (A x + e) dt + sqrt(2 D) dB, g(x) = x^T Gamma x / 2 + c^T x + b
// (affine by default: Gamma = 0).
struct ou_growth_truth {
  Eigen::MatrixXd a = (Eigen::MatrixXd(2, 2) << -1.0, 0.6, -0.6, -1.0).finished();
  Eigen::VectorXd e = Eigen::Vector2d(0.5, 0.0);
  Eigen::MatrixXd diffusion = 0.25 * Eigen::MatrixXd::Identity(2, 2);
  Eigen::VectorXd c = Eigen::Vector2d(0.8, 0.0);
  double b = -0.2;
  Eigen::MatrixXd gamma = Eigen::MatrixXd::Zero(2, 2);
  upfi::problems::gaussian_population start{1.0, Eigen::Vector2d(-1.5, 0.5), 0.2 * Eigen::MatrixXd::Identity(2, 2)};
  [[nodiscard]] upfi::problems::gaussian_population at(double t) const {
    return upfi::problems::ou_growth_moments(a, e, diffusion, gamma, c, b, start, t, 200);
  }
};

// Snapshots with N_i = round(n0 m_i) Gaussian samples of the exact moments (masses by counts).
inline upfi::core::snapshot_series<double> ou_growth_snapshots(const ou_growth_truth& truth,
                                                               const std::vector<double>& times, Eigen::Index n0,
                                                               std::uint32_t seed) {
  std::vector<Eigen::MatrixXd> clouds;
  for (std::size_t i = 0; i < times.size(); ++i) {
    const auto m = truth.at(times[i]);
    const auto n = static_cast<Eigen::Index>(std::lround(static_cast<double>(n0) * m.mass));
    const Eigen::MatrixXd l = m.covariance.llt().matrixL();
    const Eigen::MatrixXd z = upfi::test::random_matrix(n, 2, seed + static_cast<std::uint32_t>(i));
    clouds.push_back((z * l.transpose()).rowwise() + m.mean.transpose());
  }
  return {times, clouds};
}

inline auto ou_growth_score(const ou_growth_truth& truth) {
  return upfi::score::gaussian_score(2, [truth](double t) {
    const auto m = truth.at(t);
    return std::make_pair(m.mean, m.covariance);
  });
}

// The truth's exact probability flow (linear drift, matrix noise, exact score, quadratic growth), with the drift's
// offset shifted by `shift` and the growth's constant by `growth_shift`: a field as a fit would hold it.
inline auto ou_growth_flow(const ou_growth_truth& truth, const Eigen::VectorXd& shift, double growth_shift) {
  return upfi::flow::probability_flow(upfi::nn::linear_field(truth.a, truth.e + shift), ou_growth_score(truth),
                                      upfi::flow::matrix_diffusion{truth.diffusion},
                                      upfi::nn::quadratic_scalar_field(truth.gamma, truth.c, truth.b + growth_shift));
}

// The training schedule of the OU recovery tests: batch 128, 2 RK4 steps per interval, Adam at lr 0.02 without
// weight decay or regulariser, blur 0.1.
inline upfi::infer::flow_training_options ou_training(long iterations, long report_every) {
  upfi::infer::flow_training_options o{.iterations = iterations,
                                       .batch = 128,
                                       .steps = 2,
                                       .learning_rate = 0.02,
                                       .weight_decay = 0.0,
                                       .lambda = 0.0,
                                       .blur = 0.1};
  o.stepper = upfi::flow::rk4();
  o.report_every = report_every;
  return o;
}

}  // namespace upfi::test
