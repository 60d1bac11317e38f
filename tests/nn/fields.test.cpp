// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// The DifferentiableField implementations: MLP, linear field, dual-number adapter of a mechanistic model.
#include <upfi/ad/dual.hpp>
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/nn/gradient_field.hpp>
#include <upfi/nn/linear_degradation_field.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/nn/pointwise_field.hpp>

#include <doctest/doctest.h>

#include "support/random_matrix.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <cstring>

namespace {
// A trainable 2-gene mutual-repression model: p_i = a_i / (1 + (x_j / k)^2) - lambda x_i; parameters (a1, a2, k,
// lambda).
struct repression {
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  [[nodiscard]] Eigen::Index parameter_count() const { return 4; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, const T* p, T* out) const {
    const T r0 = x[1] / p[2], r1 = x[0] / p[2];
    out[0] = p[0] / (1.0 + r0 * r0) - p[3] * x[0];
    out[1] = p[1] / (1.0 + r1 * r1) - p[3] * x[1];
  }
};

// A toggle switch with trainable real Hill exponents: p_i = a_i hill_repression(x_j, k, n_i) - lambda x_i;
// parameters (a1, a2, k, n1, n2, lambda).
struct hill_toggle {
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  [[nodiscard]] Eigen::Index parameter_count() const { return 6; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, const T* p, T* out) const {
    using upfi::ad::hill_repression;
    out[0] = p[0] * hill_repression(x[1], p[2], p[3]) - p[5] * x[0];
    out[1] = p[1] * hill_repression(x[0], p[2], p[4]) - p[5] * x[1];
  }
};

using upfi::test::random_matrix;

// FD check of a DifferentiableField's VJP w.r.t. parameters and inputs for the loss sum(f(t, X) .* C).
template <class Field>
void check_field(Field field, const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd cot = random_matrix(x.rows(), field.outputs(), 9);
  Eigen::MatrixXd gx;
  Eigen::VectorXd gp = Eigen::VectorXd::Zero(field.parameter_count());
  field.vjp(0.3, x, cot, &gx, &gp);
  const auto loss_p = [&](const Eigen::VectorXd& p) {
    Field copy = field;
    copy.parameters() = p;
    Eigen::MatrixXd y;
    copy.evaluate(0.3, x, y);
    return (y.array() * cot.array()).sum();
  };
  CHECK(upfi::ad::check_gradient(loss_p, field.parameters(), gp).max_rel_error < 1e-6);
  const auto loss_x = [&](const Eigen::VectorXd& v) {
    Eigen::MatrixXd y;
    field.evaluate(0.3, Eigen::Map<const Eigen::MatrixXd>(v.data(), x.rows(), x.cols()), y);
    return (y.array() * cot.array()).sum();
  };
  const Eigen::VectorXd xflat = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
  CHECK(upfi::ad::check_gradient(loss_x, xflat, Eigen::Map<const Eigen::VectorXd>(gx.data(), gx.size())).max_rel_error <
        1e-6);
}
}  // namespace

static_assert(upfi::DifferentiableField<upfi::nn::mlp<double>>);
static_assert(upfi::DifferentiableField<upfi::nn::linear_field>);
static_assert(upfi::DiagonalJacobianField<upfi::nn::linear_degradation_field>);
static_assert(upfi::DifferentiableField<upfi::nn::pointwise_field<repression>>);
static_assert(upfi::DifferentiableField<upfi::nn::gradient_field<double>>);
static_assert(!upfi::DifferentiableField<repression>);

