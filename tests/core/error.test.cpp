// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/detail/parse_finite.hpp>
#include <upfi/core/error.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

using upfi::core::detail::format_number;
using upfi::core::detail::message;

TEST_SUITE("core/error") {
  TEST_CASE("numbers in messages use the shortest text that reads back exactly") {
    CHECK(format_number(0.1) == "0.1");
    CHECK(format_number(1.0 / 3.0) == "0.3333333333333333");
    CHECK(format_number(0.1f) == "0.1");
    CHECK(format_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(format_number(-std::numeric_limits<double>::infinity()) == "-inf");
    CHECK(std::stod(format_number(2.0 / 7.0)) == 2.0 / 7.0);
    CHECK(format_number(42) == "42");
  }

  TEST_CASE("message concatenates text and numbers") {
    CHECK(message("snapshot ", 2, " (t = ", 0.5, ")") == "snapshot 2 (t = 0.5)");
  }

  TEST_CASE("throw_invalid_argument raises std::invalid_argument with the message") {
    CHECK_THROWS_WITH_AS(upfi::core::detail::throw_invalid_argument("upfi::x: bad ", 1.5), "upfi::x: bad 1.5",
                         std::invalid_argument);
  }

  TEST_CASE("upfi::core::error is a std::runtime_error") {
    const upfi::core::error e("upfi::io: failed");
    const std::runtime_error& base = e;
    CHECK(std::string(base.what()) == "upfi::io: failed");
  }

  TEST_CASE("parse_finite: the whole string as one finite number, or nothing") {
    using upfi::core::detail::parse_finite;
    CHECK(parse_finite("2.5") == 2.5);
    CHECK(parse_finite("-1e-3") == -1e-3);
    CHECK(parse_finite("0x10") == 16.0);  // std::stod accepts hexadecimal
    CHECK_FALSE(parse_finite(""));
    CHECK_FALSE(parse_finite("2.5x"));
    CHECK_FALSE(parse_finite("abc"));
    CHECK_FALSE(parse_finite("nan"));
    CHECK_FALSE(parse_finite("inf"));
    CHECK_FALSE(parse_finite("1e999"));  // overflow
  }
}
