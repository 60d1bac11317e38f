// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/simd/xsimd_compat.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

namespace simd = upfi::simd;

TEST_SUITE("simd/xsimd_compat") {
  TEST_CASE_TEMPLATE("horizontal reductions agree with scalar folds", T, float, double) {
    constexpr std::size_t w = simd::batch_size<T>;
    static_assert(w == simd::batch<T>::size);
    static_assert(w >= 1);
    alignas(simd::default_arch::alignment()) std::array<T, w> lanes{};
    for (std::size_t i = 0; i < w; ++i) lanes[i] = static_cast<T>((i * 7 + 3) % 11) - T(5);
    const auto b = simd::batch<T>::load_aligned(lanes.data());
    CHECK(static_cast<double>(simd::reduce_add(b)) ==
          doctest::Approx(static_cast<double>(std::accumulate(lanes.begin(), lanes.end(), T(0)))));
    CHECK(simd::reduce_max(b) == *std::max_element(lanes.begin(), lanes.end()));
    CHECK(simd::reduce_min(b) == *std::min_element(lanes.begin(), lanes.end()));
  }

  TEST_CASE_TEMPLATE("reductions handle infinities", T, float, double) {
    const auto b = simd::batch<T>(-std::numeric_limits<T>::infinity());
    CHECK(simd::reduce_max(b) == -std::numeric_limits<T>::infinity());
    CHECK(std::isinf(simd::reduce_add(b)));
  }
}
