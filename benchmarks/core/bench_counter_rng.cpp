// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Throughput of Brownian increments: counter-based fill_normal (parallel, thread-count independent) against the
// sequential std::mt19937_64 + std::normal_distribution baseline a user would otherwise write.
#include <upfi/core/counter_rng.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>

namespace {
void validate(const Eigen::MatrixXd& z) {
  // mean within 6 sigma of 0 and variance within 6 sigma of 1: a broken generator fails before timing
  const double n = static_cast<double>(z.size());
  const double mean = z.mean();
  const double var = (z.array() - mean).square().mean();
  if (std::abs(mean) > 6.0 / std::sqrt(n) || std::abs(var - 1.0) > 6.0 * std::sqrt(2.0 / n)) std::abort();
}

void BM_counter_rng_fill_normal(benchmark::State& state) {
  const upfi::core::counter_rng rng(1);
  Eigen::MatrixXd z(state.range(0), state.range(1));
  rng.fill_normal(z, 0);
  validate(z);
  std::uint32_t counter = 0;
  for (auto _ : state) {
    rng.fill_normal(z, counter += upfi::core::counter_rng::counters_per_vector(z.cols()));
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations() * z.size());
}

void BM_counter_rng_fill_normal_one_thread(benchmark::State& state) {
  const upfi::core::thread_limit one(1);
  BM_counter_rng_fill_normal(state);
}

void BM_mt19937_normal_distribution(benchmark::State& state) {
  std::mt19937_64 engine(1);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd z(state.range(0), state.range(1));
  for (Eigen::Index k = 0; k < z.size(); ++k) z.data()[k] = normal(engine);
  validate(z);
  for (auto _ : state) {
    for (Eigen::Index k = 0; k < z.size(); ++k) z.data()[k] = normal(engine);
    benchmark::DoNotOptimize(z.data());
  }
  state.SetItemsProcessed(state.iterations() * z.size());
}
}  // namespace

BENCHMARK(BM_counter_rng_fill_normal)->Args({4096, 2})->Args({65536, 10})->UseRealTime();
BENCHMARK(BM_counter_rng_fill_normal_one_thread)->Args({4096, 2})->Args({65536, 10});
BENCHMARK(BM_mt19937_normal_distribution)->Args({4096, 2})->Args({65536, 10});
BENCHMARK_MAIN();
