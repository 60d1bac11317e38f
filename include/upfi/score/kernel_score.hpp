// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Training-free score estimate: the gradient of the log of a Gaussian kernel density estimate built from the
/// snapshots, interpolated in time, with the bandwidth from Scott's or Silverman's rule or chosen by minimising a
/// held-out score-matching loss.
///
/// Coordinates are standardised per dimension, u = x / sigma, with sigma_q^2 the mean over snapshots of the
/// within-snapshot variance. Snapshot i with samples v_j (standardised) and bandwidth h_i gives
///   rho_i(u) = (2 pi h_i^2)^(-d/2) N_i^-1 sum_j exp(-|u - v_j|^2 / (2 h_i^2)),
///   grad_u log rho_i = (m_i(u) - u) / h_i^2,  m_i = softmax-weighted mean of the v_j,
///   Hessian of log rho_i = (Cov_i(u) / h_i^2 - I) / h_i^2, Cov_i the softmax-weighted covariance.
/// Between snapshot times t_i <= t <= t_{i+1} the density is the mixture (1 - lambda) rho_i + lambda rho_{i+1},
/// lambda = (t - t_i) / (t_{i+1} - t_i); outside [t_0, t_K] the nearest snapshot is used. The softmax sums run on the
/// SIMD tiles of the OT module (upfi::ot::online_softmax_average), parallel over query rows.
///
/// Held-out bandwidth selection minimises Hyvarinen's implicit score-matching loss on held-out samples (K-fold
/// cross-validation by default: a single 20 % split has so much variance, from the few tail points that dominate the
/// loss at small h, that it picked h = 0.25 where 0.45 is optimal on 2000 standard normal points),
///   J(h) = mean_x [ |s_h(x)|^2 / 2 + div s_h(x) ]  = E |s_h - grad log rho|^2 / 2 + const,
/// which needs no noise and no knowledge of rho (Hyvarinen 2005, JMLR 6); its divergence term is exact for the KDE.

#include <upfi/concepts/score.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/core/subsample.hpp>
#include <upfi/ot/online_softmin.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace upfi::score {

/// @brief How kernel_score chooses the bandwidth of each snapshot (in standardised units).
enum class bandwidth_rule {
  scott,      ///< h = n^(-1/(d+4))
  silverman,  ///< h = (4 / (d + 2))^(1/(d+4)) n^(-1/(d+4))
  held_out    ///< minimiser of the cross-validated implicit score-matching loss, rescaled from the training size to n
};

/// @brief The rule's name: "scott", "silverman" or "held_out".
[[nodiscard]] inline const char* to_string(bandwidth_rule r) noexcept {
  switch (r) {
    case bandwidth_rule::scott:
      return "scott";
    case bandwidth_rule::silverman:
      return "silverman";
    case bandwidth_rule::held_out:
      return "held_out";
  }
  return "?";
}

/// @brief The rule named by to_string.
/// @throws std::invalid_argument for any other name.
[[nodiscard]] inline bandwidth_rule bandwidth_rule_named(const std::string& name) {
  for (const auto r : {bandwidth_rule::scott, bandwidth_rule::silverman, bandwidth_rule::held_out}) {
    if (name == to_string(r)) return r;
  }
  core::detail::throw_invalid_argument("upfi::score::bandwidth_rule_named: unknown rule '", name,
                                       "' (scott, silverman, held_out)");
}

/// @brief Options of kernel_score.
struct kernel_score_options {
  bandwidth_rule rule = bandwidth_rule::scott;
  double bandwidth = 0;            ///< > 0: this bandwidth (standardised units) for every snapshot, rule ignored
  int folds = 5;                   ///< held_out rule: K-fold cross-validation, every point held out once (K >= 2);
                                   ///< 1 = one split holding out held_out_fraction of the points
  double held_out_fraction = 0.2;  ///< share of each snapshot held out when folds == 1
  std::uint64_t seed = 0;          ///< held-out split and thinning
  Eigen::Index max_samples = 0;    ///< > 0: each snapshot's density uses at most this many points (a random subset
                                   ///< drawn from `seed`); an evaluation then costs O(max_samples) per query point
};

