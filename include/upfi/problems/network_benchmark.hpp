// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief UPFI's gene-network benchmarks end to end (algorithms.md §5.8.2, Table 2): simulate the 7-gene bifurcating
/// (BF) or 11-gene haematopoietic (HSC) network as a chemical Langevin equation with growth on one branch, fit UPFI or
/// PFI with an additive or a multiplicative (chemical-Langevin) noise model, and score the fit with the paper's
/// metrics: path energy distance, force L2 error, Pearson fate correlation (BF, 2 fates) and total-variation fate
/// error (HSC, 4 fates).
///
/// Choices the paper leaves open, fixed here (docs/results.md lists them): the gene-only network calibration of
/// sde/hill_network.hpp (m = lambda = 10, n = 10) with V = 16, i.e. the paper's V = 4 on levels in [0, 4]; growth:
/// the marker branch (g7 for BF, Eklf for HSC) divides at up to `birth_rate` = 5; the score is a DSM network; the
/// additive model's D is the mean of the true chemical-Langevin diffusion over the data (the noise prior is known in
/// the paper too); the multiplicative model learns production and degradation networks with softplus outputs at the
/// true volume V; the cle model (not the paper's) a softplus production network and linear degradation, its rates
/// fixed at the truth's or learned; UPFI is autonomous, PFI gets a time input and a balanced loss; true and model paths
/// start from fresh initial cells and run without branching; fate queries are cells of the inner snapshots, fates are
/// k-means regions reached by paths with each side's own noise (the truth's chemical-Langevin noise, the model's noise
/// model); the regions are k-means clusters of the end states of true lineages (paths without branching from fresh
/// initial cells), so that a fast-dividing branch does not claim every cluster; model paths, like the data, reject
/// moves to negative concentrations.

#include <upfi/core/counter_rng.hpp>
#include <upfi/flow/chemical_langevin_flow.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/infer/model_file.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/infer/step_check.hpp>
#include <upfi/metrics/distances.hpp>
#include <upfi/metrics/errors.hpp>
#include <upfi/metrics/fates.hpp>
#include <upfi/nn/linear_degradation_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/problems/detail/benchmark_support.hpp>
#include <upfi/score/dsm.hpp>
#include <upfi/score/ensemble.hpp>
#include <upfi/sde/additive_noise.hpp>
#include <upfi/sde/hill_network.hpp>
#include <upfi/sde/simulator.hpp>

#include <Eigen/Core>

#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace upfi::problems {

/// @brief The networks of UPFI Table 2.
enum class network_system { bf, hsc };
/// @brief The noise models UPFI and PFI are fitted with: additive (one constant D), multiplicative (UPFI's production
/// and degradation networks, D = diag(p + q) / 2V) and cle (the chemical Langevin form of the truth: a production
/// network and linear degradation lambda x, D = diag(p + lambda x) / 2V, with lambda fixed or learned).
enum class network_noise { additive, multiplicative, cle };

[[nodiscard]] inline const char* system_name(network_system s) noexcept {
  return s == network_system::bf ? "BF" : "HSC";
}
[[nodiscard]] inline const char* noise_name(network_noise n) noexcept {
  switch (n) {
    case network_noise::additive:
      return "add.";
    case network_noise::multiplicative:
      return "mult.";
    case network_noise::cle:
      return "CLE";
  }
  return "?";
}

