// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Uses the installed headers: parse a small CSV, check a Philox draw against the published known-answer vector.
#include <upfi/upfi.hpp>

#include <cstdio>

int main() {
  const auto s = upfi::io::parse_snapshot_csv("time,x0\n0,1\n1,2\n1,3\n");
  const auto kat = upfi::core::philox4x32({0u, 0u, 0u, 0u}, {0u, 0u});
  const bool ok = s.size() == 2 && s.relative_mass(1) == 2.0 && kat[0] == 0x6627e8d5u;
  std::printf("upfi %s consumer: %s\n", upfi::version_string, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
