// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Analytic scores: a Gaussian with time-dependent mean and covariance (OU marginals, algorithms.md §4.7) and
/// Gaussian mixtures. They are the test oracles of the estimated scores and models of ScoreModelWithVjp.
///
/// Gaussian N(mu_t, Sigma_t): s = -P (x - mu), P = Sigma^{-1}; ds/dx = -P.
/// Mixture sum_k w_k N(mu_k, Sigma_k): with responsibilities r_k(x) and component scores s_k = -P_k (x - mu_k),
/// s = sum_k r_k s_k and ds/dx = sum_k r_k (s_k s_k^T - P_k) - s s^T (symmetric).

#include <upfi/concepts/score.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/ornstein_uhlenbeck.hpp>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <utility>
#include <vector>

namespace upfi::score {

namespace detail {
/// Precision matrix and log-determinant of a symmetric positive-definite covariance, or an error naming `what`.
inline std::pair<Eigen::MatrixXd, double> precision(const Eigen::MatrixXd& cov, const char* who, const char* what,
                                                    double at) {
  const Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (!cov.allFinite() || llt.info() != Eigen::Success || !cov.isApprox(cov.transpose(), 1e-10)) {
    core::detail::throw_invalid_argument(who, ": ", what, " ", at, " is not a finite symmetric positive-definite ",
                                         cov.rows(), " x ", cov.cols(), " matrix");
  }
  const Eigen::MatrixXd p = llt.solve(Eigen::MatrixXd::Identity(cov.rows(), cov.cols()));
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  return {0.5 * (p + p.transpose()), log_det};
}

inline void check_cloud(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Index d, const char* who) {
  if (x.cols() != d) core::detail::throw_invalid_argument(who, ": cloud has ", x.cols(), " columns, expected ", d);
}
}  // namespace detail

/// @brief Score of N(mu_t, Sigma_t) with moments given by a callable t -> (mean, covariance).
class gaussian_score {
 public:
  using moments_function = std::function<std::pair<Eigen::VectorXd, Eigen::MatrixXd>(double)>;

  /// @brief Time-dependent moments (checked at every evaluation: sizes, finiteness, positive definiteness).
  gaussian_score(Eigen::Index dimension, moments_function moments) : m_d(dimension), m_moments(std::move(moments)) {
    if (dimension < 1) core::detail::throw_invalid_argument("upfi::score::gaussian_score: dimension must be >= 1");
    if (!m_moments) core::detail::throw_invalid_argument("upfi::score::gaussian_score: empty moments function");
  }
  /// @brief A time-independent Gaussian. @throws std::invalid_argument unless cov is SPD and sizes agree.
  gaussian_score(Eigen::VectorXd mean, Eigen::MatrixXd cov)
      : gaussian_score(mean.size(), [mean, cov](double) { return std::make_pair(mean, cov); }) {
    (void)moments(0.0);
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_d; }

  /// @brief Mean, precision matrix and log-determinant of the covariance at time t.
  struct state {
    Eigen::VectorXd mean;
    Eigen::MatrixXd precision;
    double log_det = 0;
  };
  [[nodiscard]] state moments(double t) const {
    auto [mean, cov] = m_moments(t);
    if (mean.size() != m_d || cov.rows() != m_d || cov.cols() != m_d || !mean.allFinite()) {
      core::detail::throw_invalid_argument("upfi::score::gaussian_score: moments at t = ", t, " have sizes ",
                                           mean.size(), " and ", cov.rows(), " x ", cov.cols(),
                                           " (or are not finite); ", "expected ", m_d);
    }
    auto [p, log_det] = detail::precision(cov, "upfi::score::gaussian_score", "covariance at t =", t);
    return {std::move(mean), std::move(p), log_det};
  }

