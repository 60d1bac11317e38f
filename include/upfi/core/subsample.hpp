// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Random subsets of the rows of a cloud without replacement (partial Fisher-Yates shuffle driven by a
/// counter-based stream): the same subset for the same stream, on any machine and thread count.

#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace upfi::core {

/// @brief m distinct rows of `cloud` drawn uniformly without replacement, in draw order; all rows (in their order)
/// when m >= rows. Draw r uses rng.uniform(r, 0).
/// @throws std::invalid_argument if m < 0.
template <class Derived>
[[nodiscard]] Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> random_rows(
    const Eigen::MatrixBase<Derived>& cloud, Eigen::Index m, const counter_rng& rng) {
  if (m < 0) detail::throw_invalid_argument("upfi::core::random_rows: m = ", m, " must be >= 0");
  const Eigen::Index n = cloud.rows();
  if (n <= m) return cloud;
  std::vector<Eigen::Index> index(static_cast<std::size_t>(n));
  for (Eigen::Index r = 0; r < n; ++r) index[static_cast<std::size_t>(r)] = r;
  Eigen::Matrix<typename Derived::Scalar, Eigen::Dynamic, Eigen::Dynamic> out(m, cloud.cols());
  for (Eigen::Index r = 0; r < m; ++r) {
    const auto u = rng.uniform<double>(static_cast<std::uint64_t>(r), 0);
    const Eigen::Index j =
        r + std::min<Eigen::Index>(n - r - 1, static_cast<Eigen::Index>(u * static_cast<double>(n - r)));
    std::swap(index[static_cast<std::size_t>(r)], index[static_cast<std::size_t>(j)]);
    out.row(r) = cloud.row(index[static_cast<std::size_t>(r)]);
  }
  return out;
}

}  // namespace upfi::core
