// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/index.md (core) and docs/simd.md quote the regions between "// [name]" markers verbatim (checked by the test
// docs/snippets). Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/core.hpp>
#include <upfi/simd.hpp>

#include "tour_check.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

int main() {
  // [series]
  // Snapshots: times t_0 < ... < t_K, one N_i x d cloud each; relative masses M_i = N_i / N_0 from the counts
  Eigen::MatrixXd day0(100, 2), day1(150, 2), day2(300, 2);
  const upfi::core::counter_rng rng(42);  // counter-based: a draw is a function of (seed, stream, index, counter)
  rng.fill_normal(day0, 0);
  rng.with_stream(1).fill_normal(day1, 0);
  rng.with_stream(2).fill_normal(day2, 0);
  const upfi::core::snapshot_series<double> series({0.0, 1.0, 2.0}, {day0, day1, day2});
  std::printf("masses %.1f %.1f %.1f; pooled mean (%.3f, %.3f)\n", series.relative_mass(0), series.relative_mass(1),
              series.relative_mass(2), series.pooled_mean()[0], series.pooled_mean()[1]);
  const auto held_out = series.without(1);  // leave-one-out keeps the masses relative to the original t_0
  std::printf("without t = 1: times %.0f %.0f, masses %.1f %.1f\n", held_out.time(0), held_out.time(1),
              held_out.relative_mass(0), held_out.relative_mass(1));
  // [series]
  tour::expect(series.relative_mass(2) == 3.0 && held_out.relative_mass(1) == 3.0, "masses are N_i / N_0");

  // [reduce]
  // Parallel loops cut work into blocks that depend on the problem size only: same bits for any thread count
  const auto sum_of_squares = [&] {
    return upfi::core::deterministic_reduce(
        day2.rows(), 64, 0.0,
        [&](Eigen::Index begin, Eigen::Index end) { return day2.middleRows(begin, end - begin).squaredNorm(); },
        [](double a, double b) { return a + b; });
  };
  double one = 0, two = 0;
  {
    const upfi::core::thread_limit limit(1);
    one = sum_of_squares();
  }
  {
    const upfi::core::thread_limit limit(2);
    two = sum_of_squares();
  }
  std::printf("sum of squares: %.17g with 1 thread, %.17g with 2\n", one, two);
  // [reduce]
  tour::expect(one == two, "bit-identical for 1 and 2 threads");
  // E|z|^2 = 2 per row in d = 2: 600 for 300 rows, standard deviation 2 sqrt(300) = 35
  tour::expect(std::abs(one - 600.0) < 4 * 35.0, "normals have unit variance");

  // [simd]
  // W normals at once (W = lanes of the translation unit's widest double batch), equal to the scalar draws
  const auto [z1, z2] = upfi::simd::normal_pair_batch(rng, /*first_index=*/0, /*counter=*/7);
  constexpr std::size_t lanes = upfi::simd::batch_size<double>;
  std::array<double, lanes> first{}, second{};
  z1.store_unaligned(first.data());
  z2.store_unaligned(second.data());
  double worst = 0;
  for (std::size_t l = 0; l < lanes; ++l) {
    const auto scalar = rng.normal_pair(l, 7);  // the same draw, one particle at a time
    worst = std::max(worst, std::abs(first[l] - scalar[0]) + std::abs(second[l] - scalar[1]));
  }
  std::printf("%zu lanes; largest difference to the scalar normals %.1e\n", lanes, worst);
  // [simd]
  tour::expect(worst < 1e-12, "SIMD normals equal the scalar oracle to a few ulps");
  return tour::exit_code();
}
