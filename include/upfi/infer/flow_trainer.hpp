// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Stage 2 of SFI / PFI / UPFI (algorithms.md §3.2, §4.3, §5.3-§5.5): fit the drift (and, for UPFI, the
/// growth) of a probability-flow field by interval-wise teacher forcing.
///
/// Each iteration, for every interval [t_i, t_{i+1}]: draw B rows of snapshot i (uniformly, with replacement) with
/// log-masses log M_i - log B, push them with their log-masses through the field's flow (`steps` steps of the chosen
/// tableau, the regulariser R = int sum_k m_k (|v|^2 / d_scale + alpha g^2) dt accumulated along), draw B rows of
/// snapshot i+1 with log-masses log M_{i+1} - log B, and add S_{eps,rho}(pushed, target) + lambda R to the loss. The
/// gradient is exact for the discretised loss: the Sinkhorn divergence's gradient (envelope theorem) is pulled back
/// through the steps by flow::integrate_vjp. One AdamW step on all trainable parameters follows.
///
/// PFI / SFI-density are the same with a field without growth and a balanced divergence (`reach` empty); the masses
/// are then uniform (1/B on both sides). With d_scale = d (`rescale_by_dimension`) the regulariser is UPFI's rescaled
/// form for the high-dimensional bistable benchmark.
///
/// Minibatches come from counter-based random numbers keyed by (seed, iteration, interval): training is
/// reproducible for a seed, for any thread count.

#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/nn/optimizer.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>
#include <upfi/ot/split_divergence.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace upfi::infer {

/// @brief How the pushed clouds are formed.
enum class training_scheme {
  teacher_forcing,  ///< every interval starts from the observed cells of its first snapshot (SFI / PFI / UPFI)
  full_rollout      ///< one cloud from the first snapshot pushed through every time (TIGON++ and fitness-ODE)
};

/// @brief Hyper-parameters of flow_trainer (defaults: UPFI Table 6, bistable d <= 10, with 2 Euler steps).
struct flow_training_options {
  long iterations = 5000;
  Eigen::Index batch = 256;  ///< B particles per snapshot and interval
  int steps = 2;             ///< steps per interval ("two to three are typically sufficient")
  flow::tableau stepper = flow::euler();
  double learning_rate = 3e-3;
  bool cosine_decay = false;          ///< cosine learning-rate schedule from learning_rate to final_learning_rate
  double final_learning_rate = 0.0;   ///< end of the cosine schedule (reached at `iterations`)
  double weight_decay = 1e-2;         ///< AdamW (decoupled); PyTorch's default
  double lambda = 1e-3;               ///< weight of the WFR regulariser (0: none)
  double alpha = 0.1;                 ///< weight of g^2 inside the regulariser
  bool rescale_by_dimension = false;  ///< |v|^2 / d instead of |v|^2 (UPFI's bistable benchmark)
  double blur = 0.1;                  ///< Sinkhorn eps = blur^2
  std::optional<double> reach = 5.0;  ///< unbalanced marginal penalty rho = reach^2; empty: balanced (PFI)
  double sinkhorn_scaling = 0.5;      ///< eps-scaling ratio of the Sinkhorn solver
  double sinkhorn_tolerance = 1e-6;
  int sinkhorn_max_iterations = 0;  ///< extra sweeps at the final eps (0: GeomLoss's fixed eps-scaling schedule)
  bool float_sinkhorn = false;      ///< single-precision Sinkhorn kernels (twice the SIMD lanes; docs/performance.md)
  /// Warm-start each interval's Sinkhorn problem in step() from the previous iteration's potentials, carried to the new
  /// minibatch by ot::extend_potentials, with sinkhorn_warm_sweeps sweeps at the final eps in place of the eps-scaling
  /// schedule (docs/ot.md, Warm starts). loss() stays cold. Deterministic for a seed and any thread count; the warm
  /// state is not part of a saved model.
  bool sinkhorn_warm_start = false;
  int sinkhorn_warm_sweeps = 2;
  /// Minimise the split-sample divergence S(a1, b1) + S(a2, b2) - S(a1, a2) - S(b1, b2) between the halves of the
  /// pushed and the target minibatch (ot::split_sinkhorn_divergence) instead of S(a, b): its expectation vanishes
  /// when the pushed cells have the target's law, whatever the spread of their weights, where S's minibatch bias
  /// grows with that spread and rewards uniform growth (docs/results.md). A third (matched) or a half (all pairings)
  /// of the Sinkhorn work; noisier. Empty: S(a, b). Not with warm starts.
  std::optional<ot::split_pairing> split_divergence = {};
  double clip_norm = 0;  ///< > 0: clip the gradient's global norm
  /// Polyak-Ruppert tail averaging: the trained field is the mean of the parameter iterates of the last
  /// `average_tail` fraction of the iterations (0: the last iterate; in [0, 1)). The average is installed in field()
  /// when iteration() reaches `iterations` and extended by any later step; the optimiser always steps the raw
  /// iterate (flow_trainer::iterate_parameters()). A cheap variance reduction, in the spirit of restarts averaging.
  double average_tail = 0;
  /// Keep the networks' activations on the tape so the backward runs no forward pass twice (docs/flow.md, Records;
  /// same gradients). Memory per network and stage: about 2 x batch x (sum of hidden widths) values, times the stages
  /// and steps of every interval pushed at once (all of them for a full roll-out). false: the VJPs evaluate the
  /// networks again (about 1.2x slower per iteration).
  bool keep_activations = true;
  std::uint64_t seed = 0;
  long report_every = 100;  ///< callback period (iterations); reported terms are means over the period
  training_scheme scheme = training_scheme::teacher_forcing;
};

