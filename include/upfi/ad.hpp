// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the differentiation module (forward-mode duals; reverse mode and gradient checks follow).

#include <upfi/ad/dual.hpp>            // IWYU pragma: export
#include <upfi/ad/gradient_check.hpp>  // IWYU pragma: export
