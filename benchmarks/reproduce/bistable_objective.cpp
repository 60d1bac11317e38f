// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Does UPFI's training objective prefer the truth? On one realisation of the bistable benchmark (algorithms.md
// §5.8.1) this program trains one DSM score and, with it, a UPFI fit per training seed, then evaluates the training
// loss (Sinkhorn divergence + WFR regulariser, flow_trainer::loss) of every fit and of the truth on the same
// minibatches:
//   * the truth's probability flow: the true drift and birth rate, with the fits' score, at 2 and at 32 Euler steps
//     per interval;
//   * the true SDE pushed through each interval (Euler-Maruyama, dt 1e-3, growth as log-masses), scored by the same
//     divergence: the level the data-generating process itself reaches;
// on the training data and on a fresh realisation (data seed + 500000). It prints one Markdown row per model
// (docs/results.md, "The objective prefers the poor fit"). Not part of CI.
#include <upfi/core/memory.hpp>
#include <upfi/nn/pointwise_field.hpp>
#include <upfi/problems/bistable_benchmark.hpp>

#include "table_support.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

// The true drift as a pointwise trainable model (one parameter, a factor fixed at 1 here).
struct true_drift {
  upfi::sde::bistable truth;
  [[nodiscard]] Eigen::Index dimension() const { return truth.dimension(); }
  [[nodiscard]] static Eigen::Index parameter_count() { return 1; }
  template <class T>
  void operator()(upfi::scalar_of_t<T> t, const T* x, const T* p, T* out) const {
    truth.drift(t, x, out);
    for (Eigen::Index k = 0; k < truth.dimension(); ++k) out[k] = out[k] * p[0];
  }
};

// The true birth rate b(x) = 2.5 (1 + tanh(2 x_0)) times a factor theta (1 here), as a one-output field.
struct true_growth {
  Eigen::Index d = 2;
  Eigen::VectorXd theta = Eigen::VectorXd::Ones(1);
  [[nodiscard]] Eigen::Index inputs() const { return d; }
  [[nodiscard]] static Eigen::Index outputs() { return 1; }
  [[nodiscard]] static Eigen::Index parameter_count() { return 1; }
  [[nodiscard]] Eigen::VectorXd& parameters() { return theta; }
  [[nodiscard]] const Eigen::VectorXd& parameters() const { return theta; }
  void set_parameters(const Eigen::VectorXd& p) { theta = p; }
  void evaluate(double, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    out = (theta[0] * 2.5 * (1 + (2 * x.col(0).array()).tanh())).matrix();
  }
  void vjp(double, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& c,
           Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    const Eigen::ArrayXd th = (2 * x.col(0).array()).tanh();
    if (grad_x != nullptr) {
      grad_x->setZero(x.rows(), d);
      grad_x->col(0) = (c.col(0).array() * theta[0] * 5 * (1 - th.square())).matrix();
    }
    if (grad_params != nullptr) (*grad_params)[0] += (c.col(0).array() * 2.5 * (1 + th)).sum();
  }
};

// Mean training loss (divergence + regulariser) over `count` minibatches of the trainer's seed.
template <class Trainer>
double mean_loss(const Trainer& trainer, int count) {
  double sum = 0;
  for (int j = 0; j < count; ++j) sum += trainer.loss(j).total();
  return sum / count;
}

// Mean over `count` minibatches of the summed divergence after pushing each source batch through its interval with
// the SDE of `field` (log-masses, no branching).
template <class Field, class Trainer>
double sde_loss(const Field& field, const Trainer& trainer, const upfi::core::snapshot_series<double>& data,
                int count) {
  const auto so = upfi::infer::sinkhorn_options_of(trainer.options(), false);
  double sum = 0;
  for (int j = 0; j < count; ++j) {
    for (std::size_t i = 0; i + 1 < data.size(); ++i) {
      const auto b = trainer.batch(j, i);
      const auto sim = upfi::infer::simulate_model(field, b.x, {data.time(i), data.time(i + 1)},
                                                   {.dt = 1e-3, .seed = 777U + static_cast<std::uint64_t>(j)});
      const Eigen::VectorXd log_a = b.log_a + sim.log_masses[1];
      sum += upfi::infer::training_divergence_of(trainer.options(), sim.positions[1], log_a, b.y, b.log_b, so).value;
    }
  }
  return sum / count;
}

}  // namespace

