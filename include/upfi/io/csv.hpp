// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Reading and writing snapshot series as CSV: one row per cell, a time column and coordinate columns.
///
/// The format of the shipped datasets (`data/`): a header line `time,x0,x1,...`, then one row per cell. Rows are
/// grouped by their exact time value into snapshots (ascending time; rows keep their file order within a snapshot),
/// so files need not be sorted. Columns may be chosen by name, and columns not selected are never parsed (they may
/// hold text such as cell barcodes). Fields follow RFC 4180 quoting; a quoted field cannot span lines.
///
/// Every malformed input raises upfi::io::csv_error (a std::invalid_argument) naming the file, the 1-based line and
/// the 1-based field: missing header, unknown or duplicate column, wrong field count, empty or non-numeric field,
/// NaN/Inf, a value that overflows the scalar type, an empty file, fewer time points than requested. Nothing is
/// skipped silently (blank lines hold no data and are the only lines ignored).

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/io/detail/atomic_write.hpp>
#include <upfi/io/detail/csv_tokenizer.hpp>
#include <upfi/io/detail/group_by_time.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace upfi::io {

/// @brief Malformed CSV input: carries the source name, the 1-based line and field (0 = the whole line or file).
/// what() reads "source:line:field: problem", or "source: problem" when no line applies.
class csv_error : public std::invalid_argument {
 public:
  csv_error(std::string source, std::size_t line, std::size_t field, std::string problem)
      : std::invalid_argument(format(source, line, field, problem)),
        m_source(std::move(source)),
        m_line(line),
        m_field(field),
        m_problem(std::move(problem)) {}

  /// @brief File name (or the name given to parse_snapshot_csv for in-memory text).
  [[nodiscard]] const std::string& source() const noexcept { return m_source; }
  /// @brief 1-based line number, 0 when the problem concerns the whole file.
  [[nodiscard]] std::size_t line() const noexcept { return m_line; }
  /// @brief 1-based field (column) number, 0 when the problem concerns the whole line.
  [[nodiscard]] std::size_t column() const noexcept { return m_field; }
  /// @brief The problem without the location prefix.
  [[nodiscard]] const std::string& problem() const noexcept { return m_problem; }

 private:
  static std::string format(const std::string& source, std::size_t line, std::size_t field,
                            const std::string& problem) {
    // Built with append() only: GCC 12 raises a false -Wrestrict on `"literal" + std::string` chains.
    std::string s = source;
    if (line > 0) s.append(":").append(std::to_string(line));
    if (line > 0 && field > 0) s.append(":").append(std::to_string(field));
    return s.append(": ").append(problem);
  }
  std::string m_source;
  std::size_t m_line;
  std::size_t m_field;
  std::string m_problem;
};

/// @brief Options of read_snapshot_csv / parse_snapshot_csv (use designated initialisers).
struct csv_read_options {
  /// Name of the time column.
  std::string time_column = "time";
  /// Coordinate columns, in the order they become cloud columns; empty selects every other column in file order.
  std::vector<std::string> coordinates = {};
  /// Field separator.
  char delimiter = ',';
  /// How relative masses are obtained: counts (N_i / N_0), given (from `relative_masses`) or frequencies_only.
  core::mass_convention masses = core::mass_convention::counts;
  /// One relative mass per distinct time, ascending; used only with mass_convention::given.
  std::vector<double> relative_masses = {};
  /// Fewest distinct time points accepted (dynamics need at least two snapshots).
  std::size_t min_time_points = 2;
};

/// @brief Options of write_snapshot_csv / format_snapshot_csv.
struct csv_write_options {
  /// Name of the time column.
  std::string time_column = "time";
  /// Coordinate column names; empty gives x0, x1, ...
  std::vector<std::string> coordinates = {};
  /// Field separator.
  char delimiter = ',';
};

namespace detail {

inline std::string quote_if_needed(const std::string& name, char delimiter) {
  if (name.find(delimiter) == std::string::npos && name.find('"') == std::string::npos &&
      name.find('\n') == std::string::npos && trim(name) == name) {
    return name;
  }
  std::string q = "\"";
  for (char c : name) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + '"';
}

template <class Scalar>
void append_number(std::string& out, Scalar v) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);  // shortest round-trip form
  out.append(buffer, ec == std::errc{} ? end : buffer);
}

}  // namespace detail

