// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Boost.Odeint integrates upfi's probability-flow fields through upfi::flow::odeint_system (built when Boost's
// headers are found).
#include <upfi/flow/integrate.hpp>
#include <upfi/flow/odeint.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/score/gaussian.hpp>

#include <doctest/doctest.h>

#include "score/support.hpp"
#include "support/seed.hpp"

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>

namespace odeint = boost::numeric::odeint;

TEST_SUITE("flow/odeint") {
  TEST_CASE("Boost.Odeint's RK4 and DOPRI5 on a probability-flow field agree with upfi's drivers") {
    const auto c = upfi::test::make_ou_case(3, upfi::test::seed());
    const auto field = upfi::flow::probability_flow(upfi::nn::linear_field(c.ou.drift_matrix(), c.ou.drift_offset()),
                                                    upfi::score::ou_marginal_score(c.ou, c.m0, c.s0),
                                                    upfi::flow::matrix_diffusion{c.ou.diffusion()});
    Eigen::MatrixXd x0(50, 3);
    upfi::core::counter_rng(upfi::test::seed(), 1).fill_normal(x0, 0);
    const upfi::flow::flow_state y0{x0, Eigen::VectorXd::Zero(50), 0};
    const upfi::flow::odeint_system sys(field, 50);
    using stepper =
        odeint::runge_kutta4<Eigen::VectorXd, double, Eigen::VectorXd, double, odeint::vector_space_algebra>;
    Eigen::VectorXd y = sys.pack(y0.x, y0.log_m);
    odeint::integrate_n_steps(stepper(), std::cref(sys), y, 0.2, 0.1, 8);
    const auto ours = upfi::flow::integrate(field, upfi::flow::rk4(), 0.2, 1.0, y0, {.steps = 8});
    CHECK((sys.positions(y) - ours.x).cwiseAbs().maxCoeff() < 1e-12);
    // adaptive Dormand-Prince: both meet the tolerance against a fine RK4 reference
    const auto reference = upfi::flow::integrate(field, upfi::flow::rk4(), 0.2, 1.0, y0, {.steps = 2000});
    Eigen::VectorXd ya = sys.pack(y0.x, y0.log_m);
    using dopri =
        odeint::runge_kutta_dopri5<Eigen::VectorXd, double, Eigen::VectorXd, double, odeint::vector_space_algebra>;
    odeint::integrate_adaptive(odeint::make_controlled(1e-8, 1e-8, dopri()), std::cref(sys), ya, 0.2, 1.0, 0.01);
    const auto adaptive = upfi::flow::integrate_adaptive(field, 0.2, 1.0, y0, {.atol = 1e-8, .rtol = 1e-8});
    CHECK((sys.positions(ya) - reference.x).cwiseAbs().maxCoeff() < 1e-6);
    CHECK((adaptive.state.x - reference.x).cwiseAbs().maxCoeff() < 1e-6);
  }
}
