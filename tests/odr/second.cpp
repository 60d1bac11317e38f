// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/upfi.hpp>

double second_unit_value() { return upfi::core::counter_rng(7).uniform(3, 4); }
