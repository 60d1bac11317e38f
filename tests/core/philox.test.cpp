// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/philox.hpp>

#include <doctest/doctest.h>

#include <bitset>
#include <cmath>
#include <cstdint>

using upfi::core::philox4x32;
using upfi::core::philox_counter;

TEST_SUITE("core/philox") {
  // Known-answer vectors of Philox4x32-10 published with Salmon et al. (2011) (Random123 kat_vectors).
  TEST_CASE("philox4x32-10 reproduces the published known-answer vectors") {
    CHECK(philox4x32({0u, 0u, 0u, 0u}, {0u, 0u}) == philox_counter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
    CHECK(philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
          philox_counter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
    CHECK(philox4x32({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}) ==
          philox_counter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
  }

  TEST_CASE("philox4x32 is usable in constant expressions") {
    constexpr philox_counter c = philox4x32({1u, 2u, 3u, 4u}, {5u, 6u});
    static_assert(c == philox4x32({1u, 2u, 3u, 4u}, {5u, 6u}));
    CHECK(c != philox_counter{1u, 2u, 3u, 4u});
  }

  TEST_CASE("flipping one counter bit flips about half of the output bits (avalanche)") {
    // Over 32 x 4 single-bit flips the mean Hamming distance of 128-bit outputs is 64 with sd 4/sqrt(128) per flip.
    double total = 0;
    int flips = 0;
    for (int word = 0; word < 4; ++word) {
      for (int bit = 0; bit < 32; ++bit) {
        philox_counter c{0x12345678u, 0x9abcdef0u, 0x0fedcba9u, 0x87654321u};
        const philox_counter a = philox4x32(c, {42u, 7u});
        c[static_cast<std::size_t>(word)] ^= (1u << bit);
        const philox_counter b = philox4x32(c, {42u, 7u});
        for (std::size_t k = 0; k < 4; ++k) total += static_cast<double>(std::bitset<32>(a[k] ^ b[k]).count());
        ++flips;
      }
    }
    const double mean = total / flips;
    CHECK(mean == doctest::Approx(64.0).epsilon(5.0 * (8.0 / std::sqrt(128.0)) / 64.0));
  }
}
