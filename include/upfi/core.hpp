// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the core module: clouds, snapshot series, counter-based RNG, deterministic parallel loops.

#include <upfi/core/cloud.hpp>            // IWYU pragma: export
#include <upfi/core/counter_rng.hpp>      // IWYU pragma: export
#include <upfi/core/error.hpp>            // IWYU pragma: export
#include <upfi/core/memory.hpp>           // IWYU pragma: export
#include <upfi/core/parallel.hpp>         // IWYU pragma: export
#include <upfi/core/philox.hpp>           // IWYU pragma: export
#include <upfi/core/snapshot_series.hpp>  // IWYU pragma: export
#include <upfi/core/subsample.hpp>        // IWYU pragma: export
