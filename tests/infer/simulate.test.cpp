// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/parallel.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/flow/transport_flow.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>
#include <upfi/problems/ou_growth_moments.hpp>
#include <upfi/score/gaussian.hpp>

#include <doctest/doctest.h>

#include "support/random_matrix.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

using upfi::test::random_matrix;

namespace {

// dX = (A x + e) dt + sqrt(2 D) dB with growth g = c^T x + b, started from N(0, 0.2 I).
struct ou_case {
  Eigen::MatrixXd a = (Eigen::MatrixXd(2, 2) << -1.0, 0.6, -0.6, -1.0).finished();
  Eigen::VectorXd e = Eigen::Vector2d(0.5, -0.2);
  Eigen::MatrixXd diffusion = (Eigen::MatrixXd(2, 2) << 0.3, 0.1, 0.1, 0.2).finished();
  Eigen::VectorXd c = Eigen::Vector2d(0.3, 0.0);
  double b = 0.5;
  upfi::problems::gaussian_population start{1.0, Eigen::Vector2d::Zero(), 0.2 * Eigen::MatrixXd::Identity(2, 2)};

  [[nodiscard]] auto field() const {
    return upfi::flow::probability_flow(
        upfi::nn::linear_field(a, e),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
        upfi::flow::matrix_diffusion{diffusion}, upfi::nn::quadratic_scalar_field(Eigen::MatrixXd(), c, b));
  }
  [[nodiscard]] upfi::problems::gaussian_population at(double t, bool growth) const {
    return upfi::problems::ou_growth_moments(a, e, diffusion, Eigen::MatrixXd::Zero(2, 2),
                                             growth ? c : Eigen::VectorXd::Zero(2), growth ? b : 0.0, start, t, 400);
  }
  [[nodiscard]] Eigen::MatrixXd initial(Eigen::Index n) const { return std::sqrt(0.2) * random_matrix(n, 2, 77); }
};

Eigen::MatrixXd covariance(const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd c = x.rowwise() - x.colwise().mean();
  return c.transpose() * c / static_cast<double>(x.rows() - 1);
}

}  // namespace

