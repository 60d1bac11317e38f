// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief UPFI's bistable benchmark end to end (algorithms.md §5.8.1, Table 1): simulate snapshots of the bistable
/// system with growth, estimate the score, fit UPFI, PFI, TIGON++ or fitness-ODE, and score the fit with the paper's
/// metrics (path energy distance, force errors at the data, Pearson fate correlation).
///
/// Choices the paper leaves open, fixed here (docs/results.md lists them): the score is the training-free kernel score
/// unless `dsm_iterations` > 0; networks use SiLU (smooth fields; ReLU gradient fields have zero Hessians); PFI and
/// the deterministic baselines get a time input, UPFI is autonomous; paths for the energy distance start from fresh
/// N(0, 0.01 I) cells, are recorded every `path_dt` on [0, 1] without branching (growth suppressed), and both sides
/// use `path_count` paths; fate queries are cells of the inner snapshots, fates are regions of a 2-means clustering of
/// the last snapshot, reached by Euler-Maruyama paths with the model's noise (none for the deterministic baselines);
/// a model whose fate probabilities are all equal gets correlation 0.

#include <upfi/core/counter_rng.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/flow/transport_flow.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/infer/model_average.hpp>
#include <upfi/infer/model_file.hpp>
#include <upfi/infer/rollout_check.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/infer/step_check.hpp>
#include <upfi/metrics/distances.hpp>
#include <upfi/metrics/errors.hpp>
#include <upfi/metrics/fates.hpp>
#include <upfi/nn/activation.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/problems/detail/benchmark_support.hpp>
#include <upfi/problems/fokker_planck_grid.hpp>
#include <upfi/score/dsm.hpp>
#include <upfi/score/ensemble.hpp>
#include <upfi/score/kernel_score.hpp>
#include <upfi/sde/bistable.hpp>
#include <upfi/sde/simulator.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace upfi::problems {

/// @brief The methods of UPFI Table 1 built from upfi's parts.
enum class bistable_method { upfi, pfi, tigon, fitness_ode };

[[nodiscard]] inline const char* method_name(bistable_method m) noexcept {
  switch (m) {
    case bistable_method::upfi:
      return "UPFI";
    case bistable_method::pfi:
      return "PFI";
    case bistable_method::tigon:
      return "TIGON++";
    case bistable_method::fitness_ode:
      return "fitness-ODE";
  }
  return "?";
}

/// @brief The method named "upfi", "pfi", "tigon" or "fitness" (command-line spelling).
/// @throws std::invalid_argument for any other name.
[[nodiscard]] inline bistable_method bistable_method_named(const std::string& name) {
  if (name == "upfi") return bistable_method::upfi;
  if (name == "pfi") return bistable_method::pfi;
  if (name == "tigon") return bistable_method::tigon;
  if (name == "fitness") return bistable_method::fitness_ode;
  core::detail::throw_invalid_argument("upfi::problems::bistable_method_named: unknown method '", name,
                                       "' (upfi, pfi, tigon, fitness)");
}

