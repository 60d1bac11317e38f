// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/sde/simulator.hpp>
#include <upfi/sde/toggle_switch.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <cmath>

TEST_SUITE("sde/toggle_switch") {
  TEST_CASE("production, degradation, noise and growth follow the published formulas") {
    const auto model = upfi::sde::toggle_switch();
    static_assert(upfi::DriftModel<upfi::sde::toggle_switch_model> && upfi::NoiseModel<upfi::sde::toggle_switch_model>);
    static_assert(upfi::sde::toggle_switch_model::nonnegative);
    const Eigen::Vector2d x(0.6, 1.3);
    Eigen::Vector2d v;
    model.drift(0.0, x.data(), v.data());
    const double p1 = 2 * std::pow(0.6, 4) / (1 + std::pow(0.6, 4)) + 1 / (1 + std::pow(1.3, 4));
    const double p2 = 2 * std::pow(1.3, 4) / (1 + std::pow(1.3, 4)) + 1 / (1 + std::pow(0.6, 4));
    CHECK(v[0] == doctest::Approx(p1 - 0.6).epsilon(1e-14));
    CHECK(v[1] == doctest::Approx(p2 - 1.3).epsilon(1e-14));
    CHECK(model.diffusion_tensor(0, x)(1, 1) == doctest::Approx((p2 + 1.3) / 8));
    CHECK(model.birth_rate(0.0, x.data()) == doctest::Approx(2 * 1.69 / 2.69));
  }

  TEST_CASE("simulated snapshots stay non-negative and the population grows") {
    const auto model = upfi::sde::toggle_switch();
    const upfi::sde::simulator sim(model, model, {.dt = 0.01});
    const auto s =
        sim.snapshots(upfi::sde::toggle_switch_initial_cells, 1000, {0.0, 0.4, 0.8, 1.2, 1.6}, upfi::test::seed());
    for (std::size_t k = 0; k < s.size(); ++k) {
      CAPTURE(k);
      CHECK(s.cloud(k).minCoeff() >= 0.0);
      if (k > 0) CHECK(s.count(k) > s.count(k - 1));
    }
    // The PFI authors' run of the same system grew 4.39-fold by t = 1.6; allow the spread of one realisation.
    CHECK(s.relative_mass(4) > 3.0);
    CHECK(s.relative_mass(4) < 6.0);
  }

  TEST_CASE("reflection is an alternative positivity rule; none lets states go negative") {
    const auto model = upfi::sde::toggle_switch();
    Eigen::MatrixXd x = Eigen::MatrixXd::Constant(2000, 2, 0.02);
    const upfi::sde::simulator reflect(model, model, {.dt = 0.05, .rule = upfi::sde::positivity::reflect});
    reflect.advance(x, 0.0, 0.05, 0, 5, upfi::core::counter_rng(1));
    CHECK(x.minCoeff() >= 0.0);
    Eigen::MatrixXd y = Eigen::MatrixXd::Constant(2000, 2, 0.02);
    const upfi::sde::simulator none(model, model, {.dt = 0.05, .rule = upfi::sde::positivity::none});
    none.advance(y, 0.0, 0.05, 0, 5, upfi::core::counter_rng(1));
    CHECK(y.minCoeff() < 0.0);
  }
}
