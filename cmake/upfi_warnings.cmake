# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# Strict warnings for OUR targets (tests, examples, benchmarks) only; never on the INTERFACE target, so users
# keep their own flags. -Werror when upfi is the top-level project.
include_guard(GLOBAL)

function(upfi_target_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
    if(PROJECT_IS_TOP_LEVEL)
      target_compile_options(${target} PRIVATE /WX)
    endif()
    return()
  endif()
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
                                           -Wold-style-cast -Wcast-qual -Wnull-dereference -Wdouble-promotion)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 + AVX-512: avx512fintrin.h self-initialisation trips -Wmaybe-uninitialized inside Eigen reductions.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      # GCC 12 reports "potential null pointer dereference" inside libstdc++ itself (std::string::append,
      # std::vector::resize, istreambuf_iterator) once inlined at -O2; clang keeps the check on our code.
      target_compile_options(${target} PRIVATE -Wno-null-dereference)
      # ... and, for AVX-512 builds (-march=native on an AVX-512 host), "'__Y' is used uninitialized" inside its own
      # avx512fintrin.h (`__m512d __Y = __Y;`), which no include flag can silence, and -Warray-bounds false positives
      # on Eigen's 8-wide loads from short arrays (a Map of 5 doubles, an Eigen::Vector4d converted to VectorXd) on
      # paths its size checks never take. Clang keeps -Warray-bounds on our code.
      if(CMAKE_CXX_FLAGS MATCHES "march=native|avx512")
        target_compile_options(${target} PRIVATE -Wno-uninitialized -Wno-array-bounds)
      endif()
    endif()
  endif()
  if(PROJECT_IS_TOP_LEVEL)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
