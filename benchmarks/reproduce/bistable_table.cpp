// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Reproduces UPFI Table 1 (bistable system with growth) with upfi's UPFI, PFI, TIGON++ and fitness-ODE: for each
// dimension and seed, simulates the data, fits each method and prints path energy distance, force errors (cosine,
// mean |v - v_hat|) and Pearson fate correlation, then mean +- sd over seeds, as Markdown rows (docs/results.md).
//
//   bistable_table [--dims 2,5,10] [--seeds 3] [--methods upfi,pfi,tigon,fitness] [--iterations 5000]
//                  [--batch 256] [--steps 2] [--dsm 0] [--hidden 64,64,64] [--lr 3e-3] [--float-sinkhorn 0|1]
//                  [--first-seed 0] [--training-seed-offset 0] [--final-lr 3e-4] [--clip 0]
//                  [--fate-snapshots 1,2,3] [--fate-queries 100] [--lambda 1e-3] [--alpha 0.1]
//                  [--warm-sinkhorn -1] [--sinkhorn-extra 0]
//
// --final-lr: cosine learning-rate decay to it. --clip: clip the gradient's global norm to it (0: off).
// --lambda, --alpha: weight of the regulariser lambda (|v|^2 / d + alpha g^2) (the paper's 1e-3 and 0.1).
// --warm-sinkhorn K: warm-start the Sinkhorn problems from the previous iteration with K sweeps (-1: cold, GeomLoss's
// schedule). --sinkhorn-extra N: up to N extra sweeps at the final eps (0: GeomLoss's fixed schedule).
// --fate-snapshots: the inner snapshots whose cells are fate queries (default: all).
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
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using upfi::reproduce::mean_sd;
  using upfi::reproduce::split;
  upfi::core::retain_heap_memory();
  std::vector<std::string> dims{"2"}, methods{"upfi", "pfi", "tigon", "fitness"};
  int seeds = 3, first_seed = 0, seed_offset = 0;
  upfi::problems::bistable_benchmark_options o;
  o.training.iterations = 5000;
  o.training.report_every = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--dims") {
      dims = split(value);
    } else if (key == "--seeds") {
      seeds = std::stoi(value);
    } else if (key == "--first-seed") {
      first_seed = std::stoi(value);
    } else if (key == "--training-seed-offset") {
      seed_offset = std::stoi(value);
    } else if (key == "--methods") {
      methods = split(value);
    } else if (key == "--iterations") {
      o.training.iterations = std::stol(value);
    } else if (key == "--batch") {
      o.training.batch = std::stol(value);
    } else if (key == "--steps") {
      o.training.steps = std::stoi(value);
    } else if (key == "--dsm") {
      o.dsm_iterations = std::stol(value);
    } else if (key == "--lr") {
      o.training.learning_rate = std::stod(value);
    } else if (key == "--final-lr") {  // cosine learning-rate decay to this value
      o.training.cosine_decay = true;
      o.training.final_learning_rate = std::stod(value);
    } else if (key == "--fate-snapshots") {
      for (const auto& k : split(value)) o.fate_snapshots.push_back(std::stoul(k));
    } else if (key == "--fate-queries") {
      o.fate_queries = std::stol(value);
    } else if (key == "--clip") {
      o.training.clip_norm = std::stod(value);
    } else if (key == "--float-sinkhorn") {
      o.training.float_sinkhorn = value == "1";
    } else if (key == "--warm-sinkhorn") {  // warm-started Sinkhorn with this many sweeps (-1: cold)
      o.training.sinkhorn_warm_start = std::stoi(value) >= 0;
      o.training.sinkhorn_warm_sweeps = std::max(0, std::stoi(value));
    } else if (key == "--sinkhorn-extra") {
      o.training.sinkhorn_max_iterations = std::stoi(value);
    } else if (key == "--lambda") {
      o.training.lambda = std::stod(value);
    } else if (key == "--alpha") {
      o.training.alpha = std::stod(value);
    } else if (key == "--hidden") {
      o.hidden.clear();
      for (const auto& h : split(value)) o.hidden.push_back(std::stol(h));
    } else {
      std::cerr << "bistable_table: unknown option " << key << "\n";
      return 2;
    }
  }
  std::cout << "| d | method | path energy | force cosine | force L2 | fate corr. | s / run |\n"
            << "|---|---|---|---|---|---|---|\n";
  for (const auto& ds : dims) {
    o.dimension = std::stol(ds);
    for (const auto& name : methods) {
      upfi::problems::bistable_method method{};
      if (name == "upfi") {
        method = upfi::problems::bistable_method::upfi;
      } else if (name == "pfi") {
        method = upfi::problems::bistable_method::pfi;
      } else if (name == "tigon") {
        method = upfi::problems::bistable_method::tigon;
      } else if (name == "fitness") {
        method = upfi::problems::bistable_method::fitness_ode;
      } else {
        std::cerr << "bistable_table: unknown method " << name << " (upfi, pfi, tigon, fitness)\n";
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
                  << " s, final loss " << (r.report.history.empty() ? 0.0 : r.report.history.back().loss.total())
                  << ", cells";
        for (const auto c : r.cells) std::cerr << " " << c;
        std::cerr << ", growth corr " << r.growth_correlation << "\n  fate corr of the null model (nearest region now) "
                  << r.fate_nearest.correlation << "; on the " << r.undecided_queries << " undecided queries: model "
                  << r.fate_undecided.correlation << " (TV " << r.fate_undecided.tv << "), null "
                  << r.fate_nearest_undecided.correlation << " (TV " << r.fate_nearest_undecided.tv << ")\n";
      }
      std::cout << "| " << o.dimension << " | " << upfi::problems::method_name(method) << " | " << mean_sd(energy)
                << " | " << mean_sd(cosine) << " | " << mean_sd(l2) << " | " << mean_sd(fate) << " | "
                << mean_sd(secs, 1) << " |" << std::endl;
    }
  }
}
