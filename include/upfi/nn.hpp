// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the trainable-fields module: batched MLP, linear field, dual-number adapter, optimisers.

#include <upfi/nn/activation.hpp>                // IWYU pragma: export
#include <upfi/nn/gradient_field.hpp>            // IWYU pragma: export
#include <upfi/nn/linear_degradation_field.hpp>  // IWYU pragma: export
#include <upfi/nn/linear_field.hpp>              // IWYU pragma: export
#include <upfi/nn/mlp.hpp>                       // IWYU pragma: export
#include <upfi/nn/optimizer.hpp>                 // IWYU pragma: export
#include <upfi/nn/pointwise_field.hpp>           // IWYU pragma: export
#include <upfi/nn/quadratic_field.hpp>           // IWYU pragma: export
