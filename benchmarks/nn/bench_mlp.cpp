// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Forward + VJP (w.r.t. inputs and parameters) of 3-hidden-layer SiLU MLPs: widths 64, 128, 256; batch 256 and 4096;
// d = 2, 10, 50 (inputs = outputs = d, as a drift field). Items = samples.
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/nn/mlp.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>

namespace {
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
}  // namespace

BENCHMARK(BM_mlp_forward_vjp)->ArgsProduct({{64, 128, 256}, {256, 4096}, {2, 10, 50}})->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
