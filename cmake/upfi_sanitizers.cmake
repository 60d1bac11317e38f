# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# UPFI_SANITIZE=address,undefined adds Eigen's CI sanitizer set to test/example targets.
include_guard(GLOBAL)

function(upfi_target_sanitizers target)
  if(NOT UPFI_SANITIZE)
    return()
  endif()
  set(flags -fsanitize=${UPFI_SANITIZE} -fno-omit-frame-pointer)
  if(UPFI_SANITIZE MATCHES "undefined")
    list(APPEND flags -fno-sanitize-recover=undefined)
  endif()
  target_compile_options(${target} PRIVATE ${flags})
  target_link_options(${target} PRIVATE ${flags})
endfunction()

# Everything we build for development: warnings + sanitizers + the library.
function(upfi_developer_target target)
  target_link_libraries(${target} PRIVATE upfi::upfi)
  upfi_target_warnings(${target})
  upfi_target_sanitizers(${target})
endfunction()
