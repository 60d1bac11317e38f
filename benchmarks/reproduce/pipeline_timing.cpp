// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Per-stage wall-clock breakdown of the UPFI pipeline on the bistable benchmark data (docs/performance.md):
// stage 1 (score: kernel score construction, or DSM training with --dsm N), then stage-2 iterations taken apart into
// minibatch sampling, push-forward (integrate_recorded, score evaluations included), Sinkhorn divergence (value and
// gradients), backward (integrate_vjp through the steps) and the optimiser, all run serially so that every stage is
// timed alone. The same number of iterations of the real trainer (intervals in parallel) gives the end-to-end rate.
//
// Options: `pipeline_timing --help`.
//
// Not part of CI. Timings depend on the machine; call with OMP_NUM_THREADS unset (all cores) or pinned.
#include <upfi/core/memory.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/problems/bistable_benchmark.hpp>

#include "table_support.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

struct stage_times {
  double sample = 0, push = 0, sinkhorn = 0, backward = 0, optimiser = 0;
  [[nodiscard]] double total() const { return sample + push + sinkhorn + backward + optimiser; }
};

template <class Field>
void run(Field field, const upfi::core::snapshot_series<double>& data, const upfi::infer::flow_training_options& to,
         double score_seconds, const char* score_name) {
  using namespace upfi;
  // serial, per stage
  infer::flow_trainer probe(field, data, to);
  nn::adam opt(field.parameter_count(), {.learning_rate = to.learning_rate, .weight_decay = to.weight_decay});
  const double d_scale = to.rescale_by_dimension ? static_cast<double>(field.dimension()) : 1.0;
  const flow::fixed_step_options fo{.steps = to.steps, .alpha = to.alpha * d_scale};
  const ot::sinkhorn_options so = infer::sinkhorn_options_of(to, true);
  stage_times st;
  double loss = 0;
  for (long it = 0; it < to.iterations; ++it) {
    Eigen::VectorXd grad = Eigen::VectorXd::Zero(field.parameter_count());
    for (std::size_t i = 0; i + 1 < data.size(); ++i) {
      auto t0 = clock_type::now();
      const infer::interval_batch b = probe.batch(it, i);
      st.sample += since(t0);
      t0 = clock_type::now();
      const flow::flow_tape tape =
          flow::integrate_recorded(field, to.stepper, data.time(i), data.time(i + 1), {b.x, b.log_a, 0.0}, fo, true);
      st.push += since(t0);
      t0 = clock_type::now();
      const auto s = infer::sinkhorn_divergence_of(to, tape.end.x, tape.end.log_m, b.y, b.log_b, so);
      st.sinkhorn += since(t0);
      loss += s.value;
      t0 = clock_type::now();
      grad += flow::integrate_vjp(field, tape, s.grad_x, s.grad_log_a, to.lambda / d_scale).params;
      st.backward += since(t0);
    }
    const auto t0 = clock_type::now();
    Eigen::VectorXd p = field.parameters();
    opt.step(p, grad);
    field.set_parameters(p);
    st.optimiser += since(t0);
  }
  const double n = static_cast<double>(to.iterations);
  // the real trainer, from the same start
  infer::flow_trainer trainer(std::move(field), data, to);
  const auto report = trainer.train();
  const double per_it = report.seconds / n;
  std::printf("score (%s): %.2f s\n", score_name, score_seconds);
  std::printf("stage 2, serial, ms per iteration (%zu intervals, batch %ld, %d steps):\n", data.size() - 1,
              static_cast<long>(to.batch), to.steps);
  const auto row = [&](const char* name, double s) {
    std::printf("  %-28s %8.2f ms  %5.1f %%\n", name, 1e3 * s / n, 100 * s / st.total());
  };
  row("minibatch sampling", st.sample);
  row("push-forward (+ score)", st.push);
  row("Sinkhorn (value + grad)", st.sinkhorn);
  row("backward (VJP + score VJP)", st.backward);
  row("optimiser (AdamW)", st.optimiser);
  row("total (serial)", st.total());
  std::printf("trainer (intervals in parallel, %d threads): %.2f ms per iteration; %ld iterations %.1f s\n",
              upfi::core::max_threads(), 1e3 * per_it, static_cast<long>(to.iterations), report.seconds);
  std::printf("projected full schedule (5000 iterations + this score): %.1f s\n", score_seconds + 5000 * per_it);
  if (!(loss > 0)) std::printf("warning: non-positive loss sum %g\n", loss);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace upfi;
  core::retain_heap_memory();
  problems::bistable_benchmark_options o;
  o.training.iterations = 200;
  o.training.batch = 256;
  reproduce::options args("pipeline_timing", R"(pipeline_timing [--option value] ...
  --dim 2
  --score-samples 2000         points per snapshot kept by the kernel score
  --dsm 0                      DSM score iterations (0: training-free kernel score)
)" + reproduce::training_usage(o.training));
  args.add("--dim", o.dimension);
  args.add("--score-samples", o.score_samples);
  args.add("--dsm", o.dsm_iterations);
  reproduce::add_training_options(args, o.training);
  if (const auto code = args.parse(argc, argv)) return *code;
  const Eigen::Index d = o.dimension;
  const auto data = problems::bistable_snapshots(o);
  auto to = o.training;
  to.reach = to.reach.value_or(5.0);
  to.rescale_by_dimension = true;
  const nn::mlp_options net{.inputs = d, .outputs = d, .hidden = o.hidden};
  nn::mlp_options scalar = net;
  scalar.outputs = 1;
  const flow::isotropic_diffusion diffusion{0.125};
  const auto t0 = clock_type::now();
  const auto go = [&](auto score, const char* name) {
    const double secs = since(t0);
    run(flow::probability_flow(nn::mlp<double>(net, 0), std::move(score), diffusion, nn::mlp<double>(scalar, 1)), data,
        to, secs, name);
  };
  if (o.dsm_iterations > 0) {
    score::dsm_options dso;
    dso.iterations = o.dsm_iterations;
    go(score::train_dsm(data, dso), "DSM");
  } else {
    score::kernel_score_options ko;
    ko.max_samples = o.score_samples;
    go(score::kernel_score(data, ko), "kernel");
  }
}
