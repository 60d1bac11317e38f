// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/parallel.hpp>
#include <upfi/sde/bistable.hpp>
#include <upfi/sde/milstein.hpp>
#include <upfi/sde/simulator.hpp>
#include <upfi/sde/srk15.hpp>
#include <upfi/sde/toggle_switch.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace {
bool bit_identical(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}
}  // namespace

TEST_SUITE("sde/simulator") {
  TEST_CASE("branching populations and paths are bit-identical with 1 and 2 threads, for every stepper") {
    const upfi::sde::bistable model(3);
    const upfi::core::counter_rng rng(upfi::test::seed());
    const Eigen::MatrixXd x0 = model.initial_cells(777, rng);
    const auto run = [&](const auto& sim) {
      Eigen::MatrixXd pop, path;
      {
        const upfi::core::thread_limit one(1);
        pop = sim.population(x0, 0.0, 0.3, rng);
        path = sim.paths(x0, {0.0, 0.2}, rng).positions.back();
      }
      const upfi::core::thread_limit two(2);
      CHECK(bit_identical(pop, sim.population(x0, 0.0, 0.3, rng)));
      CHECK(bit_identical(path, sim.paths(x0, {0.0, 0.2}, rng).positions.back()));
      CHECK(pop.rows() > x0.rows());
    };
    run(upfi::sde::simulator(model, model.noise(), {.dt = 1e-2}));
    run(upfi::sde::simulator<upfi::sde::bistable, upfi::sde::additive_isotropic, upfi::sde::milstein>(
        model, model.noise(), {.dt = 1e-2}));
    run(upfi::sde::simulator<upfi::sde::bistable, upfi::sde::additive_isotropic, upfi::sde::srk15>(model, model.noise(),
                                                                                                   {.dt = 1e-2}));
  }

  TEST_CASE("the SIMD and scalar paths agree to rounding") {
    const upfi::sde::bistable model(4);
    const upfi::core::counter_rng rng(upfi::test::seed());
    const Eigen::MatrixXd x0 = model.initial_cells(103, rng);  // not a multiple of the batch width
    const upfi::sde::simulator vec(model, model.noise(), {.dt = 1e-2, .simd = true});
    const upfi::sde::simulator scal(model, model.noise(), {.dt = 1e-2, .simd = false});
    CHECK_FALSE(scal.uses_simd());
    const auto a = vec.paths(x0, {0.0, 0.5}, rng).positions.back();
    const auto b = scal.paths(x0, {0.0, 0.5}, rng).positions.back();
    CHECK((a - b).cwiseAbs().maxCoeff() < 1e-10);
    const auto tg = upfi::sde::toggle_switch();
    Eigen::MatrixXd y0 = Eigen::MatrixXd::Constant(37, 2, 0.5);
    Eigen::MatrixXd y1 = y0;
    upfi::sde::simulator(tg, tg, {.dt = 0.01, .simd = true}).advance(y0, 0.0, 0.01, 0, 50, rng);
    upfi::sde::simulator(tg, tg, {.dt = 0.01, .simd = false}).advance(y1, 0.0, 0.01, 0, 50, rng);
    CHECK((y0 - y1).cwiseAbs().maxCoeff() < 1e-10);
  }

  TEST_CASE("steps are counted so each interval ends exactly at its end time") {
    const upfi::sde::bistable model(2, 0.0, 0.0);  // deterministic, no growth
    const upfi::sde::simulator sim(model, model.noise(), {.dt = 0.3});
    Eigen::MatrixXd x = Eigen::MatrixXd::Constant(1, 2, 0.2);
    // 1.0 / 0.3 -> 4 steps of 0.25: compare with explicit Euler at h = 0.25
    const auto p = sim.paths(x, {0.0, 1.0}, upfi::core::counter_rng(1));
    Eigen::Vector2d y(0.2, 0.2), v;
    for (int k = 0; k < 4; ++k) {
      model.drift(0.0, y.data(), v.data());
      y += 0.25 * v;
    }
    CHECK((p.positions.back().row(0).transpose() - y).norm() < 1e-14);
  }

  TEST_CASE("bad parameters raise clear errors") {
    const upfi::sde::bistable model(2);
    using sim_t = upfi::sde::simulator<upfi::sde::bistable, upfi::sde::additive_isotropic>;
    CHECK_THROWS_WITH_AS(sim_t(model, model.noise(), {.dt = 0.0}),
                         "upfi::sde::simulator: dt = 0 must be finite and > 0", std::invalid_argument);
    CHECK_THROWS_WITH_AS(sim_t(model, upfi::sde::additive_isotropic(3, 0.5)),
                         "upfi::sde::simulator: model dimension 2 differs from noise dimension 3",
                         std::invalid_argument);
    const sim_t sim(model, model.noise());
    Eigen::MatrixXd wrong(10, 3);
    CHECK_THROWS_WITH_AS(sim.advance(wrong, 0.0, 0.01, 0, 1, upfi::core::counter_rng(1)),
                         "upfi::sde::simulator::advance: the cloud has 3 columns but the model has dimension 2",
                         std::invalid_argument);
    CHECK_THROWS_AS((void)sim.paths(Eigen::MatrixXd::Zero(3, 2), {0.0, 0.0}, upfi::core::counter_rng(1)),
                    std::invalid_argument);
    CHECK_THROWS_AS((void)sim.population(Eigen::MatrixXd::Zero(3, 2), 1.0, 0.5, upfi::core::counter_rng(1)),
                    std::invalid_argument);
  }

  TEST_CASE("a step too large for the division rate is refused with the step to use") {
    const upfi::sde::bistable model(2);
    const upfi::sde::simulator sim(model, model.noise(), {.dt = 0.05});  // b up to 5: b dt up to 0.25 > 0.1
    try {
      (void)sim.population(Eigen::MatrixXd::Constant(4, 2, 1.0), 0.0, 0.1, upfi::core::counter_rng(1));
      FAIL("no error");
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      CHECK(what.find("exceeds max_event_probability = 0.1; use dt <= ") != std::string::npos);
    }
  }

  TEST_CASE("the population guard stops explosions") {
    const upfi::sde::bistable model(2);
    const upfi::sde::simulator sim(model, model.noise(), {.dt = 1e-3, .max_cells = 50});
    CHECK_THROWS_AS((void)sim.population(Eigen::MatrixXd::Constant(40, 2, 1.0), 0.0, 1.0, upfi::core::counter_rng(1)),
                    std::invalid_argument);
  }

  TEST_CASE("growth can be switched off") {
    const upfi::sde::bistable model(2);
    const upfi::sde::simulator sim(model, model.noise(), {.dt = 1e-2, .growth = false});
    CHECK(sim.population(Eigen::MatrixXd::Zero(30, 2), 0.0, 1.0, upfi::core::counter_rng(1)).rows() == 30);
  }
}
