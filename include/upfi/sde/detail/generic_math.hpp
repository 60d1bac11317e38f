// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// IWYU pragma: private, include <upfi/sde.hpp>
/// @file
/// @brief Branch-free helpers that work for double/float, xsimd batches and duals of either.

#include <upfi/ad/dual.hpp>

#include <xsimd/xsimd.hpp>

#include <type_traits>

namespace upfi::sde::detail {

/// cond ? a : b for a scalar condition or an xsimd mask.
template <class T>
T if_else(bool cond, const T& a, const T& b) {
  return cond ? a : b;
}
template <class S, class A>
xsimd::batch<S, A> if_else(const xsimd::batch_bool<S, A>& cond, const xsimd::batch<S, A>& a,
                           const xsimd::batch<S, A>& b) {
  return xsimd::select(cond, a, b);
}
template <class Mask, class T>
ad::dual<T> if_else(const Mask& cond, const ad::dual<T>& a, const ad::dual<T>& b) {
  return {if_else(cond, a.v, b.v), if_else(cond, a.d, b.d)};
}

/// max(x, 0), with the derivative of the selected branch (0 where x <= 0).
template <class T>
T max0(const T& x) {
  return if_else(ad::value(x) > 0, x, T(0));
}

/// x^n for an integer n >= 0 by repeated squaring (exact for integers, differentiable, SIMD-friendly).
template <class T>
T ipow(T x, int n) {
  T result(1);
  while (n > 0) {
    if (n & 1) result = result * x;
    x = x * x;
    n >>= 1;
  }
  return result;
}

}  // namespace upfi::sde::detail
