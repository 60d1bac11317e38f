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
# Unity groups for the unit tests (tests/CMakeLists.txt): a full build is about a quarter faster than one file per
# translation unit.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" -DUPFI_UNITY_TESTS=ON "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
# Tests run in parallel and each uses OpenMP: with GCC's default spin-waiting, idle threads burn the cores the other
# tests need (the suite took 279 s instead of 157 s on 2 cores). Passive waiting changes no result.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
if [ -n "${CTEST_EXCLUDE:-}" ]; then
  ctest --test-dir "$build" -j "$(nproc)" --output-on-failure -E "$CTEST_EXCLUDE"
else
  ctest --test-dir "$build" -j "$(nproc)" --output-on-failure
fi