/// @brief The Sinkhorn divergence settings of a training configuration (blur, reach, eps-scaling, tolerance, extra
/// sweeps), with or without gradients.
[[nodiscard]] inline ot::sinkhorn_options sinkhorn_options_of(const flow_training_options& o, bool gradients) {
  ot::sinkhorn_options so;
  so.blur = o.blur;
  so.reach = o.reach;
  so.scaling = o.sinkhorn_scaling;
  so.tolerance = o.sinkhorn_tolerance;
  so.max_iterations = o.sinkhorn_max_iterations;
  so.warm_sweeps = o.sinkhorn_warm_sweeps;
  so.gradients = gradients;
  return so;
}

/// @brief The Sinkhorn divergence of a training configuration: double kernels, or single-precision ones when
/// `o.float_sinkhorn` (the result is in double either way).
/// Warm-started from `initial` potentials when it is not null.
[[nodiscard]] inline ot::sinkhorn_result<double> sinkhorn_divergence_of(
    const flow_training_options& o, const Eigen::MatrixXd& x, const Eigen::VectorXd& log_a, const Eigen::MatrixXd& y,
    const Eigen::VectorXd& log_b, const ot::sinkhorn_options& so,
    const ot::sinkhorn_potentials<double>* initial = nullptr) {
  return o.float_sinkhorn ? ot::sinkhorn_divergence_in<float, double>(x, log_a, y, log_b, so, initial)
                          : ot::sinkhorn_divergence_in<double, double>(x, log_a, y, log_b, so, initial);
}

/// @brief The divergence a training configuration minimises between a pushed and a target minibatch:
/// sinkhorn_divergence_of, or with `o.split_divergence` the split-sample divergence (ot::split_sinkhorn_divergence;
/// value, convergence and, with so.gradients, grad_x and grad_log_a).
[[nodiscard]] inline ot::sinkhorn_result<double> training_divergence_of(
    const flow_training_options& o, const Eigen::MatrixXd& x, const Eigen::VectorXd& log_a, const Eigen::MatrixXd& y,
    const Eigen::VectorXd& log_b, const ot::sinkhorn_options& so) {
  if (!o.split_divergence) return sinkhorn_divergence_of(o, x, log_a, y, log_b, so);
  auto split = o.float_sinkhorn
                   ? ot::split_sinkhorn_divergence<float, double>(x, log_a, y, log_b, so, *o.split_divergence)
                   : ot::split_sinkhorn_divergence<double, double>(x, log_a, y, log_b, so, *o.split_divergence);
  ot::sinkhorn_result<double> r;
  r.value = split.value;
  r.converged = split.converged;
  r.iterations = split.iterations;
  r.grad_x = std::move(split.grad_x);
  r.grad_log_a = std::move(split.grad_log_a);
  return r;
}