/// @brief Kernel-density score estimator over a snapshot series. Models ScoreModelWithVjp.
class kernel_score {
 public:
  /// @throws std::invalid_argument if a snapshot has fewer than 2 points, a coordinate has zero variance or an option
  /// is invalid.
  explicit kernel_score(const core::snapshot_series<double>& data, kernel_score_options options = {})
      : m_times(data.times()) {
    constexpr const char* who = "upfi::score::kernel_score";
    if (options.bandwidth < 0 || !std::isfinite(options.bandwidth)) {
      core::detail::throw_invalid_argument(who, ": bandwidth = ", options.bandwidth, " must be finite and >= 0");
    }
    if (options.max_samples < 0 || options.max_samples == 1) {
      core::detail::throw_invalid_argument(who, ": max_samples = ", options.max_samples, " must be 0 (all) or >= 2");
    }
    if (options.folds < 1) {
      core::detail::throw_invalid_argument(who, ": folds = ", options.folds, " must be >= 1 (1: a single split)");
    }
    if (!(options.held_out_fraction > 0 && options.held_out_fraction < 1)) {
      core::detail::throw_invalid_argument(who, ": held_out_fraction = ", options.held_out_fraction,
                                           " must lie in (0, 1)");
    }
    const Eigen::Index d = data.dimension();
    Eigen::RowVectorXd var = Eigen::RowVectorXd::Zero(d);
    for (std::size_t i = 0; i < data.size(); ++i) {
      const auto& c = data.cloud(i);
      if (c.rows() < 2) {
        core::detail::throw_invalid_argument(who, ": snapshot ", i, " (t = ", data.time(i), ") has ", c.rows(),
                                             " point(s); a kernel density needs at least 2");
      }
      const Eigen::RowVectorXd mean = c.colwise().mean();
      var += (c.rowwise() - mean).array().square().colwise().sum().matrix() / static_cast<double>(c.rows() - 1);
    }
    var /= static_cast<double>(data.size());
    for (Eigen::Index q = 0; q < d; ++q) {
      if (!(var[q] > 0)) {
        core::detail::throw_invalid_argument(who, ": coordinate ", q, " has zero variance within every snapshot");
      }
    }
    m_sigma = var.cwiseSqrt();
    for (std::size_t i = 0; i < data.size(); ++i) {
      Eigen::MatrixXd v = standardise(thinned(data.cloud(i), options, i));
      double h = options.bandwidth;
      if (h == 0) {
        h = options.rule == bandwidth_rule::held_out ? held_out_bandwidth(v, options, i)
                                                     : rule_of_thumb(options.rule, v.rows(), d);
      }
      m_samples.push_back(std::move(v));
      m_bandwidths.push_back(h);
    }
  }

