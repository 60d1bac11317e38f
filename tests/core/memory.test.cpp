// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/memory.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>

TEST_SUITE("core") {
  TEST_CASE("retain_heap_memory: large freed blocks are reused from the heap (glibc malloc)") {
#if defined(UPFI_HAS_GLIBC_MALLOC)
    REQUIRE(upfi::core::retain_heap_memory());
    // 8 MiB: far above glibc's default mmap threshold (128 KiB), so without the tuning this would be mmap'd
    constexpr std::size_t size = std::size_t{8} << 20;
    const struct mallinfo2 before = mallinfo2();
    void* p = std::malloc(size);
    REQUIRE(p != nullptr);
    std::memset(p, 1, size);
    const struct mallinfo2 during = mallinfo2();
    CHECK(during.hblkhd == before.hblkhd);  // no new mmap'd block: it came from the heap
    std::free(p);
    const struct mallinfo2 after = mallinfo2();
    CHECK(after.arena >= size);  // not trimmed back to the system
#else
    CHECK_FALSE(upfi::core::retain_heap_memory());
#endif
  }
}
