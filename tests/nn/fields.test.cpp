// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// The DifferentiableField implementations: MLP, linear field, dual-number adapter of a mechanistic model.
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/nn/pointwise_field.hpp>

#include <doctest/doctest.h>

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

Eigen::MatrixXd random_matrix(Eigen::Index r, Eigen::Index c, std::uint32_t stream) {
  Eigen::MatrixXd z(r, c);
  upfi::core::counter_rng(upfi::test::seed(), stream).fill_normal(z, 0);
  return z;
}

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
static_assert(upfi::DifferentiableField<upfi::nn::pointwise_field<repression>>);
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
}
