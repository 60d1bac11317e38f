// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// ok: a float series; ko: an integer series, rejected by the class gate.
#include <upfi/core/snapshot_series.hpp>

#ifdef UPFI_SHOULD_FAIL_TO_BUILD
using scalar = long;
#else
using scalar = float;
#endif

std::size_t count(const upfi::core::snapshot_series<scalar>& s) { return s.size(); }