/// @brief Parses CSV text into a snapshot series.
/// @param text        the whole CSV document
/// @param options     column selection, delimiter, mass convention
/// @param source_name name used in error messages (e.g. the file name)
/// @throws csv_error on malformed input; std::invalid_argument on inconsistent options.
template <RealScalar Scalar = double>
[[nodiscard]] core::snapshot_series<Scalar> parse_snapshot_csv(std::string_view text,
                                                               const csv_read_options& options = {},
                                                               const std::string& source_name = "<string>") {
  using detail::number_status;
  const auto fail = [&](std::size_t line, std::size_t field, std::string problem) {
    UPFI_THROW(csv_error(source_name, line, field, std::move(problem)));
  };
  if (options.min_time_points < 1) {
    core::detail::throw_invalid_argument("upfi::io::csv_read_options: min_time_points must be >= 1");
  }

  const std::vector<detail::csv_line> lines = detail::split_lines(text);
  std::size_t first = 0;
  while (first < lines.size() && detail::is_blank(lines[first].text)) ++first;
  if (first == lines.size()) fail(0, 0, "empty file: expected a header line such as 'time,x0,x1'");

  // ---- header ----
  const detail::csv_line& header_line = lines[first];
  const detail::split_result header = detail::split_fields(header_line.text, options.delimiter);
  if (header.bad_field != 0) fail(header_line.number, header.bad_field, "malformed quoted field in the header");
  const std::vector<std::string>& names = header.fields;
  const std::size_t n_fields = names.size();
  {
    bool all_numeric = true;
    for (const auto& name : names) {
      double v = 0;
      if (detail::parse_number(name, v) != number_status::ok) all_numeric = false;
    }
    if (all_numeric) {
      fail(header_line.number, 0,
           "missing header: the first line holds numbers; add a header line such as 'time,x0,x1'");
    }
  }
  for (std::size_t j = 0; j < n_fields; ++j) {
    if (names[j].empty()) fail(header_line.number, j + 1, "empty column name in the header");
    for (std::size_t k = 0; k < j; ++k) {
      if (names[k] == names[j]) {
        fail(header_line.number, j + 1,
             core::detail::message("duplicate column name '", names[j], "' (also field ", k + 1, ")"));
      }
    }
  }
  const auto find_column = [&](const std::string& name) -> std::size_t {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  const auto column_list = [&] {
    std::string s;
    for (std::size_t j = 0; j < n_fields; ++j) s += (j ? "," : "") + names[j];
    return s;
  };
  const std::size_t time_col = find_column(options.time_column);
  if (time_col == n_fields) {
    fail(header_line.number, 0,
         core::detail::message("missing header column '", options.time_column, "' (columns: ", column_list(),
                               "); name the time column in csv_read_options::time_column"));
  }
  std::vector<std::size_t> coord_cols;
  if (options.coordinates.empty()) {
    for (std::size_t j = 0; j < n_fields; ++j) {
      if (j != time_col) coord_cols.push_back(j);
    }
    if (coord_cols.empty()) fail(header_line.number, 0, "no coordinate column: the header has only the time column");
  } else {
    for (const auto& name : options.coordinates) {
      const std::size_t j = find_column(name);
      if (j == n_fields) {
        fail(header_line.number, 0,
             core::detail::message("requested coordinate column '", name,
                                   "' is not in the header (columns: ", column_list(), ")"));
      }
      if (j == time_col) fail(header_line.number, j + 1, "the time column cannot also be a coordinate");
      if (std::find(coord_cols.begin(), coord_cols.end(), j) != coord_cols.end()) {
        fail(header_line.number, j + 1, core::detail::message("coordinate column '", name, "' requested twice"));
      }
      coord_cols.push_back(j);
    }
  }
  const std::size_t d = coord_cols.size();

  // ---- rows ----
  const auto parse_field = [&](const detail::csv_line& line, std::size_t j, const std::string& field) -> Scalar {
    double v = 0;
    switch (detail::parse_number(field, v)) {
      case number_status::ok:
        break;
      case number_status::empty:
        fail(line.number, j + 1, core::detail::message("empty field in column '", names[j], "'"));
        break;
      case number_status::not_a_number:
        fail(line.number, j + 1, core::detail::message("'", field, "' in column '", names[j], "' is not a number"));
        break;
      case number_status::not_finite:
        fail(line.number, j + 1,
             core::detail::message("non-finite value '", field, "' in column '", names[j],
                                   "'; drop or impute that cell"));
        break;
      case number_status::overflow:
        fail(line.number, j + 1,
             core::detail::message("'", field, "' in column '", names[j], "' overflows double precision"));
        break;
    }
    if (std::abs(v) > static_cast<double>(std::numeric_limits<Scalar>::max())) {
      fail(line.number, j + 1,
           core::detail::message("'", field, "' in column '", names[j], "' overflows the scalar type"));
    }
    return static_cast<Scalar>(v);
  };

  std::vector<Scalar> row_times;
  std::vector<Scalar> values;  // row-major, d per row
  for (std::size_t li = first + 1; li < lines.size(); ++li) {
    const detail::csv_line& line = lines[li];
    if (detail::is_blank(line.text)) continue;
    const detail::split_result row = detail::split_fields(line.text, options.delimiter);
    if (row.bad_field != 0) fail(line.number, row.bad_field, "malformed quoted field (unclosed or stray quote)");
    if (row.fields.size() != n_fields) {
      fail(line.number, 0, core::detail::message(row.fields.size(), " fields, but the header has ", n_fields));
    }
    row_times.push_back(parse_field(line, time_col, row.fields[time_col]));
    for (std::size_t j : coord_cols) values.push_back(parse_field(line, j, row.fields[j]));
  }
  if (row_times.empty()) fail(header_line.number, 0, "no data rows after the header");

  // ---- group by time (stable: rows keep file order within a snapshot) ----
  auto [times, clouds] = detail::group_rows_by_time<Scalar>(row_times, values, d);
  if (times.size() < options.min_time_points) {
    fail(0, time_col + 1,
         core::detail::message("only ", times.size(), " distinct time point(s) (first t = ", times.front(),
                               "); at least ", options.min_time_points, " are needed"));
  }

  switch (options.masses) {
    case core::mass_convention::counts:
      return core::snapshot_series<Scalar>(std::move(times), std::move(clouds));
    case core::mass_convention::frequencies_only:
      return core::snapshot_series<Scalar>::frequencies_only(std::move(times), std::move(clouds));
    case core::mass_convention::given: {
      if (options.relative_masses.size() != times.size()) {
        core::detail::throw_invalid_argument("upfi::io::csv_read_options: ", options.relative_masses.size(),
                                             " relative masses given, but ", source_name, " has ", times.size(),
                                             " time points");
      }
      std::vector<Scalar> masses(options.relative_masses.begin(), options.relative_masses.end());
      return core::snapshot_series<Scalar>(std::move(times), std::move(clouds), std::move(masses));
    }
  }
  core::detail::throw_invalid_argument("upfi::io::csv_read_options: unknown mass convention");
}

/// @brief Reads a snapshot series from a CSV file (see parse_snapshot_csv).
/// @throws csv_error on malformed content, or if the file cannot be opened (line 0).
template <RealScalar Scalar = double>
[[nodiscard]] core::snapshot_series<Scalar> read_snapshot_csv(const std::filesystem::path& path,
                                                              const csv_read_options& options = {}) {
  std::ifstream in(path, std::ios::binary);
  if (!in) UPFI_THROW(csv_error(path.string(), 0, 0, "cannot open file for reading"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) UPFI_THROW(csv_error(path.string(), 0, 0, "read error"));
  return parse_snapshot_csv<Scalar>(text, options, path.string());
}

/// @brief Formats a snapshot series as CSV text. Numbers use the shortest representation that reads back to the
/// identical value, so write + read round-trips bit-exactly.
/// @throws std::invalid_argument if the number of coordinate names does not match the dimension.
template <class Scalar>
[[nodiscard]] std::string format_snapshot_csv(const core::snapshot_series<Scalar>& series,
                                              const csv_write_options& options = {}) {
  const auto d = static_cast<std::size_t>(series.dimension());
  if (!options.coordinates.empty() && options.coordinates.size() != d) {
    core::detail::throw_invalid_argument("upfi::io::csv_write_options: ", options.coordinates.size(),
                                         " coordinate names for a series of dimension ", d);
  }
  std::string out;
  out += detail::quote_if_needed(options.time_column, options.delimiter);
  for (std::size_t j = 0; j < d; ++j) {
    out += options.delimiter;
    if (options.coordinates.empty()) {
      out.append("x").append(std::to_string(j));
    } else {
      out.append(detail::quote_if_needed(options.coordinates[j], options.delimiter));
    }
  }
  out += '\n';
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto& c = series.cloud(s);
    for (Eigen::Index i = 0; i < c.rows(); ++i) {
      detail::append_number(out, series.time(s));
      for (Eigen::Index j = 0; j < c.cols(); ++j) {
        out += options.delimiter;
        detail::append_number(out, c(i, j));
      }
      out += '\n';
    }
  }
  return out;
}

/// @brief Writes a snapshot series to a CSV file atomically: the text goes to `<path>.tmp`, which is renamed over
/// `path` only once completely written, so a failed write never leaves a file that looks complete.
/// @throws core::error if the file cannot be written.
template <class Scalar>
void write_snapshot_csv(const std::filesystem::path& path, const core::snapshot_series<Scalar>& series,
                        const csv_write_options& options = {}) {
  detail::write_file_atomically(path, format_snapshot_csv(series, options), "upfi::io::write_snapshot_csv");
}

}  // namespace upfi::io
