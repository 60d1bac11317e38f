// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/ot/transport_plan.hpp>

#include <doctest/doctest.h>

TEST_SUITE("ot/transport_plan") {
  TEST_CASE("streaming plan operations agree with the dense plan") {
    Eigen::MatrixXd x(50, 3), y(700, 3), v(700, 2);
    upfi::core::counter_rng(1).fill_normal(x, 0);
    upfi::core::counter_rng(2).fill_normal(y, 0);
    upfi::core::counter_rng(3).fill_normal(v, 0);
    const Eigen::VectorXd la = upfi::ot::uniform_log_masses(50), lb = upfi::ot::uniform_log_masses(700);
    const auto r = upfi::ot::sinkhorn_divergence<double>(x, la, y, lb, {.blur = 0.4, .reach = 2.0});
    const auto plan = upfi::ot::transport_plan<double>::from(r, x, la, y, lb);
    const Eigen::MatrixXd dense = plan.dense();
    CHECK((plan.apply(v) - dense * v).cwiseAbs().maxCoeff() < 1e-13);
    CHECK((plan.apply_transpose(x) - dense.transpose() * x).cwiseAbs().maxCoeff() < 1e-13);
    CHECK((plan.row_marginal() - dense.rowwise().sum()).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((plan.column_marginal() - dense.colwise().sum().transpose()).cwiseAbs().maxCoeff() < 1e-14);
    const Eigen::MatrixXd bary = dense.rowwise().sum().cwiseInverse().asDiagonal() * dense * y;
    CHECK((plan.barycentric_projection() - bary).cwiseAbs().maxCoeff() < 1e-12);
    CHECK_THROWS_AS((void)plan.dense(100), std::invalid_argument);
  }
}
