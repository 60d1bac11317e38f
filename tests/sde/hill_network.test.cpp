// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/sde/hill_network.hpp>
#include <upfi/sde/simulator.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

using upfi::sde::hill_network_options;
using upfi::sde::hill_production;

TEST_SUITE("sde/hill_network") {
  TEST_CASE("Boolean rules give the truth table alpha_S over regulator subsets") {
    const hill_production p("a = a\nb = a\nc = (a or c) and not b\n", {});
    CHECK(p.dimension() == 3);
    const Eigen::Index c = p.gene("c");
    REQUIRE(p.regulators(c) == std::vector<Eigen::Index>{0, 2, 1});  // a, c, b in order of appearance
    // bit 0: a, bit 1: c, bit 2: b
    CHECK_FALSE(p.alpha(c, 0b000));
    CHECK(p.alpha(c, 0b001));
    CHECK(p.alpha(c, 0b010));
    CHECK(p.alpha(c, 0b011));
    CHECK_FALSE(p.alpha(c, 0b101));
    CHECK_FALSE(p.alpha(c, 0b111));
    CHECK(p.adjacency()(c, 1) == 1);
    CHECK(p.adjacency()(1, 2) == 0);
  }

  TEST_CASE("production follows the BoolODE formula and saturates at m alpha") {
    const hill_network_options o{.max_rate = 10, .degradation = 10, .hill = 4};
    const hill_production p("x = x\ny = not x\n", o);
    // threshold k = m / (2 lambda) = 0.5; p_x = m h/(1 + h), p_y = m / (1 + h) with h = (x / 0.5)^4
    const Eigen::Vector2d x(0.4, 0.0);
    Eigen::Vector2d out;
    p(0.0, x.data(), out.data());
    const double h = std::pow(0.8, 4);
    CHECK(out[0] == doctest::Approx(10 * h / (1 + h)).epsilon(1e-14));
    CHECK(out[1] == doctest::Approx(10 / (1 + h)).epsilon(1e-14));
    const Eigen::Vector2d high(100.0, 0.0);
    p(0.0, high.data(), out.data());
    CHECK(out[0] == doctest::Approx(10.0).epsilon(1e-9));
    CHECK(out[1] < 1e-8);
  }

  TEST_CASE("interaction strengths divide the threshold") {
    hill_network_options o{.hill = 2};
    o.strengths.push_back({"x", "y", 4.0});
    const hill_production p("x = x\ny = x\n", o);
    CHECK(p.threshold(1, 0) == doctest::Approx(0.5 / 4.0));
    CHECK(p.threshold(0, 0) == doctest::Approx(0.5));
  }

  TEST_CASE("the built-in BF and HSC networks") {
    const auto bf = upfi::sde::bf_network();
    CHECK(bf.dimension() == 7);
    CHECK(bf.base().production().genes().front() == "g1");
    CHECK(bf.base().production().regulators(bf.base().production().gene("g4")).size() == 3);  // g3, g4, g6
    const auto hsc = upfi::sde::hsc_network();
    CHECK(hsc.dimension() == 11);
    // regulators per rule: 4 + 4 + 1 + 2 + 2 + 2 + 4 + 4 + 2 + 3 + 2 = 30 edges
    CHECK(hsc.base().production().adjacency().sum() == 30);
    static_assert(upfi::DriftModel<upfi::sde::hill_network_model> && upfi::NoiseModel<upfi::sde::hill_network_model>);
  }

  TEST_CASE("BF cells split into the g7 (g4-high) and g8 (g4-low) branches and stay non-negative") {
    const auto bf = upfi::sde::bf_network();
    const upfi::sde::simulator sim(bf, bf, {.dt = 1e-3});
    const hill_network_options o;
    const auto init = [&](Eigen::Index n, const upfi::core::counter_rng& rng) {
      return upfi::sde::network_initial_cells(bf.base().production(), o, {"g1"}, n, rng);
    };
    const auto s = sim.snapshots(init, 400, {0.0, 1.25}, upfi::test::seed());
    const Eigen::MatrixXd& last = s.cloud(1);
    CHECK(last.minCoeff() >= 0.0);
    const double g7_high = static_cast<double>((last.col(5).array() > 0.5).count()) / static_cast<double>(last.rows());
    const double g8_high = static_cast<double>((last.col(6).array() > 0.5).count()) / static_cast<double>(last.rows());
    MESSAGE("BF at t = 1.25: g7 high ", g7_high, ", g8 high ", g8_high, ", N = ", last.rows());
    CHECK(g7_high > 0.2);
    CHECK(g8_high > 0.1);
    CHECK(s.relative_mass(1) > 1.2);  // the g7 branch divides
  }

  TEST_CASE("malformed rules are reported with line and column") {
    CHECK_THROWS_WITH_AS(hill_production("a = a\nb = a and (not c\n", {}),
                         "upfi::sde::hill_production: <rules> line 2, column 17: missing ')'", std::invalid_argument);
    CHECK_THROWS_WITH_AS(hill_production("a = a\nb = c\n", {}),
                         "upfi::sde::hill_production: <rules> line 2: regulator 'c' of gene 'b' has no rule of its own",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(hill_production("a = a\na = not a\n", {}),
                         "upfi::sde::hill_production: <rules> line 2: gene 'a' has a second rule",
                         std::invalid_argument);
    CHECK_THROWS_AS(hill_production("a a\n", {}), std::invalid_argument);
    CHECK_THROWS_AS(hill_production("a = and\n", {}), std::invalid_argument);
    CHECK_THROWS_AS(hill_production("# only a comment\n", {}), std::invalid_argument);
    CHECK_THROWS_AS(hill_production("a = a\n", {.hill = 0}), std::invalid_argument);
    hill_network_options o;
    o.strengths.push_back({"a", "zz", 2.0});
    CHECK_THROWS_AS(hill_production("a = a\n", o), std::invalid_argument);
  }

  TEST_CASE("BoolODE's tab-separated format with a header is accepted") {
    const hill_production p("Gene\tRule\nx\tnot y\ny\tnot x\n", {});
    CHECK(p.genes() == std::vector<std::string>{"x", "y"});
  }
}