/// @brief Options of run_bistable_benchmark (defaults: the paper's protocol at d <= 10 with our training schedule).
struct bistable_benchmark_options {
  Eigen::Index dimension = 2;
  Eigen::Index cells = 500;  ///< N_0 cells per independent realisation
  int snapshots = 5;         ///< K + 1 times, uniform on [0, 1]
  double simulation_dt = 1e-3;
  std::uint64_t data_seed = 0;           ///< snapshots and ground-truth paths
  std::uint64_t seed = 0;                ///< networks, minibatches, model paths
  long dsm_iterations = 0;               ///< > 0: a DSM score network trained this long instead of the kernel score
  bool dsm_per_dimension_noise = false;  ///< score::dsm_options::per_dimension_noise (not the paper's)
  int dsm_ensemble = 1;  ///< > 1: the score is the mean of this many DSM networks (score::train_dsm_ensemble)
  /// DSM score network (the paper, Table 5: 64x3 at d <= 10, 256x3 with learning rate 1e-3 and 100 000 iterations at
  /// d > 10)
  std::vector<Eigen::Index> score_hidden = {64, 64, 64};
  double score_learning_rate = 3e-3;  ///< DSM learning rate
  /// >= 0: stage 2 trains on masses smoothed by a polynomial of this degree in time
  /// (core::snapshot_series::with_smoothed_masses); < 0: the counted masses (the paper's protocol)
  int mass_smoothing = -1;
  Eigen::Index score_samples =
      2000;  ///< kernel score: at most this many points per snapshot (kernel_score::max_samples)
  /// kernel score: its bandwidth rule (Scott's smooths the narrow wells of this system: docs/results.md, "the
  /// deterministic ceiling")
  score::bandwidth_rule score_rule = score::bandwidth_rule::scott;
  /// > 0 (d <= 3): UPFI and PFI use the exact score instead of an estimate, an oracle: the Fokker-Planck equation with
  /// growth solved on this many cells per axis of [-2.4, 2.4]^d (problems::fokker_planck_score; frames at most 0.025
  /// apart, at the stage times of Euler, Heun, midpoint and RK4 steps).
  /// Separates the trainer's error from the score's (docs/results.md). 240 resolves the wells at d = 2. Cells pushed
  /// out of the box get the score at its nearest point (outside_box::nearest).
  Eigen::Index exact_score_cells = 0;
  /// > 1: the method is fitted this many times (member j uses training seed `seed + 100003 j` for its networks and
  /// minibatches; all share one score) and the evaluated model is their infer::model_average
  int restarts = 1;
  /// with restarts > 1: evaluate the average of the fits (false), or only the fit whose training objective
  /// (infer::mean_minibatch_loss over restart_selection_batches minibatches, drawn from seed `seed + 31` for every
  /// member alike) is lowest (true)
  bool select_restart = false;
  long restart_selection_batches = 16;
  std::vector<Eigen::Index> hidden = {64, 64, 64};
  /// hidden-layer activation of the drift, growth and potential networks (the paper's baselines use ReLU, Table 6)
  nn::activation hidden_activation = nn::activation::silu;
  infer::flow_training_options training{};  ///< method-specific fields (reach, scheme, regulariser) are set per method
  double path_dt = 0.05;
  Eigen::Index path_count = 500;
  Eigen::Index fate_queries = 100;  ///< per inner snapshot
  /// the inner snapshots whose cells are fate queries (empty: all of them, the paper's choice as we read it)
  std::vector<std::size_t> fate_snapshots;
  Eigen::Index fate_paths = 200;
  double fate_dt = 0.01;
};

