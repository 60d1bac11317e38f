// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The whole of a string as a finite double (metadata of model files, command-line options).

#include <cmath>
#include <exception>
#include <optional>
#include <string>

namespace upfi::core::detail {

/// The value of `text` if all of it is one finite number; nothing for an empty string, trailing characters, overflow,
/// "nan" or "inf". Callers turn nothing into an error naming what they were parsing.
[[nodiscard]] inline std::optional<double> parse_finite(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace upfi::core::detail
