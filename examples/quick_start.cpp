// NOTE: README.md quotes this file verbatim (checked by the test readme/quick_start); keep them in sync.
#include <upfi/upfi.hpp>

#include <cstdio>

int main() {
  // Snapshots of a 2-gene network with growth, shipped in data/ (CSV: time,x0,x1).
  const auto series = upfi::io::read_snapshot_csv(UPFI_DATA_DIR "/synthetic_grn/grn2_deepruot.csv");
  for (std::size_t k = 0; k < series.size(); ++k) {
    std::printf("t = %g: %ld cells, relative mass %.3f\n", series.time(k), static_cast<long>(series.count(k)),
                series.relative_mass(k));
  }
  // Reproducible noise: draw (index, counter) is the same on any thread count.
  const upfi::core::counter_rng rng(/*seed=*/42);
  Eigen::MatrixXd noise(series.count(0), series.dimension());
  rng.fill_normal(noise, /*counter=*/0);
  std::printf("first Brownian increment: %.6f %.6f\n", noise(0, 0), noise(0, 1));
}
