// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// What force error can a deterministic model reach on the bistable benchmark (algorithms.md §5.8.1)? TIGON++ and
// fitness-ODE fit a transport velocity u that moves the cells' density without noise; the velocity that does so
// exactly is the probability-flow velocity u* = f - D grad log rho (growth does not enter it: it changes the masses,
// not the positions). bistable_benchmark scores every method's velocity against the true drift f at the data, so even
// a perfect deterministic model pays the distance between u* and f.
//
// This program measures that floor on each data realisation, at the cells of every snapshot:
//  * at d = 2 with the exact score: the Fokker-Planck equation with growth solved on a grid
//    (problems::fokker_planck_grid, [-2.4, 2.4]^2), whose masses are printed beside the counted ones;
//  * with the kernel score of the snapshots (the benchmark's protocol-A score), and that score's error against the
//    exact one (how far an estimated u* can be trusted);
//  * with --methods, the fitted drifts of those methods (run_bistable_benchmark, protocol A by default) against f and
//    against the exact u*: did a deterministic baseline learn the transport the data imply?
// Force errors are the columns of Table 1 (mean cosine distance, mean L2), pooled over all snapshots and per
// snapshot. Markdown rows on stdout (docs/results.md, Table 1 baselines). Not part of CI.
#include <upfi/core/memory.hpp>
#include <upfi/metrics/errors.hpp>
#include <upfi/problems/bistable_benchmark.hpp>
#include <upfi/problems/fokker_planck_grid.hpp>
#include <upfi/score/kernel_score.hpp>

