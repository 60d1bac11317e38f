// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// Simulate the UPFI bistable-with-growth benchmark (algorithms.md §5.8.1) with branching Euler-Maruyama, one
// independent realisation per snapshot time (the papers' protocol), write the snapshots as CSV, read them back and
// print a summary.
//
//   dX = -grad V(X) dt + sigma dB,  V(x) = 0.9 |x-a|^2 |x-b|^2 + 10 sum_{i>=2} x_i^2,  a = -b = (1, 1, 0, ...),
//   sigma = 1/2,  birth rate b(x) = 2.5 (1 + tanh(2 x0)),  no death,  X_0 ~ N(0, 0.01 I).
//
// Usage: simulate_snapshots [out.csv] [--cells N0] [--dim d] [--seed S]
#include <upfi/core.hpp>
#include <upfi/io.hpp>
#include <upfi/sde.hpp>
#include <upfi/version.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  std::string out = "bistable.csv";
  Eigen::Index cells = 500, dim = 2;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--cells" && i + 1 < argc) {
      cells = std::stol(argv[++i]);
    } else if (a == "--dim" && i + 1 < argc) {
      dim = std::stol(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (!a.empty() && a[0] != '-') {
      out = a;
    } else {
      std::fprintf(stderr, "usage: simulate_snapshots [out.csv] [--cells N0] [--dim d] [--seed S]\n");
      return 2;
    }
  }

  const upfi::sde::bistable model(dim);
  const upfi::sde::simulator sim(model, model.noise(), {.dt = 1e-3});
  const auto initial = [&](Eigen::Index n, const upfi::core::counter_rng& rng) { return model.initial_cells(n, rng); };
  const auto series = sim.snapshots(initial, cells, {0.0, 0.25, 0.5, 0.75, 1.0}, seed);
  upfi::io::write_snapshot_csv(out, series);

  const auto back = upfi::io::read_snapshot_csv(out);
  std::printf("upfi %s: bistable system with growth, d = %ld, %ld initial cells, seed %llu, %d thread(s), %s\n",
              upfi::version_string, static_cast<long>(dim), static_cast<long>(cells),
              static_cast<unsigned long long>(seed), upfi::core::max_threads(), sim.uses_simd() ? "SIMD" : "scalar");
  std::printf("%8s %8s %10s %10s %10s\n", "time", "cells", "N_i/N_0", "mean x0", "frac x0>0");
  for (std::size_t k = 0; k < back.size(); ++k) {
    const auto& c = back.cloud(k);
    const double frac = static_cast<double>((c.col(0).array() > 0).count()) / static_cast<double>(c.rows());
    std::printf("%8.3g %8ld %10.3f %10.3f %10.3f\n", back.time(k), static_cast<long>(c.rows()), back.relative_mass(k),
                c.col(0).mean(), frac);
  }
  std::printf("wrote %s (%ld cells)\n", out.c_str(), static_cast<long>(back.total_count()));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "simulate_snapshots: %s\n", e.what());
  return 1;
}
