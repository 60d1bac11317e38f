// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// IWYU pragma: private, include <upfi/io/csv.hpp>
/// @file
/// @brief Line splitting, RFC 4180 field splitting and strict number parsing for the CSV reader.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace upfi::io::detail {

/// One physical line of the input with its 1-based line number.
struct csv_line {
  std::string_view text;
  std::size_t number;
};

/// Splits `text` into lines on '\n', removing a trailing '\r' (CRLF files) and a UTF-8 byte-order mark.
inline std::vector<csv_line> split_lines(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<csv_line> lines;
  std::size_t number = 1;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, number++});
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

inline bool is_blank(std::string_view s) noexcept { return s.find_first_not_of(" \t") == std::string_view::npos; }

inline std::string_view trim(std::string_view s) noexcept {
  const std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

/// Result of splitting one line: the fields (unquoted, trimmed) or the 1-based field where quoting is malformed.
struct split_result {
  std::vector<std::string> fields;
  std::size_t bad_field = 0;  // 0 when well-formed
};

/// RFC 4180 splitting of one line: fields separated by `delimiter`; a field may be wrapped in double quotes, in which
/// case it may contain the delimiter and doubled quotes ("") stand for one quote. Quoted fields cannot span lines.
/// Unquoted fields are trimmed of spaces and tabs.
inline split_result split_fields(std::string_view line, char delimiter) {
  split_result out;
  std::size_t i = 0;
  for (;;) {
    std::string field;
    // skip leading blanks before a possible opening quote
    std::size_t j = i;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j < line.size() && line[j] == '"') {
      ++j;
      bool closed = false;
      while (j < line.size()) {
        if (line[j] == '"') {
          if (j + 1 < line.size() && line[j + 1] == '"') {
            field.push_back('"');
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        field.push_back(line[j++]);
      }
      while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
      if (!closed || (j < line.size() && line[j] != delimiter)) {
        out.bad_field = out.fields.size() + 1;
        return out;
      }
      out.fields.push_back(std::move(field));
      i = j;
    } else {
      const std::size_t end = line.find(delimiter, i);
      out.fields.emplace_back(trim(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? line.size() : end;
    }
    if (i >= line.size()) break;
    ++i;  // skip the delimiter; a trailing delimiter yields one final empty field
    if (i == line.size()) {
      out.fields.emplace_back();
      break;
    }
  }
  return out;
}

/// Outcome of parsing one numeric field.
enum class number_status { ok, empty, not_a_number, not_finite, overflow };

/// Parses the whole of `s` as a decimal floating-point number (a single leading '+' is accepted).
/// `nan`, `inf` and `infinity` (any case) are recognised and reported as not_finite; magnitudes beyond the double
/// range as overflow; values below the smallest subnormal underflow to a signed zero, as strtod does.
inline number_status parse_number(std::string_view s, double& value) noexcept {
  if (s.empty()) return number_status::empty;
  std::string_view body = s;
  if (body.front() == '+') {
    body.remove_prefix(1);
    if (body.empty() || body.front() == '+' || body.front() == '-') return number_status::not_a_number;
  }
  const char* first = body.data();
  const char* last = body.data() + body.size();
  const auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ptr != last) return number_status::not_a_number;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves `value` untouched here; strtod tells overflow (HUGE_VAL) from underflow (tiny or zero).
    const std::string copy(body);
    const double v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return number_status::overflow;
    value = v;
    return number_status::ok;
  }
  if (ec != std::errc{}) return number_status::not_a_number;
  if (!std::isfinite(value)) return number_status::not_finite;
  return number_status::ok;
}

}  // namespace upfi::io::detail
