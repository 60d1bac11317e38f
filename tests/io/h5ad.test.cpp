// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Built only when HDF5 is found. Fixture: tests/fixtures/small.h5ad, written by tests/fixtures/make_h5ad_fixture.py
// with Debian's python3-anndata 0.8 (36 shuffled cells at days 2, 4, 6; X_pca[i] = (100 day + i, -i, i / 8)).
#include <upfi/io/h5ad.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {
const std::string fixture = UPFI_TEST_FIXTURES "/small.h5ad";

std::string error_of(const upfi::io::h5ad_read_options& o, const std::string& path = fixture) {
  try {
    (void)upfi::io::read_h5ad(path, o);
  } catch (const upfi::core::error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("read_h5ad: categorical and numeric time columns give the same snapshots") {
  for (const char* key : {"day", "time"}) {
    CAPTURE(key);
    const auto s = upfi::io::read_h5ad(fixture, {.embedding = "X_pca", .time_key = key});
    REQUIRE(s.size() == 3);
    CHECK(s.times() == std::vector<double>{2, 4, 6});
    CHECK(s.count(0) == 10);
    CHECK(s.count(1) == 12);
    CHECK(s.count(2) == 14);
    CHECK(s.dimension() == 3);
    CHECK(s.relative_mass(2) == doctest::Approx(1.4));
    // every cell's coordinates decode to its day and index: rows were grouped, not mixed up
    for (std::size_t k = 0; k < s.size(); ++k) {
      const auto& x = s.cloud(k);
      for (Eigen::Index r = 0; r < x.rows(); ++r) {
        const double i = -x(r, 1);
        CHECK(x(r, 0) == 100 * s.time(k) + i);
        CHECK(x(r, 2) == i / 8);
      }
    }
  }
  const auto two = upfi::io::read_h5ad(fixture, {.time_key = "day", .components = 2});
  CHECK(two.dimension() == 2);
  const auto freq =
      upfi::io::read_h5ad(fixture, {.time_key = "time", .masses = upfi::core::mass_convention::frequencies_only});
  CHECK(freq.frequencies_only());
}

TEST_CASE("read_h5ad: errors name the file and the problem") {
  CHECK(error_of({.embedding = "X_umap", .time_key = "day"}) == fixture + ": no embedding 'X_umap' in obsm");
  CHECK(error_of({.time_key = "batch"}) == fixture + ": no column 'batch' in obs");
  CHECK(error_of({.time_key = "bad"}) == fixture + ": time category 'early' of obs/bad is not a number");
  CHECK(error_of({.time_key = "gap"}) == fixture + ": cell 5 has no time (category code -1 in obs/gap)");
  CHECK(error_of({.time_key = "day", .components = 4}) ==
        fixture + ": asked for 4 components of obsm/X_pca, which has 3");
  CHECK(error_of({.time_key = "day"}, "no/such.h5ad") == "no/such.h5ad: no such file");
  CHECK(error_of({.time_key = "day"}, UPFI_TEST_FIXTURES "/make_h5ad_fixture.py") ==
        std::string(UPFI_TEST_FIXTURES "/make_h5ad_fixture.py") + ": not an HDF5 file (or unreadable)");
}
