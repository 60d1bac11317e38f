// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/simd/counter_normals.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <array>
#include <cmath>
#include <cstdint>

TEST_SUITE("simd/counter_normals") {
  TEST_CASE("each lane equals the scalar oracle counter_rng::normal_pair to a few ulps") {
    using batch = upfi::simd::batch<double>;
    constexpr std::size_t w = batch::size;
    const upfi::core::counter_rng rng(upfi::test::seed(), 4);
    double worst = 0;
    for (std::uint64_t first : {std::uint64_t{0}, std::uint64_t{17}, (std::uint64_t{1} << 32) - 1}) {
      for (std::uint32_t counter : {0u, 5u, 123456u}) {
        const auto z = upfi::simd::normal_pair_batch(rng, first, counter);
        alignas(64) std::array<double, w> a{}, b{};
        z[0].store_aligned(a.data());
        z[1].store_aligned(b.data());
        for (std::size_t l = 0; l < w; ++l) {
          const auto ref = rng.normal_pair(first + l, counter);
          worst = std::max({worst, std::abs(a[l] - ref[0]), std::abs(b[l] - ref[1])});
        }
      }
    }
    CHECK(worst < 1e-13);
  }
}
