// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Atomic file writes shared by the writers of upfi::io and upfi::infer: the text goes to `<path>.tmp`, which
/// is renamed over `path` only once completely written, so a failed write never leaves a file that looks complete.

#include <upfi/core/error.hpp>

#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

namespace upfi::io::detail {

/// @throws core::error (message starting with `who`) if the file cannot be written or renamed.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view text, const char* who) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) UPFI_THROW(core::error(core::detail::message(who, ": cannot open '", tmp.string(), "' for writing")));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      out.close();
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      UPFI_THROW(core::error(core::detail::message(who, ": write to '", tmp.string(), "' failed")));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    UPFI_THROW(core::error(
        core::detail::message(who, ": cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message())));
  }
}

}  // namespace upfi::io::detail
