// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Reproduces UPFI Table 2 (BF and HSC gene networks simulated as chemical Langevin equations with growth) with
// upfi's UPFI and PFI, each with an additive, a multiplicative (two networks) or a chemical Langevin (production
// network, linear degradation) noise model: path energy distance, force L2 error,
// Pearson fate correlation (BF) and TV fate error (HSC), mean +- sd over seeds, as Markdown rows (docs/results.md).
//
// Options: `network_table --help`.
//
// The fate columns give, in parentheses, the same metric between the
// truth and a second simulation of the truth (the sampling ceiling of the correlation and floor of the TV at
// --fate-paths), for the true drift simulated with the model's noise (what a perfect drift would score), for the
// model's drift simulated with the true noise (TV only: what the drift alone scores), and for
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
  upfi::reproduce::options args("network_table", R"(network_table [--option value] ...
  --systems bf,hsc
  --seeds 2                    number of seeds; seed s uses data seed 2000 + s and training seed s
  --first-seed 0
  --methods upfi,pfi
  --noise add,mult             additive (D from the data), multiplicative (production and degradation networks)
                               or cle (production network, linear degradation: the truth's chemical Langevin form)
  --cle-rate R                 cle: the degradation rate (fixed, or the learned rates' start); default the truth's
  --cle-learn 0|1              cle: learn one degradation rate per gene
  --dsm 10000                  DSM score iterations
  --dsm-per-dim 0|1            DSM noise scaled per coordinate (score::dsm_options::per_dimension_noise)
  --dsm-ensemble 1             the score is the mean of this many DSM networks (score::train_dsm_ensemble)
  --mass-smoothing -1          >= 0: train on masses smoothed by a polynomial of this degree in time
  --hidden 64,64,64            hidden widths of the drift and growth networks
  --score-hidden 64,64,64      hidden widths of the DSM score network
  --score-lr 3e-3              its learning rate
  --max-rate 10                the networks' production rate m (and degradation lambda)
  --volume 16                  chemical Langevin volume V
  --birth 5                    the dividing branch's maximal birth rate
  --fate-paths 100             paths per fate query
  --fate-queries 50            fate queries per inner snapshot
)" + upfi::reproduce::training_usage(o.training));
  upfi::reproduce::add_table_options(args, seeds, first_seed, methods, o);
  args.add("--systems", systems);
  args.add("--noise", noises);
  args.add("--max-rate", o.network.max_rate);
  args.add("--volume", o.network.volume);
  args.add("--birth", o.birth_rate);
  args.add("--fate-paths", o.fate_paths);
  args.add("--cle-rate", o.cle_rate);
  args.add("--cle-learn", o.cle_learn_rates);
  if (const auto code = args.parse(argc, argv)) return *code;
  std::cout << "| system | method | noise | path energy | force L2 | fate corr. (ceiling; true drift; nearest) "
               "| fate TV (floor; true drift; true noise; nearest) | undecided TV (nearest) | s / run |\n"
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
        if (n != "add" && n != "mult" && n != "cle") {
          std::cerr << "network_table: unknown noise model " << n << " (add, mult, cle)\n";
          return 2;
        }
        const auto noise = n == "add"    ? network_noise::additive
                           : n == "mult" ? network_noise::multiplicative
                                         : network_noise::cle;
        std::vector<double> energy, force, corr, tv, secs, ceiling, floor, corr_drift, tv_drift, corr_near, tv_near,
            tv_noise, tv_undecided, tv_undecided_near;
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
          tv_noise.push_back(r.fate_true_noise.tv);
          corr_near.push_back(r.fate_nearest.correlation);
          tv_near.push_back(r.fate_nearest.tv);
          tv_undecided.push_back(r.fate_undecided.tv);
          tv_undecided_near.push_back(r.fate_nearest_undecided.tv);
          secs.push_back(r.score_seconds + r.training_seconds);
          std::cerr << system_name(system) << " " << m << " " << n << " seed " << s << ": energy " << r.path_energy
                    << ", force L2 " << r.force_l2 << ", fate corr " << r.fate_correlation << ", fate TV " << r.fate_tv
                    << " (truth vs truth: corr " << r.fate_floor.correlation << ", TV " << r.fate_floor.tv
                    << "; true drift with the model's noise: corr " << r.fate_true_drift.correlation << ", TV "
                    << r.fate_true_drift.tv << "; the model's drift with the true noise: corr "
                    << r.fate_true_noise.correlation << ", TV " << r.fate_true_noise.tv
                    << "; the truth at the model's step: TV " << r.fate_truth_model_steps.tv
                    << "; nearest region now: corr " << r.fate_nearest.correlation << ", TV " << r.fate_nearest.tv
                    << "; on the " << r.undecided_queries << " undecided queries: TV " << r.fate_undecided.tv
                    << ", null " << r.fate_nearest_undecided.tv << ")"
                    << ", D " << r.diffusion << ", score " << r.score_seconds << " s, training " << r.training_seconds
                    << " s, final loss " << (r.report.history.empty() ? 0.0 : r.report.history.back().loss.total())
                    << ", cells";
          for (const auto c : r.cells) std::cerr << " " << c;
          std::cerr << ", growth corr " << r.growth_correlation;
          if (r.degradation_rates.size() > 0) {
            std::cerr << ", degradation rates";
            for (const double rate : r.degradation_rates) std::cerr << " " << rate;
          }
          std::cerr << "\n  " << upfi::reproduce::step_check_line(r.step_check)
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
                  << mean_sd(tv) << " (" << mean_sd(floor) << "; " << mean_sd(tv_drift) << "; " << mean_sd(tv_noise)
                  << "; " << mean_sd(tv_near) << ") | " << mean_sd(tv_undecided) << " (" << mean_sd(tv_undecided_near)
                  << ") | " << mean_sd(secs, 1) << " |" << std::endl;
      }
    }
  }
}
