// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Two translation units include the whole library and are linked together: a non-inline function defined in a
// header would be a duplicate symbol here.
#include <upfi/upfi.hpp>

double second_unit_value();

int main() {
  const upfi::core::counter_rng rng(7);
  // Same pure function evaluated in two translation units must agree.
  return rng.uniform(3, 4) == second_unit_value() ? 0 : 1;
}
