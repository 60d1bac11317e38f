// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the SDE module: noise models, built-in systems, steppers and the simulator.

#include <upfi/sde/additive_noise.hpp>      // IWYU pragma: export
#include <upfi/sde/bistable.hpp>            // IWYU pragma: export
#include <upfi/sde/chemical_langevin.hpp>   // IWYU pragma: export
#include <upfi/sde/diagonal_noise.hpp>      // IWYU pragma: export
#include <upfi/sde/euler_maruyama.hpp>      // IWYU pragma: export
#include <upfi/sde/hill_network.hpp>        // IWYU pragma: export
#include <upfi/sde/milstein.hpp>            // IWYU pragma: export
#include <upfi/sde/ornstein_uhlenbeck.hpp>  // IWYU pragma: export
#include <upfi/sde/simulator.hpp>           // IWYU pragma: export
#include <upfi/sde/srk15.hpp>               // IWYU pragma: export
#include <upfi/sde/toggle_switch.hpp>       // IWYU pragma: export
#include <upfi/sde/with_growth.hpp>         // IWYU pragma: export