  /// @brief S = -(X - mu^T) P (N x d).
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    detail::check_cloud(x, m_d, "upfi::score::gaussian_score::evaluate");
    const state m = moments(t);
    // -(x - mu) P = -x P + mu^T P, without an N x d temporary
    out.noalias() = -x * m.precision;
    out.rowwise() += m.mean.transpose() * m.precision;
  }
  /// @brief dX = C ds/dx = -C P.
  void vjp_x(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const {
    detail::check_cloud(x, m_d, "upfi::score::gaussian_score::vjp_x");
    if (cot.rows() != x.rows() || cot.cols() != m_d) {
      core::detail::throw_invalid_argument("upfi::score::gaussian_score::vjp_x: cotangent must be N x d");
    }
    out.noalias() = -cot * moments(t).precision;
  }
  /// @brief log rho_t at every row.
  [[nodiscard]] Eigen::VectorXd log_density(double t, const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    detail::check_cloud(x, m_d, "upfi::score::gaussian_score::log_density");
    const state m = moments(t);
    const Eigen::MatrixXd dx = x.rowwise() - m.mean.transpose();
    const double c = -0.5 * (static_cast<double>(m_d) * std::log(2 * std::numbers::pi) + m.log_det);
    return (c - 0.5 * ((dx * m.precision).array() * dx.array()).rowwise().sum()).matrix();
  }

 private:
  Eigen::Index m_d;
  moments_function m_moments;
};

/// @brief Score of the marginals of an OU process started at time t0 from N(mean0, cov0): mean and covariance from
/// the exact transition (cov0 may be singular only if the process noise makes cov_t positive definite for t > t0).
[[nodiscard]] inline gaussian_score ou_marginal_score(const sde::ornstein_uhlenbeck& ou, Eigen::VectorXd mean0,
                                                      Eigen::MatrixXd cov0, double t0 = 0.0) {
  const Eigen::Index d = ou.dimension();
  if (mean0.size() != d || cov0.rows() != d || cov0.cols() != d) {
    core::detail::throw_invalid_argument("upfi::score::ou_marginal_score: initial moments must have dimension ", d);
  }
  return gaussian_score(d, [ou, mean0 = std::move(mean0), cov0 = std::move(cov0), t0](double t) {
    return std::make_pair(ou.mean(t - t0, mean0), ou.covariance(t - t0, cov0));
  });
}

/// @brief Score of a time-independent Gaussian mixture sum_k w_k N(mu_k, Sigma_k), weights normalised.
class gaussian_mixture_score {
 public:
  /// @throws std::invalid_argument on empty or mismatched lists, non-positive weights or non-SPD covariances.
  gaussian_mixture_score(std::vector<double> weights, std::vector<Eigen::VectorXd> means,
                         std::vector<Eigen::MatrixXd> covariances)
      : m_means(std::move(means)) {
    constexpr const char* who = "upfi::score::gaussian_mixture_score";
    if (weights.empty() || weights.size() != m_means.size() || weights.size() != covariances.size()) {
      core::detail::throw_invalid_argument(who, ": need as many weights (", weights.size(), "), means (",
                                           m_means.size(), ") and covariances (", covariances.size(), "), at least 1");
    }
    m_d = m_means.front().size();
    double total = 0;
    for (double w : weights) {
      if (!(w > 0) || !std::isfinite(w)) core::detail::throw_invalid_argument(who, ": weight ", w, " must be > 0");
      total += w;
    }
    for (std::size_t k = 0; k < weights.size(); ++k) {
      if (m_means[k].size() != m_d || !m_means[k].allFinite() || covariances[k].rows() != m_d ||
          covariances[k].cols() != m_d) {
        core::detail::throw_invalid_argument(who, ": component ", k, " has the wrong dimension or a non-finite mean");
      }
      auto [p, log_det] = detail::precision(covariances[k], who, "covariance of component", static_cast<double>(k));
      m_precisions.push_back(std::move(p));
      m_log_norm.push_back(std::log(weights[k] / total) -
                           0.5 * (static_cast<double>(m_d) * std::log(2 * std::numbers::pi) + log_det));
      m_chol.push_back(covariances[k].llt().matrixL());
    }
    m_weights.resize(static_cast<Eigen::Index>(weights.size()));
    for (std::size_t k = 0; k < weights.size(); ++k) m_weights[static_cast<Eigen::Index>(k)] = weights[k] / total;
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_d; }
  [[nodiscard]] std::size_t components() const noexcept { return m_means.size(); }

