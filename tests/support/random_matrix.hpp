// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// Standard-normal test matrices from the test seed, one counter-based stream per use.
#include <upfi/core/counter_rng.hpp>

#include <Eigen/Core>

#include "support/seed.hpp"

#include <cstdint>

namespace upfi::test {
inline Eigen::MatrixXd random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint32_t stream) {
  Eigen::MatrixXd z(rows, cols);
  core::counter_rng(seed(), stream).fill_normal(z, 0);
  return z;
}
}  // namespace upfi::test
