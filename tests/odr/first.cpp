// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// With odr/second.cpp: two translation units of the test executable include the whole library and are linked
// together, so a non-inline function defined in a header is a duplicate symbol and the link fails. In unity builds
// the two files join different unity groups (tests/CMakeLists.txt), which is still two translation units.
#include <upfi/upfi.hpp>

#include <doctest/doctest.h>

double upfi_odr_second_unit_value();

TEST_CASE("ODR: the whole library in two linked translation units; a pure function agrees across them") {
  CHECK(upfi::core::counter_rng(7).uniform(3, 4) == upfi_odr_second_unit_value());
}
