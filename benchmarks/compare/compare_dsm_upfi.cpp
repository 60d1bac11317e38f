// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Driver for benchmarks/compare/dsm_torch.py: seconds per DSM training iteration (batch draw, forward, loss, VJP,
// AdamW) of an MLP (d + 2 -> width x 3 -> d) on 5 Gaussian snapshots of 2000 cells.
// Usage: compare_dsm_upfi d width activation(relu|silu) iterations
#include <upfi/core/counter_rng.hpp>
#include <upfi/score/dsm.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: compare_dsm_upfi d width relu|silu iterations\n");
    return 2;
  }
  const Eigen::Index d = std::stol(argv[1]), width = std::stol(argv[2]);
  const std::string act = argv[3];
  const long iterations = std::stol(argv[4]);
  std::vector<double> times;
  std::vector<Eigen::MatrixXd> clouds;
  for (int i = 0; i < 5; ++i) {
    Eigen::MatrixXd x(2000, d);
    upfi::core::counter_rng(7, static_cast<std::uint32_t>(i)).fill_normal(x, 0);
    x.array() += 0.5 * i;
    times.push_back(0.25 * i);
    clouds.push_back(std::move(x));
  }
  const upfi::core::snapshot_series<double> data(times, clouds);
  upfi::score::dsm_trainer trainer(
      data, {.hidden = {width, width, width},
             .activation = act == "relu" ? upfi::nn::activation::relu : upfi::nn::activation::silu,
             .iterations = iterations});
  for (int k = 0; k < 20; ++k) (void)trainer.step();  // warm-up
  double loss = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long k = 0; k < iterations; ++k) loss += trainer.step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.9f %.6g\n", seconds / static_cast<double>(iterations), loss / static_cast<double>(iterations));
  return 0;
}
