// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Pieces shared by the end-to-end benchmarks (bistable_benchmark.hpp, network_benchmark.hpp): timing, a
/// pointwise SDE drift evaluated on a cloud, a trained field's drift and growth as a cloud function, the growth
/// correlation, the uniform recording grid of the path energy distance, evenly spaced fate queries and the fate
/// correlation convention.

#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
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

namespace upfi::problems {

/// @brief Fate metrics of one set of fate distributions against the truth's, on the same queries.
struct fate_scores {
  double correlation = 0;  ///< Pearson correlation of P(first fate) (0 if either side is constant)
  double tv = 0;           ///< mean total variation 1/2 sum_c |p_c - p_hat_c| over the queries
};

}  // namespace upfi::problems

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

// force errors of fitted[k] against reference[k] (the fields at the cells of snapshot k): pooled over every snapshot's
// cells, and per snapshot. The pooled errors are computed on the concatenation, not from the per-snapshot ones
// (relative_l2 weighs by the reference's norm, and the cosine skips zero vectors).
struct snapshot_force_errors {
  metrics::force_error pooled;
  std::vector<metrics::force_error> per_snapshot;
};
inline snapshot_force_errors force_errors_by_snapshot(const std::vector<Eigen::MatrixXd>& reference,
                                                      const std::vector<Eigen::MatrixXd>& fitted) {
  if (reference.size() != fitted.size() || reference.empty()) {
    core::detail::throw_invalid_argument("upfi::problems::force_errors_by_snapshot: ", reference.size(),
                                         " reference and ", fitted.size(), " fitted fields");
  }
  snapshot_force_errors e;
  Eigen::Index rows = 0;
  for (std::size_t k = 0; k < reference.size(); ++k) {
    e.per_snapshot.push_back(metrics::force_errors(reference[k], fitted[k]));  // checks the shapes
    rows += reference[k].rows();
  }
  const Eigen::Index d = reference.front().cols();
  Eigen::MatrixXd all_reference(rows, d), all_fitted(rows, d);
  Eigen::Index row = 0;
  for (std::size_t k = 0; k < reference.size(); ++k) {
    if (reference[k].cols() != d) {
      core::detail::throw_invalid_argument("upfi::problems::force_errors_by_snapshot: snapshot ", k, " has ",
                                           reference[k].cols(), " columns, snapshot 0 ", d);
    }
    all_reference.middleRows(row, reference[k].rows()) = reference[k];
    all_fitted.middleRows(row, fitted[k].rows()) = fitted[k];
    row += reference[k].rows();
  }
  e.pooled = metrics::force_errors(all_reference, all_fitted);
  return e;
}

// a trained field's drift v and growth g on a cloud (one evaluation gives both; g = 0 without growth), the score left
// out
using values_function = std::function<void(double, const Eigen::MatrixXd&, flow::flow_values&)>;
template <class Field>
values_function values_of(Field trained) {
  return [trained = std::move(trained)](double t, const Eigen::MatrixXd& x, flow::flow_values& f) {
    infer::drift_and_growth(trained, t, x, f);
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

// Pearson correlation, 0 when a side does not vary at all (a collapsed fit has no correlation)
inline double pearson_or_zero(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const bool constant = (a.array() == a[0]).all() || (b.array() == b[0]).all();
  return constant ? 0.0 : metrics::pearson(a, b);
}

// Pearson correlation of true and model fate probabilities; a side whose fates do not vary at all (a collapsed
// deterministic fit) has no correlation and scores 0
inline double fate_correlation(const Eigen::VectorXd& p_true, const Eigen::VectorXd& p_hat) {
  return pearson_or_zero(p_true, p_hat);
}

// rows of p_true (queries x fates) whose fate is not yet decided: every fate has probability below 1 - margin
inline std::vector<Eigen::Index> undecided_rows(const Eigen::MatrixXd& p_true, double margin = 0.05) {
  std::vector<Eigen::Index> rows;
  for (Eigen::Index r = 0; r < p_true.rows(); ++r) {
    if (p_true.row(r).maxCoeff() < 1 - margin) rows.push_back(r);
  }
  return rows;
}

// Pearson correlation of P(first fate) and mean TV between the truth and another fate matrix over `rows` (all rows
// if empty; both 0 for fewer than two rows)
inline fate_scores score_fates(const Eigen::MatrixXd& p_true, const Eigen::MatrixXd& p,
                               const std::vector<Eigen::Index>& rows = {}) {
  if (rows.empty()) return {fate_correlation(p_true.col(0), p.col(0)), metrics::tv_fate_error(p_true, p)};
  if (rows.size() < 2) return {};
  return score_fates(p_true(rows, Eigen::all), p(rows, Eigen::all));
}

// Pearson correlation (0 if either is constant) of a true rate (pointwise `rate(t, x)`) and the fitted growth over the
// cells of every snapshot (g[k]: the fitted growth on snapshot k's cells); rate_mean and g_mean, when given, get each
// snapshot's means
template <class Rate>
double growth_correlation(const core::snapshot_series<double>& data, const std::vector<Eigen::VectorXd>& g,
                          const Rate& rate, std::vector<double>* rate_mean = nullptr,
                          std::vector<double>* g_mean = nullptr) {
  std::vector<double> truth, fitted;
  for (std::size_t k = 0; k < data.size(); ++k) {
    double sum = 0;
    for (Eigen::Index r = 0; r < g[k].size(); ++r) {
      truth.push_back(rate(data.time(k), data.cloud(k).row(r).eval().data()));
      fitted.push_back(g[k][r]);
      sum += truth.back();
    }
    if (rate_mean != nullptr) rate_mean->push_back(sum / static_cast<double>(g[k].size()));
    if (g_mean != nullptr) g_mean->push_back(g[k].mean());
  }
  return pearson_or_zero(Eigen::Map<const Eigen::VectorXd>(truth.data(), std::ssize(truth)),
                         Eigen::Map<const Eigen::VectorXd>(fitted.data(), std::ssize(fitted)));
}

}  // namespace upfi::problems::detail
