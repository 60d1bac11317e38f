// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/step_check.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <doctest/doctest.h>

#include "support/ou_growth.hpp"
#include "support/random_matrix.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

TEST_SUITE("infer") {
  TEST_CASE("step_check: the exact flow meets the sampling floor, a shifted drift does not, growth shows as mass") {
    const upfi::test::ou_growth_truth truth;
    const auto data = upfi::test::ou_growth_snapshots(truth, {0.0, 0.5, 1.0}, 1500, 11);
    const upfi::infer::step_check_options o{.max_samples = 1500, .seed = 3};  // 10 RK4 steps
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(2);
    const auto euler = upfi::flow::euler();
    const auto right = upfi::infer::step_check(upfi::test::ou_growth_flow(truth, zero, 0.0), data, euler, 2, o);
    const auto drifted =
        upfi::infer::step_check(upfi::test::ou_growth_flow(truth, upfi::test::vec(1.0, 0.0), 0.0), data, euler, 2, o);
    const auto grown = upfi::infer::step_check(upfi::test::ou_growth_flow(truth, zero, 0.5), data, euler, 2, o);
    REQUIRE(right.fine.size() == 2);
    CHECK(right.times == std::vector<double>{0.5, 1.0});
    CHECK(right.training_steps == 2);
    CHECK(right.training_stepper == "euler");
    CHECK(right.fine_steps == 10);
    CHECK(right.fine_stepper == "rk4");
    // a calm flow: 10 RK4 steps agree with 20, nothing is refined
    CHECK(right.fine_steps_used == std::vector<int>{10, 10});
    CHECK(right.fine_agreed == std::vector<bool>{true, true});
    CHECK_FALSE(right.refined());
    MESSAGE("exact flow: unmoved " << right.unmoved.transpose() << ", 2 steps " << right.training.transpose()
                                   << ", 10 RK4 steps " << right.fine.transpose() << ", floor "
                                   << right.floor.transpose());
    // the accurate push of the exact flow has the next snapshot's law: at the sampling floor (the rollout_check test's
    // bound); moving the cells matters (the unmoved cells are far off), a drift shifted by 1 misses by far more
    CHECK((right.fine.array() < 3 * right.floor.array()).all());
    CHECK((right.unmoved.array() > 10 * right.floor.array()).all());
    CHECK((drifted.fine.array() > 30 * drifted.floor.array()).all());
    // the exact flow's 2-Euler-step map carries the truncation error: it misses by more than the flow itself, so the
    // gap ratio stays near or below 1 (the ratio flags the opposite: a fine flow far worse than the step map)
    CHECK((right.training.array() > right.fine.array()).all());
    CHECK(right.worst_gap_ratio() < 3);
    CHECK_FALSE(right.leans_on_steps());
    // the growth moves no cell: a constant added to it adds exactly 0.5 x 0.5 to every log-mass, with either steps
    CHECK((grown.fine - right.fine).cwiseAbs().maxCoeff() < 1e-12);
    REQUIRE(right.log_mass_error_fine.size() == 2);
    for (Eigen::Index k = 0; k < 2; ++k) {
      CHECK(grown.log_mass_error_fine[k] - right.log_mass_error_fine[k] == doctest::Approx(0.25).epsilon(1e-10));
      CHECK(grown.log_mass_error_training[k] - right.log_mass_error_training[k] ==
            doctest::Approx(0.25).epsilon(1e-10));
    }
    // the mass ratio of 1500 exact flow paths against rounded counts: a few percent
    CHECK(right.log_mass_error_fine.cwiseAbs().maxCoeff() < 0.05);
    // the fine push with the training's stepper and steps is the training's push, bit for bit; 10 RK4 steps are
    // converged (50 give the same distances to 1e-6)
    auto as_training = o;
    as_training.fine_stepper = euler;
    as_training.fine_steps = 50;
    const auto same =
        upfi::infer::step_check(upfi::test::ou_growth_flow(truth, zero, 0.0), data, euler, 50, as_training);
    CHECK((same.training.array() == same.fine.array()).all());
    CHECK((same.unmoved.array() == right.unmoved.array()).all());
    auto rk4_50 = o;
    rk4_50.fine_steps = 50;
    const auto converged =
        upfi::infer::step_check(upfi::test::ou_growth_flow(truth, zero, 0.0), data, euler, 2, rk4_50);
    CHECK((converged.fine - right.fine).cwiseAbs().maxCoeff() < 1e-6);
    CHECK((converged.training.array() == right.training.array()).all());
    // frequencies only: no masses to compare
    const auto freq = upfi::core::snapshot_series<double>::frequencies_only(data.times(), data.clouds());
    const auto f = upfi::infer::step_check(upfi::test::ou_growth_flow(truth, zero, 0.0), freq, euler, 2, o);
    CHECK(f.log_mass_error_fine.size() == 0);
    CHECK(f.log_mass_error_training.size() == 0);
    CHECK((f.fine - right.fine).cwiseAbs().maxCoeff() < 1e-12);
  }

  TEST_CASE("step_check: a field fitted to its one-Euler-step map (v = x, snapshot 1 = 2 x snapshot 0)") {
    // one Euler step of v(x) = x over [0, 1] doubles every cell, which is exactly the next snapshot; the flow itself
    // scales by e (50 Euler steps: 1.02^50; 10 RK4 steps: the degree-4 Taylor polynomial of e^0.1, to the 10th)
    const Eigen::MatrixXd x = upfi::test::random_matrix(400, 2, 8);
    const upfi::core::snapshot_series<double> data({0.0, 1.0}, {x, 2 * x});
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    const auto r = upfi::infer::step_check(field, data, upfi::flow::euler(), 1,
                                           {.fine_stepper = upfi::flow::euler(), .fine_steps = 50, .max_samples = 400});
    const Eigen::MatrixXd fine = std::pow(1.02, 50) * x;
    const double h = 0.1;
    const Eigen::MatrixXd rk4 = std::pow(1 + h + h * h / 2 + h * h * h / 6 + h * h * h * h / 24, 10) * x;
    const auto r4 = upfi::infer::step_check(field, data, upfi::flow::euler(), 1, {.max_samples = 400});
    CHECK(r4.fine[0] == doctest::Approx(upfi::ot::energy_distance<double>(rk4, Eigen::MatrixXd(2 * x))).epsilon(1e-9));
    CHECK(r4.fine[0] > r.fine[0]);  // e against 2.69: the accurate flow lands farther from 2x
    CHECK(r.training[0] < 1e-12);
    CHECK(r.fine[0] == doctest::Approx(upfi::ot::energy_distance<double>(fine, Eigen::MatrixXd(2 * x))).epsilon(1e-9));
    CHECK(r.unmoved[0] == doctest::Approx(upfi::ot::energy_distance<double>(x, Eigen::MatrixXd(2 * x))).epsilon(1e-12));
    CHECK(r.gap_ratio()[0] == doctest::Approx(r.fine[0] / r.floor[0]));
    CHECK(r.worst_gap_ratio() > 5);
    // the fine flow misses by a third of the way (0.091 against 0.283 unmoved): it leans on its one step
    CHECK(r.leans_on_steps());
    CHECK_FALSE(r.leans_on_steps(3, 0.5));
    CHECK_FALSE(r.leans_on_steps(6, 0.1));
    // no growth: the model's mass ratio is 1, the data's too
    CHECK(r.log_mass_error_fine[0] == 0.0);
    // a one-cell next snapshot has no sampling floor: where the training's push lands on it exactly and the accurate
    // one does not, the gap ratio is infinite (upfi fit writes it as null)
    const upfi::core::snapshot_series<double> single({0.0, 1.0}, {x.topRows(1), 2 * x.topRows(1)});
    const auto one = upfi::infer::step_check(field, single, upfi::flow::euler(), 1);
    CHECK(std::isnan(one.floor[0]));
    CHECK(one.training[0] == 0.0);
    CHECK(one.fine[0] > 0);
    CHECK(std::isinf(one.gap_ratio()[0]));
    CHECK(std::isinf(one.worst_gap_ratio()));
    CHECK(one.leans_on_steps());
    // rescale: lengths by a factor, times through the map
    auto s = r;
    s.rescale(3.0, [](double t) { return 10 + 2 * t; });
    CHECK(s.times == std::vector<double>{12.0});
    CHECK(s.fine[0] == doctest::Approx(3 * r.fine[0]));
    CHECK(s.floor[0] == doctest::Approx(3 * r.floor[0]));
    CHECK(s.gap_ratio()[0] == doctest::Approx(r.gap_ratio()[0]));
  }

  TEST_CASE("step_check: a push that diverges scores +inf and is reported, the others are still checked") {
    // v = 1e30 x over [0, 1]: one Euler step multiplies the cells by 1 + 1e30 (finite), the flow by e^(1e30); ten
    // RK4 steps overflow in their stages. The second interval (v = 1e30 x again) diverges too; nothing throws.
    const Eigen::MatrixXd x = upfi::test::random_matrix(50, 2, 8);
    const upfi::core::snapshot_series<double> data({0.0, 1.0, 2.0}, {x, 2 * x, 3 * x});
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(1e30 * Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    const auto r = upfi::infer::step_check(field, data, upfi::flow::euler(), 1);
    REQUIRE(r.fine.size() == 2);
    for (Eigen::Index i = 0; i < 2; ++i) {
      CAPTURE(i);
      CHECK(std::isfinite(r.training[i]));
      CHECK(std::isfinite(r.log_mass_error_training[i]));
      CHECK(r.fine[i] == std::numeric_limits<double>::infinity());
      CHECK(std::isnan(r.floor[i]));
      CHECK(std::isnan(r.log_mass_error_fine[i]));
      CHECK(r.gap_ratio()[i] == std::numeric_limits<double>::infinity());
      CHECK(r.diverged(i));
    }
    CHECK(r.diverged());
    CHECK(r.leans_on_steps());
    // no step count helps: the refinements run out (10 x 2^5 RK4 steps) unconfirmed
    CHECK(r.fine_steps_used == std::vector<int>{320, 320});
    CHECK(r.fine_agreed == std::vector<bool>{false, false});
    // with ten RK4 steps in training too, both pushes diverge
    const auto both = upfi::infer::step_check(field, data, upfi::flow::rk4(), 10);
    CHECK(both.training[0] == std::numeric_limits<double>::infinity());
    CHECK(both.gap_ratio()[0] == std::numeric_limits<double>::infinity());
    // v = 1e160 x: one Euler step lands at 1e160 x, finite, but its squared distances overflow (an energy of
    // inf - inf): reported as a divergence too, never as NaN
    const auto far = upfi::flow::probability_flow(
        upfi::nn::linear_field(1e160 * Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    const auto overflow = upfi::infer::step_check(far, data, upfi::flow::euler(), 1);
    CHECK(overflow.training[0] == std::numeric_limits<double>::infinity());
    CHECK(std::isnan(overflow.log_mass_error_training[0]));
    CHECK(overflow.diverged());
    // a field that stays finite does not diverge
    const auto calm = upfi::flow::probability_flow(
        upfi::nn::linear_field(Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    CHECK_FALSE(upfi::infer::step_check(calm, data, upfi::flow::euler(), 1).diverged());
    // the mechanism: flow::integrate names a non-finite stage state before the field sees it (v = 1e300 x: the third
    // RK4 stage starts from x + (h / 2) 1e300 (5e299 x) = inf)
    const auto wild = upfi::flow::probability_flow(
        upfi::nn::linear_field(1e300 * Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    const upfi::flow::flow_state start{Eigen::MatrixXd::Ones(3, 2), Eigen::VectorXd::Zero(3), 0};
    CHECK_THROWS_WITH_AS(
        (void)upfi::flow::integrate(wild, upfi::flow::rk4(), 0.0, 1.0, start, {.steps = 1}),
        "upfi::flow: the state of stage 3 at t = 0.5 is not finite; reduce the step or check the field",
        upfi::core::error);
  }

  TEST_CASE("step_check: a stiff flow gets the steps it needs (v = -100 x: 10 RK4 steps are unstable, 40 are not)") {
    // RK4 multiplies a linear decay v = -lambda x by R(z) = 1 + z + z^2 / 2 + z^3 / 6 + z^4 / 24 per step, z = -lambda
    // h: over [0, 1] with lambda = 100, 10 steps give |R(-10)| = 291 per step (the cells run off to 1e24), 20 steps
    // 13.7, 40 steps 0.65 (stable), 80 steps 0.31; the flow itself contracts the cells to the origin.
    const Eigen::MatrixXd x = upfi::test::random_matrix(300, 2, 8);
    const Eigen::MatrixXd y = 0.05 * upfi::test::random_matrix(300, 2, 9);
    const upfi::core::snapshot_series<double> data({0.0, 1.0}, {x, y});
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(-100.0 * Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    const auto rk4_end = [&](int n) {
      const double z = -100.0 / n;
      return Eigen::MatrixXd(std::pow(1 + z + z * z / 2 + z * z * z / 6 + z * z * z * z / 24, n) * x);
    };
    const auto r = upfi::infer::step_check(field, data, upfi::flow::euler(), 1, {.max_samples = 300});
    // 10 vs 20 and 20 vs 40 disagree; 40 and 80 steps both land at the origin: 40 are reported
    CHECK(r.fine_steps_used == std::vector<int>{40});
    CHECK(r.fine_agreed == std::vector<bool>{true});
    CHECK(r.refined());
    CHECK(r.fine_steps == 10);
    CHECK(r.fine[0] == doctest::Approx(upfi::ot::energy_distance<double>(rk4_end(40), y)).epsilon(1e-9));
    CHECK(r.fine[0] < r.unmoved[0]);
    CHECK_FALSE(r.diverged());
    // without the refinements the unstable push is what the check reports: finite, absurd, unconfirmed
    const auto plain =
        upfi::infer::step_check(field, data, upfi::flow::euler(), 1, {.max_samples = 300, .refinements = 0});
    CHECK(plain.fine_steps_used == std::vector<int>{10});
    CHECK(plain.fine_agreed == std::vector<bool>{false});
    CHECK_FALSE(plain.refined());
    CHECK(plain.fine[0] == doctest::Approx(upfi::ot::energy_distance<double>(rk4_end(10), y)).epsilon(1e-9));
    CHECK(plain.fine[0] > 1e20);
    // one refinement: 10 vs 20 disagree, and the finest push tried (20 steps, still unstable) is reported unconfirmed
    const auto once =
        upfi::infer::step_check(field, data, upfi::flow::euler(), 1, {.max_samples = 300, .refinements = 1});
    CHECK(once.fine_steps_used == std::vector<int>{20});
    CHECK(once.fine_agreed == std::vector<bool>{false});
    CHECK(once.fine[0] == doctest::Approx(upfi::ot::energy_distance<double>(rk4_end(20), y)).epsilon(1e-9));
  }

  TEST_CASE("step_check: invalid arguments are named") {
    const Eigen::MatrixXd x = upfi::test::random_matrix(20, 2, 8);
    const upfi::core::snapshot_series<double> data({0.0, 1.0}, {x, x});
    const upfi::core::snapshot_series<double> one({0.0}, {x});
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(2)),
        upfi::test::ou_growth_score(upfi::test::ou_growth_truth{}), upfi::flow::isotropic_diffusion{0.0});
    CHECK_THROWS_WITH_AS((void)upfi::infer::step_check(field, one, upfi::flow::euler(), 2),
                         "upfi::infer::step_check: need at least two snapshots", std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::step_check(field, data, upfi::flow::euler(), 0),
                         "upfi::infer::step_check: need training_steps >= 1, fine_steps >= 1 and max_samples >= 2, "
                         "0 <= refinements <= 20 and agreement > 0; got 0, 10, 500, 5 and 0.1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::step_check(field, data, upfi::flow::euler(), 2, {.max_samples = 1}),
                         "upfi::infer::step_check: need training_steps >= 1, fine_steps >= 1 and max_samples >= 2, "
                         "0 <= refinements <= 20 and agreement > 0; got 2, 10, 1, 5 and 0.1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::step_check(field, data, upfi::flow::euler(), 2, {.agreement = 0}),
                         "upfi::infer::step_check: need training_steps >= 1, fine_steps >= 1 and max_samples >= 2, "
                         "0 <= refinements <= 20 and agreement > 0; got 2, 10, 500, 5 and 0",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::step_check(field, data, upfi::flow::euler(), 2, {.refinements = -1}),
                         "upfi::infer::step_check: need training_steps >= 1, fine_steps >= 1 and max_samples >= 2, "
                         "0 <= refinements <= 20 and agreement > 0; got 2, 10, 500, -1 and 0.1",
                         std::invalid_argument);
  }
}
