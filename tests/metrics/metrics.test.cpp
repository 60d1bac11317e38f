// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/metrics.hpp>

#include <doctest/doctest.h>

#include "support/random_matrix.hpp"

#include <cmath>
#include <vector>

using upfi::test::random_matrix;

TEST_SUITE("metrics") {
  TEST_CASE("path energy distance: zero for identical path sets, 2 |c| sqrt(T dt) between constant paths") {
    const double dt = 0.1;
    std::vector<Eigen::MatrixXd> a, b, c;
    for (int k = 0; k < 5; ++k) {
      a.push_back(random_matrix(30, 2, static_cast<std::uint32_t>(k)));
      b.push_back(Eigen::MatrixXd::Zero(4, 2));
      c.push_back(Eigen::MatrixXd::Constant(3, 2, 0.5));
    }
    CHECK(std::abs(upfi::metrics::path_energy_distance(a, a, dt)) < 1e-12);
    // |path difference| = sqrt(T dt) |(0.5, 0.5)| = sqrt(0.5) * sqrt(0.5)
    CHECK(upfi::metrics::path_energy_distance(b, c, dt) == doctest::Approx(2 * std::sqrt(5 * dt) * std::sqrt(0.5)));
    CHECK(upfi::metrics::path_energy_distance(a, c, dt) > 0);
    CHECK_THROWS_AS(
        (void)upfi::metrics::path_energy_distance(a, std::vector<Eigen::MatrixXd>(a.begin(), a.end() - 1), dt),
        std::invalid_argument);
    auto bad = a;
    bad[2] = random_matrix(29, 2, 9);
    CHECK_THROWS_WITH_AS((void)upfi::metrics::flatten_paths(bad, dt), doctest::Contains("grid time 2"),
                         std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::metrics::flatten_paths(a, 0.0), std::invalid_argument);
  }

  TEST_CASE("wasserstein1: point masses and shifted clouds") {
    const Eigen::MatrixXd x = random_matrix(40, 3, 1);
    Eigen::MatrixXd y = x;
    y.col(0).array() += 0.7;  // a translation moves every point by 0.7: W1 = 0.7
    CHECK(upfi::metrics::wasserstein1(x, y) == doctest::Approx(0.7).epsilon(1e-9));
    CHECK(std::abs(upfi::metrics::wasserstein1(x, x)) < 1e-12);
    CHECK_THROWS_AS((void)upfi::metrics::wasserstein1(x, random_matrix(5, 2, 2)), std::invalid_argument);
  }

  TEST_CASE("force errors, Pearson correlation and TV fate error: closed forms and bad input") {
    const Eigen::MatrixXd v = random_matrix(50, 3, 3);
    auto e = upfi::metrics::force_errors(v, 2 * v);
    CHECK(std::abs(e.cosine) < 1e-12);
    CHECK(e.relative_l2 == doctest::Approx(1.0));
    CHECK(e.rms == doctest::Approx(std::sqrt(v.rowwise().squaredNorm().mean())));
    e = upfi::metrics::force_errors(v, -v);
    CHECK(e.cosine == doctest::Approx(2.0));
    CHECK(e.mean_norm == doctest::Approx(2 * v.rowwise().norm().mean()));
    CHECK_THROWS_AS((void)upfi::metrics::force_errors(v, v.leftCols(2)), std::invalid_argument);

    const Eigen::VectorXd a = random_matrix(20, 1, 4).col(0);
    CHECK(upfi::metrics::pearson(a, 3 * a.array() + 1) == doctest::Approx(1.0));
    CHECK(upfi::metrics::pearson(a, -a) == doctest::Approx(-1.0));
    CHECK_THROWS_WITH_AS((void)upfi::metrics::pearson(a, Eigen::VectorXd::Ones(20)), doctest::Contains("constant"),
                         std::invalid_argument);

    Eigen::MatrixXd p(2, 2), q(2, 2);
    p << 1.0, 0.0, 0.5, 0.5;
    q << 0.0, 1.0, 0.5, 0.5;
    CHECK(upfi::metrics::tv_fate_error(p, q) == doctest::Approx(0.5));  // (1 + 0) / 2
    q(0, 0) = 1.5;
    CHECK_THROWS_AS((void)upfi::metrics::tv_fate_error(p, q), std::invalid_argument);
  }

  TEST_CASE("AUROC and AUPR: hand-computed values, ties, bad labels") {
    const Eigen::VectorXd s = (Eigen::VectorXd(4) << 0.9, 0.8, 0.7, 0.6).finished();
    const std::vector<bool> l{true, false, true, false};
    CHECK(upfi::metrics::auroc(s, l) == doctest::Approx(0.75));                // 3 of 4 positive-negative pairs ordered
    CHECK(upfi::metrics::aupr(s, l) == doctest::Approx((1.0 + 2.0 / 3) / 2));  // precision at each positive
    CHECK(upfi::metrics::auroc(s, {true, true, false, false}) == doctest::Approx(1.0));
    CHECK(upfi::metrics::auroc(s, {false, false, true, true}) == doctest::Approx(0.0));
    const Eigen::VectorXd tied = Eigen::VectorXd::Constant(4, 0.3);
    CHECK(upfi::metrics::auroc(tied, l) == doctest::Approx(0.5));
    CHECK(upfi::metrics::aupr(tied, l) == doctest::Approx(0.5));  // one threshold: precision 1/2, recall 1
    CHECK_THROWS_WITH_AS((void)upfi::metrics::auroc(s, {true, true, true, true}),
                         doctest::Contains("one positive and one negative"), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::metrics::aupr(s, {true, false}), std::invalid_argument);
  }

  TEST_CASE("k-means separates two blobs; fate probabilities of a double well") {
    Eigen::MatrixXd x(200, 2);
    x.topRows(100) = 0.1 * random_matrix(100, 2, 5);
    x.bottomRows(100) = 0.1 * random_matrix(100, 2, 6);
    x.bottomRows(100).col(0).array() += 3.0;
    const auto km = upfi::metrics::kmeans(x, 2, 7);
    CHECK(km.converged);
    for (Eigen::Index i = 1; i < 100; ++i) CHECK(km.labels[static_cast<std::size_t>(i)] == km.labels[0]);
    for (Eigen::Index i = 101; i < 200; ++i) CHECK(km.labels[static_cast<std::size_t>(i)] == km.labels[100]);
    CHECK(km.labels[0] != km.labels[100]);
    CHECK(upfi::metrics::kmeans(x, 2, 7).centres == km.centres);  // deterministic for a seed
    CHECK_THROWS_AS((void)upfi::metrics::kmeans(x, 0), std::invalid_argument);

    // dx = (x - x^3) dt + sigma dB in 1-D: wells at -1 and +1
    const auto drift = [](double, const Eigen::MatrixXd& y, Eigen::MatrixXd& out) {
      out = y.array() - y.array().cube();
    };
    const Eigen::MatrixXd centres = (Eigen::MatrixXd(2, 1) << -1.0, 1.0).finished();
    const Eigen::MatrixXd queries = (Eigen::MatrixXd(3, 1) << -0.8, 0.0, 0.8).finished();
    upfi::metrics::fate_options o{.t0 = 0, .t1 = 5, .steps = 200, .paths = 4000, .seed = 3};
    const Eigen::MatrixXd p =
        upfi::metrics::fate_probabilities(drift, Eigen::MatrixXd::Constant(1, 1, 0.3), queries, centres, o);
    CHECK((p.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-12);
    CHECK(p(0, 0) > 0.95);
    CHECK(p(2, 1) > 0.95);
    // by symmetry the query at 0 splits evenly: 4 sigma binomial bound with M = 4000
    CHECK(std::abs(p(1, 0) - 0.5) < 4 * std::sqrt(0.25 / 4000));
    // without noise the fates are deterministic
    const Eigen::MatrixXd q0 =
        upfi::metrics::fate_probabilities(drift, Eigen::MatrixXd::Zero(1, 1), queries.topRows(1), centres, o);
    CHECK(q0(0, 0) ==
          1.0);  // exactly: counts divided once (10 sums of 1/10 would give 1 - 1 ulp, 4000 of 1/4000 1 + ulps)
    CHECK(q0(0, 1) == 0.0);
    o.paths = 10;
    CHECK(upfi::metrics::fate_probabilities(drift, Eigen::MatrixXd::Zero(1, 1), queries.topRows(1), centres, o)(0, 0) ==
          1.0);
  }

  TEST_CASE("fate paths in d > 2 use independent increments at every step (Brownian variance t) [slow]") {
    // zero drift, sigma = I, one query at 0: X_1 ~ N(0, I), so for any unit vector u the path ends nearer 3 u than 0,
    // i.e. u.X > 1.5, with probability 1 - Phi(1.5) = 0.0668. Increments shared between steps (as before the counter
    // fix, where step s + 1 reused some of step s's normals in other coordinates) correlate the coordinates and
    // inflate Var(u.X) for the all-ones direction.
    const Eigen::Index d = 5;
    const auto zero = [](double, const Eigen::MatrixXd& y, Eigen::MatrixXd& out) { out.setZero(y.rows(), y.cols()); };
    const upfi::metrics::fate_options o{.t0 = 0, .t1 = 1, .steps = 50, .paths = 20000, .seed = 11};
    const double expected = 0.5 * std::erfc(1.5 / std::sqrt(2.0)), sd = std::sqrt(expected * (1 - expected) / 20000);
    std::vector<Eigen::RowVectorXd> directions;
    for (Eigen::Index j = 0; j < d; ++j) directions.push_back(Eigen::RowVectorXd::Unit(d, j));
    directions.push_back(Eigen::RowVectorXd::Ones(d) / std::sqrt(static_cast<double>(d)));
    Eigen::RowVectorXd alternating(d);
    for (Eigen::Index j = 0; j < d; ++j) alternating[j] = (j % 2 == 0) ? 1.0 : -1.0;
    directions.push_back(alternating.normalized());
    for (std::size_t k = 0; k < directions.size(); ++k) {
      Eigen::MatrixXd centres = Eigen::MatrixXd::Zero(2, d);
      centres.row(1) = 3.0 * directions[k];
      const Eigen::MatrixXd p = upfi::metrics::fate_probabilities(zero, Eigen::MatrixXd::Identity(d, d),
                                                                  Eigen::MatrixXd::Zero(1, d), centres, o);
      CAPTURE(k);
      CHECK(std::abs(p(0, 1) - expected) < 5 * sd);
    }
  }
}
