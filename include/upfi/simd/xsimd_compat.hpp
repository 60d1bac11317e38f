// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The one place that knows xsimd versions: hides the API differences between Debian's xsimd 8.1 and
/// current upstream (14.x), so kernels are written once.
///
/// Differences covered:
///  * horizontal sum: `hadd` (8.x) became `reduce_add` (9.0);
///  * horizontal max/min: `reduce_max` / `reduce_min` exist only from 9.0 (emulated here for 8.x);
///  * the fallback architecture `generic` became `common` (14.0).
/// Only this header may test XSIMD_VERSION_MAJOR (style.md B8).

#include <upfi/concepts/scalar.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstddef>

namespace upfi::simd {

/// @brief The best architecture enabled by the compiler flags of this translation unit.
using default_arch = xsimd::default_arch;

/// @brief xsimd's fallback architecture tag (`generic` before 14.0, `common` from 14.0).
#if XSIMD_VERSION_MAJOR >= 14
using fallback_arch = xsimd::common;
#else
using fallback_arch = xsimd::generic;
#endif

/// @brief A SIMD register of `T` for architecture `Arch` (default: default_arch).
template <RealScalar T, class Arch = default_arch>
using batch = xsimd::batch<T, Arch>;

/// @brief Number of lanes W of batch<T, Arch>.
template <RealScalar T, class Arch = default_arch>
inline constexpr std::size_t batch_size = xsimd::batch<T, Arch>::size;

/// @brief Sum of the lanes of `x`.
template <class T, class Arch>
[[nodiscard]] inline T reduce_add(const xsimd::batch<T, Arch>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(x);
#else
  return xsimd::hadd(x);
#endif
}

#if XSIMD_VERSION_MAJOR < 9
namespace detail {
// Left fold of the lanes of `x` with `op` (xsimd 8.x has no horizontal max/min).
template <class T, class Arch, class Op>
T fold_lanes(const xsimd::batch<T, Arch>& x, Op op) noexcept {
  alignas(Arch::alignment()) std::array<T, xsimd::batch<T, Arch>::size> lanes;
  x.store_aligned(lanes.data());
  T m = lanes[0];
  for (std::size_t i = 1; i < lanes.size(); ++i) m = op(m, lanes[i]);
  return m;
}
}  // namespace detail
#endif

/// @brief Largest lane of `x`.
template <class T, class Arch>
[[nodiscard]] inline T reduce_max(const xsimd::batch<T, Arch>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_max(x);
#else
  return detail::fold_lanes(x, [](T a, T b) { return std::max(a, b); });
#endif
}

/// @brief Smallest lane of `x`.
template <class T, class Arch>
[[nodiscard]] inline T reduce_min(const xsimd::batch<T, Arch>& x) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_min(x);
#else
  return detail::fold_lanes(x, [](T a, T b) { return std::min(a, b); });
#endif
}

}  // namespace upfi::simd
