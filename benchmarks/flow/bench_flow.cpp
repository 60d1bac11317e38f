// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Probability-flow integration with an MLP drift (64x3 SiLU, d -> d) and an MLP score (a dsm_score network, 64x3,
// d + 2 -> d), additive noise, N = 4096 particles; one RK4 step per iteration (4 field evaluations). Items =
// particle-steps. BM_flow_forward: integrate; BM_flow_forward_reverse: integrate_vjp (forward, stage recomputation
// and the reverse sweep, score input path included); BM_flow_tape_reverse: the trainer's path, integrate_recorded with
// the stage values kept and integrate_vjp(tape), with the networks' records (second argument 1: the reverse sweep runs
// no forward pass) or with them hidden (0: every VJP evaluates its network again, as before records existed).
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/memory.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/score/dsm.hpp>

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>

namespace {
// large per-evaluation temporaries: reuse freed heap memory instead of page-faulting (upfi/core/memory.hpp)
const bool heap_retained = upfi::core::retain_heap_memory();
auto make_field(Eigen::Index d) {
  const Eigen::Index w = 64;
  upfi::nn::mlp<double> drift({.inputs = d, .outputs = d, .hidden = {w, w, w}}, 1);
  upfi::score::dsm_score score(upfi::nn::mlp<double>({.inputs = d + 2, .outputs = d, .hidden = {w, w, w}}, 2),
                               upfi::score::log_spaced_noise_levels(5, std::exp(-2.0), 1.0));
  return upfi::flow::probability_flow(std::move(drift), std::move(score), upfi::flow::isotropic_diffusion{0.125});
}

upfi::flow::flow_state initial(Eigen::Index n, Eigen::Index d) {
  upfi::flow::flow_state y{Eigen::MatrixXd(n, d), Eigen::VectorXd::Zero(n), 0};
  upfi::core::counter_rng(3).fill_normal(y.x, 0);
  return y;
}

void BM_flow_forward(benchmark::State& state) {
  const Eigen::Index d = state.range(0), n = 4096;
  const auto field = make_field(d);
  const auto y0 = initial(n, d);
  // validate before timing: one RK4 step of size h matches two of size h/2 to O(h^5)
  const auto one = upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1});
  const auto two = upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 2});
  if (!((one.x - two.x).cwiseAbs().maxCoeff() < 1e-8)) std::abort();
  for (auto _ : state) {
    auto y = upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1});
    benchmark::DoNotOptimize(y.x.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_flow_forward_reverse(benchmark::State& state) {
  const Eigen::Index d = state.range(0), n = 4096;
  const auto field = make_field(d);
  const auto y0 = initial(n, d);
  const Eigen::MatrixXd cx = Eigen::MatrixXd::Ones(n, d);
  // validate before timing: the gradient w.r.t. one parameter matches a central difference
  const auto g = upfi::flow::integrate_vjp(field, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1}, cx, {});
  auto plus = field, minus = field;
  Eigen::VectorXd p = field.parameters();
  const double h = 1e-6;
  p[0] += h;
  plus.set_parameters(p);
  p[0] -= 2 * h;
  minus.set_parameters(p);
  const double fd = (upfi::flow::integrate(plus, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1}).x.sum() -
                     upfi::flow::integrate(minus, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1}).x.sum()) /
                    (2 * h);
  if (!(std::abs(fd - g.params[0]) < 1e-5 * (1 + std::abs(fd)))) std::abort();
  for (auto _ : state) {
    auto gr = upfi::flow::integrate_vjp(field, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1}, cx, {});
    benchmark::DoNotOptimize(gr.params.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
// The field with its records hidden (the reverse sweep's VJPs evaluate the networks again).
template <class Field>
struct without_records {
  const Field& f;
  [[nodiscard]] Eigen::Index dimension() const { return f.dimension(); }
  [[nodiscard]] Eigen::Index parameter_count() const { return f.parameter_count(); }
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, upfi::flow::flow_values& out) const {
    f.evaluate(t, x, out);
  }
  void vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& cu, const Eigen::MatrixXd& cv,
           const Eigen::VectorXd& cg, Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    f.vjp(t, x, cu, cv, cg, grad_x, grad_params);
  }
};

template <class Field>
upfi::flow::flow_gradients tape_gradient(const Field& field, const upfi::flow::flow_state& y0,
                                         const Eigen::MatrixXd& cx) {
  const auto tape = upfi::flow::integrate_recorded(field, upfi::flow::rk4(), 0.0, 0.01, y0, {.steps = 1});
  return upfi::flow::integrate_vjp(field, tape, cx, {});
}

void BM_flow_tape_reverse(benchmark::State& state) {
  const Eigen::Index d = state.range(0), n = 4096;
  const bool records = state.range(1) != 0;
  const auto field = make_field(d);
  const without_records<decltype(field)> hidden{field};
  const auto y0 = initial(n, d);
  const Eigen::MatrixXd cx = Eigen::MatrixXd::Ones(n, d);
  // validate before timing: both paths give the same gradient (to rounding: the row blocks sum in another order)
  const auto a = tape_gradient(field, y0, cx), b = tape_gradient(hidden, y0, cx);
  if (!((a.params - b.params).norm() <= 1e-12 * b.params.norm())) std::abort();
  for (auto _ : state) {
    auto gr = records ? tape_gradient(field, y0, cx) : tape_gradient(hidden, y0, cx);
    benchmark::DoNotOptimize(gr.params.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
}  // namespace

BENCHMARK(BM_flow_forward)->Arg(2)->Arg(10)->Arg(50)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_flow_forward_reverse)->Arg(2)->Arg(10)->Arg(50)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_flow_tape_reverse)->ArgsProduct({{2, 10, 50}, {0, 1}})->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
