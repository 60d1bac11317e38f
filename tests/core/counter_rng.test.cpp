// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>

#include <Eigen/Core>
#include <doctest/doctest.h>

#include "support/seed.hpp"
#include "support/statistics.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

using upfi::core::counter_rng;

namespace {
// Moments of a sample: mean, variance, skewness, excess kurtosis.
struct moments {
  double mean, var, skew, kurt;
};
moments sample_moments(const std::vector<double>& x) {
  const double n = static_cast<double>(x.size());
  double m = 0;
  for (double v : x) m += v;
  m /= n;
  double m2 = 0, m3 = 0, m4 = 0;
  for (double v : x) {
    const double c = v - m;
    m2 += c * c;
    m3 += c * c * c;
    m4 += c * c * c * c;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return {m, m2, m3 / std::pow(m2, 1.5), m4 / (m2 * m2) - 3.0};
}

// n draws taken two at a time from `pair(block, counter)` for blocks 0, 1, ...
template <class Pair>
std::vector<double> draws(std::size_t n, std::uint32_t counter, Pair pair) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; i += 2) {
    const auto p = pair(i / 2, counter);
    x[i] = p[0];
    x[i + 1] = p[1];
  }
  return x;
}
}  // namespace

TEST_SUITE("core/counter_rng") {
  TEST_CASE("a draw is a pure function of (seed, stream, index, counter)") {
    const counter_rng a(upfi::test::seed(), 3);
    const counter_rng b(upfi::test::seed(), 3);
    CHECK(a.normal(17, 5) == b.normal(17, 5));
    CHECK(a.uniform(17, 5) == b.uniform(17, 5));
    // each coordinate of the tuple matters
    CHECK(a.bits(17, 5) != a.bits(18, 5));
    CHECK(a.bits(17, 5) != a.bits(17, 6));
    CHECK(a.bits(17, 5) != a.with_stream(4).bits(17, 5));
    CHECK(a.bits(17, 5) != counter_rng(upfi::test::seed() + 1, 3).bits(17, 5));
    // the high half of a 64-bit index is used, not truncated
    CHECK(a.bits(17, 5) != a.bits(17 + (std::uint64_t{1} << 32), 5));
    CHECK(a.with_stream(9).stream() == 9);
    CHECK(a.with_stream(9).seed() == a.seed());
  }

  TEST_CASE("uniforms lie in the open unit interval with the moments of U(0,1)") {
    const counter_rng rng(upfi::test::seed());
    const std::size_t n = 400000;
    const std::vector<double> u = draws(n, 0, [&](std::uint64_t i, std::uint32_t c) { return rng.uniform_pair(i, c); });
    for (double v : u) REQUIRE((v > 0.0 && v < 1.0));
    const moments m = sample_moments(u);
    const double sn = std::sqrt(static_cast<double>(n));
    CHECK(std::abs(m.mean - 0.5) < 5.0 * std::sqrt(1.0 / 12.0) / sn);
    // Var of the sample variance of U(0,1): (mu4 - sigma^4) / n with mu4 = 1/80, sigma^4 = 1/144.
    CHECK(std::abs(m.var - 1.0 / 12.0) < 5.0 * std::sqrt(1.0 / 80.0 - 1.0 / 144.0) / sn);
    CHECK(upfi::test::ks_statistic(u, [](double x) { return x; }) < upfi::test::ks_critical(n, 1e-6));
  }

  TEST_CASE("uniforms pass a chi-square test on 256 equal bins") {
    const counter_rng rng(upfi::test::seed(), 1);
    std::vector<std::size_t> counts(256, 0);
    for (std::uint64_t i = 0; i < 512 * 1000; ++i) {
      counts[static_cast<std::size_t>(rng.uniform(i, 7) * 256.0)] += 1;
    }
    CHECK(upfi::test::chi_square_uniform(counts) < upfi::test::chi_square_bound(255.0));
  }

  TEST_CASE("normals have the moments of N(0,1) and pass a Kolmogorov-Smirnov test") {
    const counter_rng rng(upfi::test::seed(), 2);
    const std::size_t n = 400000;
    const std::vector<double> z = draws(n, 11, [&](std::uint64_t i, std::uint32_t c) { return rng.normal_pair(i, c); });
    const moments m = sample_moments(z);
    const double sn = std::sqrt(static_cast<double>(n));
    CHECK(std::abs(m.mean) < 5.0 / sn);
    CHECK(std::abs(m.var - 1.0) < 5.0 * std::sqrt(2.0) / sn);
    CHECK(std::abs(m.skew) < 5.0 * std::sqrt(6.0) / sn);
    CHECK(std::abs(m.kurt) < 5.0 * std::sqrt(24.0) / sn);
    CHECK(upfi::test::ks_statistic(z, upfi::test::normal_cdf) < upfi::test::ks_critical(n, 1e-6));
  }

  TEST_CASE("draws at neighbouring indices, counters, streams and within a pair are uncorrelated") {
    const counter_rng rng(upfi::test::seed());
    const counter_rng other = rng.with_stream(1);
    const std::size_t n = 200000;
    double s_pair = 0, s_index = 0, s_counter = 0, s_stream = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto p = rng.normal_pair(i, 0);
      s_pair += p[0] * p[1];
      s_index += p[0] * rng.normal(i + 1, 0);
      s_counter += p[0] * rng.normal(i, 1);
      s_stream += p[0] * other.normal(i, 0);
    }
    // Each product of independent N(0,1) has unit variance: the mean is within 5/sqrt(n) of 0.
    const double bound = 5.0 / std::sqrt(static_cast<double>(n));
    CHECK(std::abs(s_pair / n) < bound);
    CHECK(std::abs(s_index / n) < bound);
    CHECK(std::abs(s_counter / n) < bound);
    CHECK(std::abs(s_stream / n) < bound);
  }

  TEST_CASE("fill_normal follows the documented (index, counter) layout") {
    const counter_rng rng(upfi::test::seed(), 5);
    for (Eigen::Index d : {1, 2, 3, 7}) {
      CAPTURE(d);
      Eigen::MatrixXd z(37, d);
      rng.fill_normal(z, 100, 1000);
      CHECK(counter_rng::counters_per_vector(d) == static_cast<std::uint32_t>((d + 1) / 2));
      for (Eigen::Index i = 0; i < z.rows(); ++i) {
        for (Eigen::Index j = 0; j < d; ++j) {
          const auto p = rng.normal_pair(1000 + static_cast<std::uint64_t>(i), 100 + static_cast<std::uint32_t>(j / 2));
          REQUIRE(z(i, j) == p[static_cast<std::size_t>(j % 2)]);
        }
      }
    }
  }

  TEST_CASE("fill_normal and fill_uniform give bit-identical output with 1 and 2 threads") {
    const counter_rng rng(upfi::test::seed(), 8);
    Eigen::MatrixXd a(5003, 5), b(5003, 5), ua(5003, 5), ub(5003, 5);
    Eigen::MatrixXf fa(1001, 3), fb(1001, 3);
    {
      const upfi::core::thread_limit one(1);
      rng.fill_normal(a, 3);
      rng.fill_uniform(ua, 3);
      rng.fill_normal(fa, 9);
    }
    {
      const upfi::core::thread_limit two(2);
      rng.fill_normal(b, 3);
      rng.fill_uniform(ub, 3);
      rng.fill_normal(fb, 9);
    }
    CHECK(std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0);
    CHECK(std::memcmp(ua.data(), ub.data(), sizeof(double) * static_cast<std::size_t>(ua.size())) == 0);
    CHECK(std::memcmp(fa.data(), fb.data(), sizeof(float) * static_cast<std::size_t>(fa.size())) == 0);
    // float output is the rounded double draw
    CHECK(fa(10, 2) == static_cast<float>(rng.normal_pair(10, 10)[0]));
  }

  TEST_CASE("fill_normal writes into blocks of a larger matrix") {
    const counter_rng rng(upfi::test::seed());
    Eigen::MatrixXd big = Eigen::MatrixXd::Constant(10, 4, 42.0);
    rng.fill_normal(big.block(2, 1, 5, 2), 0);
    CHECK(big(0, 0) == 42.0);
    CHECK(big(9, 3) == 42.0);
    CHECK(big(2, 1) == rng.normal_pair(0, 0)[0]);
    CHECK(big(6, 2) == rng.normal_pair(4, 0)[1]);
  }
}
