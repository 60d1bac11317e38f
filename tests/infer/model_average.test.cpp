// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/flow/chemical_langevin_flow.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/flow/transport_flow.hpp>
#include <upfi/infer/model_average.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/nn/quadratic_field.hpp>
#include <upfi/score/gaussian.hpp>

#include <doctest/doctest.h>

#include "support/random_matrix.hpp"

#include <stdexcept>
#include <utility>
#include <vector>

using upfi::test::random_matrix;

namespace {

// An OU probability flow dX = (A x + e) dt + sqrt(2 D) dB with growth g = c^T x + b: linear in (A, e, c, b), so the
// average of two such models is the model of the averaged coefficients.
struct linear_model {
  Eigen::MatrixXd a;
  Eigen::VectorXd e, c;
  double b;

  [[nodiscard]] auto field(const Eigen::MatrixXd& diffusion) const {
    return upfi::flow::probability_flow(
        upfi::nn::linear_field(a, e),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
        upfi::flow::matrix_diffusion{diffusion}, upfi::nn::quadratic_scalar_field(Eigen::MatrixXd(), c, b));
  }
};

const Eigen::MatrixXd average_test_diffusion = (Eigen::MatrixXd(2, 2) << 0.3, 0.1, 0.1, 0.2).finished();

linear_model first_model() {
  return {(Eigen::MatrixXd(2, 2) << -1.0, 0.6, -0.6, -1.0).finished(), Eigen::Vector2d(0.5, -0.2),
          Eigen::Vector2d(0.3, 0.0), 0.5};
}
linear_model second_model() {
  return {(Eigen::MatrixXd(2, 2) << -2.0, 0.0, 0.4, -0.5).finished(), Eigen::Vector2d(-0.1, 0.3),
          Eigen::Vector2d(-0.1, 0.2), -0.3};
}

}  // namespace