/// @brief Log-weights of n cells drawn from snapshot k (algorithms.md §5.3): log M_k - log n each when `unbalanced`
/// (the snapshot's relative mass shared equally), -log n (uniform probabilities) when balanced.
[[nodiscard]] inline Eigen::VectorXd sample_log_weights(const core::snapshot_series<double>& data, std::size_t k,
                                                        Eigen::Index n, bool unbalanced) {
  const double log_mass = unbalanced ? std::log(data.relative_mass(k)) : 0.0;
  return Eigen::VectorXd::Constant(n, log_mass - std::log(static_cast<double>(n)));
}

/// @brief Loss terms of one iteration (summed over intervals) or their means over a report period.
struct flow_loss_terms {
  double divergence = 0;   ///< sum_i S(pushed_i, target_i)
  double regulariser = 0;  ///< lambda sum_i R_i (already weighted)
  [[nodiscard]] double total() const noexcept { return divergence + regulariser; }
};

/// @brief What the progress callback receives.
struct flow_progress {
  long iteration = 0;    ///< iterations done
  flow_loss_terms loss;  ///< means over the last report period
  double seconds = 0;    ///< wall time since training started
};

/// @brief Training history: one entry per report period, and the wall time.
struct flow_training_report {
  std::vector<flow_progress> history;
  double seconds = 0;
};

/// @brief One minibatch of one interval: the source rows (pushed) and the target rows, with log-masses.
struct interval_batch {
  Eigen::MatrixXd x, y;
  Eigen::VectorXd log_a, log_b;
};

/// @brief Interval-wise teacher-forcing trainer of a flow field (probability_flow or chemical_langevin_flow).
/// Construct, then call step() as often as wanted or train() for the configured iterations; field() is the model.
template <class Field>
class flow_trainer {
 public:
  /// @throws std::invalid_argument on fewer than two snapshots, a dimension mismatch, invalid options, or an unbalanced
  /// field (with growth) trained with a balanced divergence.
  flow_trainer(Field field, const core::snapshot_series<double>& data, flow_training_options options)
      : m_field(std::move(field)),
        m_data(data),
        m_o(std::move(options)),
        m_opt(m_field.parameter_count(), adam_of(m_o)) {
    constexpr const char* who = "upfi::infer::flow_trainer";
    if (m_data.size() < 2) core::detail::throw_invalid_argument(who, ": need at least two snapshots");
    if (m_data.dimension() != m_field.dimension()) {
      core::detail::throw_invalid_argument(who, ": data have dimension ", m_data.dimension(), ", the field ",
                                           m_field.dimension());
    }
    if (m_o.iterations < 0 || m_o.batch < 1 || m_o.steps < 1 || !(m_o.lambda >= 0) || !(m_o.alpha >= 0) ||
        !(m_o.blur > 0) || !(m_o.sinkhorn_scaling > 0 && m_o.sinkhorn_scaling < 1) || m_o.report_every < 1 ||
        !(m_o.clip_norm >= 0) || (m_o.reach && !(*m_o.reach > 0)) || m_o.sinkhorn_warm_sweeps < 0 ||
        !(m_o.average_tail >= 0 && m_o.average_tail < 1)) {
      core::detail::throw_invalid_argument(
          who, ": need iterations >= 0, batch >= 1, steps >= 1, lambda >= 0, alpha >= 0, blur > 0, ",
          "0 < sinkhorn_scaling < 1, report_every >= 1, clip_norm >= 0, sinkhorn_warm_sweeps >= 0, ",
          "0 <= average_tail < 1 and reach > 0 (or empty); got batch = ", m_o.batch, ", steps = ", m_o.steps,
          ", lambda = ", m_o.lambda, ", blur = ", m_o.blur, ", average_tail = ", m_o.average_tail);
    }
    if (m_o.cosine_decay && !(m_o.final_learning_rate >= 0 && m_o.final_learning_rate <= m_o.learning_rate)) {
      core::detail::throw_invalid_argument(who, ": need 0 <= final_learning_rate <= learning_rate; got ",
                                           m_o.final_learning_rate, " and ", m_o.learning_rate);
    }
    if (m_o.split_divergence && (m_o.batch < 4 || m_o.sinkhorn_warm_start)) {
      core::detail::throw_invalid_argument(who,
                                           ": split_divergence needs batch >= 4 and no Sinkhorn warm start; got "
                                           "batch = ",
                                           m_o.batch, m_o.sinkhorn_warm_start ? " with a warm start" : "");
    }
    if (m_field.parameter_count() == 0) core::detail::throw_invalid_argument(who, ": the field has no parameters");
    if constexpr (requires { Field::has_growth; }) {
      if (Field::has_growth && !m_o.reach) {
        core::detail::throw_invalid_argument(
            who, ": a field with growth changes the mass; use an unbalanced divergence (set reach)");
      }
    }
  }

