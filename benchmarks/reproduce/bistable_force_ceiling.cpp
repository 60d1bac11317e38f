// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// What force error can a deterministic model reach on the bistable benchmark (algorithms.md §5.8.1)? TIGON++ and
// fitness-ODE fit a transport velocity u that moves the cells' density without noise; the velocity that does so
// exactly is the probability-flow velocity u* = f - D grad log rho (growth does not enter it: it changes the masses,
// not the positions). bistable_benchmark scores every method's velocity against the true drift f at the data, so even
// a perfect deterministic model pays the distance between u* and f. This program estimates that floor: on each data
// realisation it builds the kernel score of the snapshots (the benchmark's protocol-A score) and prints the force
// errors (mean cosine distance and mean L2, the columns of Table 1) of u* against f, pooled over all snapshots and per
// snapshot. Markdown rows on stdout (docs/results.md, Table 1 baselines, "The poor drift direction is the baselines'
// fit, not the metric"). Not part of CI.
#include <upfi/core/memory.hpp>
#include <upfi/metrics/errors.hpp>
#include <upfi/problems/bistable_benchmark.hpp>
#include <upfi/score/kernel_score.hpp>

#include "table_support.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  upfi::core::retain_heap_memory();
  std::vector<long> dims{2};
  int seeds = 3;
  upfi::problems::bistable_benchmark_options o;
  upfi::reproduce::options args("bistable_force_ceiling", R"(bistable_force_ceiling [--option value] ...
  --dims 2                     dimensions, comma-separated
  --seeds 3                    data seeds 1000 ... 1000 + seeds - 1 (bistable_table's)
  --score-samples 2000         kernel score: at most this many points per snapshot (bistable_table's default)
)");
  args.add("--dims", dims);
  args.add("--seeds", seeds);
  args.add("--score-samples", o.score_samples);
  if (const auto code = args.parse(argc, argv)) return *code;

  std::printf(
      "| d | data seed | cosine, all snapshots | L2, all snapshots | cosine per snapshot | L2 per snapshot |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const long dim : dims) {
    for (int s = 0; s < seeds; ++s) {
      o.dimension = dim;
      o.data_seed = 1000 + static_cast<std::uint64_t>(s);
      const upfi::sde::bistable truth(o.dimension);
      const double delta = truth.noise().sigma() * truth.noise().sigma() / 2;  // D = sigma^2 / 2
      const auto data = upfi::problems::bistable_snapshots(o);
      upfi::score::kernel_score_options ko;
      ko.max_samples = o.score_samples;
      ko.seed = o.data_seed;  // as bistable_benchmark builds it
      const upfi::score::kernel_score score(data, ko);
      Eigen::MatrixXd f_all, u_all;
      std::string per_cos, per_l2;
      for (std::size_t k = 0; k < data.size(); ++k) {
        const Eigen::MatrixXd& x = data.cloud(k);
        Eigen::MatrixXd f, s_hat;
        upfi::problems::detail::drift_on_cloud(truth, data.time(k), x, f);
        score.evaluate(data.time(k), x, s_hat);
        const Eigen::MatrixXd u = f - delta * s_hat;
        const auto e = upfi::metrics::force_errors(f, u);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%.3f", k ? " / " : "", e.cosine);
        per_cos += buf;
        std::snprintf(buf, sizeof buf, "%s%.3f", k ? " / " : "", e.mean_norm);
        per_l2 += buf;
        f_all.conservativeResize(f_all.rows() + x.rows(), x.cols());
        u_all.conservativeResize(u_all.rows() + x.rows(), x.cols());
        f_all.bottomRows(x.rows()) = f;
        u_all.bottomRows(x.rows()) = u;
      }
      const auto all = upfi::metrics::force_errors(f_all, u_all);
      std::printf("| %ld | %llu | %.3f | %.3f | %s | %s |\n", dim, static_cast<unsigned long long>(o.data_seed),
                  all.cosine, all.mean_norm, per_cos.c_str(), per_l2.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