TEST_SUITE("infer") {
  TEST_CASE("model_average: the mean of linear models is the model of the mean coefficients, values and paths") {
    const linear_model m1 = first_model(), m2 = second_model();
    const linear_model mean{(m1.a + m2.a) / 2, (m1.e + m2.e) / 2, (m1.c + m2.c) / 2, (m1.b + m2.b) / 2};
    using field_type = decltype(m1.field(average_test_diffusion));
    const upfi::infer::model_average<field_type> avg(
        std::vector<field_type>{m1.field(average_test_diffusion), m2.field(average_test_diffusion)});
    CHECK(avg.size() == 2);
    CHECK(avg.dimension() == 2);
    CHECK(avg.diffusion().d == average_test_diffusion);

    const Eigen::MatrixXd x = random_matrix(50, 2, 5);
    upfi::flow::flow_values fa, fm;
    upfi::infer::drift_and_growth(avg, 0.4, x, fa);
    upfi::infer::drift_and_growth(mean.field(average_test_diffusion), 0.4, x, fm);
    CHECK((fa.v - fm.v).cwiseAbs().maxCoeff() < 1e-13);
    CHECK((fa.g - fm.g).cwiseAbs().maxCoeff() < 1e-13);
    // each member's own values differ from the mean (the test would not see a member returned in its place)
    upfi::flow::flow_values f1;
    upfi::infer::drift_and_growth(m1.field(average_test_diffusion), 0.4, x, f1);
    CHECK((f1.v - fm.v).cwiseAbs().maxCoeff() > 0.1);

    // the SDE of the average is the SDE of the mean model: same noise draws, same paths and log-masses
    const upfi::infer::model_simulation_options o{.dt = 0.01, .seed = 9};
    const auto pa = upfi::infer::simulate_model(avg, x, {0.0, 0.5, 1.0}, o);
    const auto pm = upfi::infer::simulate_model(mean.field(average_test_diffusion), x, {0.0, 0.5, 1.0}, o);
    REQUIRE(pa.positions.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK((pa.positions[k] - pm.positions[k]).cwiseAbs().maxCoeff() < 1e-10);
      CHECK((pa.log_masses[k] - pm.log_masses[k]).cwiseAbs().maxCoeff() < 1e-10);
    }
    CHECK((pa.positions[2] - x).norm() > 1.0);  // the paths moved
  }

  TEST_CASE("model_average: deterministic members, and the mean chemical-Langevin noise diagonal") {
    // transport flows (no noise model): drift and growth averaged
    const upfi::nn::mlp_options net{.inputs = 2, .outputs = 2, .hidden = {6}};
    const upfi::nn::mlp_options scalar{.inputs = 2, .outputs = 1, .hidden = {6}};
    using transport =
        decltype(upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 1), upfi::nn::mlp<double>(scalar, 2)));
    std::vector<transport> members;
    for (std::uint64_t s = 0; s < 3; ++s) {
      members.push_back(upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 10 * s + 1),
                                                   upfi::nn::mlp<double>(scalar, 10 * s + 2)));
    }
    const Eigen::MatrixXd x = random_matrix(20, 2, 8);
    Eigen::MatrixXd v_sum = Eigen::MatrixXd::Zero(20, 2);
    Eigen::VectorXd g_sum = Eigen::VectorXd::Zero(20);
    for (const auto& m : members) {
      upfi::flow::flow_values f;
      upfi::infer::drift_and_growth(m, 0.2, x, f);
      v_sum += f.v;
      g_sum += f.g;
    }
    const upfi::infer::model_average avg(members);
    upfi::flow::flow_values fa;
    avg.drift_and_growth(0.2, x, fa);
    CHECK((fa.v - v_sum / 3).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((fa.g - g_sum / 3).cwiseAbs().maxCoeff() < 1e-14);
    const auto skeleton = upfi::infer::simulate_model(avg, x, {0.0, 0.3}, {.dt = 0.1});
    CHECK(skeleton.positions.back().allFinite());

    // chemical-Langevin flows: the noise diagonal D = diag(p + q) / 2V is averaged too
    const upfi::nn::mlp_options rate{.inputs = 3,
                                     .outputs = 3,
                                     .hidden = {8},
                                     .hidden_activation = upfi::nn::activation::tanh,
                                     .output_activation = upfi::nn::activation::softplus};
    const upfi::score::gaussian_score score(Eigen::Vector3d(1.0, 0.5, 0.8), Eigen::MatrixXd::Identity(3, 3) * 0.6);
    const auto cle = [&](std::uint64_t s) {
      return upfi::flow::chemical_langevin_flow(upfi::nn::mlp<double>(rate, s), upfi::nn::mlp<double>(rate, s + 1),
                                                score, 4.0);
    };
    const upfi::infer::model_average cle_avg(std::vector{cle(1), cle(5)});
    const Eigen::MatrixXd c = random_matrix(10, 3, 4).array().abs() + 0.2;
    const Eigen::MatrixXd expected = (cle(1).diffusion_diagonal(0.1, c) + cle(5).diffusion_diagonal(0.1, c)) / 2;
    CHECK((cle_avg.diffusion_diagonal(0.1, c) - expected).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((cle(1).diffusion_diagonal(0.1, c) - expected).cwiseAbs().maxCoeff() > 1e-6);
  }

  TEST_CASE("model_average: invalid members raise errors naming the problem") {
    using field_type = decltype(first_model().field(average_test_diffusion));
    CHECK_THROWS_WITH_AS(upfi::infer::model_average<field_type>(std::vector<field_type>{}),
                         doctest::Contains("no member given"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(upfi::infer::model_average(std::vector{first_model().field(average_test_diffusion),
                                                                second_model().field(2 * average_test_diffusion)}),
                         doctest::Contains("member 1 has another diffusion matrix"), std::invalid_argument);
    const auto iso = [](Eigen::Index d, double delta) {
      return upfi::flow::probability_flow(
          upfi::nn::linear_field(-Eigen::MatrixXd::Identity(d, d), Eigen::VectorXd::Zero(d)),
          upfi::score::gaussian_score(Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d)),
          upfi::flow::isotropic_diffusion{delta});
    };
    CHECK_THROWS_WITH_AS(upfi::infer::model_average(std::vector{iso(2, 0.1), iso(2, 0.2)}),
                         doctest::Contains("member 1 has diffusion 0.2, member 0 has 0.1"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(upfi::infer::model_average(std::vector{iso(2, 0.1), iso(2, 0.1), iso(3, 0.1)}),
                         doctest::Contains("member 2 has dimension 3, member 0 has 2"), std::invalid_argument);
  }
}
