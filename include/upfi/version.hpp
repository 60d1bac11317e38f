// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Library version (semantic versioning; the CMake package version file mirrors it).

#define UPFI_VERSION_MAJOR 0
#define UPFI_VERSION_MINOR 1
#define UPFI_VERSION_PATCH 0
/// @brief Single integer for preprocessor comparisons: major * 10000 + minor * 100 + patch.
#define UPFI_VERSION (UPFI_VERSION_MAJOR * 10000 + UPFI_VERSION_MINOR * 100 + UPFI_VERSION_PATCH)

namespace upfi {
/// @brief The version as a string, e.g. "0.1.0".
inline constexpr const char* version_string = "0.1.0";
}  // namespace upfi
