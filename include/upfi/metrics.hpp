// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the metrics module: path energy distance, W1, force errors, correlations, fate probabilities,
/// network-recovery AUROC / AUPR.

#include <upfi/metrics/classification.hpp>  // IWYU pragma: export
#include <upfi/metrics/distances.hpp>       // IWYU pragma: export
#include <upfi/metrics/errors.hpp>          // IWYU pragma: export
#include <upfi/metrics/fates.hpp>           // IWYU pragma: export
