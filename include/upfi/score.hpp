// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the score module: analytic scores, the kernel score estimator and denoising score matching.

#include <upfi/score/dsm.hpp>           // IWYU pragma: export
#include <upfi/score/ensemble.hpp>      // IWYU pragma: export
#include <upfi/score/gaussian.hpp>      // IWYU pragma: export
#include <upfi/score/kernel_score.hpp>  // IWYU pragma: export
