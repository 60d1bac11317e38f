// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// The datasets shipped in data/ load with the cell counts documented in their READMEs.
#include <upfi/io/csv.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {
struct dataset {
  const char* file;
  Eigen::Index dimension;
  std::vector<double> times;
  std::vector<Eigen::Index> counts;
};

const std::vector<dataset>& datasets() {
  static const std::vector<dataset> all{
      {"emt_a549/emt_a549_ae10d.csv", 10, {0, 0.333333333, 1, 3, 7}, {577, 885, 788, 754, 129}},
      {"emt_a549/emt_a549_umap3d.csv", 3, {0, 0.333333333, 1, 3, 7}, {577, 885, 788, 754, 129}},
      {"weinreb_hematopoiesis_2d/weinreb_2d.csv", 2, {2, 4, 6}, {1429, 3781, 5788}},
      {"synthetic_grn/grn2_deepruot.csv", 2, {0, 1, 2, 3, 4}, {400, 442, 530, 690, 969}},
      {"synthetic_grn/grn3_tigon.csv", 3, {0, 1, 2, 3, 4}, {400, 433, 518, 682, 914}},
  };
  return all;
}
}  // namespace

TEST_SUITE("io/datasets") {
  TEST_CASE("every shipped dataset loads with its documented times and cells per time") {
    for (const auto& ds : datasets()) {
      CAPTURE(ds.file);
      const auto s = upfi::io::read_snapshot_csv(std::string(UPFI_DATA_DIR) + "/" + ds.file);
      CHECK(s.dimension() == ds.dimension);
      REQUIRE(s.size() == ds.times.size());
      for (std::size_t k = 0; k < s.size(); ++k) {
        CHECK(s.time(k) == ds.times[k]);
        CHECK(s.count(k) == ds.counts[k]);
      }
    }
  }

  TEST_CASE("grn2 relative masses from counts match the README's n/n0") {
    const auto s = upfi::io::read_snapshot_csv(std::string(UPFI_DATA_DIR) + "/synthetic_grn/grn2_deepruot.csv");
    const std::vector<double> expected{1, 1.105, 1.325, 1.725, 2.4225};
    for (std::size_t k = 0; k < s.size(); ++k) CHECK(s.relative_mass(k) == doctest::Approx(expected[k]).epsilon(1e-12));
  }

  TEST_CASE("the EMT side table is not a snapshot file: its time column is named time_days") {
    const auto s = upfi::io::read_snapshot_csv(std::string(UPFI_DATA_DIR) + "/emt_a549/emt_a549_cells.csv",
                                               {.time_column = "time_days", .coordinates = {"deepruot_group"}});
    CHECK(s.total_count() == 3133);
    CHECK(s.size() == 5);
  }
}
