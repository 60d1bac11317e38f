// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Soft-min kernel throughput (pair updates per second: one cost evaluation, one exp and one accumulation per pair)
// next to the machine's measured SIMD exp throughput, the full debiased Sinkhorn divergence (GeomLoss schedule), and
// one training minibatch problem solved cold or warm-started.
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/ot/online_softmin.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>
#include <upfi/ot/split_divergence.hpp>
#include <upfi/simd/xsimd_compat.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <vector>

namespace {
Eigen::MatrixXd cloud(Eigen::Index n, Eigen::Index d, std::uint32_t stream) {
  Eigen::MatrixXd z(n, d);
  upfi::core::counter_rng(7, stream).fill_normal(z, 0);
  return z;
}

// Baseline: xsimd::exp over an array (values in [-10, 0], as after the max shift), one thread; items = exps.
void BM_exp_throughput_baseline(benchmark::State& state) {
  using batch = upfi::simd::batch<double>;
  std::vector<double> v(4096);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = -10.0 * static_cast<double>(i) / static_cast<double>(v.size());
  double check = 0;
  for (std::size_t i = 0; i + batch::size <= v.size(); i += batch::size) {
    check += upfi::simd::reduce_add(xsimd::exp(batch::load_unaligned(v.data() + i)));
  }
  if (!(std::abs(check - 409.6 * (1 - std::exp(-10.0))) < 1.0)) std::abort();  // ~ integral of exp on [-10, 0]
  for (auto _ : state) {
    batch acc(0.0);
    for (std::size_t i = 0; i + batch::size <= v.size(); i += batch::size)
      acc = acc + xsimd::exp(batch::load_unaligned(v.data() + i));
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(v.size()));
}

void softmin(benchmark::State& state, int threads) {
  const Eigen::Index n = state.range(0), d = state.range(1);
  const Eigen::MatrixXd x = cloud(n, d, 0), y = cloud(n, d, 1);
  const Eigen::VectorXd h = Eigen::VectorXd::Constant(n, -std::log(static_cast<double>(n)));
  Eigen::VectorXd out(n), ref;
  const upfi::core::thread_limit limit(threads);
  // validate against the scalar oracle on a subset of rows before timing
  upfi::ot::online_softmin<double>(x, y, h, 0.1, out);
  upfi::ot::reference::online_softmin<double>(x.topRows(16), y, h, 0.1, ref);
  if ((out.head(16) - ref).cwiseAbs().maxCoeff() > 1e-10 * (1 + ref.cwiseAbs().maxCoeff())) std::abort();
  for (auto _ : state) {
    upfi::ot::online_softmin<double>(x, y, h, 0.1, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * n * n);
}
void BM_online_softmin(benchmark::State& state) { softmin(state, 1); }
void BM_online_softmin_openmp(benchmark::State& state) { softmin(state, upfi::core::max_threads()); }

void BM_sinkhorn_divergence(benchmark::State& state) {
  const Eigen::Index n = state.range(0), d = state.range(1);
  const Eigen::MatrixXd x = cloud(n, d, 0), y = cloud(n, d, 1).array() + 0.5;
  const Eigen::VectorXd l = upfi::ot::uniform_log_masses(n);
  const upfi::ot::sinkhorn_options o{.blur = 0.1, .reach = 5.0, .max_iterations = 0};
  const auto r = upfi::ot::sinkhorn_divergence<double>(x, l, y, l, o);
  if (!(r.value > 0) || !std::isfinite(r.value)) std::abort();
  state.counters["sweeps"] = r.iterations;
  for (auto _ : state) benchmark::DoNotOptimize(upfi::ot::sinkhorn_divergence<double>(x, l, y, l, o).value);
}

// One training minibatch problem (B x B, unbalanced, blur 0.1, reach 5; masses 1 and 2), cold with GeomLoss's
// schedule against warm: the potentials of the previous minibatch's problem (other samples of the same two
// distributions) carried over by extend_potentials, then options.warm_sweeps sweeps. One thread, as in the trainer
// (its intervals run in parallel). The warm time includes the extension.
struct minibatch_problem {
  Eigen::MatrixXd x0, y0, x, y;
  Eigen::VectorXd la, lb;
  upfi::ot::sinkhorn_options o{.blur = 0.1, .reach = 5.0, .max_iterations = 0};
  upfi::ot::sinkhorn_result<double> previous;
  explicit minibatch_problem(Eigen::Index b)
      : x0(cloud(b, 2, 10)),
        y0(cloud(b, 2, 11).array() + 0.5),
        x(cloud(b, 2, 12)),
        y(cloud(b, 2, 13).array() + 0.5),
        la(upfi::ot::uniform_log_masses(b)),
        lb(la.array() + std::log(2.0)),
        previous(upfi::ot::sinkhorn_divergence<double>(x0, la, y0, lb, o)) {}
  [[nodiscard]] upfi::ot::sinkhorn_result<double> warm() const {
    return upfi::ot::sinkhorn_divergence<double>(
        x, la, y, lb, o, upfi::ot::extend_potentials<double>(previous, x0, la, y0, lb, x, y, o));
  }
};

void BM_sinkhorn_minibatch_cold(benchmark::State& state) {
  const upfi::core::thread_limit limit(1);
  const minibatch_problem p(state.range(0));
  const auto r = upfi::ot::sinkhorn_divergence<double>(p.x, p.la, p.y, p.lb, p.o);
  if (!(r.value > 0) || !std::isfinite(r.value)) std::abort();
  state.counters["sweeps"] = r.iterations;
  for (auto _ : state) benchmark::DoNotOptimize(upfi::ot::sinkhorn_divergence<double>(p.x, p.la, p.y, p.lb, p.o).value);
}

void BM_sinkhorn_minibatch_warm(benchmark::State& state) {
  const upfi::core::thread_limit limit(1);
  const minibatch_problem p(state.range(0));
  // the warm value must be that of the same problem: within 5 % of the cold schedule's (which is itself unconverged)
  const double cold = upfi::ot::sinkhorn_divergence<double>(p.x, p.la, p.y, p.lb, p.o).value;
  const auto r = p.warm();
  if (!(std::abs(r.value - cold) < 0.05 * std::abs(cold))) std::abort();
  state.counters["sweeps"] = r.iterations;
  for (auto _ : state) benchmark::DoNotOptimize(p.warm().value);
}
// The split-sample divergence of the same minibatch problem (split_sinkhorn_divergence, matched halves): four
// problems of a quarter of the size, against the plain divergence's three of full size. Checked first: finite, and
// below the plain divergence, which carries the minibatch bias the split estimate removes.
void BM_sinkhorn_minibatch_split(benchmark::State& state) {
  const upfi::core::thread_limit limit(1);
  const minibatch_problem p(state.range(0));
  const double plain = upfi::ot::sinkhorn_divergence<double>(p.x, p.la, p.y, p.lb, p.o).value;
  const auto r = upfi::ot::split_sinkhorn_divergence<double>(p.x, p.la, p.y, p.lb, p.o);
  if (!std::isfinite(r.value) || !(r.value < plain)) std::abort();
  state.counters["sweeps"] = r.iterations;
  for (auto _ : state)
    benchmark::DoNotOptimize(upfi::ot::split_sinkhorn_divergence<double>(p.x, p.la, p.y, p.lb, p.o).value);
}
}  // namespace

BENCHMARK(BM_exp_throughput_baseline);
BENCHMARK(BM_online_softmin)->Args({4000, 2})->Args({4000, 10})->Args({4000, 50})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_online_softmin_openmp)
    ->Args({4000, 2})
    ->Args({4000, 10})
    ->Args({4000, 50})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_sinkhorn_divergence)->Args({1000, 10})->Args({4000, 10})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sinkhorn_minibatch_cold)->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sinkhorn_minibatch_warm)->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sinkhorn_minibatch_split)->Arg(128)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
