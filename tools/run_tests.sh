#!/bin/sh
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# Builds everything with strict warnings (-Werror) and runs all tests (unit, compile-fail, header, ODR, examples).
# Extra arguments are passed to CMake's configure step, e.g. -DUPFI_NO_SIMD=ON. BUILD_DIR overrides build-tests;
# CTEST_EXCLUDE (a CTest regex) skips tests, e.g. CTEST_EXCLUDE='\[slow\]' for the long statistical trainings.
set -eu
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
build="${BUILD_DIR:-build-tests}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
if [ -n "${CTEST_EXCLUDE:-}" ]; then
  ctest --test-dir "$build" -j "$(nproc)" --output-on-failure -E "$CTEST_EXCLUDE"
else
  ctest --test-dir "$build" -j "$(nproc)" --output-on-failure
fi
