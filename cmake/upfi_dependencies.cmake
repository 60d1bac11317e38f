# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# Finds upfi's dependencies. Used by the build tree and, installed next to upfiConfig.cmake, by consumers, so both see
# exactly the same targets: Eigen3::Eigen, xsimd and (optionally) OpenMP::OpenMP_CXX.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

macro(_upfi_find_dependency)
  if(CMAKE_FIND_PACKAGE_NAME)  # inside a find_package(upfi) call: propagate REQUIRED/QUIET correctly
    find_dependency(${ARGN})
  else()
    find_package(${ARGN} REQUIRED)
  endif()
endmacro()

# Eigen: the imported target makes the include path SYSTEM, which keeps -Wconversion & co. usable on our code.
_upfi_find_dependency(Eigen3 NO_MODULE)
if(Eigen3_VERSION AND Eigen3_VERSION VERSION_LESS 3.4)
  message(FATAL_ERROR "upfi needs Eigen >= 3.4, found ${Eigen3_VERSION}")
endif()

# xsimd: no version in find_package, because xsimd's version file is SameMajorVersion (8.x would reject 14.x).
_upfi_find_dependency(xsimd)
if(xsimd_VERSION VERSION_LESS 8.1)
  message(FATAL_ERROR "upfi needs xsimd >= 8.1, found ${xsimd_VERSION}")
endif()
# Debian's xsimd 8.1 exports INTERFACE_LINK_LIBRARIES "xtl" although xsimd is header-only and never uses xtl; with no
# target of that name the link line gets '-lxtl' and fails. Use a real xtl when one is installed, otherwise provide an
# empty interface target so the name resolves to nothing.
if(NOT TARGET xtl)
  find_package(xtl QUIET NO_MODULE)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED)
  endif()
endif()

# OpenMP is optional: without it every parallel loop runs serially with identical results.
set(UPFI_HAVE_OPENMP OFF)
if(NOT DEFINED UPFI_USE_OPENMP OR UPFI_USE_OPENMP)
  find_package(OpenMP QUIET COMPONENTS CXX)
  if(OpenMP_CXX_FOUND)
    set(UPFI_HAVE_OPENMP ON)
  endif()
endif()
