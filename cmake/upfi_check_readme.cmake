# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
# cmake -DREADME=<README.md> -DSOURCE=<quick_start.cpp> -P upfi_check_readme.cmake
# Fails unless the README contains the source file verbatim inside a ```cpp block.
file(READ ${README} readme)
file(READ ${SOURCE} source)
string(FIND "${readme}" "```cpp\n${source}```" position)
if(position EQUAL -1)
  message(FATAL_ERROR "README.md does not quote ${SOURCE} verbatim in a ```cpp block; copy the file into it")
endif()
