// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// ok: reading as float; ko: reading as int, rejected by the RealScalar constraint.
#include <upfi/io/csv.hpp>

#ifdef UPFI_SHOULD_FAIL_TO_BUILD
using scalar = int;
#else
using scalar = float;
#endif

std::size_t count() { return upfi::io::parse_snapshot_csv<scalar>("time,x\n0,1\n1,2\n").size(); }