/// @brief Options of run_network_benchmark.
struct network_benchmark_options {
  Eigen::Index cells = 500;  ///< N_0 cells per independent realisation
  int snapshots = 10;        ///< K + 1 uniform times on [0, T] (T = 1.25 for BF, 1 for HSC)
  double simulation_dt = 1e-3;
  double birth_rate = 5.0;  ///< maximal division rate of the marker branch (BF grows about 40x, HSC about 4x)
  /// Gene-only calibration: production m, degradation lambda, Hill n, volume V. Levels live in [0, m / lambda] and
  /// the relative noise of an ON gene is about sqrt(lambda / (V m)), so only V m / lambda matters up to units.
  /// V = 16 on unit levels (m = lambda = 10) is the paper's V = 4 on levels in [0, 4] (x' = 4x); lengths (blur,
  /// reach) and metrics stay in units of the unit levels (multiply lengths, path energies and forces by 4).
  sde::hill_network_options network{.volume = 16};
  std::uint64_t data_seed = 0;
  std::uint64_t seed = 0;
  long dsm_iterations = 10000;
  bool dsm_per_dimension_noise = false;  ///< score::dsm_options::per_dimension_noise (not the paper's)
  int dsm_ensemble = 1;  ///< > 1: the score is the mean of this many DSM networks (score::train_dsm_ensemble)
  /// >= 0: stage 2 trains on masses smoothed by a polynomial of this degree in time
  /// (core::snapshot_series::with_smoothed_masses); < 0: the counted masses
  int mass_smoothing = -1;
  /// network_noise::cle: the degradation rate lambda of every gene, fixed or (cle_learn_rates) the learned rates'
  /// initial value; unset: the truth's (network.degradation), the authors' CLEFlow setting (a known lambda)
  std::optional<double> cle_rate;
  bool cle_learn_rates = false;
  std::vector<Eigen::Index> hidden = {64, 64, 64};        ///< drift (or production and degradation) and growth networks
  std::vector<Eigen::Index> score_hidden = {64, 64, 64};  ///< DSM score network (the paper: 64 for BF, 128 for HSC)
  double score_learning_rate = 3e-3;                      ///< DSM learning rate (the paper: 1e-2)
  infer::flow_training_options training{};                ///< reach and scheme are set per method
  double path_dt = 0.05;
  Eigen::Index path_count = 500;
  Eigen::Index fate_queries = 50;  ///< per inner snapshot
  Eigen::Index fate_paths = 100;
  double fate_dt = 0.005;
};

/// @brief Metrics and timings of one run.
struct network_benchmark_result {
  double path_energy = 0;
  double force_l2 = 0;          ///< mean |v - v_hat| over the cells of every snapshot
  double fate_correlation = 0;  ///< Pearson correlation of P(first fate) (meaningful for 2 fates: BF)
  double fate_tv = 0;           ///< mean total-variation distance of the fate distributions
  /// Reference scores on the same queries (docs/results.md):
  /// * fate_floor: a second, independent simulation of the truth, the sampling floor of the TV and ceiling of the
  ///   correlation at fate_paths (no model does better in expectation);
  /// * fate_true_drift: the true drift simulated with the model's noise, what a perfect drift would score (additive
  ///   model: the cost of the misspecified noise alone, simulated like the truth; multiplicative model: the fitted
  ///   production and degradation rates' noise diag(p + q) / 2V, simulated like the model);
  /// * fate_true_noise: the fitted drift simulated with the true noise, simulated like the model: what the fitted
  ///   drift alone scores, so that fate_true_drift and fate_true_noise split the model's fate error between its noise
  ///   and its drift;
  /// * fate_truth_model_steps: the truth (drift and noise) simulated like the model (simulate_model, step fate_dt,
  ///   instead of the data's simulator and step simulation_dt): the integrator's share of the two scores above;
  /// * fate_nearest: a null model without dynamics, each query's fate is the region nearest to it now.
  fate_scores fate_floor, fate_true_drift, fate_true_noise, fate_truth_model_steps, fate_nearest;
  /// The model's and the null model's scores on the undecided queries only (no fate has true probability >= 0.95),
  /// where fates are not already settled by the query's position; undecided_queries counts them.
  fate_scores fate_undecided, fate_nearest_undecided;
  Eigen::Index undecided_queries = 0;
  double diffusion = 0;  ///< the additive model's D (0 for the multiplicative model)
  /// Pearson correlation of the true birth rate and the fitted growth rate over the cells of every snapshot (UPFI;
  /// 0 for PFI, which has no growth)
  double growth_correlation = 0;
  /// fate distributions (queries x fates) of the truth and of the model, for the queries of every inner snapshot
  Eigen::MatrixXd fates_true, fates_model;
  std::vector<std::size_t> fate_snapshot;  ///< the snapshot index of each query (row)
  /// mean true birth rate and mean fitted growth rate over the cells of each snapshot (UPFI; empty for PFI)
  std::vector<double> birth_mean, growth_mean;
  double score_seconds = 0, training_seconds = 0;
  infer::flow_training_report report;
  /// infer::step_check of the trained field on the training data: its push with the training's steps and accurately
  /// (10 RK4 steps) against each next snapshot
  infer::step_check_result step_check;
  /// network_noise::cle: the fitted degradation rates (the fixed ones, or the learned ones); empty otherwise
  Eigen::VectorXd degradation_rates;
  std::vector<Eigen::Index> cells;
  infer::model_file model;
};

