// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Elementwise activations of the batched MLP, with their derivatives (from the pre-activation z and the
/// output a = act(z), whichever is cheaper), and names for serialisation.

#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>
#include <string>
#include <string_view>

namespace upfi::nn {

/// @brief Activation functions. ReLU's derivative at 0 is taken as 0 (a valid subgradient).
enum class activation { identity, relu, silu, softplus, tanh, elu };

/// @brief Name used in saved models ("identity", "relu", "silu", "softplus", "tanh", "elu").
[[nodiscard]] inline const char* to_string(activation a) noexcept {
  switch (a) {
    case activation::identity:
      return "identity";
    case activation::relu:
      return "relu";
    case activation::silu:
      return "silu";
    case activation::softplus:
      return "softplus";
    case activation::tanh:
      return "tanh";
    case activation::elu:
      return "elu";
  }
  return "identity";
}

/// @brief Inverse of to_string. @throws std::invalid_argument for an unknown name.
[[nodiscard]] inline activation activation_from_string(std::string_view name) {
  for (activation a : {activation::identity, activation::relu, activation::silu, activation::softplus, activation::tanh,
                       activation::elu}) {
    if (name == to_string(a)) return a;
  }
  core::detail::throw_invalid_argument("upfi::nn::activation_from_string: unknown activation '", name,
                                       "' (identity, relu, silu, softplus, tanh, elu)");
}

namespace detail {
// softplus(z) = log(1 + e^z), computed without overflow: max(z, 0) + log1p(exp(-|z|)).
template <class S>
S softplus(S z) {
  return std::max(z, S(0)) + std::log1p(std::exp(-std::abs(z)));
}
template <class S>
S sigmoid(S z) {
  return z >= 0 ? S(1) / (S(1) + std::exp(-z)) : std::exp(z) / (S(1) + std::exp(z));
}
}  // namespace detail

/// @brief a = act(z), elementwise.
template <class Derived, class Out>
void apply_activation(activation act, const Eigen::ArrayBase<Derived>& z, Eigen::ArrayBase<Out>& a) {
  using S = typename Derived::Scalar;
  switch (act) {
    case activation::identity:
      a = z;
      break;
    case activation::relu:
      a = z.cwiseMax(S(0));
      break;
    case activation::silu:
      a = z.unaryExpr([](S v) { return v * detail::sigmoid(v); });
      break;
    case activation::softplus:
      a = z.unaryExpr([](S v) { return detail::softplus(v); });
      break;
    case activation::tanh:
      a = z.tanh();
      break;
    case activation::elu:
      a = z.unaryExpr([](S v) { return v > 0 ? v : std::expm1(v); });
      break;
  }
}

/// @brief act'(z), elementwise, given z and a = act(z).
template <class DerivedZ, class DerivedA, class Out>
void activation_derivative(activation act, const Eigen::ArrayBase<DerivedZ>& z, const Eigen::ArrayBase<DerivedA>& a,
                           Eigen::ArrayBase<Out>& da) {
  using S = typename DerivedZ::Scalar;
  switch (act) {
    case activation::identity:
      da.setOnes();
      break;
    case activation::relu:
      da = (z > S(0)).template cast<S>();
      break;
    case activation::silu:
      da = z.unaryExpr([](S v) {
        const S s = detail::sigmoid(v);
        return s * (S(1) + v * (S(1) - s));
      });
      break;
    case activation::softplus:
      da = z.unaryExpr([](S v) { return detail::sigmoid(v); });
      break;
    case activation::tanh:
      da = S(1) - a.square();
      break;
    case activation::elu:
      da = (z > S(0)).select(S(1), a + S(1));
      break;  // elu'(z) = e^z = a + 1 for z <= 0
  }
}

}  // namespace upfi::nn
