// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Score estimators. BM_dsm_iteration: one DSM training step (batch draw, forward, loss, VJP, AdamW) at batch 256 for
// the papers' architectures (64x3 at d = 2 and 10, 256x3 at d = 50), 5 OU snapshots of 2000 cells; items =
// iterations. BM_kernel_score: kernel score of N = 4000 query points against a 4000-point snapshot (d = 2, 10, 50);
// items = query points.
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/score/dsm.hpp>
#include <upfi/score/gaussian.hpp>
#include <upfi/score/kernel_score.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>

namespace {
upfi::core::snapshot_series<double> gaussian_snapshots(Eigen::Index d, Eigen::Index n, int k) {
  std::vector<double> times;
  std::vector<Eigen::MatrixXd> clouds;
  for (int i = 0; i < k; ++i) {
    Eigen::MatrixXd x(n, d);
    upfi::core::counter_rng(7, static_cast<std::uint32_t>(i)).fill_normal(x, 0);
    x.array() += 0.5 * i;
    times.push_back(0.25 * i);
    clouds.push_back(std::move(x));
  }
  return {times, clouds};
}

void BM_dsm_iteration(benchmark::State& state) {
  const Eigen::Index d = state.range(0), width = state.range(1);
  const auto data = gaussian_snapshots(d, 2000, 5);
  upfi::score::dsm_trainer trainer(data, {.hidden = {width, width, width}, .iterations = 1000});
  // validate before timing: the loss decreases over 200 steps
  double first = 0, last = 0;
  for (int i = 0; i < 200; ++i) {
    const double l = trainer.step();
    if (i < 20) first += l;
    if (i >= 180) last += l;
  }
  if (!(last < first)) std::abort();
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step());
  state.SetItemsProcessed(state.iterations());
}

void BM_kernel_score(benchmark::State& state) {
  const Eigen::Index d = state.range(0), n = 4000;
  const auto data = gaussian_snapshots(d, n, 1);
  const upfi::score::kernel_score k(data);
  Eigen::MatrixXd x(n, d), s;
  upfi::core::counter_rng(9).fill_normal(x, 0);
  // validate before timing: three rows against the KDE score summed directly
  k.evaluate(0.0, x.topRows(3), s);
  const Eigen::MatrixXd& v = data.cloud(0);
  const double h = k.bandwidths()[0];
  for (Eigen::Index r = 0; r < 3; ++r) {
    const Eigen::RowVectorXd u = x.row(r).cwiseQuotient(k.scale());
    Eigen::RowVectorXd num = Eigen::RowVectorXd::Zero(d);
    double den = 0;
    for (Eigen::Index j = 0; j < n; ++j) {
      const Eigen::RowVectorXd vj = v.row(j).cwiseQuotient(k.scale());
      const double w = std::exp(-(u - vj).squaredNorm() / (2 * h * h));
      num += w * vj;
      den += w;
    }
    const Eigen::RowVectorXd expected = ((num / den - u) / (h * h)).cwiseQuotient(k.scale());
    if (!((s.row(r) - expected).norm() <= 1e-8 * (1 + expected.norm()))) std::abort();
  }
  for (auto _ : state) {
    k.evaluate(0.0, x, s);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
}  // namespace

BENCHMARK(BM_dsm_iteration)->Args({2, 64})->Args({10, 64})->Args({50, 256})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_kernel_score)->Arg(2)->Arg(10)->Arg(50)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
