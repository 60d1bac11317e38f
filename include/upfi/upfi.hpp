// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Everything public in upfi.

#include <upfi/ad.hpp>        // IWYU pragma: export
#include <upfi/concepts.hpp>  // IWYU pragma: export
#include <upfi/config.hpp>    // IWYU pragma: export
#include <upfi/core.hpp>      // IWYU pragma: export
#include <upfi/flow.hpp>      // IWYU pragma: export
#include <upfi/infer.hpp>     // IWYU pragma: export
#include <upfi/io.hpp>        // IWYU pragma: export
#include <upfi/metrics.hpp>   // IWYU pragma: export
#include <upfi/nn.hpp>        // IWYU pragma: export
#include <upfi/ot.hpp>        // IWYU pragma: export
#include <upfi/problems.hpp>  // IWYU pragma: export
#include <upfi/score.hpp>     // IWYU pragma: export
#include <upfi/sde.hpp>       // IWYU pragma: export
#include <upfi/simd.hpp>      // IWYU pragma: export
#include <upfi/version.hpp>   // IWYU pragma: export
