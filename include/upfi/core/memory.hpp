// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Allocator tuning for programs that build large temporaries in a loop (cloud-sized matrices per field
/// evaluation, per network pass).
///
/// glibc serves allocations above its mmap threshold (128 KiB at start, adapted upwards as large blocks are freed) with
/// fresh mmap'd pages and gives freed heap tops back to the system above its trim threshold. A loop that allocates and
/// frees N x d matrices can therefore page-fault on every iteration, and how often depends on the allocation history of
/// the whole process: we measured the same probability-flow integration at 0.05 ms and 0.19 ms per field evaluation
/// depending only on what ran before it. Calling `retain_heap_memory()` once at the start of `main` raises both
/// thresholds to 1 GiB, so freed blocks are reused from the heap. The library never calls it itself (it changes
/// process-wide state); upfi's program, examples and benchmarks do.

#include <cstdlib>  // defines __GLIBC__ on glibc systems

// Sanitizers replace malloc: glibc's tunables do not apply there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UPFI_MALLOC_REPLACED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define UPFI_MALLOC_REPLACED 1
#endif
#endif

#if defined(__GLIBC__) && !defined(UPFI_MALLOC_REPLACED)
#define UPFI_HAS_GLIBC_MALLOC 1
#include <malloc.h>
#endif

namespace upfi::core {

/// @brief Keeps freed memory in the process heap for reuse (glibc: mmap and trim thresholds set to 1 GiB).
/// @return true if the allocator was tuned, false where there is nothing to do (not glibc, or a sanitizer's allocator).
inline bool retain_heap_memory() noexcept {
#if defined(UPFI_HAS_GLIBC_MALLOC)
  constexpr int one_gib = 1 << 30;
  return mallopt(M_MMAP_THRESHOLD, one_gib) == 1 && mallopt(M_TRIM_THRESHOLD, one_gib) == 1;
#else
  return false;
#endif
}

}  // namespace upfi::core
