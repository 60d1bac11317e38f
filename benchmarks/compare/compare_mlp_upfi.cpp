// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Driver for benchmarks/compare/mlp_torch.py: seconds per forward + VJP (inputs and parameters) of a 3-hidden-layer
// SiLU MLP (inputs = outputs = d). Usage: compare_mlp_upfi d width batch iterations threads (0 = all)
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/nn/mlp.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: compare_mlp_upfi d width batch iterations threads\n");
    return 2;
  }
  const Eigen::Index d = std::stol(argv[1]), width = std::stol(argv[2]), batch = std::stol(argv[3]);
  const int iterations = std::stoi(argv[4]), threads = std::stoi(argv[5]);
  const upfi::core::thread_limit limit(threads > 0 ? threads : upfi::core::max_threads());
  const upfi::nn::mlp<double> net({.inputs = d, .outputs = d, .hidden = {width, width, width}}, 1);
  Eigen::MatrixXd x(batch, d), cot(batch, d), y, gx;
  upfi::core::counter_rng(2).fill_normal(x, 0);
  upfi::core::counter_rng(3).fill_normal(cot, 0);
  upfi::nn::mlp_workspace<double> ws;
  Eigen::VectorXd gp = Eigen::VectorXd::Zero(net.parameter_count());
  for (int k = 0; k < 5; ++k) {  // warm-up
    net.forward(0.0, x, y, ws);
    net.vjp(ws, cot, &gx, &gp);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int k = 0; k < iterations; ++k) {
    net.forward(0.0, x, y, ws);
    gp.setZero();
    net.vjp(ws, cot, &gx, &gp);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.9f %.12g\n", seconds / iterations, gp.squaredNorm());
  return 0;
}
