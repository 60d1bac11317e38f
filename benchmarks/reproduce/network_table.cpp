// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Reproduces UPFI Table 2 (BF and HSC gene networks simulated as chemical Langevin equations with growth) with
// upfi's UPFI and PFI, each with an additive and a multiplicative noise model: path energy distance, force L2 error,
// Pearson fate correlation (BF) and TV fate error (HSC), mean +- sd over seeds, as Markdown rows (docs/results.md).
//
//   network_table [--systems bf,hsc] [--seeds 2] [--methods upfi,pfi] [--noise add,mult] [--iterations 3000]
//                 [--batch 128] [--dsm 10000] [--lr 3e-3] [--birth 5]
//                 [--float-sinkhorn 0|1] [--max-rate 10] [--volume 16]
//                 [--reach 5] [--first-seed 0] [--final-lr 3e-4] [--fate-paths 100] [--fate-queries 50]
//                 [--alpha 0.1] [--hidden 64,64,64] [--score-hidden 64,64,64] [--score-lr 3e-3]
//
// --final-lr: cosine learning-rate decay to it. The fate columns give, in parentheses, the same metric between the
// truth and a second simulation of the truth (the sampling ceiling of the correlation and floor of the TV at
// --fate-paths), for the true drift simulated with the model's noise (what a perfect drift would score), and for
// a null model without dynamics (each query's fate is its nearest region now). "undecided TV" is the fate TV over
// the queries whose fate the truth has not decided (every fate below 0.95), with the null model's in parentheses.
//
// Seed s (first-seed ... first-seed + seeds - 1) uses data seed 2000 + s and training seed s.
//
// Not part of CI (minutes per run on two cores; docs/results.md gives the measured times).
#include <upfi/core/memory.hpp>
#include <upfi/problems/network_benchmark.hpp>

