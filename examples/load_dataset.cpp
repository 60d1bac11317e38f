// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Load a snapshot CSV (default: the shipped 2-gene GRN with growth) and print cells, relative masses and the pooled
// spread per time. Usage: load_dataset [file.csv] [--time-column NAME] [--frequencies-only]
#include <upfi/core.hpp>
#include <upfi/io.hpp>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) try {
  std::string file = std::string(UPFI_DATA_DIR) + "/synthetic_grn/grn2_deepruot.csv";
  upfi::io::csv_read_options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--time-column" && i + 1 < argc) {
      options.time_column = argv[++i];
    } else if (a == "--frequencies-only") {
      options.masses = upfi::core::mass_convention::frequencies_only;
    } else {
      file = a;
    }
  }
  const auto series = upfi::io::read_snapshot_csv(file, options);
  std::printf("%s: %zu snapshots, d = %ld, %ld cells, masses: %s\n", file.c_str(), series.size(),
              static_cast<long>(series.dimension()), static_cast<long>(series.total_count()),
              upfi::core::to_string(series.masses()));
  for (std::size_t k = 0; k < series.size(); ++k) {
    std::printf("  t = %-8g N = %-6ld M = %.4f\n", series.time(k), static_cast<long>(series.count(k)),
                series.relative_mass(k));
  }
  const auto std_dev = series.pooled_std();
  std::printf("  pooled std per coordinate:");
  for (Eigen::Index j = 0; j < std_dev.size(); ++j) std::printf(" %.4f", std_dev(j));
  std::printf("\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "load_dataset: %s\n", e.what());
  return 1;
}
