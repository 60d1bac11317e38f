// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Pieces shared by the end-to-end benchmarks (bistable_benchmark.hpp, network_benchmark.hpp): timing, a
/// pointwise SDE drift evaluated on a cloud, a trained field's drift as a cloud function, the uniform recording grid of
/// the path energy distance, evenly spaced fate queries and the fate correlation convention.

#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/metrics/errors.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

namespace upfi::problems::detail {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// v (N x d) = the pointwise drift of an sde model at time t on every row of x
template <class Model>
void drift_on_cloud(const Model& model, double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) {
  const Eigen::Index d = x.cols();
  v.resize(x.rows(), d);
  Eigen::VectorXd row(d), out(d);
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    row = x.row(r).transpose();
    model.drift(t, row.data(), out.data());
    v.row(r) = out.transpose();
  }
}

// the drift v of a trained field as a cloud function (t, X, V), the score left out
template <class Field>
std::function<void(double, const Eigen::MatrixXd&, Eigen::MatrixXd&)> drift_of(Field trained) {
  return [trained = std::move(trained)](double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) {
    flow::flow_values f;
    infer::drift_and_growth(trained, t, x, f);
    v = std::move(f.v);
  };
}

// 0, dt', 2 dt', ..., horizon with dt' = horizon / round(horizon / dt)
inline std::vector<double> uniform_grid(double horizon, double dt) {
  const auto n = static_cast<int>(std::lround(horizon / dt));
  std::vector<double> grid;
  for (int k = 0; k <= n; ++k) grid.push_back(horizon * k / n);
  return grid;
}

// min(q, rows) rows of a cloud, evenly spaced through it
inline Eigen::MatrixXd spaced_rows(const Eigen::MatrixXd& cloud, Eigen::Index q) {
  q = std::min(q, cloud.rows());
  Eigen::MatrixXd out(q, cloud.cols());
  for (Eigen::Index i = 0; i < q; ++i) out.row(i) = cloud.row(i * cloud.rows() / q);
  return out;
}

// Pearson correlation of true and model fate probabilities; a side whose fates do not vary at all (a collapsed
// deterministic fit) has no correlation and scores 0
inline double fate_correlation(const Eigen::VectorXd& p_true, const Eigen::VectorXd& p_hat) {
  const bool constant = (p_hat.array() == p_hat[0]).all() || (p_true.array() == p_true[0]).all();
  return constant ? 0.0 : metrics::pearson(p_true, p_hat);
}

}  // namespace upfi::problems::detail