/// @brief Metrics and timings of one run.
struct bistable_benchmark_result {
  double path_energy = 0;
  metrics::force_error force;  ///< over the cells of every snapshot, each at its time
  /// the same errors per snapshot (the last, largest snapshot dominates the pooled value; a time-dependent field is
  /// never evaluated at the last time during training with left-point steps, so there it is an extrapolation)
  std::vector<metrics::force_error> force_per_snapshot;
  /// the fitted drift (a deterministic baseline's transport velocity) at the cells of each snapshot, at its time
  std::vector<Eigen::MatrixXd> drift_at_data;
  double fate_correlation = 0;
  /// Pearson correlation of the true birth rate and the fitted growth over the cells of every snapshot (0 for PFI,
  /// which has no growth): a diagnostic beyond the paper's table
  double growth_correlation = 0;
  /// Fraction of the path-energy paths (growth suppressed) that end at x0 > 0, the fast-dividing branch: the truth's
  /// (1/2 up to sampling, by symmetry) and the model's. PFI's failure mode, and UPFI's poor fits, send too many there.
  double branch_fraction_true = 0, branch_fraction_model = 0;
  /// The truth-free check infer::rollout_check: the model's SDE from the first snapshot's cells against every later
  /// snapshot (energy distances, mass errors)
  infer::rollout_check_result rollout;
  /// infer::step_check of the trained field (member 0, or the chosen restart) on the training data: its push with the
  /// training's steps and accurately (10 RK4 steps) against each next snapshot
  infer::step_check_result step_check;
  /// Reference and subset fate scores on the same queries (as in network_benchmark_result): fate_nearest is a null
  /// model without dynamics (each query's fate is the region nearest to it now); the _undecided scores use only the
  /// queries whose true P(first fate) lies in (0.05, 0.95), undecided_queries of them.
  fate_scores fate_nearest, fate_undecided, fate_nearest_undecided;
  Eigen::Index undecided_queries = 0;
  /// P(first fate) of every query (inner snapshots in order): the truth's and the model's
  Eigen::VectorXd fates_true, fates_model;
  double score_seconds = 0, training_seconds = 0;
  infer::flow_training_report report;  ///< member 0's, when there are restarts
  std::vector<double> restart_losses;  ///< every member's final training loss (total of the last report)
  /// with select_restart: every member's selection loss (mean minibatch loss on common draws), and the member chosen
  std::vector<double> selection_losses;
  int selected_restart = -1;        ///< -1: no selection (one fit, or their average)
  std::vector<Eigen::Index> cells;  ///< snapshot sizes of the simulated data
  /// the trained parameters (meta: method, dimension, hidden, activation, diffusion, restarts, and score: "none" for
  /// the deterministic baselines, else the kernel score's or the DSM network's settings); member j > 0 of a model
  /// average is stored as "parameters_j"
  infer::model_file model;
};

namespace detail {
// n cells of X_0 ~ N(0, 0.01 I) in dimension d
inline Eigen::MatrixXd bistable_start(Eigen::Index n, Eigen::Index d, const core::counter_rng& rng) {
  Eigen::MatrixXd x(n, d);
  rng.fill_normal(x, 0);
  return 0.1 * x;
}
}  // namespace detail

/// @brief The benchmark's data: snapshots of the bistable system with growth (o.dimension, o.cells, o.snapshots
/// uniform times on [0, 1], o.simulation_dt, o.data_seed), each from an independent realisation.
[[nodiscard]] inline core::snapshot_series<double> bistable_snapshots(const bistable_benchmark_options& o) {
  const sde::bistable truth(o.dimension);
  const sde::simulator<sde::bistable, sde::additive_isotropic> sim(truth, truth.noise(),
                                                                   sde::simulate_options{.dt = o.simulation_dt});
  std::vector<double> times;
  for (int k = 0; k < o.snapshots; ++k) times.push_back(static_cast<double>(k) / (o.snapshots - 1));
  const Eigen::Index d = o.dimension;
  return sim.snapshots([d](Eigen::Index n, const core::counter_rng& rng) { return detail::bistable_start(n, d, rng); },
                       o.cells, times, o.data_seed);
}

/// @brief The benchmark's population density without sampling: a Fokker-Planck grid for the bistable system in
/// dimension d (1 to 3) on [-2.4, 2.4]^d with `cells` per axis, D = sigma^2 / 2, initialised at t = 0 to the start
/// N(0, 0.01 I) with mass 1 (the data's masses are N_k / N_0). Advance it to get the exact density, mass and score.
/// @throws std::invalid_argument as fokker_planck_grid (d > 3, fewer than 3 cells).
[[nodiscard]] inline fokker_planck_grid<sde::bistable> bistable_density(Eigen::Index dimension, Eigen::Index cells) {
  const sde::bistable truth(dimension);
  fokker_planck_grid_options go;
  go.lower = Eigen::VectorXd::Constant(dimension, -2.4);
  go.upper = Eigen::VectorXd::Constant(dimension, 2.4);
  go.cells = {cells};
  go.autonomous = true;
  fokker_planck_grid grid(truth, Eigen::VectorXd::Constant(1, truth.noise().sigma() * truth.noise().sigma() / 2), go);
  grid.initialize([dimension](const double* x) {
    double r2 = 0;
    for (Eigen::Index k = 0; k < dimension; ++k) r2 += x[k] * x[k];
    return std::exp(-r2 / 0.02);
  });
  return grid;
}

