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
// Dynamic-size vectors from values: fixed-size Eigen temporaries converted to dynamic ones trip GCC 12's
// -Warray-bounds in AVX builds (a false positive), so tests build dynamic vectors directly.
template <class... T>
Eigen::VectorXd vec(T... values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(sizeof...(values)));
  Eigen::Index i = 0;
  ((v[i++] = static_cast<double>(values)), ...);
  return v;
}
template <class... T>
Eigen::RowVectorXd row(T... values) {
  return vec(values...).transpose();
}
}  // namespace upfi::test
