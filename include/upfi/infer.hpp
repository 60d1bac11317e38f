// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the inference module: SFI / PFI / UPFI trainers of drift and growth from snapshots.

#include <upfi/infer/calibrate.hpp>      // IWYU pragma: export
#include <upfi/infer/fit.hpp>            // IWYU pragma: export
#include <upfi/infer/flow_trainer.hpp>   // IWYU pragma: export
#include <upfi/infer/leave_one_out.hpp>  // IWYU pragma: export
#include <upfi/infer/model_average.hpp>  // IWYU pragma: export
#include <upfi/infer/model_file.hpp>     // IWYU pragma: export
#include <upfi/infer/rollout_check.hpp>  // IWYU pragma: export
#include <upfi/infer/simulate.hpp>       // IWYU pragma: export
#include <upfi/infer/step_check.hpp>     // IWYU pragma: export
