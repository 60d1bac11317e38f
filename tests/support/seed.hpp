// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// Test seed: fixed by default, overridable with the environment variable UPFI_TEST_SEED (as Eigen's EIGEN_SEED).
#include <cstdint>
#include <cstdlib>
#include <string>

namespace upfi::test {
inline std::uint64_t seed(std::uint64_t fallback = 20261123) {
  if (const char* s = std::getenv("UPFI_TEST_SEED")) return std::stoull(s);
  return fallback;
}
}  // namespace upfi::test
