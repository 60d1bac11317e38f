// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/pot_sinkhorn.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>
#include <upfi/ot/transport_plan.hpp>

#include <doctest/doctest.h>

#include "fixtures/ot_fixtures.hpp"

#include <cmath>

namespace fx = upfi::test::fixtures;

TEST_SUITE("ot/pot_sinkhorn") {
  TEST_CASE("balanced and unbalanced plans match POT 0.8.2 (sinkhorn_log, sinkhorn_unbalanced)") {
    const Eigen::VectorXd a = Eigen::Map<const Eigen::VectorXd>(fx::pot_a, 7);
    const Eigen::VectorXd b = Eigen::Map<const Eigen::VectorXd>(fx::pot_b, 5);
    const Eigen::MatrixXd m = Eigen::Map<const Eigen::MatrixXd>(fx::pot_cost, 7, 5);
    const auto bal = upfi::ot::pot_sinkhorn<double>(a, b, m, fx::pot_reg, {.tolerance = 1e-14});
    CHECK(bal.converged);
    CHECK((bal.plan - Eigen::Map<const Eigen::MatrixXd>(fx::pot_plan_balanced, 7, 5)).cwiseAbs().maxCoeff() < 1e-11);
    CHECK(bal.cost == doctest::Approx(fx::pot_cost_balanced).epsilon(1e-11));
    const auto unb = upfi::ot::pot_sinkhorn<double>(a, b, m, fx::pot_reg, {.reg_m = fx::pot_reg_m, .tolerance = 1e-15});
    CHECK(unb.converged);
    CHECK((unb.plan - Eigen::Map<const Eigen::MatrixXd>(fx::pot_plan_unbalanced, 7, 5)).cwiseAbs().maxCoeff() < 1e-10);
  }

  TEST_CASE("in the balanced case the POT and GeomLoss conventions give the same plan") {
    Eigen::MatrixXd x(6, 2), y(4, 2);
    upfi::core::counter_rng(5).fill_normal(x, 0);
    upfi::core::counter_rng(6).fill_normal(y, 0);
    const Eigen::VectorXd la = upfi::ot::uniform_log_masses(6), lb = upfi::ot::uniform_log_masses(4);
    const auto r = upfi::ot::sinkhorn_divergence<double>(
        x, la, y, lb, {.blur = 0.5, .debias = false, .tolerance = 1e-13, .max_iterations = 10000});
    const auto p_geo = upfi::ot::transport_plan<double>::from(r, x, la, y, lb).dense();
    Eigen::MatrixXd cost(6, 4);
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 4; ++j) cost(i, j) = 0.5 * (x.row(i) - y.row(j)).squaredNorm();
    }
    const auto p_pot =
        upfi::ot::pot_sinkhorn<double>(la.array().exp(), lb.array().exp(), cost, 0.25, {.tolerance = 1e-14});
    CHECK((p_geo - p_pot.plan).cwiseAbs().maxCoeff() < 1e-11);
  }

  TEST_CASE("bad arguments") {
    CHECK_THROWS_AS((void)upfi::ot::pot_sinkhorn<double>(Eigen::VectorXd::Ones(2), Eigen::VectorXd::Ones(3),
                                                         Eigen::MatrixXd::Zero(2, 2), 0.1),
                    std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::ot::pot_sinkhorn<double>(Eigen::VectorXd::Ones(2), Eigen::VectorXd::Ones(2),
                                                         Eigen::MatrixXd::Zero(2, 2), 0.0),
                    std::invalid_argument);
  }
}
