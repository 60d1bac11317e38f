// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// libFuzzer target for the CSV snapshot parser. Properties checked on every input:
//  * the parser either returns a valid series or throws std::invalid_argument (csv_error included), nothing else;
//  * a parsed series formats and re-parses to exactly the same times and values (round trip).
#include <upfi/io/csv.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  upfi::io::csv_read_options options;
  options.min_time_points = 1;
  if (size > 0 && data[0] == ';') options.delimiter = ';';  // let the fuzzer reach the other delimiter too
  try {
    const auto series = upfi::io::parse_snapshot_csv(text, options, "fuzz");
    const auto again = upfi::io::parse_snapshot_csv(upfi::io::format_snapshot_csv(series), {.min_time_points = 1});
    if (again.size() != series.size()) std::abort();
    for (std::size_t k = 0; k < series.size(); ++k) {
      if (again.time(k) != series.time(k) || again.cloud(k) != series.cloud(k)) std::abort();
    }
  } catch (const std::invalid_argument&) {
    // malformed input: the expected, documented outcome
  }
  return 0;
}
