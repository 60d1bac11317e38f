// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// ok: a double cloud; ko: an integer cloud, rejected by the class gate.
#include <upfi/core/cloud.hpp>

#ifdef UPFI_SHOULD_FAIL_TO_BUILD
using scalar = int;
#else
using scalar = double;
#endif

upfi::core::particle_cloud<scalar> make() { return {}; }
