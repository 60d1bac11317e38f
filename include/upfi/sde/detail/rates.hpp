// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// IWYU pragma: private, include <upfi/sde.hpp>
/// @file
/// @brief Birth and death rates of a model, zero where the model has none.

#include <upfi/concepts/sde.hpp>

namespace upfi::sde::detail {

template <class M, class T>
constexpr bool has_rates = HasBirthRate<M, T> || HasDeathRate<M, T>;

template <class M, class T>
T birth_of(const M& m, scalar_of_t<T> t, const T* x) {
  if constexpr (HasBirthRate<M, T>) {
    return m.birth_rate(t, x);
  } else {
    return T(0);
  }
}

template <class M, class T>
T death_of(const M& m, scalar_of_t<T> t, const T* x) {
  if constexpr (HasDeathRate<M, T>) {
    return m.death_rate(t, x);
  } else {
    return T(0);
  }
}

}  // namespace upfi::sde::detail