namespace detail {
struct network_setup {
  sde::hill_network_model model;
  std::vector<std::string> initially_on;
  double horizon;
  std::size_t fates;
};
inline network_setup network_of(network_system s, const network_benchmark_options& o) {
  if (s == network_system::bf) return {sde::bf_network(o.birth_rate, o.network), {"g1"}, 1.25, 2};
  return {sde::hsc_network(o.birth_rate, o.network), {"Cebpa", "Pu1", "Gata2"}, 1.0, 4};
}

// A field for infer::simulate_model made of a drift from one source and a diagonal noise from another (no growth):
// the swaps behind fate_true_drift and fate_true_noise.
struct swapped_field {
  using drift_function = values_function;  // fills f.v
  using noise_function = std::function<Eigen::MatrixXd(double, const Eigen::MatrixXd&)>;
  Eigen::Index d;
  drift_function drift;
  noise_function noise_diagonal;  // D's diagonal at every row (N x d)
  [[nodiscard]] Eigen::Index dimension() const noexcept { return d; }
  void drift_and_growth(double t, const Eigen::MatrixXd& x, flow::flow_values& f) const {
    drift(t, x, f);
    f.g.setZero(x.rows());
  }
  [[nodiscard]] Eigen::MatrixXd diffusion_diagonal(double t, const Eigen::MatrixXd& x) const {
    return noise_diagonal(t, x);
  }
};
}  // namespace detail

/// @brief Snapshots of the network benchmark (each time from an independent realisation), as run_network_benchmark
/// simulates them.
[[nodiscard]] inline core::snapshot_series<double> network_snapshots(network_system s,
                                                                     const network_benchmark_options& o) {
  const auto setup = detail::network_of(s, o);
  const sde::simulator sim(setup.model, setup.model, sde::simulate_options{.dt = o.simulation_dt});
  std::vector<double> times;
  for (int k = 0; k < o.snapshots; ++k) times.push_back(setup.horizon * k / (o.snapshots - 1));
  const sde::hill_network_options& ho = o.network;
  const auto& production = setup.model.base().production();
  return sim.snapshots(
      [&](Eigen::Index n, const core::counter_rng& rng) {
        return sde::network_initial_cells(production, ho, setup.initially_on, n, rng);
      },
      o.cells, times, o.data_seed);
}