TEST_SUITE("nn/fields") {
  TEST_CASE("every DifferentiableField's VJP matches finite differences") {
    SUBCASE("mlp") {
      check_field(upfi::nn::mlp<double>({.inputs = 3, .outputs = 2, .hidden = {5}}, 2), random_matrix(6, 3, 1));
    }
    SUBCASE("linear field A x + e") {
      check_field(upfi::nn::linear_field(random_matrix(3, 3, 2), random_matrix(3, 1, 3).col(0)),
                  random_matrix(8, 3, 4));
    }
    SUBCASE("linear degradation lambda x, learned log rates") {
      check_field(upfi::nn::linear_degradation_field(random_matrix(4, 1, 5).col(0).array().abs() + 0.3),
                  random_matrix(9, 4, 6));
    }
    SUBCASE("gradient field of a SiLU potential (second order: Hessian-vector products)") {
      upfi::nn::mlp<double> u({.inputs = 3, .hidden = {6, 5}, .time_input = true}, 4);
      u.set_standardisation(Eigen::RowVector4d(0.1, -0.2, 0.3, 0.5), Eigen::RowVector4d(1.5, 0.7, 1.1, 2.0));
      check_field(upfi::nn::gradient_field<double>(u), random_matrix(7, 3, 8));
    }
    SUBCASE("gradient field of a tanh potential, scale -1 (a force -grad V)") {
      check_field(
          upfi::nn::gradient_field<double>(
              upfi::nn::mlp_options{.inputs = 2, .hidden = {8}, .hidden_activation = upfi::nn::activation::tanh}, 5,
              -1.0),
          random_matrix(9, 2, 10));
    }
    SUBCASE("trainable Hill model with real exponents through duals") {
      const Eigen::MatrixXd x = random_matrix(50, 2, 11).array().abs() + 0.2;
      Eigen::VectorXd p(6);
      p << 2.0, 1.5, 0.8, 2.3, 3.1, 0.6;
      check_field(upfi::nn::pointwise_field(hill_toggle{}, p), x);
    }
    SUBCASE("mechanistic model through duals") {
      const Eigen::MatrixXd x = random_matrix(300, 2, 5).array().abs() + 0.1;  // more than one parallel block
      check_field(upfi::nn::pointwise_field(repression{}, Eigen::Vector4d(2.0, 1.5, 0.8, 0.6)), x);
    }
  }

  TEST_CASE("linear_field evaluates A x + e") {
    Eigen::Matrix2d a;
    a << 1, 2, 3, 4;
    const upfi::nn::linear_field f(a, Eigen::Vector2d(0.5, -0.5));
    Eigen::MatrixXd y;
    f.evaluate(0.0, Eigen::RowVector2d(1, 1), y);
    CHECK(y(0, 0) == 3.5);
    CHECK(y(0, 1) == 6.5);
    CHECK_THROWS_AS(f.evaluate(0.0, Eigen::MatrixXd::Zero(1, 3), y), std::invalid_argument);
  }

  TEST_CASE("linear_degradation_field: lambda x, its Jacobian diagonal lambda and that diagonal's VJP; fixed rates") {
    const Eigen::Vector3d lambda(2.0, 0.5, 10.0);
    upfi::nn::linear_degradation_field q(lambda);
    CHECK(q.learned());
    REQUIRE(q.parameter_count() == 3);
    CHECK((q.parameters() - lambda.array().log().matrix()).cwiseAbs().maxCoeff() < 1e-15);
    CHECK((q.rates() - lambda).cwiseAbs().maxCoeff() < 1e-14);
    const Eigen::MatrixXd x = random_matrix(7, 3, 3);
    Eigen::MatrixXd y, diag;
    q.evaluate(0.0, x, y);
    CHECK((y - x * lambda.asDiagonal()).cwiseAbs().maxCoeff() < 1e-14);
    q.jacobian_diagonal(0.0, x, diag);
    REQUIRE(diag.rows() == 7);
    CHECK((diag.rowwise() - lambda.transpose()).cwiseAbs().maxCoeff() < 1e-14);
    // the diagonal's VJP: sum(C .* diag) = sum_i lambda_i sum_n C_ni, so d/d theta_i = lambda_i sum_n C_ni, dX = 0
    const Eigen::MatrixXd cot = random_matrix(7, 3, 4);
    Eigen::MatrixXd gx;
    Eigen::VectorXd gp = Eigen::VectorXd::Zero(3);
    q.jacobian_diagonal_vjp(0.0, x, cot, &gx, &gp);
    CHECK(gx.cwiseAbs().maxCoeff() == 0.0);
    const auto loss = [&](const Eigen::VectorXd& theta) {
      upfi::nn::linear_degradation_field copy = q;
      copy.parameters() = theta;
      Eigen::MatrixXd dg;
      copy.jacobian_diagonal(0.0, x, dg);
      return (dg.array() * cot.array()).sum();
    };
    CHECK(upfi::ad::check_gradient(loss, q.parameters(), gp).max_rel_error < 1e-6);
    // fixed rates: no parameters, the same values, nothing added to a parameter gradient
    const upfi::nn::linear_degradation_field fixed(lambda, false);
    CHECK(!fixed.learned());
    CHECK(fixed.parameter_count() == 0);
    Eigen::MatrixXd y_fixed;
    fixed.evaluate(0.0, x, y_fixed);
    CHECK((y_fixed - y).cwiseAbs().maxCoeff() < 1e-14);
    Eigen::VectorXd none(0);
    fixed.vjp(0.0, x, cot, &gx, &none);
    CHECK((gx - cot * lambda.asDiagonal()).cwiseAbs().maxCoeff() < 1e-14);
    // bad input
    CHECK_THROWS_WITH_AS((void)upfi::nn::linear_degradation_field(Eigen::Vector2d(1.0, 0.0)),
                         "upfi::nn::linear_degradation_field: rate[1] = 0 must be finite and > 0",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::nn::linear_degradation_field(Eigen::VectorXd{}),
                         "upfi::nn::linear_degradation_field: no rate given", std::invalid_argument);
    CHECK_THROWS_WITH_AS(q.evaluate(0.0, random_matrix(2, 4, 1), y),
                         "upfi::nn::linear_degradation_field::evaluate: input has 4 columns, expected 3",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(q.vjp(0.0, x, random_matrix(6, 3, 1), &gx, &gp),
                         "upfi::nn::linear_degradation_field::vjp: cotangent is 6 x 3, expected 7 x 3",
                         std::invalid_argument);
    Eigen::VectorXd wrong = Eigen::VectorXd::Zero(2);
    CHECK_THROWS_WITH_AS(q.jacobian_diagonal_vjp(0.0, x, cot, &gx, &wrong),
                         "upfi::nn::linear_degradation_field::jacobian_diagonal_vjp: parameter gradient has 2 entries, "
                         "expected 3",
                         std::invalid_argument);
  }

  TEST_CASE("the dual adapter's parameter gradient is bit-identical with 1 and 2 threads") {
    const upfi::nn::pointwise_field f(repression{}, Eigen::Vector4d(2.0, 1.5, 0.8, 0.6));
    const Eigen::MatrixXd x = random_matrix(1000, 2, 6).array().abs() + 0.1, cot = random_matrix(1000, 2, 7);
    Eigen::VectorXd g1 = Eigen::VectorXd::Zero(4), g2 = Eigen::VectorXd::Zero(4);
    {
      const upfi::core::thread_limit one(1);
      f.vjp(0.0, x, cot, nullptr, &g1);
    }
    {
      const upfi::core::thread_limit two(2);
      f.vjp(0.0, x, cot, nullptr, &g2);
    }
    CHECK(std::memcmp(g1.data(), g2.data(), 4 * sizeof(double)) == 0);
    CHECK_THROWS_AS(upfi::nn::pointwise_field(repression{}, Eigen::Vector3d(1, 2, 3)), std::invalid_argument);
  }

  TEST_CASE("gradient_field evaluates scale * grad U (finite differences of the potential)") {
    const upfi::nn::gradient_field<double> v(upfi::nn::mlp_options{.inputs = 3, .hidden = {7, 7}}, 12, 2.0);
    const Eigen::MatrixXd x = random_matrix(5, 3, 13);
    Eigen::MatrixXd g;
    v.evaluate(0.0, x, g);
    const double h = 1e-6;
    for (Eigen::Index j = 0; j < 3; ++j) {
      Eigen::MatrixXd xp = x, xm = x;
      xp.col(j).array() += h;
      xm.col(j).array() -= h;
      const Eigen::VectorXd fd = 2.0 * (v.potential()(0.0, xp) - v.potential()(0.0, xm)).col(0) / (2 * h);
      CHECK((g.col(j) - fd).cwiseAbs().maxCoeff() < 1e-7 * (1 + fd.cwiseAbs().maxCoeff()));
    }
    CHECK_THROWS_AS(upfi::nn::gradient_field<double>(upfi::nn::mlp<double>({.inputs = 2, .outputs = 2})),
                    std::invalid_argument);
    CHECK_THROWS_AS(upfi::nn::gradient_field<double>(upfi::nn::mlp_options{.inputs = 2}, 0, 0.0),
                    std::invalid_argument);
    Eigen::MatrixXd gx;
    CHECK_THROWS_AS(v.vjp(0.0, x, Eigen::MatrixXd::Zero(5, 2), &gx, nullptr), std::invalid_argument);
  }

  TEST_CASE("a ReLU potential has a piecewise-constant gradient: zero input VJP, exact parameter VJP") {
    const upfi::nn::gradient_field<double> v(
        upfi::nn::mlp_options{.inputs = 2, .hidden = {16, 16}, .hidden_activation = upfi::nn::activation::relu}, 14);
    const Eigen::MatrixXd x = random_matrix(20, 2, 15), cot = random_matrix(20, 2, 16);
    Eigen::MatrixXd gx;
    Eigen::VectorXd gp = Eigen::VectorXd::Zero(v.parameter_count());
    v.vjp(0.0, x, cot, &gx, &gp);
    CHECK(gx.cwiseAbs().maxCoeff() == 0.0);
    const auto loss_p = [&](const Eigen::VectorXd& p) {
      auto copy = v;
      copy.parameters() = p;
      return (copy(0.0, x).array() * cot.array()).sum();
    };
    CHECK(upfi::ad::check_gradient(loss_p, v.parameters(), gp).max_rel_error < 1e-6);
  }

  TEST_CASE("mlp::jvp and jvp_vjp match finite differences for several outputs") {
    const upfi::nn::mlp<double> f({.inputs = 3, .outputs = 2, .hidden = {6}, .time_input = true}, 17);
    const Eigen::MatrixXd x = random_matrix(4, 3, 18), dir = random_matrix(4, 3, 19), cot = random_matrix(4, 2, 20);
    Eigen::MatrixXd j;
    f.jvp(0.4, x, dir, j);
    const double h = 1e-6;
    const Eigen::MatrixXd fd = (f(0.4, x + h * dir) - f(0.4, x - h * dir)) / (2 * h);
    CHECK((j - fd).cwiseAbs().maxCoeff() < 1e-8);
    Eigen::MatrixXd gx;
    Eigen::VectorXd gp = Eigen::VectorXd::Zero(f.parameter_count());
    f.jvp_vjp(0.4, x, dir, cot, &gx, &gp);
    const auto loss_p = [&](const Eigen::VectorXd& p) {
      auto copy = f;
      copy.parameters() = p;
      Eigen::MatrixXd out;
      copy.jvp(0.4, x, dir, out);
      return (out.array() * cot.array()).sum();
    };
    CHECK(upfi::ad::check_gradient(loss_p, f.parameters(), gp).max_rel_error < 1e-6);
    const auto loss_x = [&](const Eigen::VectorXd& v) {
      Eigen::MatrixXd out;
      f.jvp(0.4, Eigen::Map<const Eigen::MatrixXd>(v.data(), 4, 3), dir, out);
      return (out.array() * cot.array()).sum();
    };
    const Eigen::VectorXd xflat = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
    CHECK(
        upfi::ad::check_gradient(loss_x, xflat, Eigen::Map<const Eigen::VectorXd>(gx.data(), gx.size())).max_rel_error <
        1e-6);
    CHECK_THROWS_AS(f.jvp(0.4, x, Eigen::MatrixXd::Zero(4, 2), j), std::invalid_argument);
    CHECK_THROWS_AS(f.jvp_vjp(0.4, x, dir, Eigen::MatrixXd::Zero(4, 3), &gx, &gp), std::invalid_argument);
  }
}