  /// @brief Time-independent: t is ignored.
  void evaluate(double /*t*/, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    detail::check_cloud(x, m_d, "upfi::score::gaussian_mixture_score::evaluate");
    const parts p = compute(x);
    out = Eigen::MatrixXd::Zero(x.rows(), m_d);
    for (std::size_t k = 0; k < components(); ++k)
      out += p.resp.col(static_cast<Eigen::Index>(k)).asDiagonal() * p.s[k];
  }
  /// @brief dX = C ds/dx with ds/dx = sum_k r_k (s_k s_k^T - P_k) - s s^T.
  void vjp_x(double /*t*/, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const {
    detail::check_cloud(x, m_d, "upfi::score::gaussian_mixture_score::vjp_x");
    if (cot.rows() != x.rows() || cot.cols() != m_d) {
      core::detail::throw_invalid_argument("upfi::score::gaussian_mixture_score::vjp_x: cotangent must be N x d");
    }
    const parts p = compute(x);
    Eigen::MatrixXd s = Eigen::MatrixXd::Zero(x.rows(), m_d);
    out = Eigen::MatrixXd::Zero(x.rows(), m_d);
    for (std::size_t k = 0; k < components(); ++k) {
      const auto r = p.resp.col(static_cast<Eigen::Index>(k));
      s += r.asDiagonal() * p.s[k];
      const Eigen::VectorXd sc = (p.s[k].array() * cot.array()).rowwise().sum();  // s_k . c per row
      out += r.asDiagonal() * (sc.asDiagonal() * p.s[k] - cot * m_precisions[k]);
    }
    const Eigen::VectorXd ssc = (s.array() * cot.array()).rowwise().sum();
    out -= ssc.asDiagonal() * s;
  }
  /// @brief log density at every row.
  [[nodiscard]] Eigen::VectorXd log_density(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    detail::check_cloud(x, m_d, "upfi::score::gaussian_mixture_score::log_density");
    return compute(x).log_density;
  }
  /// @brief n exact samples (component by a uniform, then mu_k + L_k z), a pure function of (seed, stream).
  [[nodiscard]] Eigen::MatrixXd sample(Eigen::Index n, std::uint64_t seed, std::uint32_t stream = 0) const {
    const core::counter_rng rng(seed, stream);
    Eigen::MatrixXd z(n, m_d), u(n, 1), out(n, m_d);
    rng.fill_normal(z, 0);
    rng.fill_uniform(u, 1u << 20);
    for (Eigen::Index i = 0; i < n; ++i) {
      double c = 0;
      std::size_t k = 0;
      for (; k + 1 < components(); ++k) {
        c += m_weights[static_cast<Eigen::Index>(k)];
        if (u(i, 0) < c) break;
      }
      out.row(i) = (m_means[k] + m_chol[k] * z.row(i).transpose()).transpose();
    }
    return out;
  }

 private:
  struct parts {
    Eigen::MatrixXd resp;            // N x K responsibilities
    std::vector<Eigen::MatrixXd> s;  // component scores, N x d each
    Eigen::VectorXd log_density;
  };
  [[nodiscard]] parts compute(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    const auto k_count = static_cast<Eigen::Index>(components());
    parts p;
    Eigen::MatrixXd logp(x.rows(), k_count);
    for (std::size_t k = 0; k < components(); ++k) {
      const Eigen::MatrixXd dx = x.rowwise() - m_means[k].transpose();
      p.s.push_back(-dx * m_precisions[k]);
      logp.col(static_cast<Eigen::Index>(k)) =
          (m_log_norm[k] + 0.5 * (dx.array() * p.s.back().array()).rowwise().sum()).matrix();
    }
    const Eigen::VectorXd mx = logp.rowwise().maxCoeff();
    p.resp = (logp.colwise() - mx).array().exp().matrix();
    const Eigen::VectorXd total = p.resp.rowwise().sum();
    p.resp = total.cwiseInverse().asDiagonal() * p.resp;
    p.log_density = mx + total.array().log().matrix();
    return p;
  }

  Eigen::Index m_d = 0;
  Eigen::VectorXd m_weights;
  std::vector<Eigen::VectorXd> m_means;
  std::vector<Eigen::MatrixXd> m_precisions, m_chol;
  std::vector<double> m_log_norm;
};

static_assert(ScoreModelWithVjp<gaussian_score>);
static_assert(ScoreModelWithVjp<gaussian_mixture_score>);

}  // namespace upfi::score
