// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// What the module tours share: expect() records a failed property (printed to stderr) and exit_code() turns the
// record into the program's exit status, so each tour runs to the end and reports every failure.

#include <cstdio>
#include <cstdlib>

namespace tour {
inline int failures = 0;
inline void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what);
    ++failures;
  }
}
inline int exit_code() { return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE; }
}  // namespace tour
