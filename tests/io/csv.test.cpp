// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/counter_rng.hpp>
#include <upfi/io/csv.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

using upfi::io::csv_error;
using upfi::io::parse_snapshot_csv;

namespace {
// Parses `text` expecting a csv_error; returns it for inspection.
csv_error parse_error(const std::string& text, const upfi::io::csv_read_options& options = {}) {
  try {
    (void)parse_snapshot_csv(text, options, "in.csv");
  } catch (const csv_error& e) {
    return e;
  }
  FAIL("parse_snapshot_csv accepted malformed input:\n" << text);
  return csv_error("", 0, 0, "");
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("upfi_test_" + std::to_string(::getpid()) + "_" + name);
}
}  // namespace

TEST_SUITE("io/csv") {
  TEST_CASE("rows are grouped by time into snapshots, in file order within each") {
    const auto s = parse_snapshot_csv("time,x0,x1\n1,10,11\n0,0,1\n1,12,13\n0,2,3\n0,4,5\n");
    REQUIRE(s.size() == 2);
    CHECK(s.times() == std::vector<double>{0.0, 1.0});
    CHECK(s.count(0) == 3);
    CHECK(s.count(1) == 2);
    CHECK(s.cloud(0)(1, 0) == 2.0);
    CHECK(s.cloud(1)(1, 1) == 13.0);
    CHECK(s.relative_mass(1) == doctest::Approx(2.0 / 3.0));
  }

  TEST_CASE("write then read round-trips bit-exactly (double and float)") {
    const upfi::core::counter_rng rng(upfi::test::seed());
    std::vector<Eigen::MatrixXd> clouds;
    for (int k = 0; k < 3; ++k) {
      Eigen::MatrixXd x(50 + 7 * k, 4);
      rng.with_stream(static_cast<std::uint32_t>(k)).fill_normal(x, 0);
      x *= std::pow(10.0, 3 * k - 3);  // magnitudes 1e-3 .. 1e3
      clouds.push_back(x);
    }
    const upfi::core::snapshot_series<double> s({0.0, 1.0 / 3.0, 7.0}, clouds, {1.0, 2.5, 0.125});
    const auto path = temp_path("roundtrip.csv");
    upfi::io::write_snapshot_csv(path, s);
    CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
    const auto back = upfi::io::read_snapshot_csv(path);
    REQUIRE(back.size() == s.size());
    for (std::size_t k = 0; k < s.size(); ++k) {
      CHECK(back.time(k) == s.time(k));
      REQUIRE(back.cloud(k).rows() == s.cloud(k).rows());
      CHECK(std::memcmp(back.cloud(k).data(), s.cloud(k).data(),
                        sizeof(double) * static_cast<std::size_t>(s.cloud(k).size())) == 0);
    }
    std::filesystem::remove(path);

    const upfi::core::snapshot_series<float> f({0.5f, 1.5f}, {clouds[0].cast<float>(), clouds[1].cast<float>()});
    const auto fb = parse_snapshot_csv<float>(upfi::io::format_snapshot_csv(f));
    CHECK(fb.cloud(1) == f.cloud(1));
    CHECK(fb.time(0) == 0.5f);
  }

  TEST_CASE("custom time column, a subset of coordinates in a chosen order, text columns left unparsed") {
    const std::string text = "cell,day,g1,g2,g3\nAAC,2,1,2,3\nGTT,4,4,5,6\nTTA,2,7,8,9\n";
    const auto s = parse_snapshot_csv(text, {.time_column = "day", .coordinates = {"g3", "g1"}});
    REQUIRE(s.dimension() == 2);
    CHECK(s.times() == std::vector<double>{2.0, 4.0});
    CHECK(s.cloud(0)(0, 0) == 3.0);
    CHECK(s.cloud(0)(0, 1) == 1.0);
    CHECK(s.cloud(0)(1, 0) == 9.0);
  }

  TEST_CASE("quoting, CRLF line ends, a byte-order mark, blank lines, spaces and other delimiters are accepted") {
    const auto s = parse_snapshot_csv("\xEF\xBB\xBF\"time\",\"x,0\"\r\n0, 1.5\r\n\r\n \"1\" ,\"-2e-3\"\r\n");
    CHECK(s.cloud(0)(0, 0) == 1.5);
    CHECK(s.cloud(1)(0, 0) == -2e-3);
    const auto t = parse_snapshot_csv("time;x\n0;+1\n1;2\n", {.delimiter = ';'});
    CHECK(t.cloud(0)(0, 0) == 1.0);
    // header names with delimiters are quoted on output and read back
    const auto text = upfi::io::format_snapshot_csv(s, {.coordinates = {"x,0"}});
    CHECK(text.substr(0, 12) == "time,\"x,0\"\n0");
  }

  TEST_CASE("mass conventions: frequencies only, and given masses one per time point") {
    const std::string text = "time,x\n0,1\n0,2\n1,3\n";
    CHECK(parse_snapshot_csv(text, {.masses = upfi::core::mass_convention::frequencies_only}).frequencies_only());
    const auto g =
        parse_snapshot_csv(text, {.masses = upfi::core::mass_convention::given, .relative_masses = {1.0, 4.0}});
    CHECK(g.relative_mass(1) == 4.0);
    CHECK_THROWS_WITH_AS((void)parse_snapshot_csv(text, {.masses = upfi::core::mass_convention::given}, "m.csv"),
                         "upfi::io::csv_read_options: 0 relative masses given, but m.csv has 2 time points",
                         std::invalid_argument);
  }

  TEST_CASE("malformed input names file, line, field and problem") {
    SUBCASE("empty file") {
      const auto e = parse_error("");
      CHECK(std::string(e.what()) == "in.csv: empty file: expected a header line such as 'time,x0,x1'");
      CHECK(parse_error("\n  \n").line() == 0);
    }
    SUBCASE("missing header") {
      const auto e = parse_error("0,1.5\n1,2\n");
      CHECK(e.line() == 1);
      CHECK(std::string(e.what()) ==
            "in.csv:1: missing header: the first line holds numbers; add a header line such as 'time,x0,x1'");
    }
    SUBCASE("no time column") {
      const auto e = parse_error("t,x\n0,1\n");
      CHECK(std::string(e.what()) ==
            "in.csv:1: missing header column 'time' (columns: t,x); name the time column in "
            "csv_read_options::time_column");
    }
    SUBCASE("duplicate and empty column names") {
      CHECK(std::string(parse_error("time,x,x\n0,1,2\n").what()) ==
            "in.csv:1:3: duplicate column name 'x' (also field 2)");
      CHECK(parse_error("time,,x\n0,1,2\n").column() == 2);
    }
    SUBCASE("unknown or repeated coordinate columns") {
      CHECK(std::string(parse_error("time,x\n0,1\n1,2\n", {.coordinates = {"y"}}).what()) ==
            "in.csv:1: requested coordinate column 'y' is not in the header (columns: time,x)");
      CHECK(parse_error("time,x\n0,1\n1,2\n", {.coordinates = {"x", "x"}}).column() == 2);
      CHECK(parse_error("time,x\n0,1\n1,2\n", {.coordinates = {"time"}}).column() == 1);
      CHECK(std::string(parse_error("time\n0\n1\n").what()) ==
            "in.csv:1: no coordinate column: the header has only the time column");
    }
    SUBCASE("wrong field count") {
      const auto e = parse_error("time,x0,x1\n0,1,2\n1,2\n");
      CHECK(e.line() == 3);
      CHECK(e.column() == 0);
      CHECK(e.problem() == "2 fields, but the header has 3");
      CHECK(parse_error("time,x0\n0,1,\n1,2\n").problem() == "3 fields, but the header has 2");
    }
    SUBCASE("non-numeric field") {
      const auto e = parse_error("time,x0,x1\n0,1,2\n1,2,abc\n");
      CHECK(std::string(e.what()) == "in.csv:3:3: 'abc' in column 'x1' is not a number");
      CHECK(parse_error("time,x\n0,1.5.2\n1,2\n").column() == 2);
      CHECK(parse_error("time,x\n0,+-1\n1,2\n").column() == 2);
      CHECK(parse_error("time,x\n0,0x10\n1,2\n").column() == 2);
    }
    SUBCASE("empty field") {
      CHECK(std::string(parse_error("time,x\n0,\n1,2\n").what()) == "in.csv:2:2: empty field in column 'x'");
    }
    SUBCASE("NaN and Inf, in data or time") {
      CHECK(std::string(parse_error("time,x\n0,1\n1,NaN\n").what()) ==
            "in.csv:3:2: non-finite value 'NaN' in column 'x'; drop or impute that cell");
      CHECK(parse_error("time,x\n0,1\n1,-inf\n").line() == 3);
      CHECK(parse_error("time,x\ninfinity,1\n1,2\n").column() == 1);
      CHECK(parse_error("time,x\n0,1e999\n1,2\n").problem() == "'1e999' in column 'x' overflows double precision");
    }
    SUBCASE("overflow of float") {
      CHECK_THROWS_AS((void)parse_snapshot_csv<float>("time,x\n0,1e300\n1,2\n"), csv_error);
      // an underflow is not an error: it reads as (signed) zero, like strtod
      CHECK(parse_snapshot_csv("time,x\n0,1e-400\n1,2\n").cloud(0)(0, 0) == 0.0);
    }
    SUBCASE("malformed quotes") {
      CHECK(parse_error("time,x\n0,\"1\n1,2\n").problem() == "malformed quoted field (unclosed or stray quote)");
      CHECK(parse_error("time,x\n0,\"1\"2\n1,2\n").column() == 2);
    }
    SUBCASE("header only") {
      CHECK(std::string(parse_error("time,x\n\n").what()) == "in.csv:1: no data rows after the header");
    }
    SUBCASE("fewer than two time points") {
      const auto e = parse_error("time,x\n3,1\n3,2\n");
      CHECK(std::string(e.what()) == "in.csv: only 1 distinct time point(s) (first t = 3); at least 2 are needed");
      CHECK(parse_snapshot_csv("time,x\n3,1\n3,2\n", {.min_time_points = 1}).size() == 1);
    }
  }

  TEST_CASE("a missing file is reported with its name") {
    const auto path = temp_path("does_not_exist.csv");
    CHECK_THROWS_WITH_AS((void)upfi::io::read_snapshot_csv(path),
                         (path.string() + ": cannot open file for reading").c_str(), csv_error);
  }

  TEST_CASE("writing to an impossible path raises an error and leaves no file") {
    const upfi::core::snapshot_series<double> s({0.0, 1.0}, {Eigen::MatrixXd::Ones(2, 1), Eigen::MatrixXd::Ones(2, 1)});
    const auto path = temp_path("no_such_dir") / "out.csv";
    CHECK_THROWS_AS(upfi::io::write_snapshot_csv(path, s), upfi::core::error);
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_THROWS_AS((void)upfi::io::format_snapshot_csv(s, {.coordinates = {"a", "b"}}), std::invalid_argument);
  }
}
