// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Cell-steps per second of problems::fokker_planck_grid on the bistable system with growth (d = 2, [-2.4, 2.4]^2,
// 120^2 and 240^2 cells; 240^2 is bistable_force_ceiling's default), 1 thread vs all threads. Each iteration
// advances the density by 0.005 time units (one Heun step is two flux sweeps over every cell). The score benchmarks
// time problems::fokker_planck_score between two frames on 4096 points: its values, and its VJP (one pass of the
// interpolant's exact gradient; the central differences it replaced cost 2 d = 4 evaluations).
#include <upfi/core/parallel.hpp>
#include <upfi/problems/fokker_planck_grid.hpp>
#include <upfi/sde/bistable.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <utility>

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

upfi::problems::fokker_planck_score<upfi::sde::bistable> bistable_score() {
  const upfi::sde::bistable model(2);
  upfi::problems::fokker_planck_grid_options o;
  o.lower = Eigen::Vector2d::Constant(-2.4);
  o.upper = Eigen::Vector2d::Constant(2.4);
  o.cells = {120};
  o.autonomous = true;
  upfi::problems::fokker_planck_grid grid(model, Eigen::VectorXd::Constant(1, 0.125), o);
  grid.initialize([](const double* x) { return std::exp(-(x[0] * x[0] + x[1] * x[1]) / 0.02); });
  return {std::move(grid), {0.05, 0.1}};
}

void score_run(benchmark::State& state, bool vjp) {
  const auto score = bistable_score();
  // 4096 points of a 64 x 64 lattice inside the cloud (|x| < 0.6 at t ~ 0.1), off every cell face
  Eigen::MatrixXd x(4096, 2);
  for (Eigen::Index i = 0; i < 4096; ++i) {
    x(i, 0) = -0.6 + 1.2 * (static_cast<double>(i % 64) + 0.37) / 64;
    x(i, 1) = -0.6 + 1.2 * (static_cast<double>(i / 64) + 0.61) / 64;
  }
  const Eigen::MatrixXd cot = Eigen::MatrixXd::Ones(4096, 2);
  Eigen::MatrixXd out, plus, minus;
  // Validate before timing: the VJP equals central differences of the values (the interpolant is multilinear in a
  // cell, so they agree to rounding at points off the cell faces)
  score.vjp_x(0.075, x, cot, out);
  for (Eigen::Index k = 0; k < 2; ++k) {
    Eigen::MatrixXd xp = x, xm = x;
    xp.col(k).array() += 1e-6;
    xm.col(k).array() -= 1e-6;
    score.evaluate(0.075, xp, plus);
    score.evaluate(0.075, xm, minus);
    const Eigen::VectorXd fd = (plus - minus).rowwise().sum() / 2e-6;
    if (!((fd - out.col(k)).cwiseAbs().maxCoeff() < 1e-6 * (1 + fd.cwiseAbs().maxCoeff()))) std::abort();
  }
  for (auto _ : state) {
    if (vjp) {
      score.vjp_x(0.075, x, cot, out);
    } else {
      score.evaluate(0.075, x, out);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * x.rows());
}

void BM_fokker_planck_score_evaluate(benchmark::State& state) { score_run(state, false); }
void BM_fokker_planck_score_vjp(benchmark::State& state) { score_run(state, true); }

void BM_fokker_planck_bistable(benchmark::State& state) { run(state, 1); }
void BM_fokker_planck_bistable_openmp(benchmark::State& state) { run(state, upfi::core::max_threads()); }
}  // namespace

BENCHMARK(BM_fokker_planck_bistable)->Arg(120)->Arg(240)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fokker_planck_bistable_openmp)->Arg(120)->Arg(240)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_fokker_planck_score_evaluate)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_fokker_planck_score_vjp)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