#include "table_support.hpp"

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {
using fields = std::vector<Eigen::MatrixXd>;

// "| label | pooled cosine | pooled L2 | cosine per snapshot | L2 per snapshot |" for fitted against reference
void print_row(const std::string& label, const fields& reference, const fields& fitted) {
  const auto e = upfi::problems::detail::force_errors_by_snapshot(reference, fitted);
  std::string cos, l2;
  for (std::size_t k = 0; k < e.per_snapshot.size(); ++k) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%.3f", k ? " / " : "", e.per_snapshot[k].cosine);
    cos += buf;
    std::snprintf(buf, sizeof buf, "%s%.3f", k ? " / " : "", e.per_snapshot[k].mean_norm);
    l2 += buf;
  }
  std::printf("| %s | %.3f | %.3f | %s | %s |\n", label.c_str(), e.pooled.cosine, e.pooled.mean_norm, cos.c_str(),
              l2.c_str());
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  upfi::core::retain_heap_memory();
  std::vector<long> dims{2};
  std::vector<std::string> methods;
  int seeds = 3;
  Eigen::Index grid_cells = 240;
  upfi::problems::bistable_benchmark_options o;
  o.training.iterations = 2000;  // protocol A
  o.training.batch = 128;
  o.training.report_every = 500;
  upfi::reproduce::options args("bistable_force_ceiling", R"(bistable_force_ceiling [--option value] ...
  --dims 2                     dimensions, comma-separated (the exact score is computed at d = 2 only)
  --seeds 3                    data seeds 1000 ... 1000 + seeds - 1 (bistable_table's)
  --score-samples 2000         kernel score: at most this many points per snapshot (bistable_table's default)
  --score-rule scott           kernel score bandwidth rule (scott, silverman, held_out), also for UPFI and PFI fits
  --grid-cells 240             Fokker-Planck grid cells per axis on [-2.4, 2.4]^2
  --methods ''                 also fit these (upfi, pfi, tigon, fitness; training seed = s) and score their drifts
  --hidden 64,64,64            their hidden widths
)" + upfi::reproduce::training_usage(o.training));
  args.add("--dims", dims);
  args.add("--seeds", seeds);
  args.add("--score-samples", o.score_samples);
  args.add("--grid-cells", grid_cells);
  args.add("--score-rule", [&o](const std::string& v) { o.score_rule = upfi::score::bandwidth_rule_named(v); });
  args.add("--methods", methods);
  args.add("--hidden", o.hidden);
  upfi::reproduce::add_training_options(args, o.training);
  if (const auto code = args.parse(argc, argv)) return *code;
  std::vector<upfi::problems::bistable_method> fits;
  try {
    for (const auto& m : methods) fits.push_back(upfi::problems::bistable_method_named(m));
  } catch (const std::invalid_argument& e) {
    std::cerr << "bistable_force_ceiling: " << e.what() << "\n";
    return 2;
  }

  for (const long dim : dims) {
    for (int s = 0; s < seeds; ++s) {
      o.dimension = dim;
      o.data_seed = 1000 + static_cast<std::uint64_t>(s);
      o.seed = static_cast<std::uint64_t>(s);
      const upfi::sde::bistable truth(o.dimension);
      const double delta = truth.noise().sigma() * truth.noise().sigma() / 2;  // D = sigma^2 / 2
      const auto data = upfi::problems::bistable_snapshots(o);
      upfi::score::kernel_score_options ko;
      ko.max_samples = o.score_samples;
      ko.seed = o.data_seed;  // as bistable_benchmark builds it
      ko.rule = o.score_rule;
      const upfi::score::kernel_score kernel(data, ko);
      fields f(data.size()), u_kernel(data.size()), s_kernel(data.size()), u_exact, s_exact;
      for (std::size_t k = 0; k < data.size(); ++k) {
        upfi::problems::detail::drift_on_cloud(truth, data.time(k), data.cloud(k), f[k]);
        kernel.evaluate(data.time(k), data.cloud(k), s_kernel[k]);
        u_kernel[k] = f[k] - delta * s_kernel[k];
      }
      std::printf("\nd = %ld, data seed %llu (cells", dim, static_cast<unsigned long long>(o.data_seed));
      for (std::size_t k = 0; k < data.size(); ++k) std::printf(" %lld", static_cast<long long>(data.cloud(k).rows()));
      std::printf(")\n\n");
      if (dim == 2) {
        auto grid = upfi::problems::bistable_density(2, grid_cells);  // the start N(0, 0.01 I), mass 1
        std::string masses;
        for (std::size_t k = 0; k < data.size(); ++k) {
          grid.advance_to(data.time(k));
          const Eigen::MatrixXd& x = data.cloud(k);
          s_exact.push_back(grid.score(x));
          u_exact.push_back(f[k] - delta * s_exact.back());
          char buf[96];
          std::snprintf(buf, sizeof buf, "%s%.2f (%.2f)", k ? " / " : "", grid.mass(), data.relative_mass(k));
          masses += buf;
        }
        std::printf("Fokker-Planck grid %lldx%lld, %ld steps, boundary mass %.1e; mass (counted): %s\n\n",
                    static_cast<long long>(grid_cells), static_cast<long long>(grid_cells), grid.steps(),
                    grid.boundary_mass(), masses.c_str());
      }
      std::printf(
          "| field, against reference | cosine, all snapshots | L2, all snapshots | cosine per snapshot | "
          "L2 per snapshot |\n|---|---|---|---|---|\n");
      if (dim == 2) {
        print_row("exact u* = f - D grad log rho, against f", f, u_exact);
        print_row("kernel-score u*, against f", f, u_kernel);
        print_row("kernel score, against the exact score", s_exact, s_kernel);
        print_row("kernel-score u*, against the exact u*", u_exact, u_kernel);
      } else {
        print_row("kernel-score u*, against f", f, u_kernel);
      }
      for (const auto method : fits) {
        const auto r = upfi::problems::run_bistable_benchmark(method, o);
        const std::string name = upfi::problems::method_name(method);
        print_row(name + " drift, against f", f, r.drift_at_data);
        if (dim == 2) print_row(name + " drift, against the exact u*", u_exact, r.drift_at_data);
        std::fprintf(stderr, "%s seed %d: path energy %.3f, training %.1f s\n", name.c_str(), s, r.path_energy,
                     r.training_seconds);
      }
    }
  }
  return 0;
}
