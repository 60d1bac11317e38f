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

/// @brief a = act(z), elementwise, with Eigen's vectorised functions. The forms are IEEE-safe for any finite z:
/// silu = z / (1 + e^-z) (e^-z = inf gives -0), softplus = max(z, 0) + log1p(e^-|z|).
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
      a = z / (S(1) + (-z).exp());
      break;
    case activation::softplus:
      a = z.cwiseMax(S(0)) + (-z.abs()).exp().log1p();
      break;
    case activation::tanh:
      a = z.tanh();
      break;
    case activation::elu:
      a = (z > S(0)).select(z, z.expm1());
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
      // with s = sigmoid(z) = a / z written without the division: s = 1 / (1 + e^-z); silu' = s (1 + z (1 - s))
      da = (S(1) + (-z).exp()).inverse();
      da = da * (S(1) + z * (S(1) - da));
      break;
    case activation::softplus:
      da = (S(1) + (-z).exp()).inverse();
      break;
    case activation::tanh:
      da = S(1) - a.square();
      break;
    case activation::elu:
      da = (z > S(0)).select(S(1), a + S(1));
      break;  // elu'(z) = e^z = a + 1 for z <= 0
  }
}

/// @brief act''(z), elementwise, given z and a = act(z) (ReLU's second derivative is 0 almost everywhere).
template <class DerivedZ, class DerivedA, class Out>
void activation_second_derivative(activation act, const Eigen::ArrayBase<DerivedZ>& z,
                                  const Eigen::ArrayBase<DerivedA>& a, Eigen::ArrayBase<Out>& dda) {
  using S = typename DerivedZ::Scalar;
  switch (act) {
    case activation::identity:
    case activation::relu:
      dda.setZero();
      break;
    case activation::silu:
      // s = sigmoid(z): silu'' = s (1 - s) (2 + z (1 - 2 s))
      dda = (S(1) + (-z).exp()).inverse();
      dda = dda * (S(1) - dda) * (S(2) + z * (S(1) - S(2) * dda));
      break;
    case activation::softplus:
      dda = (S(1) + (-z).exp()).inverse();
      dda = dda * (S(1) - dda);
      break;
    case activation::tanh:
      dda = S(-2) * a * (S(1) - a.square());
      break;
    case activation::elu:
      dda = (z > S(0)).select(S(0), a + S(1));
      break;
  }
}

}  // namespace upfi::nn
