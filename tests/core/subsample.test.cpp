// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/subsample.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <vector>

TEST_SUITE("core") {
  TEST_CASE("random_rows: distinct rows of the cloud, deterministic per stream, uniform inclusion") {
    const Eigen::Index n = 20, m = 5;
    Eigen::MatrixXd cloud(n, 2);
    for (Eigen::Index r = 0; r < n; ++r) cloud.row(r) << static_cast<double>(r), -static_cast<double>(r);
    const auto a = upfi::core::random_rows(cloud, m, upfi::core::counter_rng(3, 1));
    REQUIRE(a.rows() == m);
    std::set<double> ids;
    for (Eigen::Index r = 0; r < m; ++r) {
      CHECK(a(r, 1) == -a(r, 0));  // whole rows of the cloud
      ids.insert(a(r, 0));
    }
    CHECK(ids.size() == static_cast<std::size_t>(m));  // without replacement
    CHECK(upfi::core::random_rows(cloud, m, upfi::core::counter_rng(3, 1)) == a);
    CHECK(upfi::core::random_rows(cloud, m, upfi::core::counter_rng(3, 2)) != a);
    CHECK(upfi::core::random_rows(cloud, n + 3, upfi::core::counter_rng(3, 1)) == cloud);
    CHECK(upfi::core::random_rows(cloud, 0, upfi::core::counter_rng(3, 1)).rows() == 0);
    // every row is included with probability m / n: counts over 4000 streams within 5 binomial sigmas
    const int streams = 4000;
    std::vector<int> hits(static_cast<std::size_t>(n), 0);
    for (int s = 0; s < streams; ++s) {
      const auto b = upfi::core::random_rows(cloud, m, upfi::core::counter_rng(7, static_cast<std::uint32_t>(s)));
      for (Eigen::Index r = 0; r < m; ++r) ++hits[static_cast<std::size_t>(b(r, 0))];
    }
    const double p = static_cast<double>(m) / n, mean = streams * p, sd = std::sqrt(streams * p * (1 - p));
    for (int h : hits) CHECK(std::abs(h - mean) < 5 * sd);
    CHECK_THROWS_WITH_AS((void)upfi::core::random_rows(cloud, -1, upfi::core::counter_rng(0, 0)),
                         "upfi::core::random_rows: m = -1 must be >= 0", std::invalid_argument);
  }
}