int main(int argc, char** argv) {
  upfi::core::retain_heap_memory();
  long dimension = 5;
  std::uint64_t data_seed = 1002, score_seed = 2;
  std::vector<std::uint64_t> training_seeds{2, 22};
  std::vector<long> batches{128, 1000};
  int mass_smoothing = -1;
  bool eval_split = false;
  upfi::problems::bistable_benchmark_options o;
  o.training.iterations = 5000;
  o.training.batch = 128;
  o.training.float_sinkhorn = true;
  upfi::reproduce::options args("bistable_objective", R"(bistable_objective [--option value] ...
  --dim 5                      dimension
  --data-seed 1002             the realisation (bistable_table's seed s is data seed 1000 + s)
  --score-seed 2               DSM score seed (25 000 iterations; bistable_table uses s + 7, here score-seed + 7)
  --training-seeds 2,22        one UPFI fit per seed, all with the same score
  --eval-batches 128,1000      minibatch sizes of the evaluation (100 minibatches of 128, 20 of larger sizes)
  --mass-smoothing -1          >= 0: train and evaluate on masses smoothed by a polynomial of this degree
  --eval-split 0               1: evaluate the split-sample divergence (matched, unless training uses one)
  --mass-realisations 0        > 0: only print the mean and sd of the relative masses over this many realisations
                               (data seeds 50000 ...) and stop
  --weight-spread 0            1: only print the training divergence (reach 5, blur 0.1, mass 10) between two samples
                               of one law, N(0, I) in --dim dimensions, as the spread of the source weights grows,
                               and the split-sample divergences (mean +- sem), and stop
  --free-total 0               1: with --weight-spread, the source weights independent (log-normal, expected total
                               10) instead of rescaled to a total of exactly 10, as for a pushed minibatch
)" + upfi::reproduce::training_usage(o.training));
  args.add("--dim", dimension);
  args.add("--data-seed", data_seed);
  args.add("--score-seed", score_seed);
  args.add("--training-seeds", training_seeds);
  args.add("--eval-batches", batches);
  args.add("--mass-smoothing", mass_smoothing);
  args.add("--eval-split", eval_split);
  int realisations = 0;
  args.add("--mass-realisations", realisations);
  bool weight_spread = false;
  args.add("--weight-spread", weight_spread);
  bool free_total = false;
  args.add("--free-total", free_total);
  upfi::reproduce::add_training_options(args, o.training);
  if (const auto code = args.parse(argc, argv)) return *code;

  const Eigen::Index d = dimension;
  o.dimension = d;
  o.data_seed = data_seed;
  if (weight_spread) {
    // Two samples of one law, the source weighted by exp(s xi) (xi standard normal, independent of the positions,
    // total mass fixed at 10, or 10 in expectation with --free-total): a correct model whose cells carry unequal
    // weights, against the data
    auto to = o.training;
    to.reach = to.reach.value_or(5.0);
    const auto so = upfi::infer::sinkhorn_options_of(to, false);
    const double mass = 10;
    std::cout << "| batch | sd of log-weights | divergence S | split, matched | split, all pairs |\n"
                 "|---|---|---|---|---|\n";
    for (const long b : batches) {
      for (const double spread : {0.0, 0.25, 0.5, 1.0}) {
        const int count = b > 500 ? 10 : 40;
        // the plain divergence S, the split-sample one with matched halves, and with all pairs of halves
        std::array<upfi::infer::flow_training_options, 3> configs{to, to, to};
        configs[1].split_divergence = upfi::ot::split_pairing::matched;
        configs[2].split_divergence = upfi::ot::split_pairing::all;
        std::array<double, 3> sum{}, sum2{};
        for (int r = 0; r < count; ++r) {
          Eigen::MatrixXd x(b, d), y(b, d);
          Eigen::VectorXd xi(b);
          const auto stream = static_cast<std::uint32_t>(r);
          upfi::core::counter_rng(1, stream).fill_normal(x, 0);
          upfi::core::counter_rng(2, stream).fill_normal(y, 0);
          upfi::core::counter_rng(3, stream).fill_normal(xi, 0);
          // a fixed total makes the halves' masses anti-correlated (m1 + m2 = 10), independent weights do not
          Eigen::VectorXd log_a = spread * xi;
          log_a.array() += free_total ? std::log(mass / static_cast<double>(b)) - spread * spread / 2
                                      : std::log(mass) - upfi::core::log_sum_exp(log_a);
          const Eigen::VectorXd log_b = Eigen::VectorXd::Constant(b, std::log(mass / static_cast<double>(b)));
          for (std::size_t k = 0; k < configs.size(); ++k) {
            const double v = upfi::infer::training_divergence_of(configs[k], x, log_a, y, log_b, so).value;
            sum[k] += v;
            sum2[k] += v * v;
          }
        }
        std::printf("| %ld | %.2f |", b, spread);
        for (std::size_t k = 0; k < configs.size(); ++k) {
          const double mean = sum[k] / count, var = std::max(0.0, sum2[k] / count - mean * mean);
          std::printf(" %.3f +- %.3f |", mean, std::sqrt(var / (count - 1)));
        }
        std::printf("\n");
      }
    }
    return 0;
  }
  if (realisations > 0) {
    // the scatter of the counted masses between independent realisations
    Eigen::ArrayXd sum = Eigen::ArrayXd::Zero(o.snapshots), sum2 = sum;
    for (int r = 0; r < realisations; ++r) {
      auto ro = o;
      ro.data_seed = 50000 + static_cast<std::uint64_t>(r);
      const auto series = upfi::problems::bistable_snapshots(ro);
      for (std::size_t k = 0; k < series.size(); ++k) {
        const double m = series.relative_mass(k);
        sum[static_cast<Eigen::Index>(k)] += m;
        sum2[static_cast<Eigen::Index>(k)] += m * m;
      }
    }
    std::cout << "| t | mean M | sd | sd / mean |\n|---|---|---|---|\n";
    for (Eigen::Index k = 0; k < o.snapshots; ++k) {
      const double mean = sum[k] / realisations;
      const double sd = std::sqrt(std::max(0.0, sum2[k] / realisations - mean * mean));
      std::printf("| %.2f | %.4f | %.4f | %.3f |\n", static_cast<double>(k) / (o.snapshots - 1), mean, sd, sd / mean);
    }
    return 0;
  }
  const auto smooth = [mass_smoothing](const upfi::core::snapshot_series<double>& s) {
    return mass_smoothing >= 0 ? s.with_smoothed_masses(mass_smoothing) : s;
  };
  const auto data = smooth(upfi::problems::bistable_snapshots(o));
  auto fresh_options = o;
  fresh_options.data_seed = data_seed + 500000;
  const auto fresh = smooth(upfi::problems::bistable_snapshots(fresh_options));
  const upfi::sde::bistable truth(d);
  const double delta = truth.noise().sigma() * truth.noise().sigma() / 2;

  upfi::score::dsm_options dso;
  dso.iterations = 25000;
  dso.seed = score_seed + 7;
  const auto score = upfi::score::train_dsm(data, dso);

  auto to = o.training;
  to.reach = to.reach.value_or(5.0);
  to.rescale_by_dimension = true;
  to.scheme = upfi::infer::training_scheme::teacher_forcing;
  const auto evaluation = [&to, eval_split](long batch, int steps) {
    auto e = to;
    if (eval_split && !e.split_divergence) e.split_divergence = upfi::ot::split_pairing::matched;
    e.batch = batch;
    e.steps = steps;
    e.seed = 12345;
    return e;
  };
  const auto count = [](long batch) { return batch > 500 ? 20 : 100; };

  // path energy of a fitted model, as bistable_benchmark measures it (500 paths a side from fresh N(0, 0.01 I))
  std::vector<double> grid;
  for (int k = 0; k <= 20; ++k) grid.push_back(0.05 * k);
  const auto start = [d](Eigen::Index n, const upfi::core::counter_rng& rng) {
    return upfi::problems::detail::bistable_start(n, d, rng);
  };
  const upfi::sde::simulator<upfi::sde::bistable, upfi::sde::additive_isotropic> paths(
      truth, truth.noise(), upfi::sde::simulate_options{.dt = 1e-3, .growth = false});
  const auto true_paths =
      paths.paths(start(500, upfi::core::counter_rng(data_seed, 9001)), grid, upfi::core::counter_rng(data_seed, 9003));

  std::cout << "| model | path energy | P(x0 > 0 at t = 1)";
  for (const long b : batches) std::cout << " | loss, batch " << b << " | fresh data, batch " << b;
  std::cout << " |\n|---|---|---";
  for (std::size_t k = 0; k < 2 * batches.size(); ++k) std::cout << "|---";
  std::cout << "|\n";

  const auto truth_field =
      upfi::flow::probability_flow(upfi::nn::pointwise_field(true_drift{truth}, Eigen::VectorXd::Ones(1)), score,
                                   upfi::flow::isotropic_diffusion{delta}, true_growth{d});
  for (const int steps : {2, 32}) {
    std::cout << "| truth, probability flow with the fits' score, " << steps << " Euler steps | 0 | |";
    for (const long b : batches) {
      const upfi::infer::flow_trainer on_data(truth_field, data, evaluation(b, steps));
      const upfi::infer::flow_trainer on_fresh(truth_field, fresh, evaluation(b, steps));
      std::printf(" %.3f | %.3f |", mean_loss(on_data, count(b)), mean_loss(on_fresh, count(b)));
      std::fflush(stdout);
    }
    std::cout << "\n";
  }
  std::cout << "| truth, SDE pushed through each interval (divergence only) | 0 | |";
  for (const long b : batches) {
    const upfi::infer::flow_trainer on_data(truth_field, data, evaluation(b, 2));
    const upfi::infer::flow_trainer on_fresh(truth_field, fresh, evaluation(b, 2));
    std::printf(" %.3f | %.3f |", sde_loss(truth_field, on_data, data, count(b) / 2),
                sde_loss(truth_field, on_fresh, fresh, count(b) / 2));
    std::fflush(stdout);
  }
  std::cout << "\n";

  upfi::nn::mlp_options net{.inputs = d, .outputs = d, .hidden = o.hidden, .time_input = false};
  upfi::nn::mlp_options scalar = net;
  scalar.outputs = 1;
  for (const std::uint64_t seed : training_seeds) {
    to.seed = seed;
    upfi::infer::flow_trainer trainer(
        upfi::flow::probability_flow(upfi::nn::mlp<double>(net, seed), score, upfi::flow::isotropic_diffusion{delta},
                                     upfi::nn::mlp<double>(scalar, seed + 1)),
        data, to);
    (void)trainer.train();
    const auto& fitted = trainer.field();
    const auto model_paths = upfi::infer::simulate_model(fitted, start(500, upfi::core::counter_rng(seed, 9002)), grid,
                                                         {.dt = 0.01, .seed = seed + 101});
    std::printf("| UPFI fit, training seed %llu | %.3f | %.2f |", static_cast<unsigned long long>(seed),
                upfi::metrics::path_energy_distance(true_paths.positions, model_paths.positions, 0.05),
                (model_paths.positions.back().col(0).array() > 0).cast<double>().mean());
    for (const long b : batches) {
      const upfi::infer::flow_trainer on_data(fitted, data, evaluation(b, to.steps));
      const upfi::infer::flow_trainer on_fresh(fitted, fresh, evaluation(b, to.steps));
      std::printf(" %.3f | %.3f |", mean_loss(on_data, count(b)), mean_loss(on_fresh, count(b)));
    }
    std::printf("\n");
    std::fflush(stdout);
  }
}
