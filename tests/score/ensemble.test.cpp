// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/score/ensemble.hpp>
#include <upfi/score/gaussian.hpp>
#include <upfi/score/kernel_score.hpp>

#include <doctest/doctest.h>

#include "score/support.hpp"
#include "support/random_matrix.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <set>
#include <string>

using upfi::score::dsm_score;
using upfi::score::gaussian_score;
using upfi::score::score_ensemble;

static_assert(upfi::RecordingScoreModel<score_ensemble<dsm_score>>);
static_assert(upfi::ScoreModelWithVjp<score_ensemble<gaussian_score>> &&
              !upfi::RecordingScoreModel<score_ensemble<gaussian_score>>);
static_assert(upfi::ScoreModelWithVjp<score_ensemble<upfi::score::kernel_score>>);

TEST_SUITE("score/ensemble") {
  TEST_CASE("the mean of two Gaussian scores is the score of their normalised geometric mean (closed form)") {
    // -(P1 (x - m1) + P2 (x - m2)) / 2 = -P (x - m) with P = (P1 + P2) / 2 and m = P^-1 (P1 m1 + P2 m2) / 2
    const Eigen::MatrixXd a = upfi::test::random_matrix(3, 3, 1), b = upfi::test::random_matrix(3, 3, 2);
    const Eigen::MatrixXd c1 = a * a.transpose() + Eigen::MatrixXd::Identity(3, 3);
    const Eigen::MatrixXd c2 = b * b.transpose() + 0.5 * Eigen::MatrixXd::Identity(3, 3);
    const Eigen::VectorXd m1 = upfi::test::vec(0.5, -1.0, 2.0), m2 = upfi::test::vec(-0.3, 0.4, 0.0);
    const Eigen::MatrixXd p1 = c1.inverse(), p2 = c2.inverse();
    const Eigen::MatrixXd p = (p1 + p2) / 2;
    const Eigen::VectorXd m = p.inverse() * (p1 * m1 + p2 * m2) / 2;
    const score_ensemble<gaussian_score> pair({gaussian_score(m1, c1), gaussian_score(m2, c2)});
    const gaussian_score geometric(m, p.inverse());
    CHECK(pair.size() == 2);
    CHECK(pair.dimension() == 3);

    const Eigen::MatrixXd x = upfi::test::random_matrix(50, 3, 3);
    Eigen::MatrixXd s, ref;
    pair.evaluate(0.3, x, s);
    geometric.evaluate(0.3, x, ref);
    CHECK((s - ref).cwiseAbs().maxCoeff() < 1e-12);
    // the VJP is the mean of the members' (their Jacobians are -P1 and -P2): C (-P)
    const Eigen::MatrixXd cot = upfi::test::random_matrix(50, 3, 4);
    Eigen::MatrixXd dx;
    pair.vjp_x(0.3, x, cot, dx);
    CHECK((dx + cot * p).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(upfi::test::vjp_vs_fd(pair, 0.3, x, cot) < 1e-7);

    // one member: that member, bit for bit
    const score_ensemble<gaussian_score> one({gaussian_score(m1, c1)});
    Eigen::MatrixXd s1;
    one.evaluate(0.3, x, s);
    one.member(0).evaluate(0.3, x, s1);
    CHECK(s == s1);
  }

  TEST_CASE("train_dsm_ensemble: member 0 is train_dsm's network, the mean is exact, recorded VJPs, Jensen bound") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto data = upfi::test::ou_snapshots(c, {0.0, 0.5, 1.0}, 1000, upfi::test::seed());
    const auto exact = upfi::score::ou_marginal_score(c.ou, c.m0, c.s0);
    const upfi::score::dsm_options o{
        .hidden = {16, 16}, .iterations = 300, .batch = 128, .seed = upfi::test::seed(), .report_every = 100};
    std::set<std::pair<std::size_t, long>> calls;
    std::vector<upfi::score::dsm_report> reports;
    const auto ens = upfi::score::train_dsm_ensemble(
        data, o, 3,
        [&](std::size_t k, const upfi::score::dsm_progress& p) {
          calls.insert({k, p.iteration});
        },
        &reports);
    REQUIRE(ens.size() == 3);
    REQUIRE(reports.size() == 3);
    for (const auto& r : reports) CHECK(r.losses.size() == 3);
    CHECK(calls.size() == 9);
    CHECK(calls.contains({2, 300}));

    const Eigen::MatrixXd& x = data.cloud(1);
    Eigen::MatrixXd s, s0, sk, mean = Eigen::MatrixXd::Zero(x.rows(), 2);
    const dsm_score single = upfi::score::train_dsm(data, o);
    single.evaluate(0.5, x, s0);
    ens.member(0).evaluate(0.5, x, sk);
    CHECK(s0 == sk);  // the same seed, the same network
    for (std::size_t k = 0; k < 3; ++k) {
      ens.member(k).evaluate(0.5, x, sk);
      if (k > 0) CHECK((sk - s0).cwiseAbs().maxCoeff() > 1e-3);  // other seeds, other networks
      mean += sk / 3.0;
    }
    ens.evaluate(0.5, x, s);
    CHECK((s - mean).cwiseAbs().maxCoeff() < 1e-13);

    // recorded evaluation: the same values, and a VJP without a second forward pass equal to the recomputed one
    score_ensemble<dsm_score>::record_type record;
    Eigen::MatrixXd sr, dx_record, dx;
    ens.evaluate(0.5, x, sr, record);
    CHECK(sr == s);
    const Eigen::MatrixXd cot = upfi::test::random_matrix(x.rows(), 2, 5);
    ens.vjp_x(record, cot, dx_record);
    ens.vjp_x(0.5, x, cot, dx);
    CHECK((dx_record - dx).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(upfi::test::vjp_vs_fd(ens, 0.5, x.topRows(40), cot.topRows(40)) < 1e-6);

    // |mean of errors|^2 <= mean of |errors|^2 at every point (Jensen), so the ensemble's L2 error is at most the
    // root mean square of the members' errors
    double ms = 0;
    for (std::size_t k = 0; k < 3; ++k) ms += std::pow(upfi::test::relative_score_error(ens.member(k), exact, data), 2);
    const double rms = std::sqrt(ms / 3);
    const double err = upfi::test::relative_score_error(ens, exact, data);
    MESSAGE("ensemble relative L2 error " << err << ", members' rms " << rms);
    CHECK(err <= rms);
    CHECK(err > 0);
  }

  TEST_CASE("invalid ensembles raise clear errors") {
    const gaussian_score g2(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2));
    const gaussian_score g3(Eigen::VectorXd::Zero(3), Eigen::MatrixXd::Identity(3, 3));
    CHECK_THROWS_WITH_AS(score_ensemble<gaussian_score>({}), "upfi::score::score_ensemble: no members",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(score_ensemble<gaussian_score>({g2, g3}),
                         "upfi::score::score_ensemble: member 1 has dimension 3, member 0 has 2",
                         std::invalid_argument);
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto data = upfi::test::ou_snapshots(c, {0.0, 1.0}, 200, upfi::test::seed());
    CHECK_THROWS_WITH_AS((void)upfi::score::train_dsm_ensemble(data, {.iterations = 10}, 0),
                         "upfi::score::train_dsm_ensemble: members = 0 must be >= 1", std::invalid_argument);
    const auto ens = upfi::score::train_dsm_ensemble(data, {.hidden = {8}, .iterations = 2}, 2);
    score_ensemble<dsm_score>::record_type record(1);
    Eigen::MatrixXd out;
    CHECK_THROWS_WITH_AS(ens.vjp_x(record, Eigen::MatrixXd::Zero(4, 2), out),
                         "upfi::score::score_ensemble::vjp_x: the record holds 1 member evaluations, the ensemble "
                         "has 2 members",
                         std::invalid_argument);
  }
}
