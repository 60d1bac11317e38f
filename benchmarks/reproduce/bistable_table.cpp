// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Reproduces UPFI Table 1 (bistable system with growth) with upfi's UPFI, PFI, TIGON++ and fitness-ODE: for each
// dimension and seed, simulates the data, fits each method and prints path energy distance, force errors (cosine,
// mean |v - v_hat|) and Pearson fate correlation, then mean +- sd over seeds, as Markdown rows (docs/results.md).
//
// Options: `bistable_table --help`.
//
// Seed s (first-seed ... first-seed + seeds - 1) uses data seed 1000 + s and training seed s (plus
// --training-seed-offset, default 0: refits of the same data), so runs with different --first-seed add seeds to a
// table.
//
// Not part of CI: a full table takes hours on two cores (docs/results.md gives the measured times).
#include <upfi/core/memory.hpp>
#include <upfi/problems/bistable_benchmark.hpp>

#include "table_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using upfi::reproduce::mean_sd;
  upfi::core::retain_heap_memory();
  std::vector<long> dims{2};
  std::vector<std::string> methods{"upfi", "pfi", "tigon", "fitness"};
  int seeds = 3, first_seed = 0, seed_offset = 0;
  upfi::problems::bistable_benchmark_options o;
  o.training.iterations = 5000;
  o.training.report_every = 500;
  upfi::reproduce::options args("bistable_table", R"(bistable_table [--option value] ...
  --dims 2                     comma list of dimensions
  --seeds 3                    number of seeds; seed s uses data seed 1000 + s
  --first-seed 0
  --training-seed-offset 0     training seed = s + offset (refits of the same data)
  --methods upfi,pfi,tigon,fitness
  --dsm 0                      DSM score iterations (0: training-free kernel score)
  --dsm-per-dim 0|1            DSM noise scaled per coordinate (score::dsm_options::per_dimension_noise)
  --dsm-ensemble 1             the score is the mean of this many DSM networks (score::train_dsm_ensemble)
  --mass-smoothing -1          >= 0: train on masses smoothed by a polynomial of this degree in time
  --restarts 1                 > 1: fit each method this often (other training seeds, one score) and evaluate the
                               average of the fits' drifts and growths (infer::model_average)
  --select-restart 0|1         1: with --restarts > 1, evaluate only the fit with the lowest training objective on
                               16 common minibatches (infer::mean_minibatch_loss) instead of the average
  --hidden 64,64,64            hidden widths of the drift and growth networks
  --score-hidden 64,64,64      hidden widths of the DSM score network (the paper at d > 10: 256,256,256)
  --score-lr 3e-3              its learning rate (the paper at d > 10: 1e-3)
  --score-rule scott           kernel score bandwidth rule (scott, silverman, held_out)
  --exact-score-cells 0        > 0: UPFI and PFI use the exact score (Fokker-Planck grid, this many cells per axis;
                               d <= 3), an oracle that separates the trainer's error from the score's
  --activation silu            their hidden-layer activation (relu, silu, tanh, elu, softplus)
  --fate-snapshots 1,2,3       the inner snapshots whose cells are fate queries (default: all)
  --fate-queries 100           query cells per snapshot
)" + upfi::reproduce::training_usage(o.training));
  upfi::reproduce::add_table_options(args, seeds, first_seed, methods, o);
  args.add("--dims", dims);
  args.add("--training-seed-offset", seed_offset);
  args.add("--restarts", o.restarts);
  args.add("--select-restart", o.select_restart);
  args.add("--fate-snapshots", o.fate_snapshots);
  args.add("--activation", [&o](const std::string& v) { o.hidden_activation = upfi::nn::activation_from_string(v); });
  args.add("--score-rule", [&o](const std::string& v) { o.score_rule = upfi::score::bandwidth_rule_named(v); });
  args.add("--exact-score-cells", o.exact_score_cells);
  if (const auto code = args.parse(argc, argv)) return *code;
  std::cout << "| d | method | path energy | force cosine | force L2 | fate corr. | s / run |\n"
            << "|---|---|---|---|---|---|---|\n";
  for (const auto d : dims) {
    o.dimension = d;
    for (const auto& name : methods) {
      upfi::problems::bistable_method method{};
      try {
        method = upfi::problems::bistable_method_named(name);
      } catch (const std::invalid_argument& e) {
        std::cerr << "bistable_table: " << e.what() << "\n";
        return 2;
      }
      std::vector<double> energy, cosine, l2, fate, secs;
      for (int s = first_seed; s < first_seed + seeds; ++s) {
        o.data_seed = 1000 + static_cast<std::uint64_t>(s);
        o.seed = static_cast<std::uint64_t>(s + seed_offset);
        const auto r = upfi::problems::run_bistable_benchmark(method, o);
        energy.push_back(r.path_energy);
        cosine.push_back(r.force.cosine);
        l2.push_back(r.force.mean_norm);
        fate.push_back(r.fate_correlation);
        secs.push_back(r.score_seconds + r.training_seconds);
        std::cerr << "d = " << o.dimension << " " << upfi::problems::method_name(method) << " seed " << s << ": energy "
                  << r.path_energy << ", cosine " << r.force.cosine << ", L2 " << r.force.mean_norm << ", fate "
                  << r.fate_correlation << ", score " << r.score_seconds << " s, training " << r.training_seconds
                  << " s, final loss";
        for (const double loss : r.restart_losses) std::cerr << " " << loss;
        if (r.selected_restart >= 0) {
          std::cerr << ", selection loss";
          for (const double loss : r.selection_losses) std::cerr << " " << loss;
          std::cerr << " (fit " << r.selected_restart << " chosen)";
        }
        std::cerr << ", cosine / L2 per snapshot";
        for (const auto& e : r.force_per_snapshot) std::cerr << " " << e.cosine << "/" << e.mean_norm;
        std::cerr << ", cells";
        for (const auto c : r.cells) std::cerr << " " << c;
        std::cerr << ", growth corr " << r.growth_correlation << ", paths ending at x0 > 0: true "
                  << r.branch_fraction_true << ", model " << r.branch_fraction_model << ", roll-out energy "
                  << r.rollout.mean_energy() << " (" << r.rollout.energy.transpose() << "; / floor "
                  << r.rollout.energy_ratio().transpose() << "), log-mass error "
                  << r.rollout.log_mass_error.transpose() << "\n  " << upfi::reproduce::step_check_line(r.step_check)
                  << "\n  fate corr of the null model (nearest region now) " << r.fate_nearest.correlation
                  << "; on the " << r.undecided_queries << " undecided queries: model " << r.fate_undecided.correlation
                  << " (TV " << r.fate_undecided.tv << "), null " << r.fate_nearest_undecided.correlation << " (TV "
                  << r.fate_nearest_undecided.tv << ")\n";
      }
      std::cout << "| " << o.dimension << " | " << upfi::problems::method_name(method) << " | " << mean_sd(energy)
                << " | " << mean_sd(cosine) << " | " << mean_sd(l2) << " | " << mean_sd(fate) << " | "
                << mean_sd(secs, 1) << " |" << std::endl;
    }
  }
}
