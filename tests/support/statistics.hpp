// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// Statistical helpers for sampler tests: distribution functions and goodness-of-fit statistics.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

namespace upfi::test {

inline double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

/// Kolmogorov-Smirnov statistic D_n = sup |F_n(x) - F(x)| of `sample` against the continuous cdf F.
template <class Cdf>
double ks_statistic(std::vector<double> sample, Cdf cdf) {
  std::sort(sample.begin(), sample.end());
  const double n = static_cast<double>(sample.size());
  double d = 0;
  for (std::size_t i = 0; i < sample.size(); ++i) {
    const double f = cdf(sample[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}

/// Asymptotic KS critical value at significance alpha: c(alpha) / sqrt(n), c = sqrt(-log(alpha / 2) / 2).
inline double ks_critical(std::size_t n, double alpha) {
  return std::sqrt(-0.5 * std::log(alpha / 2)) / std::sqrt(static_cast<double>(n));
}

/// Pearson chi-square statistic of observed counts against equal expected counts.
inline double chi_square_uniform(const std::vector<std::size_t>& counts) {
  double total = 0;
  for (auto c : counts) total += static_cast<double>(c);
  const double expected = total / static_cast<double>(counts.size());
  double chi2 = 0;
  for (auto c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  return chi2;
}

/// Mean and standard error of the mean of a sample.
struct mean_sem {
  double mean = 0, sem = 0;
};

/// The sample mean and s / sqrt(n) (s: the sample standard deviation) of a range of at least two numbers (any range
/// of doubles: std::vector, an Eigen vector or column).
template <class Range>
mean_sem summarise(const Range& sample) {
  double n = 0, sum = 0;
  for (const double x : sample) {
    n += 1;
    sum += x;
  }
  const double mean = sum / n;
  double sq = 0;
  for (const double x : sample) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / (n - 1) / n)};
}

/// Upper bound for a chi-square(k) variable exceeded with probability ~1e-6 (Wilson-Hilferty, z = 4.75).
inline double chi_square_bound(double k) {
  const double z = 4.75;
  const double a = 2.0 / (9.0 * k);
  return k * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

}  // namespace upfi::test
