// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Ground costs for optimal transport between point clouds, computed on the fly from coordinates.
///
/// Costs are evaluated from coordinate differences (never from |x|^2 + |y|^2 - 2 x.y, which cancels catastrophically
/// for large coordinates), so they stay accurate for clouds far from the origin.

#include <upfi/concepts/ot.hpp>

#include <cmath>

namespace upfi::ot {

/// @brief C(x, y) = |x - y|^2 / 2 (GeomLoss p = 2). dC/dx = x - y.
struct squared_euclidean {
  template <class T>
  [[nodiscard]] T term(const T& z) const {
    return z * z;
  }
  template <class T>
  [[nodiscard]] T finish(const T& s) const {
    return T(0.5) * s;
  }
  template <class T>
  [[nodiscard]] T term_derivative(const T& z) const {
    return T(2) * z;
  }
  template <class T>
  [[nodiscard]] T finish_derivative(const T&) const {
    return T(0.5);
  }
};

/// @brief C(x, y) = |x - y| (GeomLoss p = 1). dC/dx = (x - y) / |x - y| (0 at x = y).
struct euclidean {
  template <class T>
  [[nodiscard]] T term(const T& z) const {
    return z * z;
  }
  template <class T>
  [[nodiscard]] T finish(const T& s) const {
    using std::sqrt;
    return sqrt(s);
  }
  template <class T>
  [[nodiscard]] T term_derivative(const T& z) const {
    return T(2) * z;
  }
  template <class T>
  [[nodiscard]] T finish_derivative(const T& s) const {
    using std::sqrt;
    return s > T(0) ? T(0.5) / sqrt(s) : T(0);
  }
};

}  // namespace upfi::ot
