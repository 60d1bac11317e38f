// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Concepts of the optimal-transport module: ground costs and marginal penalties.
/// See docs/concepts/CostFunction.md and MarginalPenalty.md.

#include <upfi/concepts/scalar.hpp>

#include <concepts>

namespace upfi {

/// @brief A separable ground cost C(x, y) = finish(sum_k term(x_k - y_k)), evaluated on scalars and SIMD batches,
/// with the derivative pieces needed for gradients: dC/dx_k = finish_derivative(sum) * term_derivative(x_k - y_k).
/// Satisfied by upfi::ot::squared_euclidean (the default, C = |x - y|^2 / 2) and upfi::ot::euclidean.
template <class C>
concept CostFunction = requires(const C& c, double z) {
  { c.term(z) } -> std::convertible_to<double>;
  { c.finish(z) } -> std::convertible_to<double>;
  { c.term_derivative(z) } -> std::convertible_to<double>;
  { c.finish_derivative(z) } -> std::convertible_to<double>;
};

/// @brief A marginal penalty of unbalanced OT: `p.damping(eps)` is the factor kappa of the soft-min update
/// (1 for hard constraints), `p.is_balanced()` tells whether masses must match.
/// Satisfied by upfi::ot::balanced and upfi::ot::kl_penalty.
template <class P>
concept MarginalPenalty = requires(const P& p, double eps) {
  { p.damping(eps) } -> std::convertible_to<double>;
  { p.is_balanced() } -> std::convertible_to<bool>;
};

}  // namespace upfi
