#!/bin/sh
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# Builds everything with strict warnings (-Werror) and runs all tests (unit, compile-fail, header, ODR, examples).
# Extra arguments are passed to CMake's configure step, e.g. -DUPFI_NO_SIMD=ON. BUILD_DIR overrides build-tests.
set -eu
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
build="${BUILD_DIR:-build-tests}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" -j "$(nproc)" --output-on-failure
