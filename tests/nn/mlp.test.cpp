// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/ad/gradient_check.hpp>
#include <upfi/concepts/nn.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/nn/optimizer.hpp>

#include <Eigen/QR>
#include <doctest/doctest.h>

#include "support/random_matrix.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using upfi::nn::activation;
using upfi::nn::mlp;

namespace {
using upfi::test::random_matrix;
}  // namespace

TEST_SUITE("nn/mlp") {
  TEST_CASE("vector-Jacobian products w.r.t. inputs and parameters match central finite differences") {
    for (activation hidden : {activation::identity, activation::relu, activation::silu, activation::softplus,
                              activation::tanh, activation::elu}) {
      for (activation output : {activation::identity, activation::softplus}) {
        CAPTURE(upfi::nn::to_string(hidden));
        CAPTURE(upfi::nn::to_string(output));
        mlp<double> net({.inputs = 3,
                         .outputs = 2,
                         .hidden = {7, 5},
                         .hidden_activation = hidden,
                         .output_activation = output,
                         .time_input = true},
                        11);
        net.set_standardisation(Eigen::RowVector4d(0.1, -0.2, 0.3, 0.5), Eigen::RowVector4d(1.5, 0.7, 2.0, 0.4));
        const Eigen::MatrixXd x = random_matrix(9, 3, 0), cot = random_matrix(9, 2, 1);
        const double t = 0.37;
        upfi::nn::mlp_workspace<double> ws;
        Eigen::MatrixXd y, gx;
        net.forward(t, x, y, ws);
        Eigen::VectorXd gp = Eigen::VectorXd::Zero(net.parameter_count());
        net.vjp(ws, cot, &gx, &gp);
        // loss L = sum(Y .* cot)
        const auto loss_params = [&](const Eigen::VectorXd& p) {
          mlp<double> copy = net;
          copy.parameters() = p;
          return (copy(t, x).array() * cot.array()).sum();
        };
        const auto rp = upfi::ad::check_gradient(loss_params, net.parameters(), gp);
        CHECK(rp.max_rel_error < 1e-6);
        Eigen::VectorXd xflat = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
        const auto loss_x = [&](const Eigen::VectorXd& v) {
          return (net(t, Eigen::Map<const Eigen::MatrixXd>(v.data(), 9, 3)).array() * cot.array()).sum();
        };
        const auto rx =
            upfi::ad::check_gradient(loss_x, xflat, Eigen::Map<const Eigen::VectorXd>(gx.data(), gx.size()));
        CHECK(rx.max_rel_error < 1e-6);
      }
    }
  }

  TEST_CASE("the input-Jacobian diagonal and its VJP match finite differences (smooth activations)") {
    for (activation hidden : {activation::silu, activation::softplus, activation::tanh, activation::elu}) {
      CAPTURE(upfi::nn::to_string(hidden));
      mlp<double> net({.inputs = 3,
                       .outputs = 3,
                       .hidden = {6, 5},
                       .hidden_activation = hidden,
                       .output_activation = activation::softplus,
                       .time_input = true},
                      4);
      net.set_standardisation(Eigen::RowVector4d(0.2, 0.1, -0.3, 0.5), Eigen::RowVector4d(0.8, 1.3, 0.6, 2.0));
      const Eigen::MatrixXd x = random_matrix(7, 3, 5), cot = random_matrix(7, 3, 6);
      const double t = 0.8, h = 1e-6;
      Eigen::MatrixXd diag;
      net.jacobian_diagonal(t, x, diag);
      for (Eigen::Index i = 0; i < 3; ++i) {
        Eigen::MatrixXd xp = x, xm = x;
        xp.col(i).array() += h;
        xm.col(i).array() -= h;
        const Eigen::VectorXd fd = (net(t, xp).col(i) - net(t, xm).col(i)) / (2 * h);
        CHECK((diag.col(i) - fd).cwiseAbs().maxCoeff() < 1e-7 * (1 + fd.cwiseAbs().maxCoeff()));
      }
      Eigen::MatrixXd gx;
      Eigen::VectorXd gp = Eigen::VectorXd::Zero(net.parameter_count());
      net.jacobian_diagonal_vjp(t, x, cot, &gx, &gp);
      const auto loss_params = [&](const Eigen::VectorXd& p) {
        mlp<double> copy = net;
        copy.parameters() = p;
        Eigen::MatrixXd dg;
        copy.jacobian_diagonal(t, x, dg);
        return (dg.array() * cot.array()).sum();
      };
      CHECK(upfi::ad::check_gradient(loss_params, net.parameters(), gp, 1e-5).max_rel_error < 1e-6);
      const auto loss_x = [&](const Eigen::VectorXd& v) {
        Eigen::MatrixXd dg;
        net.jacobian_diagonal(t, Eigen::Map<const Eigen::MatrixXd>(v.data(), 7, 3), dg);
        return (dg.array() * cot.array()).sum();
      };
      const Eigen::VectorXd xflat = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
      CHECK(upfi::ad::check_gradient(loss_x, xflat, Eigen::Map<const Eigen::VectorXd>(gx.data(), gx.size()), 1e-5)
                .max_rel_error < 1e-6);
    }
    const mlp<double> rect({.inputs = 2, .outputs = 3}, 1);
    Eigen::MatrixXd diag;
    CHECK_THROWS_AS(rect.jacobian_diagonal(0.0, Eigen::MatrixXd::Zero(2, 2), diag), std::invalid_argument);
  }

  TEST_CASE("workspace overloads: diagonal, its VJP and the VJP from one forward pass equal the recomputing ones") {
    const Eigen::Index n = 2 * mlp<double>::block_rows + 5, d = 3;
    const mlp<double> net({.inputs = d, .outputs = d, .hidden = {7, 5}, .output_activation = activation::softplus}, 4);
    static_assert(upfi::RecordingField<mlp<double>>);
    const Eigen::MatrixXd x = random_matrix(n, d, 40), cot = random_matrix(n, d, 41);
    mlp<double>::record_type ws;
    Eigen::MatrixXd y, diag_ws, diag, gx_ws, gx, dx_ws, dx;
    net.evaluate(0.3, x, y, ws);
    CHECK(y == net(0.3, x));
    net.jacobian_diagonal(ws, diag_ws);
    net.jacobian_diagonal(0.3, x, diag);
    CHECK(diag_ws == diag);
    Eigen::VectorXd gp_ws = Eigen::VectorXd::Zero(net.parameter_count()), gp = gp_ws;
    net.jacobian_diagonal_vjp(ws, cot, &gx_ws, &gp_ws);
    net.jacobian_diagonal_vjp(0.3, x, cot, &gx, &gp);
    CHECK(gx_ws == gx);
    CHECK(gp_ws == gp);
    // the stacked tangent passes against one directional derivative (jvp) and its VJP (jvp_vjp) per unit direction
    Eigen::MatrixXd gx_dir = Eigen::MatrixXd::Zero(n, d), part;
    Eigen::VectorXd gp_dir = Eigen::VectorXd::Zero(net.parameter_count());
    for (Eigen::Index i = 0; i < d; ++i) {
      const Eigen::MatrixXd dir = Eigen::RowVectorXd::Unit(d, i).replicate(n, 1);
      Eigen::MatrixXd jv, c = Eigen::MatrixXd::Zero(n, d);
      net.jvp(0.3, x, dir, jv);
      CHECK((jv.col(i) - diag.col(i)).cwiseAbs().maxCoeff() < 1e-13 * (1 + diag.cwiseAbs().maxCoeff()));
      c.col(i) = cot.col(i);
      net.jvp_vjp(0.3, x, dir, c, &part, &gp_dir);
      gx_dir += part;
    }
    CHECK((gx_dir - gx).norm() < 1e-12 * gx.norm());
    CHECK((gp_dir - gp).norm() < 1e-12 * gp.norm());
    // the same workspace serves the first-order VJP afterwards
    Eigen::VectorXd g1_ws = Eigen::VectorXd::Zero(net.parameter_count()), g1 = g1_ws;
    net.vjp(ws, cot, &dx_ws, &g1_ws);
    net.vjp(0.3, x, cot, &dx, &g1);
    CHECK(dx_ws == dx);
    CHECK(g1_ws == g1);
    const mlp<double>::record_type empty;
    CHECK_THROWS_WITH_AS(net.jacobian_diagonal(empty, diag),
                         "upfi::nn::mlp::jacobian_diagonal: the workspace holds no forward pass of this network",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(net.jacobian_diagonal_vjp(ws, cot.topRows(4), &gx, &gp),
                         "upfi::nn::mlp::jacobian_diagonal_vjp: cotangent is 4 x 3, expected 261 x 3",
                         std::invalid_argument);
  }

  TEST_CASE("row-block passes: gradients over several blocks match finite differences") {
    const Eigen::Index n = 2 * mlp<double>::block_rows + 37;  // three blocks, the last one partial
    const mlp<double> net({.inputs = 2, .outputs = 2, .hidden = {6, 6}, .time_input = true}, 21);
    const Eigen::MatrixXd x = random_matrix(n, 2, 30), cot = random_matrix(n, 2, 31);
    Eigen::MatrixXd gx, gx2;
    Eigen::VectorXd gp = Eigen::VectorXd::Zero(net.parameter_count()), gd = gp;
    net.vjp(0.2, x, cot, &gx, &gp);
    net.jacobian_diagonal_vjp(0.2, x, cot, &gx2, &gd);
    const auto loss = [&](const Eigen::VectorXd& p) {
      mlp<double> copy = net;
      copy.parameters() = p;
      return (copy(0.2, x).array() * cot.array()).sum();
    };
    const auto loss_diag = [&](const Eigen::VectorXd& p) {
      mlp<double> copy = net;
      copy.parameters() = p;
      Eigen::MatrixXd diag;
      copy.jacobian_diagonal(0.2, x, diag);
      return (diag.array() * cot.array()).sum();
    };
    CHECK(upfi::ad::check_gradient(loss, net.parameters(), gp).max_rel_error < 1e-6);
    CHECK(upfi::ad::check_gradient(loss_diag, net.parameters(), gd).max_rel_error < 1e-6);
    // input gradients are row-local: each row equals a single-row evaluation
    Eigen::MatrixXd gx_row;
    for (Eigen::Index r : {Eigen::Index{0}, mlp<double>::block_rows, n - 1}) {
      net.vjp(0.2, x.row(r), cot.row(r), &gx_row, nullptr);
      CHECK((gx_row - gx.row(r)).cwiseAbs().maxCoeff() < 1e-14);
    }
  }

  TEST_CASE("forward and every VJP are bit-identical with 1 and 2 threads") {
    for (Eigen::Index n : {Eigen::Index{50}, Eigen::Index{1000}}) {  // one block; several blocks
      CAPTURE(n);
      const mlp<double> net({.inputs = 5, .outputs = 5, .hidden = {64, 64, 64}}, 22);
      const Eigen::MatrixXd x = random_matrix(n, 5, 32), cot = random_matrix(n, 5, 33);
      Eigen::MatrixXd y[2], gx[2], gd[2];
      Eigen::VectorXd gp[2], gq[2];
      for (int threads : {1, 2}) {
        const upfi::core::thread_limit limit(threads);
        const int k = threads - 1;
        upfi::nn::mlp_workspace<double> ws;
        net.forward(0.0, x, y[k], ws);
        gp[k] = Eigen::VectorXd::Zero(net.parameter_count());
        gq[k] = gp[k];
        net.vjp(ws, cot, &gx[k], &gp[k]);
        net.jacobian_diagonal_vjp(0.0, x, cot, &gd[k], &gq[k]);
      }
      const auto same = [](const auto& a, const auto& b) {
        return a.size() == b.size() &&
               std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
      };
      CHECK(same(y[0], y[1]));
      CHECK(same(gx[0], gx[1]));
      CHECK(same(gp[0], gp[1]));
      CHECK(same(gd[0], gd[1]));
      CHECK(same(gq[0], gq[1]));
    }
  }

  TEST_CASE("the gradient checker detects a wrong gradient") {
    const auto f = [](const Eigen::VectorXd& p) { return p.squaredNorm(); };
    const Eigen::VectorXd p = Eigen::Vector3d(1, -2, 3);
    CHECK(upfi::ad::check_gradient(f, p, 2 * p).passed(1e-8));
    Eigen::VectorXd wrong = 2 * p;
    wrong[1] += 1e-3;
    const auto r = upfi::ad::check_gradient(f, p, wrong);
    CHECK_FALSE(r.passed(1e-6));
    CHECK(r.worst == 1);
  }

  TEST_CASE("AdamW matches hand-computed steps") {
    Eigen::VectorXd p(2), g(2);
    p << 1.0, -2.0;
    upfi::nn::adam opt(2, {.learning_rate = 0.1, .weight_decay = 0.01});
    g << 0.5, -1.0;
    opt.step(p, g);
    // step 1: p *= 1 - lr wd; m = 0.1 g, v = 0.001 g^2; mhat = g, vhat = g^2; p -= lr g / (|g| + eps)
    const double e = 1e-8;
    Eigen::VectorXd expected(2);
    expected << 1.0 * (1 - 0.001) - 0.1 * 0.5 / (0.5 + e), -2.0 * (1 - 0.001) + 0.1 * 1.0 / (1.0 + e);
    CHECK((p - expected).norm() < 1e-14);
    g << 0.25, 0.5;
    opt.step(p, g);
    // (dynamic-size constants: GCC 12 -Warray-bounds misfires on fixed-size temporaries in AVX packet loops)
    Eigen::VectorXd g1(2), g1sq(2);
    g1 << 0.5, -1.0;
    g1sq << 0.25, 1.0;
    Eigen::VectorXd m = 0.9 * 0.1 * g1 + 0.1 * g;
    Eigen::VectorXd v = 0.999 * 0.001 * g1sq + 0.001 * g.cwiseAbs2();
    const Eigen::VectorXd mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
    expected = expected * (1 - 0.001) - (0.1 * mhat.array() / (vhat.array().sqrt() + e)).matrix();
    CHECK((p - expected).norm() < 1e-14);
    CHECK(opt.steps() == 2);
  }

  TEST_CASE("schedules and clipping") {
    CHECK(upfi::nn::step_schedule(1.0, 25, 10, 0.5) == doctest::Approx(0.25));
    CHECK(upfi::nn::cosine_schedule(1.0, 0, 100) == doctest::Approx(1.0));
    CHECK(upfi::nn::cosine_schedule(1.0, 50, 100, 0.1) == doctest::Approx(0.55));
    CHECK(upfi::nn::cosine_schedule(1.0, 200, 100, 0.1) == doctest::Approx(0.1));
    Eigen::VectorXd g = Eigen::Vector2d(3, 4);
    CHECK(upfi::nn::clip_by_norm(g, 1.0) == doctest::Approx(5.0));
    CHECK(g.norm() == doctest::Approx(1.0));
  }

  TEST_CASE("an affine model trained with Adam reaches the least-squares optimum") {
    const Eigen::MatrixXd x = random_matrix(200, 3, 2);
    Eigen::Matrix<double, 3, 2> a;
    a << 1.0, -0.5, 2.0, 0.3, -1.0, 0.8;
    const Eigen::MatrixXd y = ((x * a).rowwise() + Eigen::RowVector2d(0.4, -0.7)) + 0.1 * random_matrix(200, 2, 3);
    // least squares with intercept
    Eigen::MatrixXd design(200, 4);
    design << x, Eigen::VectorXd::Ones(200);
    const Eigen::MatrixXd coef = design.colPivHouseholderQr().solve(y);
    mlp<double> net({.inputs = 3, .outputs = 2, .hidden = {}}, 1);
    upfi::nn::adam opt(net.parameter_count(), {.learning_rate = 0.05});
    upfi::nn::mlp_workspace<double> ws;
    Eigen::MatrixXd out;
    for (int it = 0; it < 3000; ++it) {
      net.forward(0.0, x, out, ws);
      Eigen::VectorXd grad = Eigen::VectorXd::Zero(net.parameter_count());
      net.vjp(ws, (out - y) / 200.0, nullptr, &grad);
      opt.step(net.parameters(), grad, upfi::nn::cosine_schedule(0.05, it, 3000, 1e-4));
    }
    CHECK((Eigen::MatrixXd(net.weight(0).transpose()) - coef.topRows(3)).cwiseAbs().maxCoeff() < 1e-4);
    CHECK((net.bias(0) - coef.row(3).transpose()).cwiseAbs().maxCoeff() < 1e-4);
  }

  TEST_CASE("save and load round-trip bit-exactly; malformed files are rejected") {
    mlp<double> net({.inputs = 2,
                     .outputs = 3,
                     .hidden = {8, 4},
                     .hidden_activation = activation::tanh,
                     .output_activation = activation::softplus,
                     .time_input = true},
                    5);
    net.set_standardisation(Eigen::RowVector3d(0.5, -1.0, 2.0), Eigen::RowVector3d(1.0 / 3.0, 2.0, 0.1));
    const auto path = std::filesystem::temp_directory_path() / ("upfi_mlp_" + std::to_string(::getpid()) + ".txt");
    net.save(path);
    const auto back = mlp<double>::load(path);
    CHECK(std::memcmp(back.parameters().data(), net.parameters().data(),
                      sizeof(double) * static_cast<std::size_t>(net.parameter_count())) == 0);
    CHECK(back.input_std() == net.input_std());
    CHECK(back.options().output_activation == activation::softplus);
    const Eigen::MatrixXd x = random_matrix(5, 2, 4);
    CHECK(back(0.3, x) == net(0.3, x));
    {
      std::ofstream bad(path);
      bad << "upfi-mlp 2\n";
    }
    CHECK_THROWS_WITH_AS(
        (void)mlp<double>::load(path),
        (std::string("upfi::nn::mlp::load: ") + path.string() + ": unsupported version 2 (this build reads version 1)")
            .c_str(),
        std::invalid_argument);
    std::filesystem::remove(path);
  }

  TEST_CASE("the same seed gives the same weights; shapes are checked") {
    const upfi::nn::mlp_options o{.inputs = 4, .outputs = 1, .hidden = {16}};
    CHECK(mlp<double>(o, 3).parameters() == mlp<double>(o, 3).parameters());
    CHECK(mlp<double>(o, 3).parameters() != mlp<double>(o, 4).parameters());
    // Xavier: weight standard deviation sqrt(2 / (fan_in + fan_out)) within 20%
    const mlp<double> big({.inputs = 200, .outputs = 1, .hidden = {300}}, 9);
    const double sd = std::sqrt(big.weight(0).squaredNorm() / static_cast<double>(big.weight(0).size()));
    CHECK(sd == doctest::Approx(std::sqrt(2.0 / 500.0)).epsilon(0.2));
    const mlp<double> net(o, 1);
    Eigen::MatrixXd y;
    upfi::nn::mlp_workspace<double> ws;
    CHECK_THROWS_WITH_AS(net.forward(0.0, Eigen::MatrixXd::Zero(3, 5), y, ws),
                         "upfi::nn::mlp::forward: input has 5 columns, expected 4", std::invalid_argument);
    net.forward(0.0, Eigen::MatrixXd::Zero(3, 4), y, ws);
    CHECK_THROWS_AS(net.vjp(ws, Eigen::MatrixXd::Zero(2, 1), nullptr, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(mlp<double>({.inputs = 0}), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::nn::activation_from_string("gelu"), std::invalid_argument);
    CHECK_THROWS_AS(upfi::nn::adam(3, {.learning_rate = -1}), std::invalid_argument);
  }
}
