// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// The only translation unit that defines doctest's main().
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