/// @brief Runs UPFI (`with_growth`) or PFI on one network realisation with the given noise model.
/// @throws what the parts throw (invalid options, non-finite losses).
[[nodiscard]] inline network_benchmark_result run_network_benchmark(
    network_system system, bool with_growth, network_noise noise, const network_benchmark_options& o,
    const std::function<void(const infer::flow_progress&)>& progress = {}) {
  const auto setup = detail::network_of(system, o);
  const auto& truth = setup.model;
  const Eigen::Index d = truth.dimension();
  const double volume = truth.base().volume();
  const auto data = network_snapshots(system, o);
  const auto train_data = o.mass_smoothing >= 0 ? data.with_smoothed_masses(o.mass_smoothing) : data;
  network_benchmark_result result;
  for (std::size_t k = 0; k < data.size(); ++k) result.cells.push_back(data.count(k));

  // the additive model's D: the true diffusion averaged over the data (trace / d)
  if (noise == network_noise::additive) {
    double sum = 0;
    Eigen::Index n = 0;
    for (std::size_t k = 0; k < data.size(); ++k) {
      const Eigen::MatrixXd& x = data.cloud(k);
      for (Eigen::Index r = 0; r < x.rows(); r += std::max<Eigen::Index>(1, x.rows() / 200), ++n) {
        sum += truth.diffusion_tensor(data.time(k), x.row(r).transpose()).trace() / static_cast<double>(d);
      }
    }
    result.diffusion = sum / static_cast<double>(n);
  }

  auto t_start = std::chrono::steady_clock::now();
  score::dsm_options dso;
  dso.iterations = o.dsm_iterations;
  dso.hidden = o.score_hidden;
  dso.learning_rate = o.score_learning_rate;
  dso.seed = o.seed + 7;
  dso.per_dimension_noise = o.dsm_per_dimension_noise;
  const auto score = score::train_dsm_ensemble(data, dso, o.dsm_ensemble);  // 1 member: train_dsm's network
  result.score_seconds = detail::seconds_since(t_start);

  infer::flow_training_options to = o.training;
  to.seed = o.seed;
  to.scheme = infer::training_scheme::teacher_forcing;
  if (with_growth) {
    to.reach = to.reach.value_or(5.0);
  } else {
    to.reach.reset();
  }
  nn::mlp_options net{.inputs = d, .outputs = d, .hidden = o.hidden, .time_input = !with_growth};
  nn::mlp_options scalar = net;
  scalar.outputs = 1;
  nn::mlp_options rate = net;
  rate.output_activation = nn::activation::softplus;

  // the trained model's drift v and growth g on a cloud (one evaluation of the field gives both)
  detail::values_function drift_and_growth;
  // the trained model's noise, D's diagonal at every row (the chemical-Langevin fields; the additive model's true-drift
  // reference is simulated like the truth, by oracle_sim below)
  detail::swapped_field::noise_function model_noise;
  // the trained model's paths from x0, recorded at `times`, noise stream `seed`; concentrations stay >= 0
  std::function<infer::model_trajectories(const Eigen::MatrixXd&, const std::vector<double>&, std::uint64_t)> simulate;
  const auto train = [&](auto field) {
    t_start = std::chrono::steady_clock::now();
    infer::flow_trainer trainer(std::move(field), train_data, to);
    result.report = trainer.train(progress);
    result.training_seconds = detail::seconds_since(t_start);
    auto trained = trainer.field();
    result.step_check = infer::step_check(trained, train_data, to.stepper, to.steps, {.seed = o.seed});
    result.model.set_meta("method", with_growth ? "UPFI" : "PFI");
    result.model.set_meta("system", system_name(system));
    result.model.set_meta("noise", noise_name(noise));
    infer::add_parameters(result.model, trained);
    drift_and_growth = detail::values_of(trained);
    if constexpr (requires { trained.degradation().rates(); }) result.degradation_rates = trained.degradation().rates();
    if constexpr (requires { trained.diffusion_diagonal(0.0, Eigen::MatrixXd{}); }) {
      model_noise = [trained](double t, const Eigen::MatrixXd& x) { return trained.diffusion_diagonal(t, x); };
    }
    simulate = [trained, dt = o.fate_dt](const Eigen::MatrixXd& x0, const std::vector<double>& ts, std::uint64_t seed) {
      return infer::simulate_model(trained, x0, ts, {.dt = dt, .seed = seed, .nonnegative = true});
    };
  };
  const auto fit = [&](auto growth) {
    if (noise == network_noise::additive) {
      train(flow::probability_flow(nn::mlp<double>(net, o.seed), score, flow::isotropic_diffusion{result.diffusion},
                                   std::move(growth)));
    } else if (noise == network_noise::multiplicative) {
      train(flow::chemical_langevin_flow(nn::mlp<double>(rate, o.seed), nn::mlp<double>(rate, o.seed + 2), score,
                                         volume, std::move(growth)));
    } else {
      const nn::linear_degradation_field degradation(
          Eigen::VectorXd::Constant(d, o.cle_rate.value_or(o.network.degradation)), o.cle_learn_rates);
      train(flow::chemical_langevin_flow(nn::mlp<double>(rate, o.seed), degradation, score, volume, std::move(growth)));
    }
  };
  if (with_growth) {
    fit(nn::mlp<double>(scalar, o.seed + 1));
  } else {
    fit(flow::no_growth{});
  }

  // force L2 and growth correlation at the data
  double force = 0;
  Eigen::Index cells = 0;
  std::vector<Eigen::VectorXd> growth;
  for (std::size_t k = 0; k < data.size(); ++k) {
    Eigen::MatrixXd vt;
    flow::flow_values fitted;
    detail::drift_on_cloud(truth, data.time(k), data.cloud(k), vt);
    drift_and_growth(data.time(k), data.cloud(k), fitted);
    force += (vt - fitted.v).rowwise().norm().sum();
    cells += vt.rows();
    growth.push_back(std::move(fitted.g));
  }
  result.force_l2 = force / static_cast<double>(cells);
  if (with_growth) {
    result.growth_correlation = detail::growth_correlation(
        data, growth, [&truth](double t, const double* x) { return truth.birth_rate(t, x); }, &result.birth_mean,
        &result.growth_mean);
  }

  // path energy distance on [0, T] without branching
  const sde::simulator paths_sim(truth, truth, sde::simulate_options{.dt = o.simulation_dt, .growth = false});
  const sde::hill_network_options& ho = o.network;
  const auto initial = [&](std::uint64_t seed, std::uint32_t stream) {
    return sde::network_initial_cells(truth.base().production(), ho, setup.initially_on, o.path_count,
                                      core::counter_rng(seed, stream));
  };
  const std::vector<double> grid = detail::uniform_grid(setup.horizon, o.path_dt);
  const auto true_paths = paths_sim.paths(initial(o.data_seed, 9001), grid, core::counter_rng(o.data_seed, 9003));
  result.path_energy = metrics::path_energy_distance(
      true_paths.positions, simulate(initial(o.seed, 9002), grid, o.seed + 9004).positions, o.path_dt);

  // fates from queries at the inner snapshots
  // fate regions: k-means of where the true lineages end (the true paths above, no branching). The last snapshot
  // itself would over-represent the dividing branch: at 40x growth the other fate is a few per cent of its cells
  // and 2-means splits the dividing branch instead.
  const auto regions =
      metrics::kmeans(true_paths.positions.back(), static_cast<Eigen::Index>(setup.fates), o.data_seed);
  const auto nf = static_cast<Eigen::Index>(setup.fates);
  // fate distributions of `queries` queries from the end states of `paths` consecutive paths each
  const auto fate_distribution = [&](const Eigen::MatrixXd& ends, Eigen::Index queries, Eigen::Index paths) {
    Eigen::MatrixXd p = Eigen::MatrixXd::Zero(queries, nf);
    const auto labels = metrics::nearest_centre(regions.centres, ends);
    for (Eigen::Index r = 0; r < ends.rows(); ++r) p(r / paths, labels[static_cast<std::size_t>(r)]) += 1;
    return Eigen::MatrixXd(p / static_cast<double>(paths));
  };
  Eigen::MatrixXd& p_true = result.fates_true;
  Eigen::MatrixXd& p_hat = result.fates_model;
  Eigen::MatrixXd p_again;        // the truth simulated again with other random numbers
  Eigen::MatrixXd p_oracle;       // the true drift with the model's noise
  Eigen::MatrixXd p_true_noise;   // the model's drift with the true noise
  Eigen::MatrixXd p_model_steps;  // the truth simulated like the model
  Eigen::MatrixXd p_nearest;      // no dynamics: the query's nearest region
  const bool additive = noise == network_noise::additive;
  const sde::simulator oracle_sim(
      truth, sde::additive_isotropic(d, std::sqrt(2 * result.diffusion)),
      sde::simulate_options{.dt = o.simulation_dt, .rule = sde::positivity::reject, .growth = false});
  const detail::values_function true_drift = [&truth](double t, const Eigen::MatrixXd& x, flow::flow_values& f) {
    detail::drift_on_cloud(truth, t, x, f.v);
  };
  const detail::swapped_field::noise_function true_noise = [&truth](double t, const Eigen::MatrixXd& x) {
    Eigen::MatrixXd diagonal(x.rows(), x.cols());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      diagonal.row(r) = truth.diffusion_tensor(t, x.row(r).transpose()).diagonal().transpose();
    }
    return diagonal;
  };
  const detail::swapped_field true_drift_model_noise{d, true_drift, model_noise};
  const detail::swapped_field model_drift_true_noise{d, drift_and_growth, true_noise};
  const detail::swapped_field truth_as_model{d, true_drift, true_noise};
  const auto simulate_like_model = [&](const detail::swapped_field& field, const Eigen::MatrixXd& x0, double t0,
                                       double t1, std::uint64_t seed) {
    return infer::simulate_model(field, x0, {t0, t1}, {.dt = o.fate_dt, .seed = seed, .nonnegative = true});
  };
  for (std::size_t k = 1; k + 1 < data.size(); ++k) {
    const Eigen::MatrixXd queries = detail::spaced_rows(data.cloud(k), o.fate_queries);
    const Eigen::Index q = queries.rows();
    Eigen::MatrixXd starts(q * o.fate_paths, d);
    for (Eigen::Index i = 0; i < q; ++i) starts.middleRows(i * o.fate_paths, o.fate_paths).rowwise() = queries.row(i);
    const double t0 = data.time(k), t1 = data.time(data.size() - 1);
    const auto fates_of = [&](const auto& ensemble) {
      return fate_distribution(ensemble.positions.back(), q, o.fate_paths);
    };
    for (Eigen::MatrixXd* m : {&p_true, &p_hat, &p_again, &p_oracle, &p_true_noise, &p_model_steps, &p_nearest}) {
      m->conservativeResize(m->rows() + q, nf);
    }
    p_true.bottomRows(q) = fates_of(paths_sim.paths(starts, {t0, t1}, core::counter_rng(o.data_seed + 17 * k, 5)));
    p_hat.bottomRows(q) = fates_of(simulate(starts, {t0, t1}, o.seed + 19 * k));
    p_again.bottomRows(q) = fates_of(paths_sim.paths(starts, {t0, t1}, core::counter_rng(o.data_seed + 17 * k, 6)));
    p_oracle.bottomRows(q) =
        additive ? fates_of(oracle_sim.paths(starts, {t0, t1}, core::counter_rng(o.data_seed + 17 * k, 7)))
                 : fates_of(simulate_like_model(true_drift_model_noise, starts, t0, t1, o.data_seed + 23 * k + 1));
    p_true_noise.bottomRows(q) =
        fates_of(simulate_like_model(model_drift_true_noise, starts, t0, t1, o.data_seed + 23 * k + 2));
    p_model_steps.bottomRows(q) =
        fates_of(simulate_like_model(truth_as_model, starts, t0, t1, o.data_seed + 23 * k + 3));
    p_nearest.bottomRows(q) = fate_distribution(queries, q, 1);
    result.fate_snapshot.insert(result.fate_snapshot.end(), static_cast<std::size_t>(q), k);
  }
  result.fate_tv = metrics::tv_fate_error(p_true, p_hat);
  result.fate_correlation = detail::fate_correlation(p_true.col(0), p_hat.col(0));
  result.fate_floor = detail::score_fates(p_true, p_again);
  result.fate_true_drift = detail::score_fates(p_true, p_oracle);
  result.fate_true_noise = detail::score_fates(p_true, p_true_noise);
  result.fate_truth_model_steps = detail::score_fates(p_true, p_model_steps);
  result.fate_nearest = detail::score_fates(p_true, p_nearest);
  const auto undecided = detail::undecided_rows(p_true);
  result.undecided_queries = std::ssize(undecided);
  result.fate_undecided = detail::score_fates(p_true, p_hat, undecided);
  result.fate_nearest_undecided = detail::score_fates(p_true, p_nearest, undecided);
  return result;
}

}  // namespace upfi::problems