  [[nodiscard]] Field& field() noexcept { return m_field; }
  [[nodiscard]] const Field& field() const noexcept { return m_field; }
  [[nodiscard]] const flow_training_options& options() const noexcept { return m_o; }
  [[nodiscard]] long iteration() const noexcept { return m_iteration; }

  /// @brief The learning rate of iteration `iteration`: constant, or the cosine schedule over options().iterations.
  [[nodiscard]] double learning_rate(long iteration) const {
    if (!m_o.cosine_decay) return m_o.learning_rate;
    return nn::cosine_schedule(m_o.learning_rate, iteration, std::max(1L, m_o.iterations), m_o.final_learning_rate);
  }

  /// @brief The minibatch of interval i at iteration `iteration` (deterministic in (seed, iteration, i)).
  [[nodiscard]] interval_batch batch(long iteration, std::size_t i) const {
    interval_batch b;
    b.x = sample(i, iteration, 0);
    b.y = sample(i + 1, iteration, 1);
    b.log_a = sample_log_weights(m_data, i, m_o.batch, m_o.reach.has_value());
    b.log_b = sample_log_weights(m_data, i + 1, m_o.batch, m_o.reach.has_value());
    return b;
  }

  /// @brief Loss of the minibatches of `iteration` at the field's current parameters, and (when `gradient` is not
  /// null) its gradient w.r.t. the parameters.
  /// @throws upfi::core::error if a term is not finite (naming the iteration, the interval and the term).
  flow_loss_terms loss(long iteration, Eigen::VectorXd* gradient = nullptr) const {
    return loss_with(iteration, gradient, nullptr);
  }

  /// @brief The first iteration count whose iterate enters the tail average (options().average_tail): the average
  /// is over the iterates after steps first_averaged() ... options().iterations.
  [[nodiscard]] long first_averaged() const noexcept {
    const auto tail = static_cast<long>(std::llround(m_o.average_tail * static_cast<double>(m_o.iterations)));
    return m_o.iterations - std::max(1L, tail) + 1;
  }

  /// @brief The optimiser's current iterate: field().parameters(), except after the tail average was installed.
  [[nodiscard]] Eigen::VectorXd iterate_parameters() const {
    return m_average_installed ? m_iterate : m_field.parameters();
  }

  /// @brief One training iteration: loss, gradient, AdamW step. Returns the iteration's loss terms.
  flow_loss_terms step() {
    Eigen::VectorXd p = iterate_parameters();
    if (m_average_installed) m_field.set_parameters(p);  // the loss is that of the iterate
    Eigen::VectorXd grad;
    if (m_o.sinkhorn_warm_start) m_warm.resize(m_data.size() - 1);
    const flow_loss_terms terms = loss_with(m_iteration, &grad, m_o.sinkhorn_warm_start ? &m_warm : nullptr);
    if (!grad.allFinite()) {
      UPFI_THROW(core::error(
          core::detail::message("upfi::infer::flow_trainer: the gradient is not finite at iteration ", m_iteration)));
    }
    if (m_o.clip_norm > 0) (void)nn::clip_by_norm(grad, m_o.clip_norm);
    m_opt.step(p, grad, learning_rate(m_iteration));
    ++m_iteration;
    m_field.set_parameters(p);
    m_average_installed = false;
    if (m_o.average_tail > 0 && m_iteration >= first_averaged()) {
      // running mean of the iterates from first_averaged() on
      const auto count = static_cast<double>(m_iteration - first_averaged() + 1);
      if (count == 1) {
        m_average = p;
      } else {
        m_average += (p - m_average) / count;
      }
      if (m_iteration >= m_o.iterations) {
        m_iterate = std::move(p);
        m_field.set_parameters(m_average);
        m_average_installed = true;
      }
    }
    return terms;
  }

