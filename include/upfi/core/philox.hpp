// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Philox4x32-10: a counter-based bijection from (128-bit counter, 64-bit key) to 128 random bits.
/// @see Salmon, Moraes, Dror, Shaw (2011), "Parallel random numbers: as easy as 1, 2, 3", SC'11
///      (doi:10.1145/2063384.2063405). Passes BigCrush; known-answer values are checked in tests/core/philox.test.cpp.

#include <array>
#include <cstdint>

namespace upfi::core {

/// @brief A Philox counter: four 32-bit words.
using philox_counter = std::array<std::uint32_t, 4>;
/// @brief A Philox key: two 32-bit words.
using philox_key = std::array<std::uint32_t, 2>;

namespace detail {
inline constexpr std::uint32_t philox_m0 = 0xD2511F53u;  // round multipliers (Salmon et al. 2011, Table 2)
inline constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // Weyl key increments: golden ratio, sqrt(3) - 1
inline constexpr std::uint32_t philox_w1 = 0xBB67AE85u;

constexpr void philox_round(philox_counter& c, const philox_key& k) noexcept {
  const std::uint64_t p0 = std::uint64_t{philox_m0} * c[0];
  const std::uint64_t p1 = std::uint64_t{philox_m1} * c[2];
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32);
  const auto lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32);
  const auto lo1 = static_cast<std::uint32_t>(p1);
  c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
}
}  // namespace detail

/// @brief Philox4x32 with `Rounds` rounds (10 is the standard, crush-resistant choice).
/// A pure function: the same counter and key always give the same output, on any thread or machine.
template <int Rounds = 10>
[[nodiscard]] constexpr philox_counter philox4x32(philox_counter counter, philox_key key) noexcept {
  static_assert(Rounds >= 1, "upfi::core::philox4x32: at least one round is needed (use 10)");
  for (int r = 0; r < Rounds; ++r) {
    if (r > 0) {
      key[0] += detail::philox_w0;
      key[1] += detail::philox_w1;
    }
    detail::philox_round(counter, key);
  }
  return counter;
}

}  // namespace upfi::core