TEST_SUITE("infer") {
  TEST_CASE("simulate_model: paths follow the exact OU moments and log-masses the growth's weighted moments") {
    const ou_case oc;
    const upfi::infer::model_simulation_options o{.dt = 0.005, .seed = 3};
    const auto sim = upfi::infer::simulate_model(oc.field(), oc.initial(20000), {0.0, 0.5, 1.0}, o);
    REQUIRE(sim.positions.size() == 3);
    REQUIRE(sim.log_masses.size() == 3);
    for (std::size_t k = 1; k < 3; ++k) {
      const double t = sim.times[k];
      CAPTURE(t);
      // unweighted paths: the OU process itself (growth does not move cells)
      const auto plain = oc.at(t, false);
      CHECK((sim.positions[k].colwise().mean().transpose() - plain.mean).cwiseAbs().maxCoeff() < 0.02);
      CHECK((covariance(sim.positions[k]) - plain.covariance).cwiseAbs().maxCoeff() < 0.02);
      // weighted by exp(int g): the population with growth (Prop. A.1 moments)
      const auto grown = oc.at(t, true);
      const Eigen::ArrayXd w = sim.log_masses[k].array().exp();
      CHECK(w.mean() == doctest::Approx(grown.mass).epsilon(0.01));
      const Eigen::VectorXd mean = (sim.positions[k].array().colwise() * w).colwise().sum().transpose() / w.sum();
      CHECK((mean - grown.mean).cwiseAbs().maxCoeff() < 0.02);
    }
  }

  TEST_CASE("simulate_model: branching realises the growth as cell counts") {
    const ou_case oc;
    const Eigen::Index n0 = 4000;
    const upfi::infer::model_simulation_options o{.dt = 0.005, .branching = true, .seed = 5};
    const auto sim = upfi::infer::simulate_model(oc.field(), oc.initial(n0), {0.0, 1.0}, o);
    CHECK(sim.log_masses.empty());
    const auto grown = oc.at(1.0, true);
    const double ratio = static_cast<double>(sim.positions[1].rows()) / static_cast<double>(n0);
    MESSAGE("count ratio " << ratio << ", exact mass " << grown.mass);
    // births ~ Poisson(N0 (m - 1)) at most: sd / N0 ~ sqrt((m - 1) / N0) ~ 0.014; 4 sd
    CHECK(std::abs(ratio - grown.mass) < 4 * std::sqrt((grown.mass - 1) / static_cast<double>(n0)) + 0.01);
    CHECK((sim.positions[1].colwise().mean().transpose() - grown.mean).cwiseAbs().maxCoeff() < 0.05);
  }

  TEST_CASE("simulate_model: reproducible for a seed and any thread count; noise off gives the ODE") {
    const ou_case oc;
    const Eigen::MatrixXd x0 = oc.initial(3000);
    const upfi::infer::model_simulation_options o{.dt = 0.05, .branching = true, .seed = 9};
    const auto a = upfi::infer::simulate_model(oc.field(), x0, {0.0, 0.7}, o);
    upfi::infer::model_trajectories b;
    {
      const upfi::core::thread_limit one(1);
      b = upfi::infer::simulate_model(oc.field(), x0, {0.0, 0.7}, o);
    }
    CHECK(a.positions[1] == b.positions[1]);
    auto plain = o;
    plain.branching = false;
    auto other = plain;
    other.seed = 10;
    CHECK(upfi::infer::simulate_model(oc.field(), x0, {0.0, 0.7}, other).positions[1] !=
          upfi::infer::simulate_model(oc.field(), x0, {0.0, 0.7}, plain).positions[1]);
    // deterministic transport: x' = A x + e integrated by Euler equals the explicit recursion
    const auto transport = upfi::flow::transport_flow(upfi::nn::linear_field(oc.a, oc.e));
    const auto det = upfi::infer::simulate_model(transport, x0.topRows(5), {0.0, 0.3}, {.dt = 0.1});
    Eigen::MatrixXd x = x0.topRows(5);
    for (int s = 0; s < 3; ++s) x = (x + 0.1 * ((x * oc.a.transpose()).rowwise() + oc.e.transpose())).eval();
    CHECK((det.positions[1] - x).cwiseAbs().maxCoeff() < 1e-12);
  }

  TEST_CASE("simulate_model: nonnegative keeps concentrations >= 0 by rejecting negative moves") {
    const ou_case oc;
    const Eigen::MatrixXd x0 = oc.initial(2000).cwiseAbs();
    // a drift toward -1 in both coordinates: free paths cross zero, rejected moves keep the previous value
    const auto down =
        upfi::flow::transport_flow(upfi::nn::linear_field(-Eigen::MatrixXd::Identity(2, 2), -Eigen::VectorXd::Ones(2)));
    const upfi::infer::model_simulation_options o{.dt = 0.05, .seed = 4};
    CHECK(upfi::infer::simulate_model(down, x0, {0.0, 1.0}, o).positions[1].minCoeff() < -0.5);
    auto kept = o;
    kept.nonnegative = true;
    const auto r = upfi::infer::simulate_model(down, x0, {0.0, 0.05, 1.0}, kept);
    CHECK(r.positions[2].minCoeff() >= 0.0);
    // one step: exactly the free step where it stays non-negative, the old value where it would not
    const Eigen::MatrixXd free_step = (x0 + 0.05 * ((-x0).rowwise() - Eigen::RowVector2d::Ones())).eval();
    CHECK(r.positions[1] == (free_step.array() < 0).select(x0, free_step).matrix());
  }

  TEST_CASE("simulate_model: invalid input raises clear errors") {
    const ou_case oc;
    CHECK_THROWS_WITH_AS((void)upfi::infer::simulate_model(oc.field(), Eigen::MatrixXd::Zero(3, 3), {0.0, 1.0}),
                         doctest::Contains("dimension 2"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::simulate_model(oc.field(), Eigen::MatrixXd::Zero(3, 2), {0.0, 0.0}),
                         doctest::Contains("not greater than the previous"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        (void)upfi::infer::simulate_model(oc.field(), Eigen::MatrixXd::Zero(3, 2), {0.0, 1.0}, {.dt = 0}),
        doctest::Contains("dt > 0"), std::invalid_argument);
    Eigen::MatrixXd bad = Eigen::MatrixXd::Zero(3, 2);
    bad(1, 0) = std::nan("");
    CHECK_THROWS_AS((void)upfi::infer::simulate_model(oc.field(), bad, {0.0, 1.0}), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::simulate_model(oc.field(), Eigen::MatrixXd::Zero(100, 2), {0.0, 5.0},
                                                           {.dt = 0.01, .branching = true, .max_cells = 150}),
                         doctest::Contains("max_cells = 150"), upfi::core::error);
  }
}
