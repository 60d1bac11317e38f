// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// IWYU pragma: private, include <upfi/io/csv.hpp>
/// @file
/// @brief Grouping of per-row times and coordinates into snapshots, shared by the CSV and AnnData readers.

#include <upfi/core/cloud.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <utility>
#include <vector>

namespace upfi::io::detail {

/// Rows with equal time become one snapshot, in ascending time; within a snapshot rows keep their order (stable).
/// `values` holds the coordinates row-major, d per row.
template <class Scalar>
std::pair<std::vector<Scalar>, std::vector<core::cloud_matrix<Scalar>>> group_rows_by_time(
    const std::vector<Scalar>& row_times, const std::vector<Scalar>& values, std::size_t d) {
  std::vector<std::size_t> order(row_times.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return row_times[a] < row_times[b]; });
  std::vector<Scalar> times;
  std::vector<std::size_t> starts;
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k == 0 || row_times[order[k]] != times.back()) {
      times.push_back(row_times[order[k]]);
      starts.push_back(k);
    }
  }
  starts.push_back(order.size());
  std::vector<core::cloud_matrix<Scalar>> clouds;
  clouds.reserve(times.size());
  for (std::size_t s = 0; s + 1 < starts.size(); ++s) {
    core::cloud_matrix<Scalar> c(static_cast<Eigen::Index>(starts[s + 1] - starts[s]), static_cast<Eigen::Index>(d));
    for (std::size_t k = starts[s]; k < starts[s + 1]; ++k) {
      for (std::size_t j = 0; j < d; ++j) {
        c(static_cast<Eigen::Index>(k - starts[s]), static_cast<Eigen::Index>(j)) = values[order[k] * d + j];
      }
    }
    clouds.push_back(std::move(c));
  }
  return {std::move(times), std::move(clouds)};
}

}  // namespace upfi::io::detail
