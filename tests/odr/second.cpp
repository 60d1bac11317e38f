// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// The second translation unit of the ODR check (odr/first.cpp).
#include <upfi/upfi.hpp>

double upfi_odr_second_unit_value() { return upfi::core::counter_rng(7).uniform(3, 4); }
