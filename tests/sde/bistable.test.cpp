// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/sde/bistable.hpp>
#include <upfi/sde/simulator.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <cmath>
#include <stdexcept>

TEST_SUITE("sde/bistable") {
  TEST_CASE("the drift is minus the gradient of the potential in every dimension") {
    for (Eigen::Index d : {2, 5, 10}) {
      CAPTURE(d);
      const upfi::sde::bistable model(d);
      Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(d, -0.8, 0.9);
      Eigen::VectorXd v(d);
      model.drift(0.0, x.data(), v.data());
      for (Eigen::Index k = 0; k < d; ++k) {
        Eigen::VectorXd xp = x, xm = x;
        xp[k] += 1e-6;
        xm[k] -= 1e-6;
        CHECK(v[k] == doctest::Approx(-(model.potential(xp.data()) - model.potential(xm.data())) / 2e-6).epsilon(1e-6));
      }
    }
    // the attractors a = (1, 1, 0, ...) and b = -a are fixed points
    const upfi::sde::bistable model(3);
    const Eigen::Vector3d a(1, 1, 0);
    Eigen::Vector3d v;
    model.drift(0.0, a.data(), v.data());
    CHECK(v.norm() < 1e-14);
  }

  TEST_CASE("birth rate 2.5 (1 + tanh(2 x0))") {
    const upfi::sde::bistable model(2);
    const Eigen::Vector2d x(0.3, -1);
    CHECK(model.birth_rate(0.0, x.data()) == doctest::Approx(2.5 * (1 + std::tanh(0.6))));
    static_assert(upfi::HasBirthRate<upfi::sde::bistable> && !upfi::HasDeathRate<upfi::sde::bistable>);
  }

  TEST_CASE("snapshots: cell counts grow and the positive branch gains weight over time [slow]") {
    const upfi::sde::bistable model(2);
    const upfi::sde::simulator sim(model, model.noise(), {.dt = 1e-3});
    const auto series = sim.snapshots([&](Eigen::Index n, const auto& rng) { return model.initial_cells(n, rng); }, 500,
                                      {0.0, 0.25, 0.5, 0.75, 1.0}, upfi::test::seed());
    double previous_fraction = 0;
    for (std::size_t k = 0; k < series.size(); ++k) {
      CAPTURE(k);
      const auto& c = series.cloud(k);
      const double fraction = static_cast<double>((c.col(0).array() > 0).count()) / static_cast<double>(c.rows());
      if (k > 0) {
        CHECK(series.count(k) > series.count(k - 1));
        CHECK(fraction > previous_fraction - 0.02);
      }
      previous_fraction = fraction;
    }
    CHECK(series.count(0) == 500);
    // Mean birth rate is 2.5 at t = 0 and approaches 5 on the positive branch: N(1)/N(0) lies in (e^2.5, e^5).
    CHECK(series.relative_mass(4) > std::exp(2.5));
    CHECK(series.relative_mass(4) < std::exp(5.0));
    CHECK(previous_fraction > 0.9);
  }

  TEST_CASE("invalid parameters") {
    CHECK_THROWS_WITH_AS(upfi::sde::bistable(1), "upfi::sde::bistable: dimension 1 must be >= 2",
                         std::invalid_argument);
    CHECK_THROWS_AS(upfi::sde::bistable(2, -1.0), std::invalid_argument);
    CHECK_THROWS_AS(upfi::sde::bistable(2, 2.5, -0.5), std::invalid_argument);
  }
}
