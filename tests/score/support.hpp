// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Shared fixtures of the score tests: exact OU snapshots and the data-weighted relative L2 error of a score.
#pragma once
#include <upfi/concepts/score.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/sde/ornstein_uhlenbeck.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace upfi::test {

// dX = A X dt + sqrt(2) dB with A = -(I + 0.3 K), K antisymmetric with N(0,1) entries; X_0 ~ N(m0, 0.5 I).
struct ou_case {
  sde::ornstein_uhlenbeck ou;
  Eigen::VectorXd m0;
  Eigen::MatrixXd s0;
};
inline ou_case make_ou_case(Eigen::Index d, std::uint64_t seed) {
  Eigen::MatrixXd k(d, d), m(d, 1);
  core::counter_rng(seed, 50).fill_normal(k, 0);
  core::counter_rng(seed, 51).fill_normal(m, 0);
  const Eigen::MatrixXd a = -Eigen::MatrixXd::Identity(d, d) - 0.3 * (k - k.transpose());
  return {sde::ornstein_uhlenbeck(a, Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d)), 1.5 * m.col(0),
          0.5 * Eigen::MatrixXd::Identity(d, d)};
}
// Independent exact snapshots at the given times, n per time.
inline core::snapshot_series<double> ou_snapshots(const ou_case& c, const std::vector<double>& times, Eigen::Index n,
                                                  std::uint64_t seed) {
  const Eigen::Index d = c.m0.size();
  std::vector<Eigen::MatrixXd> clouds;
  for (std::size_t i = 0; i < times.size(); ++i) {
    Eigen::MatrixXd z(n, d);
    core::counter_rng(seed, 60 + static_cast<std::uint32_t>(i)).fill_normal(z, 0);
    const Eigen::MatrixXd x0 = (std::sqrt(0.5) * z).rowwise() + c.m0.transpose();
    clouds.push_back(c.ou.sample_exact(x0, times[i], core::counter_rng(seed, 70 + static_cast<std::uint32_t>(i))));
  }
  return {times, clouds};
}
// sqrt(sum |est - ref|^2 / sum |ref|^2) over the data points of every snapshot (the data-weighted relative L2 error).
template <ScoreModel A, ScoreModel B>
double relative_score_error(const A& estimate, const B& reference, const core::snapshot_series<double>& data) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    Eigen::MatrixXd se, sr;
    estimate.evaluate(data.time(i), data.cloud(i), se);
    reference.evaluate(data.time(i), data.cloud(i), sr);
    num += (se - sr).squaredNorm();
    den += sr.squaredNorm();
  }
  return std::sqrt(num / den);
}

// Max relative difference between a score model's vjp_x and central differences of its score applied to `cot`
// (the Jacobian is row-local: row n of the VJP only depends on x_n).
template <ScoreModelWithVjp Model>
double vjp_vs_fd(const Model& m, double t, const Eigen::MatrixXd& x, const Eigen::MatrixXd& cot) {
  Eigen::MatrixXd g, sp, sm;
  m.vjp_x(t, x, cot, g);
  const double h = 1e-6;
  Eigen::MatrixXd fd(x.rows(), x.cols());
  for (Eigen::Index q = 0; q < x.cols(); ++q) {
    Eigen::MatrixXd xp = x, xm = x;
    xp.col(q).array() += h;
    xm.col(q).array() -= h;
    m.evaluate(t, xp, sp);
    m.evaluate(t, xm, sm);
    fd.col(q) = ((sp - sm).array() * cot.array()).rowwise().sum() / (2 * h);
  }
  return (g - fd).cwiseAbs().maxCoeff() / (1.0 + fd.cwiseAbs().maxCoeff());
}

}  // namespace upfi::test
