// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Configuration and error macros: UPFI_ASSERT, UPFI_THROW, UPFI_INLINE, UPFI_FORCE_INLINE, UPFI_NO_SIMD.
///
/// Failure policy (docs/index.md, "Errors"):
///  * a caller precondition in a hot path (sizes of caller-owned buffers) is a UPFI_ASSERT: checked in debug
///    builds, compiled out under NDEBUG unless UPFI_ENABLE_ASSERTS is defined, and redefinable by users;
///  * invalid run-time input (a parameter, a data file, a snapshot) always throws through UPFI_THROW, which becomes
///    std::abort() when exceptions are disabled;
///  * non-convergence is returned in a `*_result`, never thrown.

#include <upfi/version.hpp>

#include <cstdio>
#include <cstdlib>

/// @brief Define to route every SIMD kernel to its scalar oracle in `upfi::simd::reference`.
/// Set by the CMake option of the same name for the build tree; users may define it themselves.
#ifdef UPFI_NO_SIMD
#define UPFI_SIMD_ENABLED 0
#else
#define UPFI_SIMD_ENABLED 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define UPFI_FORCE_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define UPFI_FORCE_INLINE __forceinline
#else
#define UPFI_FORCE_INLINE inline
#endif
#define UPFI_INLINE inline

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define UPFI_HAS_EXCEPTIONS 1
#else
#define UPFI_HAS_EXCEPTIONS 0
#endif

/// @brief Throws `ex` (an exception object); prints its message and aborts when exceptions are disabled.
#ifndef UPFI_THROW
#if UPFI_HAS_EXCEPTIONS
#define UPFI_THROW(ex) throw ex
#else
#define UPFI_THROW(ex)                                            \
  do {                                                            \
    std::fprintf(stderr, "upfi: fatal error: %s\n", (ex).what()); \
    std::abort();                                                 \
  } while (false)
#endif
#endif

/// @brief Precondition check compiled out under NDEBUG (define UPFI_ENABLE_ASSERTS to keep it).
/// Users may define UPFI_ASSERT(cond, msg) before including upfi to route failures elsewhere.
#ifndef UPFI_ASSERT
#if !defined(NDEBUG) || defined(UPFI_ENABLE_ASSERTS)
#define UPFI_ASSERT(cond, msg)                                                                           \
  do {                                                                                                   \
    if (!(cond)) {                                                                                       \
      std::fprintf(stderr, "%s:%d: upfi assertion '%s' failed: %s\n", __FILE__, __LINE__, #cond, (msg)); \
      std::abort();                                                                                      \
    }                                                                                                    \
  } while (false)
#else
#define UPFI_ASSERT(cond, msg) static_cast<void>(0)
#endif
#endif
