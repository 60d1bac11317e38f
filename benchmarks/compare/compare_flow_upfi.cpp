// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Driver for benchmarks/compare/flow_scipy.py: the probability-flow integration of compare_flow_odeint.cpp with
// upfi's DOPRI5 (atol = rtol = 1e-6, [0, 1]) on the N x d cloud read from a binary file of doubles (column-major).
// Prints: seconds (best of 20), accepted steps, the mean of the final positions.
// Usage: compare_flow_upfi file N d
#include <upfi/core/memory.hpp>
#include <upfi/flow/integrate.hpp>

#include "flow_problem.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: compare_flow_upfi file N d\n");
    return 2;
  }
  upfi::core::retain_heap_memory();  // see upfi/core/memory.hpp
  const Eigen::Index n = std::stol(argv[2]), d = std::stol(argv[3]);
  Eigen::MatrixXd data(n + d, d);  // first d rows: K (for A), then the cloud
  std::ifstream in(argv[1], std::ios::binary);
  in.read(reinterpret_cast<char*>(data.data()),
          static_cast<std::streamsize>(sizeof(double)) * static_cast<std::streamsize>(data.size()));
  if (!in) return 3;
  const Eigen::MatrixXd k = data.topRows(d), x0 = data.bottomRows(n);
  const auto field = make_compare_flow(k);
  const upfi::flow::flow_state y0{x0, Eigen::VectorXd::Zero(n), 0};
  double best = 1e300;
  upfi::flow::adaptive_result r;
  for (int rep = 0; rep < 20; ++rep) {  // best of 20 (the first runs warm up the thread pool and the heap)
    const auto start = std::chrono::steady_clock::now();
    r = upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {.atol = 1e-6, .rtol = 1e-6});
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("%.9f %ld %.12g\n", best, r.accepted, r.state.x.mean());
  return 0;
}
