// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Counter-based random numbers: every draw is a pure function of (seed, stream, index, counter).
///
/// There is no hidden state to advance, so any loop over particles can be split across threads in any way and still
/// produce the same numbers: particle `index` at step `counter` always sees the same draw. Conventions used across
/// upfi: `index` is the particle (or sample) number, `counter` the step or draw number for that particle, and
/// `stream` separates independent purposes (initial states, Brownian increments, division events, minibatches, ...).
///
/// Mapping onto Philox4x32-10: key = the 64-bit seed; counter words = (index low, index high, counter, stream).
/// One Philox call yields 128 bits: two 53-bit uniforms, or two standard normals (Box-Muller).

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/core/philox.hpp>

#include <Eigen/Core>

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace upfi::core {

/// @brief Seeded counter-based generator (Philox4x32-10). Cheap to copy; all members are const.
class counter_rng {
 public:
  /// @brief A generator for `seed`, on stream `stream`.
  explicit constexpr counter_rng(std::uint64_t seed, std::uint32_t stream = 0) noexcept
      : m_seed(seed), m_stream(stream) {}

  /// @brief The same seed on another stream (independent draws for another purpose).
  [[nodiscard]] constexpr counter_rng with_stream(std::uint32_t stream) const noexcept {
    return counter_rng(m_seed, stream);
  }
  [[nodiscard]] constexpr std::uint64_t seed() const noexcept { return m_seed; }
  [[nodiscard]] constexpr std::uint32_t stream() const noexcept { return m_stream; }

  /// @brief The 128 raw bits of block (index, counter).
  [[nodiscard]] constexpr philox_counter bits(std::uint64_t index, std::uint32_t counter) const noexcept {
    return philox4x32<10>(
        {static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), counter, m_stream},
        {static_cast<std::uint32_t>(m_seed), static_cast<std::uint32_t>(m_seed >> 32)});
  }

  /// @brief Two uniforms in the open interval (0, 1) with 53 random bits each (never 0, never 1).
  [[nodiscard]] constexpr std::array<double, 2> uniform_pair(std::uint64_t index,
                                                             std::uint32_t counter) const noexcept {
    const philox_counter w = bits(index, counter);
    return {to_open_unit(w[0], w[1]), to_open_unit(w[2], w[3])};
  }

  /// @brief One uniform in (0, 1): the first of uniform_pair(index, counter).
  template <RealScalar T = double>
  [[nodiscard]] T uniform(std::uint64_t index, std::uint32_t counter) const noexcept {
    return static_cast<T>(uniform_pair(index, counter)[0]);
  }

  /// @brief Two independent standard normals (Box-Muller on uniform_pair; double precision internally).
  [[nodiscard]] std::array<double, 2> normal_pair(std::uint64_t index, std::uint32_t counter) const noexcept {
    const auto [u1, u2] = uniform_pair(index, counter);
    const double r = std::sqrt(-2.0 * std::log(u1));  // u1 in (0,1): the log is finite, r <= 8.6
    const double theta = 2.0 * std::numbers::pi * u2;
    return {r * std::cos(theta), r * std::sin(theta)};
  }

  /// @brief One standard normal: the first of normal_pair(index, counter).
  template <RealScalar T = double>
  [[nodiscard]] T normal(std::uint64_t index, std::uint32_t counter) const noexcept {
    return static_cast<T>(normal_pair(index, counter)[0]);
  }

  /// @brief Number of consecutive counters one d-vector of normals (or uniforms) consumes: ceil(d / 2).
  [[nodiscard]] static constexpr std::uint32_t counters_per_vector(Eigen::Index d) noexcept {
    return static_cast<std::uint32_t>((d + 1) / 2);
  }

  /// @brief Fills `out` (N x d) with standard normals. Row i uses index `first_index + i`; coordinates 2j and 2j+1
  /// come from counter `counter + j`, so one row consumes counters_per_vector(d) counters. Parallel over rows and
  /// bit-identical for any thread count.
  template <class Derived>
  void fill_normal(const Eigen::MatrixBase<Derived>& out, std::uint32_t counter, std::uint64_t first_index = 0) const {
    fill(out, counter, first_index, [this](std::uint64_t i, std::uint32_t c) { return normal_pair(i, c); });
  }

  /// @brief Fills `out` (N x d) with uniforms in (0, 1); same index/counter layout as fill_normal.
  template <class Derived>
  void fill_uniform(const Eigen::MatrixBase<Derived>& out, std::uint32_t counter, std::uint64_t first_index = 0) const {
    fill(out, counter, first_index, [this](std::uint64_t i, std::uint32_t c) { return uniform_pair(i, c); });
  }

 private:
  // 53 high bits of the 64-bit word, centred in their cell: (k + 1/2) 2^-53 lies in (0, 1) for every k.
  static constexpr double to_open_unit(std::uint32_t lo, std::uint32_t hi) noexcept {
    const std::uint64_t word = (std::uint64_t{hi} << 32) | lo;
    return (static_cast<double>(word >> 11) + 0.5) * 0x1.0p-53;
  }

  template <class Derived, class Pair>
  void fill(const Eigen::MatrixBase<Derived>& out_const, std::uint32_t counter, std::uint64_t first_index,
            Pair pair) const {
    // Eigen idiom for writing into an expression passed by const reference (blocks, maps).
    auto& out = const_cast<Eigen::MatrixBase<Derived>&>(out_const);
    using S = typename Derived::Scalar;
    const Eigen::Index d = out.cols();
    parallel_for(out.rows(), [&](Eigen::Index begin, Eigen::Index end) {
      for (Eigen::Index i = begin; i < end; ++i) {
        const std::uint64_t index = first_index + static_cast<std::uint64_t>(i);
        for (Eigen::Index j = 0; j < d; j += 2) {
          const auto z = pair(index, counter + static_cast<std::uint32_t>(j / 2));
          out(i, j) = static_cast<S>(z[0]);
          if (j + 1 < d) out(i, j + 1) = static_cast<S>(z[1]);
        }
      }
    });
  }

  std::uint64_t m_seed;
  std::uint32_t m_stream;
};

}  // namespace upfi::core
