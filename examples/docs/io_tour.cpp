// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/io.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold. Usage: io_tour [output.svg]
#include <upfi/io.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  const std::string out = argc > 1 ? argv[1] : "snapshots.svg";
  // [csv]
  // CSV snapshots (time,x0,x1,...): rows grouped by time, masses from the cell counts
  const auto data = upfi::io::read_snapshot_csv(UPFI_DATA_DIR "/synthetic_grn/grn2_deepruot.csv");
  for (std::size_t k = 0; k < data.size(); ++k)
    std::printf("t = %g: %ld cells, relative mass %.2f\n", data.time(k), static_cast<long>(data.count(k)),
                data.relative_mass(k));
  // [csv]

  // [svg]
  // Snapshots coloured by time, as a dependency-free SVG file
  upfi::io::svg_plot p({.title = "snapshots", .x_label = "x0", .y_label = "x1"});
  for (std::size_t k = 0; k < data.size(); ++k)
    p.scatter(data.cloud(k).col(0), data.cloud(k).col(1), upfi::io::palette(k), "t = " + std::to_string(data.time(k)));
  p.save(out);
  // [svg]
  std::ifstream in(out);
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool ok = data.size() >= 2 && svg.rfind("<svg", 0) == 0 && svg.find("t = 0") != std::string::npos;
  if (!ok) std::fprintf(stderr, "io_tour: FAILED: %s is not the expected picture\n", out.c_str());
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
