// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the concept vocabulary shared by all modules.

#include <upfi/concepts/nn.hpp>      // IWYU pragma: export
#include <upfi/concepts/ot.hpp>      // IWYU pragma: export
#include <upfi/concepts/scalar.hpp>  // IWYU pragma: export
#include <upfi/concepts/score.hpp>   // IWYU pragma: export
#include <upfi/concepts/sde.hpp>     // IWYU pragma: export
