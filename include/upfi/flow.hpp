// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the probability-flow module: field composition, Runge-Kutta drivers and their reverse mode.

#include <upfi/flow/chemical_langevin_flow.hpp>  // IWYU pragma: export
#include <upfi/flow/integrate.hpp>               // IWYU pragma: export
#include <upfi/flow/odeint.hpp>                  // IWYU pragma: export
#include <upfi/flow/probability_flow.hpp>        // IWYU pragma: export
#include <upfi/flow/transport_flow.hpp>          // IWYU pragma: export