  /// @brief A single, time-independent sample (one snapshot at t = 0).
  explicit kernel_score(Eigen::MatrixXd samples, kernel_score_options options = {})
      : kernel_score(core::snapshot_series<double>({0.0}, {std::move(samples)}), options) {}

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_sigma.size(); }
  /// @brief Bandwidth of each snapshot in standardised units (multiply by scale() for data units).
  [[nodiscard]] const std::vector<double>& bandwidths() const noexcept { return m_bandwidths; }
  /// @brief Per-dimension standardisation sigma.
  [[nodiscard]] const Eigen::RowVectorXd& scale() const noexcept { return m_sigma; }

  /// @brief Score at every row of X (N x d) at time t.
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    const Eigen::MatrixXd u = checked_standardise(x, "evaluate");
    const auto parts = mixture(t, u, false);
    out = Eigen::MatrixXd::Zero(u.rows(), dimension());
    for (const auto& p : parts) out += p.beta.asDiagonal() * p.s;
    out = (out.array().rowwise() / m_sigma.array()).matrix();
  }

  /// @brief dX = C ds/dx (the Hessian of log rho, symmetric). Costs O(N M d^2): the weighted covariances need the
  /// softmax averages of the d^2 products v v^T.
  void vjp_x(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const {
    const Eigen::MatrixXd u = checked_standardise(x, "vjp_x");
    if (cot.rows() != x.rows() || cot.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::score::kernel_score::vjp_x: cotangent must be N x d");
    }
    const Eigen::Index d = dimension(), n = u.rows();
    const Eigen::MatrixXd c = (cot.array().rowwise() / m_sigma.array()).matrix();  // C D
    const auto parts = mixture(t, u, true);
    Eigen::MatrixXd s = Eigen::MatrixXd::Zero(n, d), ju = Eigen::MatrixXd::Zero(n, d);
    for (const auto& p : parts) {
      const double h2 = p.h * p.h;
      s += p.beta.asDiagonal() * p.s;
      // rows: beta (Cov c / h^2 - c) / h^2 + beta s_c (s_c . c)
      // (Cov c)_q = sum_r E[v_q v_r] c_r - m_q (m . c), column by column over all rows
      const Eigen::VectorXd mc = (p.mean.array() * c.array()).rowwise().sum();
      Eigen::MatrixXd cov_c(n, d);
      for (Eigen::Index q = 0; q < d; ++q) {
        cov_c.col(q) = (p.second.middleCols(q * d, d).array() * c.array()).rowwise().sum().matrix() -
                       p.mean.col(q).cwiseProduct(mc);
      }
      const Eigen::VectorXd sc = (p.s.array() * c.array()).rowwise().sum();
      ju += p.beta.asDiagonal() * ((cov_c / h2 - c) / h2 + sc.asDiagonal() * p.s);
    }
    const Eigen::VectorXd ssc = (s.array() * c.array()).rowwise().sum();
    ju -= ssc.asDiagonal() * s;
    out = (ju.array().rowwise() / m_sigma.array()).matrix();
  }

  /// @brief Hyvarinen's implicit score-matching loss mean_x [|s|^2 / 2 + div s] (data units) of the KDE of the
  /// standardised `train` sample with bandwidth h, on the standardised `test` sample; lower is better.
  [[nodiscard]] double implicit_score_matching_loss(const Eigen::MatrixXd& train, const Eigen::MatrixXd& test,
                                                    double h) const {
    const Eigen::Index d = dimension();
    Eigen::MatrixXd values(train.rows(), 2 * d);
    values << train, train.array().square().matrix();
    Eigen::MatrixXd avg(test.rows(), 2 * d);
    Eigen::VectorXd lse(test.rows());
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(train.rows());
    ot::online_softmax_average<double>(test, train, zero, h * h, values, avg, lse);
    const double h2 = h * h;
    const Eigen::MatrixXd su = (avg.leftCols(d) - test) / h2;  // standardised score
    const Eigen::MatrixXd var = avg.rightCols(d).array() - avg.leftCols(d).array().square();
    const Eigen::RowVectorXd inv_var = m_sigma.array().square().inverse();
    const Eigen::VectorXd sq = (su.array().square().rowwise() * inv_var.array()).rowwise().sum();
    const Eigen::VectorXd div = ((var.array() / h2 - 1.0).rowwise() * inv_var.array()).rowwise().sum() / h2;
    return (0.5 * sq + div).mean();
  }

 private:
  // At most options.max_samples rows of `cloud`: a partial Fisher-Yates shuffle driven by counter_rng(seed, 1000 + i).
  static Eigen::MatrixXd thinned(const Eigen::MatrixXd& cloud, const kernel_score_options& options, std::size_t i) {
    if (options.max_samples == 0) return cloud;
    return core::random_rows(cloud, options.max_samples,
                             core::counter_rng(options.seed, 1000 + static_cast<std::uint32_t>(i)));
  }

  struct component {
    double h = 1;
    Eigen::VectorXd beta;    // mixture responsibility per row
    Eigen::MatrixXd s;       // standardised score of this component
    Eigen::MatrixXd mean;    // softmax mean (for the VJP)
    Eigen::MatrixXd second;  // softmax second moments, d^2 columns (for the VJP)
  };

  [[nodiscard]] Eigen::MatrixXd standardise(const Eigen::MatrixXd& x) const {
    return (x.array().rowwise() / m_sigma.array()).matrix();
  }
  [[nodiscard]] Eigen::MatrixXd checked_standardise(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                    const char* what) const {
    if (x.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::score::kernel_score::", what, ": cloud has ", x.cols(),
                                           " columns, expected ", dimension());
    }
    if (!x.allFinite()) {
      core::detail::throw_invalid_argument("upfi::score::kernel_score::", what, ": non-finite coordinates");
    }
    return (x.array().rowwise() / m_sigma.array()).matrix();
  }

  static double rule_of_thumb(bandwidth_rule rule, Eigen::Index n, Eigen::Index d) {
    const double dd = static_cast<double>(d), base = std::pow(static_cast<double>(n), -1.0 / (dd + 4.0));
    return rule == bandwidth_rule::silverman ? std::pow(4.0 / (dd + 2.0), 1.0 / (dd + 4.0)) * base : base;
  }

  // Bandwidth minimising the cross-validated implicit score-matching loss: log grid over [1/8, 8] x Scott, then
  // golden section in log h around the best grid point; rescaled from the training size to the full snapshot.
  double held_out_bandwidth(const Eigen::MatrixXd& v, const kernel_score_options& options, std::size_t index) const {
    const Eigen::Index n = v.rows(), d = v.cols();
    // deterministic shuffle: sort indices by counter-based uniforms
    Eigen::MatrixXd keys(n, 1);
    core::counter_rng(options.seed, static_cast<std::uint32_t>(index)).fill_uniform(keys, 0);
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    std::sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return keys(a, 0) < keys(b, 0); });
    Eigen::MatrixXd shuffled(n, d);
    for (Eigen::Index r = 0; r < n; ++r) shuffled.row(r) = v.row(order[static_cast<std::size_t>(r)]);
    // fold k holds out rows [begin_k, end_k) of the shuffled sample; folds == 1: one split of held_out_fraction
    std::vector<std::pair<Eigen::Index, Eigen::Index>> held;
    if (options.folds == 1) {
      held.emplace_back(
          0, std::clamp<Eigen::Index>(
                 static_cast<Eigen::Index>(std::lround(options.held_out_fraction * static_cast<double>(n))), 1, n - 2));
    } else {
      const Eigen::Index k = std::min<Eigen::Index>(options.folds, n);
      for (Eigen::Index f = 0; f < k; ++f) held.emplace_back(f * n / k, (f + 1) * n / k);
    }
    std::vector<Eigen::MatrixXd> tests, trains;
    double train_rows = 0;
    for (const auto& [begin, end] : held) {
      tests.push_back(shuffled.middleRows(begin, end - begin));
      Eigen::MatrixXd train(n - (end - begin), d);
      train << shuffled.topRows(begin), shuffled.bottomRows(n - end);
      train_rows += static_cast<double>(train.rows()) / static_cast<double>(held.size());
      trains.push_back(std::move(train));
    }
    const auto loss = [&](double log_h) {  // mean over all held-out points
      double total = 0;
      for (std::size_t f = 0; f < held.size(); ++f) {
        total +=
            implicit_score_matching_loss(trains[f], tests[f], std::exp(log_h)) * static_cast<double>(tests[f].rows());
      }
      return total;
    };
    const double scott = rule_of_thumb(bandwidth_rule::scott, static_cast<Eigen::Index>(train_rows), d);
    constexpr int grid = 13;
    double best_log = 0, best = std::numeric_limits<double>::infinity();
    int best_k = 0;
    const double lo = std::log(scott / 8), step = std::log(64.0) / (grid - 1);
    for (int k = 0; k < grid; ++k) {
      const double value = loss(lo + step * k);
      if (value < best) {
        best = value;
        best_log = lo + step * k;
        best_k = k;
      }
    }
    double a = lo + step * std::max(0, best_k - 1), b = lo + step * std::min(grid - 1, best_k + 1);
    const double g = (std::sqrt(5.0) - 1) / 2;
    double c = b - g * (b - a), e = a + g * (b - a), fc = loss(c), fe = loss(e);
    for (int it = 0; it < 20; ++it) {
      if (fc < fe) {
        b = e;
        e = c;
        fe = fc;
        c = b - g * (b - a);
        fc = loss(c);
      } else {
        a = c;
        c = e;
        fc = fe;
        e = a + g * (b - a);
        fe = loss(e);
      }
    }
    const double refined = fc < fe ? c : e;
    if (std::min(fc, fe) < best) best_log = refined;
    const double ratio = train_rows / static_cast<double>(n);
    return std::exp(best_log) * std::pow(ratio, 1.0 / (static_cast<double>(d) + 4.0));
  }

  // Components active at time t with their responsibilities beta (rows sum to 1) and scores.
  [[nodiscard]] std::vector<component> mixture(double t, const Eigen::MatrixXd& u, bool second_moments) const {
    if (!std::isfinite(t)) core::detail::throw_invalid_argument("upfi::score::kernel_score: t is not finite");
    std::vector<std::pair<std::size_t, double>> active;  // snapshot, mixture weight
    const std::size_t k = m_times.size();
    if (t <= m_times.front()) {
      active.emplace_back(0, 1.0);
    } else if (t >= m_times.back()) {
      active.emplace_back(k - 1, 1.0);
    } else {
      const std::size_t i =
          static_cast<std::size_t>(std::upper_bound(m_times.begin(), m_times.end(), t) - m_times.begin()) - 1;
      const double lambda = (t - m_times[i]) / (m_times[i + 1] - m_times[i]);
      if (lambda < 1) active.emplace_back(i, 1 - lambda);
      if (lambda > 0) active.emplace_back(i + 1, lambda);
    }
    const Eigen::Index d = dimension(), n = u.rows();
    std::vector<component> parts;
    Eigen::MatrixXd log_w(n, static_cast<Eigen::Index>(active.size()));
    for (std::size_t a = 0; a < active.size(); ++a) {
      const Eigen::MatrixXd& v = m_samples[active[a].first];
      component p;
      p.h = m_bandwidths[active[a].first];
      const Eigen::Index k_values = second_moments ? d + d * d : d;
      Eigen::MatrixXd values(v.rows(), k_values);
      values.leftCols(d) = v;
      if (second_moments) {
        for (Eigen::Index q = 0; q < d; ++q)
          for (Eigen::Index r = 0; r < d; ++r) values.col(d + q * d + r) = v.col(q).cwiseProduct(v.col(r));
      }
      Eigen::MatrixXd avg(n, k_values);
      Eigen::VectorXd lse(n);
      const Eigen::VectorXd zero = Eigen::VectorXd::Zero(v.rows());
      ot::online_softmax_average<double>(u, v, zero, p.h * p.h, values, avg, lse);
      p.mean = avg.leftCols(d);
      p.s = (p.mean - u) / (p.h * p.h);
      if (second_moments) p.second = avg.rightCols(d * d);
      log_w.col(static_cast<Eigen::Index>(a)) =
          (lse.array() + std::log(active[a].second / static_cast<double>(v.rows())) -
           static_cast<double>(d) * std::log(p.h))
              .matrix();
      parts.push_back(std::move(p));
    }
    const Eigen::VectorXd mx = log_w.rowwise().maxCoeff();
    Eigen::MatrixXd w = (log_w.colwise() - mx).array().exp().matrix();
    const Eigen::VectorXd total = w.rowwise().sum();
    for (std::size_t a = 0; a < parts.size(); ++a) {
      parts[a].beta = w.col(static_cast<Eigen::Index>(a)).cwiseQuotient(total);
    }
    return parts;
  }

  std::vector<double> m_times;
  Eigen::RowVectorXd m_sigma;
  std::vector<Eigen::MatrixXd> m_samples;  // standardised
  std::vector<double> m_bandwidths;
};

static_assert(ScoreModelWithVjp<kernel_score>);

}  // namespace upfi::score
