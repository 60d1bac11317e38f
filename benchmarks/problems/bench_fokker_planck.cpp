// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Cell-steps per second of problems::fokker_planck_grid on the bistable system with growth (d = 2, [-2.4, 2.4]^2,
// 120^2 and 240^2 cells; 240^2 is bistable_force_ceiling's default), 1 thread vs all threads. Each iteration
// advances the density by 0.005 time units (one Heun step is two flux sweeps over every cell).
#include <upfi/core/parallel.hpp>
#include <upfi/problems/fokker_planck_grid.hpp>
#include <upfi/sde/bistable.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>

namespace {
void run(benchmark::State& state, int threads) {
  const auto cells = static_cast<Eigen::Index>(state.range(0));
  const upfi::sde::bistable model(2);
  upfi::problems::fokker_planck_grid_options o;
  o.lower = Eigen::Vector2d::Constant(-2.4);
  o.upper = Eigen::Vector2d::Constant(2.4);
  o.cells = {cells};
  o.autonomous = true;
  upfi::problems::fokker_planck_grid grid(model, Eigen::VectorXd::Constant(1, 0.125), o);
  grid.initialize([](const double* x) { return std::exp(-(x[0] * x[0] + x[1] * x[1]) / 0.02); });
  const upfi::core::thread_limit limit(threads);
  // Validate before timing: by t = 0.05 the density is non-negative, the mass has grown by about exp(2.5 x 0.05) =
  // 1.13 (birth 2.5 (1 + tanh 2 x0), no death, averaging 2.5 over the symmetric start) and nothing reached the walls.
  grid.advance_to(0.05);
  if (!(grid.values().minCoeff() >= 0) || !(grid.mass() > 1.0 && grid.mass() < 1.2) || grid.boundary_mass() > 1e-12) {
    std::abort();
  }
  long steps = 0;
  for (auto _ : state) {
    const long before = grid.steps();
    grid.advance_to(grid.time() + 0.005);
    steps += grid.steps() - before;
    benchmark::DoNotOptimize(grid.values().data());
  }
  state.SetItemsProcessed(steps * grid.size());
  state.counters["steps"] = static_cast<double>(steps) / static_cast<double>(state.iterations());
}

void BM_fokker_planck_bistable(benchmark::State& state) { run(state, 1); }
void BM_fokker_planck_bistable_openmp(benchmark::State& state) { run(state, upfi::core::max_threads()); }
}  // namespace

BENCHMARK(BM_fokker_planck_bistable)->Arg(120)->Arg(240)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fokker_planck_bistable_openmp)->Arg(120)->Arg(240)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
