// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Driver for benchmarks/compare/sinkhorn_pot_torch.py: K alternating log-domain Sinkhorn iterations (uniform weights,
// cost |x - y|^2 / 2, fixed eps) with upfi's online soft-min. Reads a binary file (int64 n, m, d; float64 x (n x d),
// y (m x d), row-major) and prints "seconds dual_value", dual_value = <a, f> + <b, g>. Mode "online" computes costs
// on the fly; "dense" stores the cost matrices first (included in the time).
// Usage: compare_sinkhorn_upfi file eps iterations threads mode (threads 0 = all)
#include <upfi/core/parallel.hpp>
#include <upfi/ot/online_softmin.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: compare_sinkhorn_upfi file eps iterations threads online|dense\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t dims[3];
  in.read(reinterpret_cast<char*>(dims), sizeof dims);
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  row_major xr(dims[0], dims[2]), yr(dims[1], dims[2]);
  in.read(reinterpret_cast<char*>(xr.data()),
          static_cast<std::streamsize>(sizeof(double) * static_cast<std::size_t>(xr.size())));
  in.read(reinterpret_cast<char*>(yr.data()),
          static_cast<std::streamsize>(sizeof(double) * static_cast<std::size_t>(yr.size())));
  if (!in) return 1;
  const Eigen::MatrixXd x = xr, y = yr;
  const double eps = std::stod(argv[2]);
  const int iterations = std::stoi(argv[3]), threads = std::stoi(argv[4]);
  const upfi::core::thread_limit limit(threads > 0 ? threads : upfi::core::max_threads());
  const Eigen::Index n = x.rows(), m = y.rows();
  const Eigen::VectorXd la = Eigen::VectorXd::Constant(n, -std::log(static_cast<double>(n)));
  const Eigen::VectorXd lb = Eigen::VectorXd::Constant(m, -std::log(static_cast<double>(m)));
  Eigen::VectorXd f = Eigen::VectorXd::Zero(n), g = Eigen::VectorXd::Zero(m);
  const bool dense = std::string(argv[5]) == "dense";
  const auto start = std::chrono::steady_clock::now();
  if (dense) {
    const auto c_xy = upfi::ot::cost_matrix<double>(x, y);
    const decltype(c_xy) c_yx = c_xy.transpose();
    for (int k = 0; k < iterations; ++k) {
      upfi::ot::dense_softmin<double>(c_xy, Eigen::VectorXd(lb + g / eps), eps, f);
      upfi::ot::dense_softmin<double>(c_yx, Eigen::VectorXd(la + f / eps), eps, g);
    }
  } else {
    for (int k = 0; k < iterations; ++k) {
      upfi::ot::online_softmin<double>(x, y, Eigen::VectorXd(lb + g / eps), eps, f);
      upfi::ot::online_softmin<double>(y, x, Eigen::VectorXd(la + f / eps), eps, g);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.6f %.12g\n", seconds, la.array().exp().matrix().dot(f) + lb.array().exp().matrix().dot(g));
  return 0;
}
