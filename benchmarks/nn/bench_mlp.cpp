// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Forward + VJP (w.r.t. inputs and parameters) of 3-hidden-layer SiLU MLPs: widths 64, 128, 256; batch 256 and 4096;
// d = 2, 10, 50 (inputs = outputs = d, as a drift field). Items = samples.
// BM_mlp_jacobian_diagonal: the chemical-Langevin flow's rate-network work per stage, forward + input-Jacobian
// diagonal + the diagonal's VJP, 64x3 SiLU with a softplus output, d = 7 (BF), 11 (HSC), 50; second argument 1: the
// stacked passes of mlp::jacobian_diagonal / jacobian_diagonal_vjp; 0: one jvp and one jvp_vjp per unit direction
// (the same arithmetic as the per-seed implementation before the stacking).
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/memory.hpp>
#include <upfi/nn/mlp.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>

namespace {
// stacked tangents are (d x batch) x width matrices: reuse freed heap memory instead of page-faulting
const bool heap_retained = upfi::core::retain_heap_memory();

void BM_mlp_forward_vjp(benchmark::State& state) {
  const Eigen::Index width = state.range(0), batch = state.range(1), d = state.range(2);
  const upfi::nn::mlp<double> net({.inputs = d, .outputs = d, .hidden = {width, width, width}}, 1);
  Eigen::MatrixXd x(batch, d), cot(batch, d), y, gx;
  upfi::core::counter_rng(2).fill_normal(x, 0);
  upfi::core::counter_rng(3).fill_normal(cot, 0);
  upfi::nn::mlp_workspace<double> ws;
  Eigen::VectorXd gp = Eigen::VectorXd::Zero(net.parameter_count());
  // validate before timing: the input VJP of one sample matches finite differences
  net.forward(0.0, x, y, ws);
  net.vjp(ws, cot, &gx, &gp);
  const Eigen::VectorXd x0 = x.row(0).transpose();
  const auto f = [&](const Eigen::VectorXd& v) { return net(0.0, v.transpose()).row(0).dot(cot.row(0)); };
  if (!upfi::ad::check_gradient(f, x0, gx.row(0).transpose()).passed(1e-5)) std::abort();
  for (auto _ : state) {
    net.forward(0.0, x, y, ws);
    gp.setZero();
    net.vjp(ws, cot, &gx, &gp);
    benchmark::DoNotOptimize(gp.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
void BM_mlp_jacobian_diagonal(benchmark::State& state) {
  const Eigen::Index d = state.range(0), batch = 128;
  const bool stacked = state.range(1) != 0;
  const upfi::nn::mlp<double> net(
      {.inputs = d, .outputs = d, .hidden = {64, 64, 64}, .output_activation = upfi::nn::activation::softplus}, 1);
  Eigen::MatrixXd x(batch, d), cot(batch, d), y, diag, gx;
  upfi::core::counter_rng(2).fill_normal(x, 0);
  upfi::core::counter_rng(3).fill_normal(cot, 0);
  Eigen::VectorXd gp = Eigen::VectorXd::Zero(net.parameter_count());
  upfi::nn::mlp_workspace<double> ws;
  const auto run = [&] {
    gp.setZero();
    if (stacked) {
      net.forward(0.0, x, y, ws);
      net.jacobian_diagonal(ws, diag);
      net.jacobian_diagonal_vjp(ws, cot, &gx, &gp);
    } else {
      diag.resize(batch, d);
      gx.setZero(batch, d);
      Eigen::MatrixXd jv, part, c;
      for (Eigen::Index i = 0; i < d; ++i) {
        const Eigen::MatrixXd dir = Eigen::RowVectorXd::Unit(d, i).replicate(batch, 1);
        net.jvp(0.0, x, dir, jv);
        diag.col(i) = jv.col(i);
        c.setZero(batch, d);
        c.col(i) = cot.col(i);
        net.jvp_vjp(0.0, x, dir, c, &part, &gp);
        gx += part;
      }
    }
  };
  // validate before timing: both implementations give the same diagonal and gradients
  run();
  const Eigen::MatrixXd diag0 = diag, gx0 = gx;
  const Eigen::VectorXd gp0 = gp;
  Eigen::MatrixXd diag1;
  net.jacobian_diagonal(0.0, x, diag1);
  Eigen::MatrixXd gx1;
  Eigen::VectorXd gp1 = Eigen::VectorXd::Zero(net.parameter_count());
  net.jacobian_diagonal_vjp(0.0, x, cot, &gx1, &gp1);
  if (!((diag0 - diag1).norm() <= 1e-12 * diag1.norm() && (gp0 - gp1).norm() <= 1e-12 * gp1.norm() &&
        (gx0 - gx1).norm() <= 1e-12 * gx1.norm())) {
    std::abort();
  }
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(gp.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
}  // namespace

BENCHMARK(BM_mlp_jacobian_diagonal)->ArgsProduct({{7, 11, 50}, {0, 1}})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_forward_vjp)->ArgsProduct({{64, 128, 256}, {256, 4096}, {2, 10, 50}})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
