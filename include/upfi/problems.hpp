// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the closed-form reference problems used by tests, benchmarks and users.

#include <upfi/problems/bistable_benchmark.hpp>  // IWYU pragma: export
#include <upfi/problems/fokker_planck_grid.hpp>  // IWYU pragma: export
#include <upfi/problems/network_benchmark.hpp>   // IWYU pragma: export
#include <upfi/problems/ou_growth_moments.hpp>   // IWYU pragma: export
