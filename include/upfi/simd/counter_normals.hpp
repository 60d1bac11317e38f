// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Standard normals for W consecutive particle indices at once: Philox words per lane (scalar), then a
/// vectorised Box-Muller transform (xsimd log, sqrt, sincos).
///
/// Lane l holds the draw of index `first_index + l`, counter `counter` of `rng`: the same uniforms as
/// core::counter_rng::normal_pair, bit for bit, pushed through SIMD elementary functions, so the normals agree with
/// the scalar oracle to a few ulps (tests/simd/counter_normals.test.cpp). Like the oracle, the result does not depend
/// on the thread count.
///
/// Design note (measured, docs/performance.md): Philox itself stays scalar. Evaluating it in 64-bit SIMD lanes with
/// xsimd 8.1 (32 x 32 -> 64-bit products by _mm_mul_epu32 / _mm256_mul_epu32) was slower than the scalar code on the
/// development machine (19.2 vs 10.5 ns per pair with SSE2, 9.5 vs 7.2 ns with AVX2); the transcendental functions
/// are where SIMD pays (Box-Muller pair: 17 ns with AVX2 vs 35 ns with libm).

#include <upfi/core/counter_rng.hpp>
#include <upfi/simd/xsimd_compat.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <numbers>

namespace upfi::simd {

/// @brief Two batches of standard normals (the first and second of each lane's pair).
template <class Arch = default_arch>
[[nodiscard]] std::array<xsimd::batch<double, Arch>, 2> normal_pair_batch(const core::counter_rng& rng,
                                                                          std::uint64_t first_index,
                                                                          std::uint32_t counter) {
  using batch = xsimd::batch<double, Arch>;
  constexpr std::size_t w = batch::size;
  alignas(Arch::alignment()) std::array<double, w> u1{}, u2{};
  for (std::size_t l = 0; l < w; ++l) {
    const auto u = rng.uniform_pair(first_index + l, counter);
    u1[l] = u[0];
    u2[l] = u[1];
  }
  const batch r = xsimd::sqrt(batch(-2.0) * xsimd::log(batch::load_aligned(u1.data())));
  const auto [s, c] = xsimd::sincos(batch(2.0 * std::numbers::pi) * batch::load_aligned(u2.data()));
  return {r * c, r * s};
}

}  // namespace upfi::simd
