// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the trainable-fields module: batched MLP, activations, optimisers.

#include <upfi/nn/activation.hpp>  // IWYU pragma: export
#include <upfi/nn/mlp.hpp>         // IWYU pragma: export
#include <upfi/nn/optimizer.hpp>   // IWYU pragma: export