#include "table_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace upfi::problems;
  using upfi::reproduce::mean_sd;
  using upfi::reproduce::split;
  upfi::core::retain_heap_memory();
  std::vector<std::string> systems{"bf", "hsc"}, methods{"upfi", "pfi"}, noises{"add", "mult"};
  int seeds = 2, first_seed = 0;
  network_benchmark_options o;
  o.training.iterations = 3000;
  o.training.batch = 128;
  o.training.report_every = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--systems") {
      systems = split(value);
    } else if (key == "--seeds") {
      seeds = std::stoi(value);
    } else if (key == "--first-seed") {
      first_seed = std::stoi(value);
    } else if (key == "--methods") {
      methods = split(value);
    } else if (key == "--noise") {
      noises = split(value);
    } else if (key == "--iterations") {
      o.training.iterations = std::stol(value);
    } else if (key == "--batch") {
      o.training.batch = std::stol(value);
    } else if (key == "--dsm") {
      o.dsm_iterations = std::stol(value);
    } else if (key == "--lr") {
      o.training.learning_rate = std::stod(value);
    } else if (key == "--final-lr") {  // cosine learning-rate decay to this value
      o.training.cosine_decay = true;
      o.training.final_learning_rate = std::stod(value);
    } else if (key == "--float-sinkhorn") {
      o.training.float_sinkhorn = value != "0";
    } else if (key == "--reach") {
      o.training.reach = std::stod(value);
    } else if (key == "--max-rate") {
      o.network.max_rate = std::stod(value);
    } else if (key == "--volume") {
      o.network.volume = std::stod(value);
    } else if (key == "--birth") {
      o.birth_rate = std::stod(value);
    } else if (key == "--alpha") {
      o.training.alpha = std::stod(value);
    } else if (key == "--hidden") {
      o.hidden.clear();
      for (const auto& h : split(value)) o.hidden.push_back(std::stol(h));
    } else if (key == "--score-hidden") {
      o.score_hidden.clear();
      for (const auto& h : split(value)) o.score_hidden.push_back(std::stol(h));
    } else if (key == "--score-lr") {
      o.score_learning_rate = std::stod(value);
    } else if (key == "--fate-paths") {
      o.fate_paths = std::stol(value);
    } else if (key == "--fate-queries") {
      o.fate_queries = std::stol(value);
    } else {
      std::cerr << "network_table: unknown option " << key << "\n";
      return 2;
    }
  }
  std::cout << "| system | method | noise | path energy | force L2 | fate corr. (ceiling; true drift; nearest) "
               "| fate TV (floor; true drift; nearest) | undecided TV (nearest) | s / run |\n"
            << "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& sys : systems) {
    if (sys != "bf" && sys != "hsc") {
      std::cerr << "network_table: unknown system " << sys << " (bf, hsc)\n";
      return 2;
    }
    const auto system = sys == "bf" ? network_system::bf : network_system::hsc;
    for (const auto& m : methods) {
      if (m != "upfi" && m != "pfi") {
        std::cerr << "network_table: unknown method " << m << " (upfi, pfi)\n";
        return 2;
      }
      for (const auto& n : noises) {
        if (n != "add" && n != "mult") {
          std::cerr << "network_table: unknown noise model " << n << " (add, mult)\n";
          return 2;
        }
        const auto noise = n == "add" ? network_noise::additive : network_noise::multiplicative;
        std::vector<double> energy, force, corr, tv, secs, ceiling, floor, corr_drift, tv_drift, corr_near, tv_near,
            tv_undecided, tv_undecided_near;
        for (int s = first_seed; s < first_seed + seeds; ++s) {
          o.data_seed = 2000 + static_cast<std::uint64_t>(s);
          o.seed = static_cast<std::uint64_t>(s);
          const auto r = run_network_benchmark(system, m == "upfi", noise, o);
          energy.push_back(r.path_energy);
          force.push_back(r.force_l2);
          corr.push_back(r.fate_correlation);
          tv.push_back(r.fate_tv);
          ceiling.push_back(r.fate_floor.correlation);
          floor.push_back(r.fate_floor.tv);
          corr_drift.push_back(r.fate_true_drift.correlation);
          tv_drift.push_back(r.fate_true_drift.tv);
          corr_near.push_back(r.fate_nearest.correlation);
          tv_near.push_back(r.fate_nearest.tv);
          tv_undecided.push_back(r.fate_undecided.tv);
          tv_undecided_near.push_back(r.fate_nearest_undecided.tv);
          secs.push_back(r.score_seconds + r.training_seconds);
          std::cerr << system_name(system) << " " << m << " " << n << " seed " << s << ": energy " << r.path_energy
                    << ", force L2 " << r.force_l2 << ", fate corr " << r.fate_correlation << ", fate TV " << r.fate_tv
                    << " (truth vs truth: corr " << r.fate_floor.correlation << ", TV " << r.fate_floor.tv
                    << "; true drift with the model's noise: corr " << r.fate_true_drift.correlation << ", TV "
                    << r.fate_true_drift.tv << "; nearest region now: corr " << r.fate_nearest.correlation << ", TV "
                    << r.fate_nearest.tv << "; on the " << r.undecided_queries << " undecided queries: TV "
                    << r.fate_undecided.tv << ", null " << r.fate_nearest_undecided.tv << ")"
                    << ", D " << r.diffusion << ", score " << r.score_seconds << " s, training " << r.training_seconds
                    << " s, final loss " << (r.report.history.empty() ? 0.0 : r.report.history.back().loss.total())
                    << ", cells";
          for (const auto c : r.cells) std::cerr << " " << c;
          std::cerr << ", growth corr " << r.growth_correlation
                    << "\n  fates by snapshot (mean P(fate 0) true / model, TV):";
          for (std::size_t k = 1; k + 1 < r.cells.size(); ++k) {
            // the queries of snapshot k are consecutive rows
            const auto [first, last] = std::equal_range(r.fate_snapshot.begin(), r.fate_snapshot.end(), k);
            const auto i0 = static_cast<Eigen::Index>(first - r.fate_snapshot.begin());
            const auto q = static_cast<Eigen::Index>(last - first);
            const Eigen::MatrixXd pt = r.fates_true.middleRows(i0, q), ph = r.fates_model.middleRows(i0, q);
            std::cerr << " " << k << ": " << pt.col(0).mean() << " / " << ph.col(0).mean() << ", "
                      << upfi::metrics::tv_fate_error(pt, ph) << ";";
          }
          if (!r.birth_mean.empty()) {
            std::cerr << "\n  mean birth rate true / fitted growth by snapshot:";
            for (std::size_t k = 0; k < r.birth_mean.size(); ++k)
              std::cerr << " " << r.birth_mean[k] << " / " << r.growth_mean[k] << ";";
          }
          std::cerr << "\n";
        }
        std::cout << "| " << system_name(system) << " | " << (m == "upfi" ? "UPFI" : "PFI") << " | "
                  << noise_name(noise) << " | " << mean_sd(energy) << " | " << mean_sd(force) << " | " << mean_sd(corr)
                  << " (" << mean_sd(ceiling) << "; " << mean_sd(corr_drift) << "; " << mean_sd(corr_near) << ") | "
                  << mean_sd(tv) << " (" << mean_sd(floor) << "; " << mean_sd(tv_drift) << "; " << mean_sd(tv_near)
                  << ") | " << mean_sd(tv_undecided) << " (" << mean_sd(tv_undecided_near) << ") | " << mean_sd(secs, 1)
                  << " |" << std::endl;
      }
    }
  }
}
