// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/snapshot_series.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

using upfi::core::mass_convention;
using series = upfi::core::snapshot_series<double>;

namespace {
Eigen::MatrixXd cloud(Eigen::Index n, Eigen::Index d, double offset) {
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) x(i, j) = offset + static_cast<double>(i) + 0.25 * static_cast<double>(j);
  }
  return x;
}
}  // namespace

TEST_SUITE("core/snapshot_series") {
  TEST_CASE("relative masses from counts are N_i / N_0") {
    const series s({0.0, 1.0, 2.5}, {cloud(4, 2, 0), cloud(6, 2, 1), cloud(2, 2, 2)});
    CHECK(s.size() == 3);
    CHECK(s.dimension() == 2);
    CHECK(s.masses() == mass_convention::counts);
    CHECK_FALSE(s.frequencies_only());
    CHECK(s.relative_masses() == std::vector<double>{1.0, 1.5, 0.5});
    CHECK(s.count(1) == 6);
    CHECK(s.total_count() == 12);
    CHECK(s.time(2) == 2.5);
    CHECK(std::string(upfi::core::to_string(s.masses())) == "counts");
  }

  TEST_CASE("given masses and frequencies-only series") {
    const series g({0.0, 1.0}, {cloud(4, 2, 0), cloud(6, 2, 1)}, {2.0, 3.0});
    CHECK(g.masses() == mass_convention::given);
    CHECK(g.relative_mass(1) == 3.0);
    const series f = series::frequencies_only({0.0, 1.0}, {cloud(4, 2, 0), cloud(6, 2, 1)});
    CHECK(f.frequencies_only());
    CHECK(f.relative_masses() == std::vector<double>{1.0, 1.0});
  }

  TEST_CASE("select and without keep times and relative masses") {
    const series s({0.0, 1.0, 2.0, 3.0}, {cloud(2, 1, 0), cloud(4, 1, 1), cloud(6, 1, 2), cloud(8, 1, 3)});
    const series loo = s.without(1);
    CHECK(loo.times() == std::vector<double>{0.0, 2.0, 3.0});
    CHECK(loo.relative_masses() == std::vector<double>{1.0, 3.0, 4.0});  // still relative to the original N_0
    CHECK(loo.cloud(1) == s.cloud(2));
    const std::vector<std::size_t> bad{2, 1};
    CHECK_THROWS_WITH_AS((void)s.select(bad),
                         "upfi::core::snapshot_series::select: indices must be strictly increasing; 1 follows 2",
                         std::invalid_argument);
    const std::vector<std::size_t> out_of_range{0, 9};
    CHECK_THROWS_AS((void)s.select(out_of_range), std::invalid_argument);
    CHECK_THROWS_AS((void)s.without(4), std::invalid_argument);
  }

  TEST_CASE("with_smoothed_masses: least-squares polynomials of log M in time") {
    const std::vector<double> t{0.0, 0.5, 1.0, 2.0, 3.0};
    std::vector<Eigen::MatrixXd> clouds;
    for (int k = 0; k < 5; ++k) clouds.push_back(cloud(3 + k, 2, k));
    // log M exactly quadratic in t: degree 2 reproduces it, and so does every higher degree
    std::vector<double> quadratic;
    for (const double ti : t) quadratic.push_back(std::exp(0.3 + 0.8 * ti - 0.1 * ti * ti));
    const series q(t, clouds, quadratic);
    for (const int degree : {2, 3, 4}) {
      const series sq = q.with_smoothed_masses(degree);
      for (std::size_t k = 0; k < t.size(); ++k) {
        CHECK(sq.relative_mass(k) == doctest::Approx(quadratic[k]).epsilon(1e-12));
      }
    }
    // counts: degree 0 gives the geometric mean of M everywhere; degree 4 = size - 1 interpolates
    const series s(t, clouds);  // M = 1, 4/3, 5/3, 2, 7/3
    const series s0 = s.with_smoothed_masses(0);
    double log_mean = 0;
    for (const double m : s.relative_masses()) log_mean += std::log(m) / 5;
    for (const double m : s0.relative_masses()) CHECK(m == doctest::Approx(std::exp(log_mean)).epsilon(1e-12));
    const series s4 = s.with_smoothed_masses(4);
    for (std::size_t k = 0; k < t.size(); ++k) {
      CHECK(s4.relative_mass(k) == doctest::Approx(s.relative_mass(k)).epsilon(1e-10));
    }
    // degree 1 on three equally spaced points: the line through the mean with the end points' slope, so the middle
    // log-mass is the mean of the three and the residuals are -r, 2r, -r
    const series three({0.0, 1.0, 2.0}, {cloud(2, 1, 0), cloud(2, 1, 1), cloud(2, 1, 2)},
                       {1.0, std::exp(1.3), std::exp(2.0)});
    const series lin = three.with_smoothed_masses(1);
    CHECK(std::log(lin.relative_mass(1)) == doctest::Approx(3.3 / 3).epsilon(1e-12));
    CHECK(std::log(lin.relative_mass(2)) - std::log(lin.relative_mass(0)) == doctest::Approx(2.0).epsilon(1e-12));
    // clouds and times kept; the masses are now given
    CHECK(s0.masses() == mass_convention::given);
    CHECK(s0.times() == s.times());
    CHECK(s0.cloud(3) == s.cloud(3));
    CHECK_THROWS_WITH_AS((void)s.with_smoothed_masses(5),
                         "upfi::core::snapshot_series::with_smoothed_masses: degree 5 must lie in 0 ... 4 for 5 "
                         "snapshots",
                         std::invalid_argument);
    CHECK_THROWS_AS((void)s.with_smoothed_masses(-1), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)series::frequencies_only(t, clouds).with_smoothed_masses(1),
                         "upfi::core::snapshot_series::with_smoothed_masses: a frequencies-only series has no masses "
                         "to smooth",
                         std::invalid_argument);
  }

  TEST_CASE("pooled mean and standard deviation over all cells") {
    Eigen::MatrixXd a(2, 1), b(2, 1);
    a << 0, 2;
    b << 4, 6;
    const series s({0.0, 1.0}, {a, b});
    CHECK(s.pooled_mean()(0) == doctest::Approx(3.0));
    CHECK(s.pooled_std()(0) == doctest::Approx(std::sqrt(5.0)));
  }

  TEST_CASE("times must be strictly increasing and finite") {
    CHECK_THROWS_WITH_AS(series({0.0, 2.0, 1.0}, {cloud(2, 2, 0), cloud(2, 2, 0), cloud(2, 2, 0)}),
                         "upfi::core::snapshot_series: snapshot 2 has time 1, not greater than snapshot 1's time 2; "
                         "times must be strictly increasing (sort the snapshots, merge duplicates)",
                         std::invalid_argument);
    CHECK_THROWS_AS(series({0.0, 0.0}, {cloud(2, 2, 0), cloud(2, 2, 0)}), std::invalid_argument);
    CHECK_THROWS_WITH_AS(series({0.0, std::numeric_limits<double>::quiet_NaN()}, {cloud(2, 2, 0), cloud(2, 2, 0)}),
                         "upfi::core::snapshot_series: snapshot 1 has time nan; times must be finite",
                         std::invalid_argument);
  }

  TEST_CASE("every snapshot has the same dimension and at least one cell") {
    CHECK_THROWS_WITH_AS(series({0.0, 1.0}, {cloud(2, 2, 0), cloud(3, 3, 0)}),
                         "upfi::core::snapshot_series: snapshot 1 (t = 1) has 3 coordinates but snapshot 0 has 2; "
                         "every snapshot must live in the same space",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(series({0.0, 1.5}, {cloud(2, 2, 0), cloud(0, 2, 0)}),
                         "upfi::core::snapshot_series: snapshot 1 (t = 1.5) has no cells; drop empty time points",
                         std::invalid_argument);
    CHECK_THROWS_AS(series({0.0}, {cloud(2, 0, 0)}), std::invalid_argument);
    CHECK_THROWS_AS(series({}, {}), std::invalid_argument);
    CHECK_THROWS_WITH_AS(series({0.0}, {cloud(2, 2, 0), cloud(2, 2, 0)}),
                         "upfi::core::snapshot_series: 1 times given for 2 clouds; pass one time per snapshot",
                         std::invalid_argument);
  }

  TEST_CASE("non-finite values are reported with snapshot, row, column and value") {
    Eigen::MatrixXd bad = cloud(5, 3, 0);
    bad(3, 2) = -std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(series({0.0, 0.5}, {cloud(2, 3, 0), bad}),
                         "upfi::core::snapshot_series: snapshot 1 (t = 0.5), row 3, column 2 holds -inf; every value "
                         "must be finite (drop or impute that particle)",
                         std::invalid_argument);
  }

  TEST_CASE("given relative masses must be finite, positive, one per snapshot") {
    CHECK_THROWS_WITH_AS(series({0.0, 1.0}, {cloud(2, 2, 0), cloud(2, 2, 0)}, {1.0, 0.0}),
                         "upfi::core::snapshot_series: snapshot 1 (t = 1) has relative mass 0; relative masses must be "
                         "finite and positive",
                         std::invalid_argument);
    CHECK_THROWS_AS(series({0.0, 1.0}, {cloud(2, 2, 0), cloud(2, 2, 0)}, {1.0}), std::invalid_argument);
  }

  TEST_CASE("float series are supported") {
    const upfi::core::snapshot_series<float> s({0.0f, 1.0f},
                                               {Eigen::MatrixXf::Ones(3, 2), Eigen::MatrixXf::Ones(6, 2)});
    CHECK(s.relative_mass(1) == 2.0f);
  }
}
