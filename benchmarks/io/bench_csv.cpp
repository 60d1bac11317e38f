// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// CSV parsing and formatting throughput on the largest shipped dataset (Weinreb 2-D, 10,998 cells), from memory.
#include <upfi/io/csv.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

namespace {
std::string load_text() {
  std::ifstream in(std::string(UPFI_DATA_DIR) + "/weinreb_hematopoiesis_2d/weinreb_2d.csv", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void BM_parse_snapshot_csv(benchmark::State& state) {
  const std::string text = load_text();
  if (upfi::io::parse_snapshot_csv(text).total_count() != 10998) std::abort();  // validate before timing
  for (auto _ : state) {
    auto s = upfi::io::parse_snapshot_csv(text);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}

void BM_format_snapshot_csv(benchmark::State& state) {
  const auto series = upfi::io::parse_snapshot_csv(load_text());
  if (upfi::io::parse_snapshot_csv(upfi::io::format_snapshot_csv(series)).cloud(2) != series.cloud(2)) std::abort();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto text = upfi::io::format_snapshot_csv(series);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}
}  // namespace

BENCHMARK(BM_parse_snapshot_csv)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_format_snapshot_csv)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
