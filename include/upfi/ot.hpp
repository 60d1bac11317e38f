// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the optimal-transport module.

#include <upfi/ot/cost.hpp>                 // IWYU pragma: export
#include <upfi/ot/emd.hpp>                  // IWYU pragma: export
#include <upfi/ot/energy_distance.hpp>      // IWYU pragma: export
#include <upfi/ot/marginal_penalty.hpp>     // IWYU pragma: export
#include <upfi/ot/online_softmin.hpp>       // IWYU pragma: export
#include <upfi/ot/pot_sinkhorn.hpp>         // IWYU pragma: export
#include <upfi/ot/sinkhorn_divergence.hpp>  // IWYU pragma: export
#include <upfi/ot/split_divergence.hpp>     // IWYU pragma: export
#include <upfi/ot/transport_plan.hpp>       // IWYU pragma: export
