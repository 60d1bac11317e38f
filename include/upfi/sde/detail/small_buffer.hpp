// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// IWYU pragma: private, include <upfi/sde.hpp>
/// @file
/// @brief Per-particle scratch arrays: on the stack up to N elements, on the heap beyond (no allocation for d <= N).

#include <array>
#include <cstddef>
#include <vector>

namespace upfi::sde::detail {

template <class T, std::size_t N = 64>
class small_buffer {
 public:
  explicit small_buffer(std::size_t n) : m_size(n) {
    if (n > N) m_heap.resize(n);
  }
  [[nodiscard]] T* data() noexcept { return m_size > N ? m_heap.data() : m_stack.data(); }
  [[nodiscard]] T& operator[](std::size_t i) noexcept { return data()[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return m_size; }

 private:
  std::size_t m_size;
  std::array<T, N> m_stack{};
  std::vector<T> m_heap;
};

}  // namespace upfi::sde::detail
