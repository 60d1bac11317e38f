// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/rollout_check.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>

#include <doctest/doctest.h>

#include "support/ou_growth.hpp"
#include "support/statistics.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

TEST_SUITE("infer") {
  TEST_CASE("rollout_check: the true SDE passes, a wrong drift fails, a wrong growth shows as its exact mass error") {
    const upfi::test::ou_growth_truth truth;
    const std::vector<double> times = {0.0, 0.5, 1.0};
    const auto data = upfi::test::ou_growth_snapshots(truth, times, 1500, 11);
    const upfi::infer::rollout_check_options o{.simulation = {.dt = 0.01, .seed = 4}, .max_samples = 1500, .seed = 2};
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(2);
    const auto right = upfi::infer::rollout_check(upfi::test::ou_growth_flow(truth, zero, 0.0), data, o);
    const auto drifted =
        upfi::infer::rollout_check(upfi::test::ou_growth_flow(truth, upfi::test::vec(1.0, 0.0), 0.0), data, o);
    const auto grown = upfi::infer::rollout_check(upfi::test::ou_growth_flow(truth, zero, 0.5), data, o);
    REQUIRE(right.energy.size() == 2);
    REQUIRE(right.log_mass_error.size() == 2);
    CHECK(right.times == std::vector<double>{0.5, 1.0});
    MESSAGE("roll-out energy: true SDE " << right.energy.transpose() << ", drift shifted " << drifted.energy.transpose()
                                         << "; log-mass error of the true SDE " << right.log_mass_error.transpose());
    // sampling level for ~1500 cells a side (the energy distance of two such samples is O(1/n))
    CHECK(right.energy.maxCoeff() < 0.01);
    CHECK(drifted.energy.minCoeff() > 10 * right.energy.maxCoeff());
    CHECK(right.mean_energy() == doctest::Approx(right.energy.mean()));
    // the mass from 1500 paths and from rounded counts: a few percent
    CHECK(right.log_mass_error.cwiseAbs().maxCoeff() < 0.05);
    // a constant added to the growth moves no cell and scales every weight alike: same energies, log-masses + 0.5 t
    CHECK((grown.energy - right.energy).cwiseAbs().maxCoeff() < 1e-12);
    for (Eigen::Index k = 0; k < 2; ++k) {
      CHECK(grown.log_mass_error[k] - right.log_mass_error[k] ==
            doctest::Approx(0.5 * right.times[static_cast<std::size_t>(k)]).epsilon(1e-10));
    }
    // frequencies only: no mass comparison
    const auto freq = upfi::core::snapshot_series<double>::frequencies_only(data.times(), data.clouds());
    const auto f = upfi::infer::rollout_check(upfi::test::ou_growth_flow(truth, zero, 0.0), freq, o);
    CHECK(f.energy_floor.size() == 2);
    CHECK((right.energy_ratio().array() < 3).all());
    CHECK((drifted.energy_ratio().array() > 30).all());
    CHECK(f.log_mass_error.size() == 0);
    CHECK((f.energy - right.energy).cwiseAbs().maxCoeff() < 1e-12);
  }

  TEST_CASE("rollout_check: a weighted roll-out with the snapshots' law scores its sampling floor on average") {
    // snapshots k = 1, 2 ~ N(k e_0, I) in 2-D; a roll-out cloud with the same law: an independent sample with
    // log-masses independent of the positions (so the weighted law is unchanged, but the weights lower the effective
    // size)
    const int reps = 25;
    const std::vector<double> times = {0.0, 1.0, 2.0};
    Eigen::MatrixXd ratios(reps, 2);  // energy / floor per repetition and time
    double shifted_ratio = 0;
    for (int r = 0; r < reps; ++r) {
      const auto rng = [r](std::uint64_t stream) {
        return upfi::core::counter_rng(90 + stream, static_cast<std::uint32_t>(r));
      };
      std::vector<Eigen::MatrixXd> clouds;
      upfi::infer::model_trajectories sim{times, {}, {}};
      for (std::size_t k = 0; k < times.size(); ++k) {
        Eigen::MatrixXd y(300, 2), x(250, 2);
        rng(2 * k).fill_normal(y, 0);
        rng(2 * k + 1).fill_normal(x, 0);
        y.col(0).array() += static_cast<double>(k);
        x.col(0).array() += static_cast<double>(k);
        Eigen::VectorXd lm(250);
        rng(10 + k).fill_uniform(lm, 0);
        clouds.push_back(y);
        sim.positions.push_back(x);
        sim.log_masses.push_back(2 * lm);  // weights spread over a factor e^2
      }
      const upfi::core::snapshot_series<double> data(times, clouds);
      const auto c = upfi::infer::rollout_check(sim, data, {.max_samples = 1000});
      REQUIRE(c.energy_floor.size() == 2);
      const Eigen::VectorXd ratio = c.energy_ratio();
      ratios.row(r) = ratio.transpose();
      // the floor counts the weights: above the unweighted (1/250 + 1/300) E|Y - Y'|
      CHECK(c.energy_floor[0] > (1.0 / 250 + 1.0 / 300) * upfi::ot::mean_pairwise_distance<double>(clouds[1]));
      for (auto& x : sim.positions) x.col(1).array() += 0.5;  // a wrong law
      shifted_ratio += upfi::infer::rollout_check(sim, data, {.max_samples = 1000}).energy_ratio().minCoeff() / reps;
    }
    const upfi::test::mean_sem first = upfi::test::summarise(ratios.col(0)),
                               second = upfi::test::summarise(ratios.col(1));
    MESSAGE("energy / floor: " << first.mean << " " << second.mean << " +- " << first.sem << " " << second.sem
                               << "; shifted by 0.5: " << shifted_ratio);
    CHECK(std::abs(first.mean - 1) < 4 * first.sem);
    CHECK(std::abs(second.mean - 1) < 4 * second.sem);
    CHECK(shifted_ratio > 5);
    // a one-cell snapshot gives no estimate of E|Y - Y'|: no floor, and no ratio
    const upfi::core::snapshot_series<double> one({0.0, 1.0},
                                                  {Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Ones(1, 2)});
    const upfi::infer::model_trajectories sim{{0.0, 1.0},
                                              {Eigen::MatrixXd::Zero(3, 2), Eigen::MatrixXd::Zero(3, 2)},
                                              {Eigen::VectorXd::Zero(3), Eigen::VectorXd::Zero(3)}};
    const auto c = upfi::infer::rollout_check(sim, one);
    CHECK(c.energy[0] == doctest::Approx(2 * std::sqrt(2.0)));
    CHECK(c.energy_floor.size() == 0);
    CHECK(c.energy_ratio().size() == 0);
  }

  TEST_CASE("rollout_check: invalid roll-outs and options raise clear errors") {
    const upfi::test::ou_growth_truth truth;
    const auto data = upfi::test::ou_growth_snapshots(truth, {0.0, 0.5}, 200, 3);
    const auto field = upfi::test::ou_growth_flow(truth, Eigen::VectorXd::Zero(2), 0.0);
    CHECK_THROWS_WITH_AS((void)upfi::infer::rollout_check(field, data, {.simulation = {.branching = true}}),
                         "upfi::infer::rollout_check: the roll-out carries growth as log-masses; branching must be off",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::rollout_check(field, data, {.max_samples = 1}),
                         "upfi::infer::rollout_check: max_samples = 1 must be >= 2", std::invalid_argument);
    const auto sim = upfi::infer::simulate_model(field, data.cloud(0), {0.0, 0.4});
    CHECK_THROWS_WITH_AS((void)upfi::infer::rollout_check(sim, data),
                         "upfi::infer::rollout_check: the roll-out must be recorded at the 2 snapshot times, with "
                         "log-masses (no branching); it has 2 times and 2 log-mass vectors",
                         std::invalid_argument);
  }
}
