// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Umbrella of the I/O module: CSV snapshot reader and writer, SVG plots.

#include <upfi/io/csv.hpp>  // IWYU pragma: export
#include <upfi/io/svg.hpp>  // IWYU pragma: export
