// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Forward-mode dual numbers `a + b eps` (eps^2 = 0), nestable for second derivatives.
///
/// `dual<T>` carries a value and one directional derivative. T may be `double`, `float`, an xsimd batch (W particles
/// differentiated at once) or another dual (`dual<dual<double>>` gives second directional derivatives). Pointwise
/// generic models (design.md §4) are templates over their scalar type and call math unqualified (`exp(x)`), so
/// argument-dependent lookup finds the overloads below for duals, xsimd's for batches, and a `using std::exp;` in the
/// model finds the standard ones for built-in types.

#include <cmath>
#include <concepts>
#include <type_traits>

namespace upfi::ad {

/// @brief A dual number: value `v` and derivative `d` (in one direction).
template <class T>
struct dual {
  using value_type = T;
  T v{};  ///< value
  T d{};  ///< derivative

  constexpr dual() = default;
  /// @brief A constant (derivative zero); implicit so constants mix freely with duals.
  template <class U>
    requires std::is_arithmetic_v<U> || std::same_as<U, T>
  constexpr dual(U value) : v(static_cast<T>(value)), d(static_cast<T>(0)) {}  // NOLINT(google-explicit-constructor)
  constexpr dual(T value, T derivative) : v(value), d(derivative) {}

  constexpr dual& operator+=(const dual& o) {
    v += o.v;
    d += o.d;
    return *this;
  }
  constexpr dual& operator-=(const dual& o) {
    v -= o.v;
    d -= o.d;
    return *this;
  }
  constexpr dual& operator*=(const dual& o) {
    d = d * o.v + v * o.d;
    v *= o.v;
    return *this;
  }
  constexpr dual& operator/=(const dual& o) {
    const T inv = T(1) / o.v;
    v *= inv;
    d = (d - v * o.d) * inv;
    return *this;
  }
};

/// @brief Trait: true for dual<T>.
template <class T>
inline constexpr bool is_dual_v = false;
template <class T>
inline constexpr bool is_dual_v<dual<T>> = true;

/// @brief Value part (recursively for nested duals: the innermost value).
template <class T>
[[nodiscard]] constexpr auto value(const T& x) {
  if constexpr (is_dual_v<T>) {
    return value(x.v);
  } else {
    return x;
  }
}

/// @brief Seeds a variable: value x, derivative `seed` (1 for d/dx).
template <class T>
[[nodiscard]] constexpr dual<T> make_variable(T x, T seed = T(1)) {
  return {x, seed};
}

// ---- arithmetic (dual op dual, dual op constant, constant op dual) ----
template <class T>
[[nodiscard]] constexpr dual<T> operator+(const dual<T>& a) {
  return a;
}
template <class T>
[[nodiscard]] constexpr dual<T> operator-(const dual<T>& a) {
  return {-a.v, -a.d};
}
template <class T>
[[nodiscard]] constexpr dual<T> operator+(dual<T> a, const dual<T>& b) {
  return a += b;
}
template <class T>
[[nodiscard]] constexpr dual<T> operator-(dual<T> a, const dual<T>& b) {
  return a -= b;
}
template <class T>
[[nodiscard]] constexpr dual<T> operator*(dual<T> a, const dual<T>& b) {
  return a *= b;
}
template <class T>
[[nodiscard]] constexpr dual<T> operator/(dual<T> a, const dual<T>& b) {
  return a /= b;
}
#define UPFI_AD_MIXED_OPERATOR(op)                                                               \
  template <class T, class U>                                                                    \
    requires std::is_arithmetic_v<U>                                                             \
  [[nodiscard]] constexpr dual<T> operator op(const dual<T>& a, U b) { return a op dual<T>(b); } \
  template <class T, class U>                                                                    \
    requires std::is_arithmetic_v<U>                                                             \
  [[nodiscard]] constexpr dual<T> operator op(U a, const dual<T>& b) { return dual<T>(a) op b; }
UPFI_AD_MIXED_OPERATOR(+)
UPFI_AD_MIXED_OPERATOR(-)
UPFI_AD_MIXED_OPERATOR(*)
UPFI_AD_MIXED_OPERATOR(/)
#undef UPFI_AD_MIXED_OPERATOR

// ---- elementary functions: chain rule f(v) + f'(v) d eps ----
template <class T>
[[nodiscard]] dual<T> exp(const dual<T>& a) {
  using std::exp;
  const T e = exp(a.v);
  return {e, e * a.d};
}
template <class T>
[[nodiscard]] dual<T> log(const dual<T>& a) {
  using std::log;
  return {log(a.v), a.d / a.v};
}
template <class T>
[[nodiscard]] dual<T> sqrt(const dual<T>& a) {
  using std::sqrt;
  const T s = sqrt(a.v);
  return {s, a.d / (T(2) * s)};
}
template <class T>
[[nodiscard]] dual<T> sin(const dual<T>& a) {
  using std::cos;
  using std::sin;
  return {sin(a.v), cos(a.v) * a.d};
}
template <class T>
[[nodiscard]] dual<T> cos(const dual<T>& a) {
  using std::cos;
  using std::sin;
  return {cos(a.v), -sin(a.v) * a.d};
}
template <class T>
[[nodiscard]] dual<T> tanh(const dual<T>& a) {
  using std::tanh;
  const T t = tanh(a.v);
  return {t, (T(1) - t * t) * a.d};
}
/// @brief a^p for a constant exponent p (a > 0 unless p is a non-negative integer).
template <class T, class U>
  requires std::is_arithmetic_v<U>
[[nodiscard]] dual<T> pow(const dual<T>& a, U p) {
  using std::pow;
  const double q = static_cast<double>(p);
  T pm1;
  if constexpr (std::is_arithmetic_v<T> || is_dual_v<T>) {
    pm1 = pow(a.v, q - 1.0);
  } else {
    pm1 = pow(a.v, T(q - 1.0));  // SIMD batches take a batch exponent
  }
  return {pm1 * a.v, q * pm1 * a.d};
}

/// @brief a^b with a dual exponent (a > 0): d(a^b) = a^b (b' log a + b a' / a).
template <class T>
[[nodiscard]] dual<T> pow(const dual<T>& a, const dual<T>& b) {
  using std::log;
  using std::pow;
  const T p = pow(a.v, b.v);
  return {p, p * (b.d * log(a.v) + b.v * a.d / a.v)};
}
/// @brief c^b for a constant base c > 0 and a dual exponent.
template <class T, class U>
  requires std::is_arithmetic_v<U>
[[nodiscard]] dual<T> pow(U c, const dual<T>& b) {
  using std::exp;
  const double lc = std::log(static_cast<double>(c));
  const T p = exp(b.v * T(lc));
  return {p, p * T(lc) * b.d};
}
template <class T>
[[nodiscard]] dual<T> log1p(const dual<T>& a) {
  using std::log1p;
  return {log1p(a.v), a.d / (T(1) + a.v)};
}
template <class T>
[[nodiscard]] dual<T> expm1(const dual<T>& a) {
  using std::exp;
  using std::expm1;
  return {expm1(a.v), exp(a.v) * a.d};
}
/// @brief |a|, with derivative sign(a) (0 at a = 0). Defined for scalar value types.
template <class T>
  requires std::is_arithmetic_v<T> || is_dual_v<T>
[[nodiscard]] dual<T> abs(const dual<T>& a) {
  const bool negative = value(a.v) < 0;
  const bool zero = value(a.v) == 0;
  if (zero) return {a.v, T(0) * a.d};
  return negative ? dual<T>{-a.v, -a.d} : a;
}

// ---- comparisons on the value (the derivative part is not compared), for branching in generic models ----
#define UPFI_AD_COMPARISON(op)                                                              \
  template <class T>                                                                        \
  [[nodiscard]] constexpr auto operator op(const dual<T>& a, const dual<T>& b) {            \
    return value(a) op value(b);                                                            \
  }                                                                                         \
  template <class T, class U>                                                               \
    requires std::is_arithmetic_v<U>                                                        \
  [[nodiscard]] constexpr auto operator op(const dual<T>& a, U b) { return value(a) op b; } \
  template <class T, class U>                                                               \
    requires std::is_arithmetic_v<U>                                                        \
  [[nodiscard]] constexpr auto operator op(U a, const dual<T>& b) { return a op value(b); }
UPFI_AD_COMPARISON(<)
UPFI_AD_COMPARISON(<=)
UPFI_AD_COMPARISON(>)
UPFI_AD_COMPARISON(>=)
#undef UPFI_AD_COMPARISON

/// @brief Activating Hill function x^n / (K^n + x^n) for x >= 0, K > 0 and any real n > 0 (double, float, xsimd
/// batches, duals of these): written as 1 / (1 + (K/x)^n) evaluated as r / (1 + r) with r = (x/K)^n, and 0 at x = 0.
/// Generic over the scalar so mechanistic models get exact derivatives in x, K and n by duals.
template <class X, class K, class N>
[[nodiscard]] X hill_activation(const X& x, const K& k, const N& n) {
  using std::pow;
  const X r = pow(x / k, n);
  return r / (X(1) + r);
}
/// @brief Repressing Hill function K^n / (K^n + x^n) = 1 - hill_activation(x, K, n).
template <class X, class K, class N>
[[nodiscard]] X hill_repression(const X& x, const K& k, const N& n) {
  using std::pow;
  const X r = pow(x / k, n);
  return X(1) / (X(1) + r);
}

}  // namespace upfi::ad
