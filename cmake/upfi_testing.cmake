# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# Test helpers: compile-fail pairs (Eigen's ok/ko pattern) and header self-containment checks.
include_guard(GLOBAL)

# upfi_add_failtest(<name> <source> <regex>)
# Builds <source> twice as CTest tests: <name>_ok must compile; <name>_ko (with -DUPFI_SHOULD_FAIL_TO_BUILD) must fail
# with a diagnostic matching <regex> (the concept gate's sentence).
function(upfi_add_failtest name source regex)
  foreach(variant ok ko)
    set(target failtest_${name}_${variant})
    add_library(${target} OBJECT EXCLUDE_FROM_ALL ${source})
    target_link_libraries(${target} PRIVATE upfi::upfi)
    if(variant STREQUAL "ko")
      target_compile_definitions(${target} PRIVATE UPFI_SHOULD_FAIL_TO_BUILD)
    endif()
    add_test(NAME fail/${name}_${variant}
             COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${target} --config $<CONFIG>)
    if(variant STREQUAL "ko")
      set_tests_properties(fail/${name}_${variant} PROPERTIES PASS_REGULAR_EXPRESSION "${regex}")
    endif()
  endforeach()
endfunction()

# upfi_add_header_checks(<target>)
# One generated translation unit per public header (umbrellas aside), containing only its #include, compiled into an
# OBJECT library that is part of `all`: a header that is not self-contained breaks the build.
function(upfi_add_header_checks target)
  file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR}/include CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/include/upfi/*.hpp)
  set(sources)
  foreach(header ${headers})
    if(header MATCHES "/detail/" OR header STREQUAL "upfi/io/h5ad.hpp")  # h5ad: needs HDF5, checked by its test
      continue()
    endif()
    # Umbrella headers (upfi/ot.hpp beside upfi/ot/, and upfi/upfi.hpp) only list headers that are each checked here,
    # so they are self-contained by construction; upfi.hpp is compiled twice more by the ODR check. Skipping them
    # saves minutes of CI: each one instantiates most of the library.
    string(REGEX REPLACE "\\.hpp$" "" module_dir ${header})
    if(header STREQUAL "upfi/upfi.hpp" OR IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/${module_dir})
      continue()
    endif()
    string(REPLACE "/" "__" stem ${header})
    string(REPLACE ".hpp" ".cpp" stem ${stem})
    set(file ${CMAKE_CURRENT_BINARY_DIR}/header_checks/${stem})
    file(CONFIGURE OUTPUT ${file} CONTENT "#include <${header}>\n")
    list(APPEND sources ${file})
  endforeach()
  add_library(${target} OBJECT ${sources})
  upfi_developer_target(${target})
endfunction()
