// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/rollout_check.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>

#include <doctest/doctest.h>

#include "support/ou_growth.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace {
// the SDE of the OU-with-growth truth as a fitted field would hold it, with the drift offset shifted by `shift` and
// the growth's constant by `growth_shift`
auto ou_field(const upfi::test::ou_growth_truth& truth, const Eigen::VectorXd& shift, double growth_shift) {
  return upfi::flow::probability_flow(upfi::nn::linear_field(truth.a, truth.e + shift),
                                      upfi::test::ou_growth_score(truth), upfi::flow::matrix_diffusion{truth.diffusion},
                                      upfi::nn::quadratic_scalar_field(truth.gamma, truth.c, truth.b + growth_shift));
}
}  // namespace

TEST_SUITE("infer") {
  TEST_CASE("rollout_check: the true SDE passes, a wrong drift fails, a wrong growth shows as its exact mass error") {
    const upfi::test::ou_growth_truth truth;
    const std::vector<double> times = {0.0, 0.5, 1.0};
    const auto data = upfi::test::ou_growth_snapshots(truth, times, 1500, 11);
    const upfi::infer::rollout_check_options o{.simulation = {.dt = 0.01, .seed = 4}, .max_samples = 1500, .seed = 2};
    const Eigen::VectorXd zero = Eigen::VectorXd::Zero(2);
    const auto right = upfi::infer::rollout_check(ou_field(truth, zero, 0.0), data, o);
    const auto drifted = upfi::infer::rollout_check(ou_field(truth, upfi::test::vec(1.0, 0.0), 0.0), data, o);
    const auto grown = upfi::infer::rollout_check(ou_field(truth, zero, 0.5), data, o);
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
    const auto f = upfi::infer::rollout_check(ou_field(truth, zero, 0.0), freq, o);
    CHECK(f.log_mass_error.size() == 0);
    CHECK((f.energy - right.energy).cwiseAbs().maxCoeff() < 1e-12);
  }

  TEST_CASE("rollout_check: invalid roll-outs and options raise clear errors") {
    const upfi::test::ou_growth_truth truth;
    const auto data = upfi::test::ou_growth_snapshots(truth, {0.0, 0.5}, 200, 3);
    const auto field = ou_field(truth, Eigen::VectorXd::Zero(2), 0.0);
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