/// @brief Runs one method on one data realisation; `progress` (optional) sees the training reports.
/// @throws std::invalid_argument if a fate snapshot is not an inner snapshot (1 ... snapshots - 2) or restarts < 1;
/// what the parts throw (invalid options, non-finite losses).
[[nodiscard]] inline bistable_benchmark_result run_bistable_benchmark(
    bistable_method method, const bistable_benchmark_options& o,
    const std::function<void(const infer::flow_progress&)>& progress = {}) {
  for (const std::size_t k : o.fate_snapshots) {
    if (k < 1 || k + 2 > static_cast<std::size_t>(std::max(o.snapshots, 2))) {
      core::detail::throw_invalid_argument("upfi::problems::run_bistable_benchmark: fate snapshot ", k,
                                           " is not an inner snapshot (1 ... ", o.snapshots - 2, ")");
    }
  }
  if (o.restarts < 1) {
    core::detail::throw_invalid_argument("upfi::problems::run_bistable_benchmark: restarts = ", o.restarts,
                                         "; need at least 1");
  }
  if (o.select_restart && o.restart_selection_batches < 1) {
    core::detail::throw_invalid_argument("upfi::problems::run_bistable_benchmark: restart_selection_batches = ",
                                         o.restart_selection_batches, "; need at least 1");
  }
  if (o.exact_score_cells < 0 || (o.exact_score_cells > 0 && (o.dimension > 3 || o.dsm_iterations > 0))) {
    core::detail::throw_invalid_argument(
        "upfi::problems::run_bistable_benchmark: exact_score_cells = ", o.exact_score_cells, " with dimension ",
        o.dimension, " and dsm_iterations ", o.dsm_iterations,
        "; the exact score needs cells >= 0, d <= 3 and no DSM score");
  }
  const Eigen::Index d = o.dimension;
  const sde::bistable truth(d);
  const auto initial = [d](Eigen::Index n, const core::counter_rng& rng) { return detail::bistable_start(n, d, rng); };
  const auto data = bistable_snapshots(o);
  const auto train_data = o.mass_smoothing >= 0 ? data.with_smoothed_masses(o.mass_smoothing) : data;
  const double delta = truth.noise().sigma() * truth.noise().sigma() / 2;

  bistable_benchmark_result result;
  for (std::size_t k = 0; k < data.size(); ++k) result.cells.push_back(data.cloud(k).rows());
  auto t_start = std::chrono::steady_clock::now();
  infer::flow_training_options to = o.training;  // each fit sets its own seed (train below)
  nn::mlp_options net{.inputs = d, .outputs = d, .hidden = o.hidden, .hidden_activation = o.hidden_activation};
  nn::mlp_options scalar = net;
  scalar.outputs = 1;

  // what every method hands back: its drift on clouds, its noise for fates, and its simulated paths
  detail::values_function values;  // drift and growth on a cloud
  std::function<infer::model_trajectories(const Eigen::MatrixXd&, const std::vector<double>&)> paths;
  double model_sigma = 0;
  std::string score_meta = "none";  // the model file's "score" entry: how the frozen score was made
  const infer::model_simulation_options so{.dt = o.fate_dt, .seed = o.seed + 101};

  // make_field(seed): a fresh field whose networks are initialised from `seed`
  const auto train = [&](auto make_field) {
    result.score_seconds = detail::seconds_since(t_start);
    t_start = std::chrono::steady_clock::now();
    std::vector<decltype(make_field(o.seed))> members;
    for (int j = 0; j < o.restarts; ++j) {
      const std::uint64_t seed = o.seed + 100003 * static_cast<std::uint64_t>(j);
      infer::flow_training_options tj = to;
      tj.seed = seed;
      infer::flow_trainer trainer(make_field(seed), train_data, tj);
      auto report = trainer.train(progress);
      result.restart_losses.push_back(report.history.empty() ? 0.0 : report.history.back().loss.total());
      if (j == 0) result.report = std::move(report);
      members.push_back(trainer.field());
    }
    if (o.select_restart && members.size() > 1) {
      // every member on the same minibatches (one seed), so the losses compare fits, not draws
      infer::flow_training_options eval = to;
      eval.seed = o.seed + 31;
      for (const auto& m : members) {
        result.selection_losses.push_back(
            infer::mean_minibatch_loss(m, train_data, eval, o.restart_selection_batches).total());
      }
      const auto best = std::min_element(result.selection_losses.begin(), result.selection_losses.end());
      result.selected_restart = static_cast<int>(best - result.selection_losses.begin());
      auto chosen = std::move(members[static_cast<std::size_t>(result.selected_restart)]);
      members.clear();
      members.push_back(std::move(chosen));
    }
    result.training_seconds = detail::seconds_since(t_start);
    result.step_check = infer::step_check(members.front(), train_data, to.stepper, to.steps, {.seed = o.seed});
    result.model.set_meta("method", method_name(method));
    result.model.set_meta("dimension", std::to_string(d));
    result.model.set_meta("hidden", infer::format_layer_widths(o.hidden));
    result.model.set_meta("activation", nn::to_string(o.hidden_activation));
    result.model.set_meta("diffusion", std::to_string(model_sigma * model_sigma / 2));
    result.model.set_meta("restarts", std::to_string(o.restarts));
    if (result.selected_restart >= 0)
      result.model.set_meta("selected_restart", std::to_string(result.selected_restart));
    result.model.set_meta("score", score_meta);
    for (std::size_t j = 0; j < members.size(); ++j) {
      infer::add_parameters(result.model, members[j], j == 0 ? "parameters" : "parameters_" + std::to_string(j));
    }
    const auto use = [&](auto trained) {
      values = detail::values_of(trained);
      paths = [trained, so](const Eigen::MatrixXd& x0, const std::vector<double>& ts) {
        return infer::simulate_model(trained, x0, ts, so);
      };
    };
    if (members.size() == 1) {
      use(std::move(members.front()));
    } else {
      use(infer::model_average(std::move(members)));
    }
  };
  const auto stochastic = [&](bool with_growth) {
    auto make = [&](auto score) {
      if (with_growth) {
        net.time_input = false;
        scalar.time_input = false;
        to.reach = to.reach.value_or(5.0);
        to.rescale_by_dimension = true;
        train([&](std::uint64_t seed) {
          return flow::probability_flow(nn::mlp<double>(net, seed), score, flow::isotropic_diffusion{delta},
                                        nn::mlp<double>(scalar, seed + 1));
        });
      } else {
        net.time_input = true;
        to.reach.reset();
        train([&](std::uint64_t seed) {
          return flow::probability_flow(nn::mlp<double>(net, seed), score, flow::isotropic_diffusion{delta});
        });
      }
    };
    model_sigma = truth.noise().sigma();
    to.scheme = infer::training_scheme::teacher_forcing;
    if (o.exact_score_cells > 0) {
      auto grid = bistable_density(d, o.exact_score_cells);
      // uniform frames, at most 0.025 apart, on which the stages of Euler, Heun, midpoint and RK4 steps land (snapshots
      // uniform in time: their stage times are multiples of half a step; others are interpolated)
      const double t_end = data.time(data.size() - 1);
      const auto per_pass = static_cast<std::size_t>(2 * (data.size() - 1)) * static_cast<std::size_t>(to.steps);
      const std::size_t frames =
          per_pass * static_cast<std::size_t>(std::ceil(t_end / 0.025 / static_cast<double>(per_pass) - 1e-9));
      std::vector<double> times(frames + 1);
      for (std::size_t j = 0; j <= frames; ++j) times[j] = t_end * static_cast<double>(j) / static_cast<double>(frames);
      std::ostringstream meta;
      meta << "exact (Fokker-Planck grid, " << o.exact_score_cells << " cells per axis on [-2.4, 2.4], " << frames + 1
           << " frames)";
      score_meta = meta.str();
      make(fokker_planck_score(std::move(grid), std::move(times), outside_box::nearest));  // early iterates stray
    } else if (o.dsm_iterations > 0) {
      score::dsm_options dso;
      dso.iterations = o.dsm_iterations;
      dso.hidden = o.score_hidden;
      dso.learning_rate = o.score_learning_rate;
      dso.seed = o.seed + 7;
      dso.per_dimension_noise = o.dsm_per_dimension_noise;
      std::ostringstream meta;  // a stream: GCC 12's -Wrestrict misfires on string concatenation
      meta << "dsm " << infer::format_layer_widths(o.score_hidden) << ", lr " << dso.learning_rate << ", "
           << dso.iterations << " iterations, ensemble " << o.dsm_ensemble
           << (dso.per_dimension_noise ? ", per-coordinate noise" : "");
      score_meta = meta.str();
      make(score::train_dsm_ensemble(data, dso, o.dsm_ensemble));  // 1 member: train_dsm's network
    } else {
      score::kernel_score_options ko;
      ko.max_samples = o.score_samples;
      ko.seed = o.data_seed;
      ko.rule = o.score_rule;
      std::ostringstream meta;
      meta << "kernel, at most " << ko.max_samples << " samples per snapshot";
      if (ko.rule != score::bandwidth_rule::scott) meta << ", bandwidth " << score::to_string(ko.rule);
      score_meta = meta.str();
      make(score::kernel_score(data, ko));
    }
  };
  switch (method) {
    case bistable_method::upfi:
      stochastic(true);
      break;
    case bistable_method::pfi:
      stochastic(false);
      break;
    case bistable_method::tigon:
    case bistable_method::fitness_ode:
      net.time_input = scalar.time_input = true;
      to.reach = to.reach.value_or(5.0);
      to.scheme = infer::training_scheme::full_rollout;
      if (method == bistable_method::tigon) {
        train([&](std::uint64_t seed) {
          return flow::transport_flow(nn::mlp<double>(net, seed), nn::mlp<double>(scalar, seed + 1));
        });
      } else {
        train([&](std::uint64_t seed) { return flow::fitness_flow(nn::mlp<double>(scalar, seed)); });
      }
      break;
  }

  // force errors at the data (pooled snapshots, each at its time)
  std::vector<Eigen::MatrixXd> v_true(data.size());
  std::vector<Eigen::VectorXd> growth;
  for (std::size_t k = 0; k < data.size(); ++k) {
    flow::flow_values fitted;
    detail::drift_on_cloud(truth, data.time(k), data.cloud(k), v_true[k]);
    values(data.time(k), data.cloud(k), fitted);
    result.drift_at_data.push_back(std::move(fitted.v));
    growth.push_back(std::move(fitted.g));
  }
  auto force = detail::force_errors_by_snapshot(v_true, result.drift_at_data);
  result.force = force.pooled;
  result.force_per_snapshot = std::move(force.per_snapshot);
  if (method != bistable_method::pfi) {
    result.growth_correlation = detail::growth_correlation(
        data, growth, [&truth](double t, const double* x) { return truth.birth_rate(t, x); });
  }
  const auto drift = [&values](double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) {
    flow::flow_values f;
    values(t, x, f);
    v = std::move(f.v);
  };

  // path energy distance on [0, 1] (growth suppressed)
  const std::vector<double> grid = detail::uniform_grid(1.0, o.path_dt);
  const Eigen::MatrixXd start_true = initial(o.path_count, core::counter_rng(o.data_seed, 9001));
  const Eigen::MatrixXd start_model = initial(o.path_count, core::counter_rng(o.seed, 9002));
  const sde::simulator<sde::bistable, sde::additive_isotropic> paths_sim(
      truth, truth.noise(), sde::simulate_options{.dt = o.simulation_dt, .growth = false});
  const auto true_paths = paths_sim.paths(start_true, grid, core::counter_rng(o.data_seed, 9003));
  const auto model_paths = paths(start_model, grid);
  result.path_energy = metrics::path_energy_distance(true_paths.positions, model_paths.positions, o.path_dt);
  const auto positive = [](const Eigen::MatrixXd& x) { return (x.col(0).array() > 0).cast<double>().mean(); };
  result.branch_fraction_true = positive(true_paths.positions.back());
  result.branch_fraction_model = positive(model_paths.positions.back());
  result.rollout = infer::rollout_check(paths(data.cloud(0), data.times()), data, {.seed = o.seed});

  // fate correlation from queries at the inner snapshots
  const auto regions = metrics::kmeans(data.cloud(data.size() - 1), 2, o.data_seed);
  const auto true_drift = [&truth](double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) {
    detail::drift_on_cloud(truth, t, x, v);
  };
  Eigen::VectorXd& p_true = result.fates_true;
  Eigen::VectorXd& p_hat = result.fates_model;
  Eigen::VectorXd p_nearest;
  const Eigen::MatrixXd sigma_true = truth.noise().sigma() * Eigen::MatrixXd::Identity(d, d);
  const Eigen::MatrixXd sigma_model = model_sigma * Eigen::MatrixXd::Identity(d, d);
  for (std::size_t k = 1; k + 1 < data.size(); ++k) {
    if (!o.fate_snapshots.empty() &&
        std::find(o.fate_snapshots.begin(), o.fate_snapshots.end(), k) == o.fate_snapshots.end()) {
      continue;
    }
    const Eigen::MatrixXd queries = detail::spaced_rows(data.cloud(k), o.fate_queries);
    const Eigen::Index q = queries.rows();
    const auto steps = static_cast<int>(std::ceil((1.0 - data.time(k)) / o.fate_dt - 1e-9));
    metrics::fate_options fo{.t0 = data.time(k), .t1 = 1.0, .steps = steps, .paths = o.fate_paths};
    fo.seed = o.data_seed + 17 * k;
    const Eigen::MatrixXd pt = metrics::fate_probabilities(true_drift, sigma_true, queries, regions.centres, fo);
    fo.seed = o.seed + 19 * k;
    const Eigen::MatrixXd ph = metrics::fate_probabilities(drift, sigma_model, queries, regions.centres, fo);
    for (Eigen::VectorXd* p : {&p_true, &p_hat, &p_nearest}) p->conservativeResize(p->size() + q);
    p_true.tail(q) = pt.col(0);
    p_hat.tail(q) = ph.col(0);
    const auto nearest = metrics::nearest_centre(regions.centres, queries);
    for (Eigen::Index i = 0; i < q; ++i) {
      p_nearest[p_nearest.size() - q + i] = nearest[static_cast<std::size_t>(i)] == 0 ? 1.0 : 0.0;
    }
  }
  result.fate_correlation = detail::fate_correlation(p_true, p_hat);
  // two-fate matrices [P(fate 0), P(fate 1)] for the reference and subset scores
  const auto two_fates = [](const Eigen::VectorXd& p) {
    Eigen::MatrixXd m(p.size(), 2);
    m.col(0) = p;
    m.col(1) = (1 - p.array()).matrix();
    return m;
  };
  const Eigen::MatrixXd m_true = two_fates(p_true), m_hat = two_fates(p_hat), m_nearest = two_fates(p_nearest);
  result.fate_nearest = detail::score_fates(m_true, m_nearest);
  const auto undecided = detail::undecided_rows(m_true);
  result.undecided_queries = std::ssize(undecided);
  result.fate_undecided = detail::score_fates(m_true, m_hat, undecided);
  result.fate_nearest_undecided = detail::score_fates(m_true, m_nearest, undecided);
  return result;
}

}  // namespace upfi::problems
