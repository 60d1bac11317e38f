// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Deterministic parallel loops and reductions over particle blocks.
///
/// The work is cut into blocks whose boundaries depend only on the problem size and the block size, never on the
/// number of threads. Blocks run in parallel (OpenMP when available), each writes its own output or partial result,
/// and reductions combine the partials sequentially in block order. Floating-point results are therefore
/// bit-identical for any thread count, including 1 and builds without OpenMP.

#include <upfi/config.hpp>
#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <exception>
#include <utility>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace upfi::core {

/// @brief Default number of particles per block: large enough to amortise scheduling, small enough to balance.
inline constexpr Eigen::Index default_block_size = 256;

/// @brief Number of threads a parallel loop may use (1 without OpenMP).
[[nodiscard]] inline int max_threads() noexcept {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// @brief RAII: limits parallel loops on this thread to `n` threads, restoring the previous limit on exit.
/// Without OpenMP it does nothing. Intended for tests and for callers embedding upfi in their own thread pools.
class thread_limit {
 public:
  explicit thread_limit(int n) : m_previous(max_threads()) {
    if (n < 1) detail::throw_invalid_argument("upfi::core::thread_limit: thread count ", n, " must be >= 1");
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
  }
  ~thread_limit() {
#if defined(_OPENMP)
    omp_set_num_threads(m_previous);
#endif
  }
  thread_limit(const thread_limit&) = delete;
  thread_limit& operator=(const thread_limit&) = delete;

 private:
  int m_previous;
};

/// @brief Number of blocks of size `block` covering `n` items.
[[nodiscard]] constexpr Eigen::Index block_count(Eigen::Index n, Eigen::Index block) noexcept {
  return n <= 0 ? 0 : (n + block - 1) / block;
}

/// @brief Calls `body(begin, end)` for the blocks [b*block, min(n, (b+1)*block)), in parallel.
///
/// `body` must only write state owned by its block. An exception thrown by a block is rethrown after the loop; if
/// several blocks throw, the one with the smallest block index wins (so the error is deterministic too).
/// @throws std::invalid_argument if block < 1 or n < 0.
template <class Body>
void parallel_for(Eigen::Index n, Eigen::Index block, Body&& body) {
  if (block < 1 || n < 0) {
    detail::throw_invalid_argument("upfi::core::parallel_for: need n >= 0 and block >= 1, got n = ", n,
                                   ", block = ", block);
  }
  const Eigen::Index blocks = block_count(n, block);
  if (blocks <= 1) {
    if (n > 0) body(Eigen::Index{0}, n);
    return;
  }
  std::exception_ptr first_error;
  Eigen::Index first_error_block = blocks;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (Eigen::Index b = 0; b < blocks; ++b) {
    try {
      const Eigen::Index begin = b * block;
      const Eigen::Index end = begin + block < n ? begin + block : n;
      body(begin, end);
    } catch (...) {
#if defined(_OPENMP)
#pragma omp critical(upfi_parallel_for_error)
#endif
      {
        if (b < first_error_block) {
          first_error_block = b;
          first_error = std::current_exception();
        }
      }
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

/// @brief `parallel_for` with the default block size.
template <class Body>
void parallel_for(Eigen::Index n, Body&& body) {
  parallel_for(n, default_block_size, std::forward<Body>(body));
}

/// @brief Deterministic map-reduce: `combine(...combine(combine(init, map(b0)), map(b1))..., map(bK))`, where
/// `map(begin, end)` returns the partial result of one block. Partials are computed in parallel and combined in
/// block order, so the result does not depend on the thread count.
/// @throws std::invalid_argument if block < 1 or n < 0; rethrows the first (lowest-block) exception of `map`.
template <class T, class Map, class Combine>
[[nodiscard]] T deterministic_reduce(Eigen::Index n, Eigen::Index block, T init, Map&& map, Combine&& combine) {
  std::vector<T> partials(static_cast<std::size_t>(block_count(n, block < 1 ? 1 : block)), init);
  parallel_for(n, block, [&](Eigen::Index begin, Eigen::Index end) {
    partials[static_cast<std::size_t>(begin / block)] = map(begin, end);
  });
  T result = std::move(init);
  for (auto& p : partials) result = combine(std::move(result), std::move(p));
  return result;
}

}  // namespace upfi::core
