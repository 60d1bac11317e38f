// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The library's error type and the message helpers every module uses.
///
/// Message style (style.md B6): `"upfi::<entity>: <what is wrong>; <what to do>"`. Invalid input and invalid
/// parameters raise `std::invalid_argument` (or a subclass carrying a location, such as `upfi::io::csv_error`);
/// library-specific run-time failures derive from `upfi::core::error`.

#include <upfi/config.hpp>

#include <charconv>
#include <cmath>
#include <concepts>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace upfi::core {

/// @brief Base of upfi's run-time errors that are not bad input (e.g. an I/O failure while writing).
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

/// Shortest decimal text that reads back to the same value ("0.1", "nan", "-inf", "1e+300").
template <std::floating_point T>
std::string format_number(T value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (ec != std::errc{}) return "?";
  return std::string(buffer, end);
}

template <std::integral T>
std::string format_number(T value) {
  return std::to_string(value);
}

/// Concatenates its arguments into one message; floating-point values use format_number.
template <class... Args>
std::string message(const Args&... args) {
  std::ostringstream out;
  const auto put = [&out](const auto& a) {
    if constexpr (std::floating_point<std::remove_cvref_t<decltype(a)>>) {
      out << format_number(a);
    } else {
      out << a;
    }
  };
  (put(args), ...);
  return out.str();
}

/// Throws std::invalid_argument built from the arguments.
template <class... Args>
[[noreturn]] void throw_invalid_argument(const Args&... args) {
  UPFI_THROW(std::invalid_argument(message(args...)));
#if !UPFI_HAS_EXCEPTIONS
  std::abort();
#endif
}

}  // namespace detail
}  // namespace upfi::core