  /// @brief Runs the remaining iterations (options().iterations - iteration()), calling `progress` every
  /// report_every iterations and at the end.
  flow_training_report train(const std::function<void(const flow_progress&)>& progress = {}) {
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    flow_training_report report;
    flow_loss_terms sum;
    long in_period = 0;
    while (m_iteration < m_o.iterations) {
      const flow_loss_terms t = step();
      sum.divergence += t.divergence;
      sum.regulariser += t.regulariser;
      ++in_period;
      if (m_iteration % m_o.report_every == 0 || m_iteration == m_o.iterations) {
        flow_progress p{
            m_iteration,
            {sum.divergence / static_cast<double>(in_period), sum.regulariser / static_cast<double>(in_period)},
            elapsed()};
        report.history.push_back(p);
        if (progress) progress(p);
        sum = {};
        in_period = 0;
      }
    }
    report.seconds = elapsed();
    return report;
  }

 private:
  // The previous Sinkhorn problem of an interval (clouds and result), the warm start of the next one.
  struct warm_entry {
    Eigen::MatrixXd x, y;
    Eigen::VectorXd log_a, log_b;
    ot::sinkhorn_result<double> result;
  };

  flow_loss_terms loss_with(long iteration, Eigen::VectorXd* gradient, std::vector<warm_entry>* warm) const {
    flow_loss_terms terms;
    if (gradient != nullptr) *gradient = Eigen::VectorXd::Zero(m_field.parameter_count());
    const double d_scale = m_o.rescale_by_dimension ? static_cast<double>(m_field.dimension()) : 1.0;
    // R / d_scale with |v|^2 + (alpha d_scale) g^2 is int sum m (|v|^2 / d_scale + alpha g^2)
    const flow::fixed_step_options fo{.steps = m_o.steps, .alpha = m_o.lambda > 0 ? m_o.alpha * d_scale : -1.0};
    const double reg_weight = m_o.lambda / d_scale;
    const ot::sinkhorn_options so = sinkhorn_options_of(m_o, gradient != nullptr);
    if (m_o.scheme == training_scheme::full_rollout) return rollout_loss(iteration, fo, so, reg_weight, gradient, warm);
    // Intervals are independent: they run in parallel (one block each, nested parallel regions inactive), and their
    // terms and gradients are summed in interval order, so the result does not depend on the thread count.
    const std::size_t k = m_data.size() - 1;
    std::vector<flow_loss_terms> parts(k);
    std::vector<Eigen::VectorXd> grads(gradient != nullptr ? k : 0);
    core::parallel_for(static_cast<Eigen::Index>(k), 1, [&](Eigen::Index begin, Eigen::Index end) {
      for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i) {
        parts[i] = interval_loss(iteration, i, fo, so, reg_weight, gradient != nullptr ? &grads[i] : nullptr, warm);
      }
    });
    for (std::size_t i = 0; i < k; ++i) {
      terms.divergence += parts[i].divergence;
      terms.regulariser += parts[i].regulariser;
      if (gradient != nullptr) *gradient += grads[i];
    }
    return terms;
  }

  static nn::adam_options adam_of(const flow_training_options& o) {
    return {.learning_rate = o.learning_rate, .weight_decay = o.weight_decay, .decoupled = true};
  }
  flow_loss_terms interval_loss(long iteration, std::size_t i, const flow::fixed_step_options& fo,
                                const ot::sinkhorn_options& so, double reg_weight, Eigen::VectorXd* gradient,
                                std::vector<warm_entry>* warm) const {
    const interval_batch b = batch(iteration, i);
    const flow::flow_tape tape = push(iteration, i, {b.x, b.log_a, 0.0}, fo, gradient != nullptr);
    const auto s = divergence(i, tape.end.x, tape.end.log_m, b.y, b.log_b, so, warm);
    const double reg = reg_weight * tape.end.regulariser;
    check_terms(s.value, reg, iteration, i);
    if (gradient != nullptr) *gradient = flow::integrate_vjp(m_field, tape, s.grad_x, s.grad_log_a, reg_weight).params;
    return {s.value, reg};
  }

  // Full roll-out: the batch of snapshot 0 is pushed through every interval in turn; the divergence to each later
  // snapshot's batch and the regulariser are summed, and the reverse sweep carries the cotangents back through all
  // intervals (each snapshot's Sinkhorn gradient joins when the sweep passes its time).
  flow_loss_terms rollout_loss(long iteration, const flow::fixed_step_options& fo, const ot::sinkhorn_options& so,
                               double reg_weight, Eigen::VectorXd* gradient, std::vector<warm_entry>* warm) const {
    const std::size_t k = m_data.size() - 1;
    std::vector<flow::flow_tape> tapes;
    std::vector<ot::sinkhorn_result<double>> fits;
    flow_loss_terms terms;
    interval_batch b = batch(iteration, 0);
    flow::flow_state y{std::move(b.x), std::move(b.log_a), 0.0};
    for (std::size_t i = 0; i < k; ++i) {
      if (i > 0) b = batch(iteration, i);
      tapes.push_back(push(iteration, i, y, fo, gradient != nullptr));
      const flow::flow_state& end = tapes.back().end;
      fits.push_back(divergence(i, end.x, end.log_m, b.y, b.log_b, so, warm));
      const double reg = reg_weight * end.regulariser;
      check_terms(fits.back().value, reg, iteration, i);
      terms.divergence += fits.back().value;
      terms.regulariser += reg;
      y = {end.x, end.log_m, 0.0};
    }
    if (gradient != nullptr) {
      Eigen::MatrixXd cot_x = Eigen::MatrixXd::Zero(y.x.rows(), y.x.cols());
      Eigen::VectorXd cot_l = Eigen::VectorXd::Zero(y.x.rows());
      for (std::size_t i = k; i-- > 0;) {
        cot_x += fits[i].grad_x;
        cot_l += fits[i].grad_log_a;
        flow::flow_gradients g = flow::integrate_vjp(m_field, tapes[i], cot_x, cot_l, reg_weight);
        *gradient += g.params;
        cot_x = std::move(g.x0);
        cot_l = std::move(g.log_m0);
      }
    }
    return terms;
  }

  // The divergence of interval i, warm-started from (and then recorded in) warm[i] when `warm` is not null; with
  // split_divergence, the split-sample one (value and gradients on x and log a only).
  ot::sinkhorn_result<double> divergence(std::size_t i, const Eigen::MatrixXd& x, const Eigen::VectorXd& log_a,
                                         const Eigen::MatrixXd& y, const Eigen::VectorXd& log_b,
                                         const ot::sinkhorn_options& so, std::vector<warm_entry>* warm) const {
    if (m_o.split_divergence) return training_divergence_of(m_o, x, log_a, y, log_b, so);
    if (warm == nullptr) return sinkhorn_divergence_of(m_o, x, log_a, y, log_b, so);
    warm_entry& w = (*warm)[i];
    std::optional<ot::sinkhorn_potentials<double>> initial;  // none at the first iteration: a cold start
    if (w.result.f_ba.size() > 0)
      initial = ot::extend_potentials<double>(w.result, w.x, w.log_a, w.y, w.log_b, x, y, so);
    w = {x, y, log_a, log_b, sinkhorn_divergence_of(m_o, x, log_a, y, log_b, so, initial ? &*initial : nullptr)};
    return w.result;
  }

  // Pushes y over interval i, recording the tape (with stage values when a gradient follows).
  flow::flow_tape push(long iteration, std::size_t i, const flow::flow_state& y, const flow::fixed_step_options& fo,
                       bool keep_stages) const {
    const double t0 = m_data.time(i), t1 = m_data.time(i + 1);
    try {
      return flow::integrate_recorded(m_field, m_o.stepper, t0, t1, y, fo, keep_stages,
                                      keep_stages && m_o.keep_activations);
    } catch (const core::error& e) {
      UPFI_THROW(core::error(core::detail::message("upfi::infer::flow_trainer: iteration ", iteration, ", interval ", i,
                                                   " [", t0, ", ", t1, "]: ", e.what())));
    }
  }

  void check_terms(double divergence, double reg, long iteration, std::size_t i) const {
    if (!std::isfinite(divergence) || !std::isfinite(reg)) {
      UPFI_THROW(core::error(core::detail::message(
          "upfi::infer::flow_trainer: the ", std::isfinite(divergence) ? "regulariser" : "Sinkhorn divergence",
          " is not finite at iteration ", iteration, ", interval ", i, " [", m_data.time(i), ", ", m_data.time(i + 1),
          "]; lower the learning rate or check the data and the noise model")));
    }
  }

  // B rows of snapshot k drawn uniformly with replacement; `side` separates source (0) and target (1) draws.
  [[nodiscard]] Eigen::MatrixXd sample(std::size_t k, long iteration, std::uint32_t side) const {
    const Eigen::MatrixXd& cloud = m_data.cloud(k);
    const core::counter_rng rng(m_o.seed, static_cast<std::uint32_t>(2 * k + side));
    Eigen::MatrixXd out(m_o.batch, cloud.cols());
    const auto n = static_cast<double>(cloud.rows());
    for (Eigen::Index r = 0; r < m_o.batch; ++r) {
      const double u = rng.uniform<double>(static_cast<std::uint64_t>(r), static_cast<std::uint32_t>(iteration));
      const auto row = std::min<Eigen::Index>(cloud.rows() - 1, static_cast<Eigen::Index>(u * n));
      out.row(r) = cloud.row(row);
    }
    return out;
  }

  Field m_field;
  core::snapshot_series<double> m_data;
  flow_training_options m_o;
  nn::adam m_opt;
  long m_iteration = 0;
  std::vector<warm_entry> m_warm;  // per interval, with sinkhorn_warm_start
  Eigen::VectorXd m_average;       // running mean of the tail iterates (average_tail > 0)
  Eigen::VectorXd m_iterate;       // the raw iterate while field() holds the installed average
  bool m_average_installed = false;
};

