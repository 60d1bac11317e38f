#!/bin/sh
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# The main job: build the flagship example and run it on built-in data. Output lands in build/.
set -eu
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DUPFI_BUILD_TESTS=OFF >/dev/null
cmake --build build --target bistable_upfi -j "$(nproc)"
./build/examples/bistable_upfi build/flagship "$@"
