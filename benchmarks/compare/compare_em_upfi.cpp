// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Driver for benchmarks/compare/euler_maruyama_numpy.py: Euler-Maruyama on the bistable system, prints
// particle-steps per second. Usage: compare_em_upfi d N steps threads (threads 0 = all).
#include <upfi/core/parallel.hpp>
#include <upfi/sde/bistable.hpp>
#include <upfi/sde/simulator.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: compare_em_upfi d N steps threads\n");
    return 2;
  }
  const Eigen::Index d = std::stol(argv[1]), n = std::stol(argv[2]);
  const auto steps = static_cast<std::uint32_t>(std::stoul(argv[3]));
  const int threads = std::stoi(argv[4]);
  const upfi::core::thread_limit limit(threads > 0 ? threads : upfi::core::max_threads());
  const upfi::sde::bistable model(d);
  const upfi::sde::simulator sim(model, model.noise(), {.dt = 1e-3});
  const upfi::core::counter_rng rng(1);
  Eigen::MatrixXd x = model.initial_cells(n, rng);
  sim.advance(x, 0.0, 1e-3, 0, 20, rng);  // warm-up, as the NumPy side
  const auto start = std::chrono::steady_clock::now();
  sim.advance(x, 0.0, 1e-3, 20, steps, rng);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!x.allFinite()) return 1;
  std::printf("%.6e\n", static_cast<double>(n) * steps / elapsed);
  return 0;
}