/// @brief The training objective of `field` at its current parameters, averaged over `batches` minibatches: those of
/// iterations 0 ... batches - 1 of the batch sequence that options.seed draws (options.batch rows per snapshot, the
/// scheme, stepper, steps, divergence and regulariser of `options`; no training happens). The draws depend only on
/// options and the data, not on how the field was trained, so fields fitted from different seeds (restarts, for
/// instance) compare on the same minibatches when evaluated with one options.seed.
/// @throws std::invalid_argument if batches < 1, or what flow_trainer's constructor throws for these options;
/// upfi::core::error if a loss term is not finite (naming the minibatch as the iteration, and the interval).
template <class Field>
[[nodiscard]] flow_loss_terms mean_minibatch_loss(Field field, const core::snapshot_series<double>& data,
                                                  const flow_training_options& options, long batches = 16) {
  if (batches < 1) {
    core::detail::throw_invalid_argument("upfi::infer::mean_minibatch_loss: batches = ", batches, "; need at least 1");
  }
  const flow_trainer<Field> evaluator(std::move(field), data, options);
  flow_loss_terms mean;
  for (long b = 0; b < batches; ++b) {
    const flow_loss_terms t = evaluator.loss(b);
    mean.divergence += t.divergence;
    mean.regulariser += t.regulariser;
  }
  mean.divergence /= static_cast<double>(batches);
  mean.regulariser /= static_cast<double>(batches);
  return mean;
}

}  // namespace upfi::infer
