// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the SIMD module (xsimd compatibility shim; kernels arrive with the OT and score modules).

#include <upfi/simd/counter_normals.hpp>  // IWYU pragma: export
#include <upfi/simd/xsimd_compat.hpp>     // IWYU pragma: export
