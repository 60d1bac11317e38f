// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/parallel.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using upfi::core::deterministic_reduce;
using upfi::core::parallel_for;

TEST_SUITE("core/parallel") {
  TEST_CASE("parallel_for visits every index exactly once in blocks of the requested size") {
    for (Eigen::Index n : {0, 1, 7, 256, 257, 10000}) {
      CAPTURE(n);
      std::vector<int> hits(static_cast<std::size_t>(n), 0);
      std::atomic<int> bad_block{0};
      parallel_for(n, 64, [&](Eigen::Index begin, Eigen::Index end) {
        if (begin % 64 != 0 || end - begin > 64 || end > n) ++bad_block;
        for (Eigen::Index i = begin; i < end; ++i) hits[static_cast<std::size_t>(i)] += 1;
      });
      CHECK(bad_block == 0);
      for (int h : hits) REQUIRE(h == 1);
    }
  }

  TEST_CASE("deterministic_reduce gives bit-identical sums for 1 and 2 threads") {
    // Terms of wildly different magnitude: any change of summation order changes the rounded result.
    const Eigen::Index n = 100003;
    std::vector<double> x(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) {
      x[static_cast<std::size_t>(i)] =
          std::pow(-1.0, static_cast<double>(i)) * std::exp(std::sin(0.37 * static_cast<double>(i)) * 20.0);
    }
    const auto sum = [&] {
      return deterministic_reduce(
          n, 97, 0.0,
          [&](Eigen::Index b, Eigen::Index e) {
            double s = 0;
            for (Eigen::Index i = b; i < e; ++i) s += x[static_cast<std::size_t>(i)];
            return s;
          },
          [](double a, double b) { return a + b; });
    };
    double one = 0, two = 0;
    {
      const upfi::core::thread_limit t(1);
      one = sum();
    }
    {
      const upfi::core::thread_limit t(2);
      two = sum();
    }
    CHECK(std::memcmp(&one, &two, sizeof one) == 0);
    // and it equals the serial fold over the same block partition
    double serial = 0;
    for (Eigen::Index b = 0; b < n; b += 97) {
      double s = 0;
      for (Eigen::Index i = b; i < std::min(n, b + 97); ++i) s += x[static_cast<std::size_t>(i)];
      serial += s;
    }
    CHECK(std::memcmp(&one, &serial, sizeof one) == 0);
  }

  TEST_CASE("deterministic_reduce of an empty range returns the initial value") {
    const int r = deterministic_reduce(
        0, 8, 5, [](Eigen::Index, Eigen::Index) { return 1; }, [](int a, int b) { return a + b; });
    CHECK(r == 5);
  }

  TEST_CASE("an exception in a block is rethrown, the lowest block's first") {
    const upfi::core::thread_limit t(2);
    try {
      parallel_for(1000, 10, [](Eigen::Index begin, Eigen::Index) {
        if (begin >= 500) throw std::runtime_error("block " + std::to_string(begin / 10));
      });
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()) == "block 50");
    }
  }

  TEST_CASE("invalid block sizes and thread counts are rejected") {
    CHECK_THROWS_WITH_AS(parallel_for(10, 0, [](Eigen::Index, Eigen::Index) {}),
                         "upfi::core::parallel_for: need n >= 0 and block >= 1, got n = 10, block = 0",
                         std::invalid_argument);
    CHECK_THROWS_AS(upfi::core::thread_limit(0), std::invalid_argument);
  }
}
