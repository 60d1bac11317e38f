// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Scalar and cloud concepts shared by every module. See docs/concepts/RealScalar.md and CloudMatrix.md.

#include <Eigen/Core>

#include <concepts>
#include <type_traits>

namespace upfi {

/// @brief A real floating-point scalar: `float`, `double` or `long double`.
/// Satisfied by the built-in floating types; not by integers, complex numbers or dual numbers.
template <class T>
concept RealScalar = std::floating_point<T>;

/// @brief The real scalar underlying a scalar-like type: T for float/double, `S` for `xsimd::batch<S, A>` and for
/// `upfi::ad::dual<...<S>>` (through their `value_type`). Pointwise generic models receive time as this type.
template <class T>
struct scalar_of {
  using type = typename scalar_of<typename T::value_type>::type;
};
template <std::floating_point T>
struct scalar_of<T> {
  using type = T;
};
/// @brief Shorthand for scalar_of<T>::type.
template <class T>
using scalar_of_t = typename scalar_of<T>::type;

/// @brief Atom: an Eigen dense expression whose scalar is a RealScalar.
template <class M>
concept HasRealEigenScalar = std::derived_from<std::remove_cvref_t<M>, Eigen::DenseBase<std::remove_cvref_t<M>>> &&
    RealScalar<typename std::remove_cvref_t<M>::Scalar>;

/// @brief Atom: the expression is stored column-major (coordinate k of consecutive particles is contiguous,
/// so SIMD lanes map to particles). Vectors (one column) count as column-major.
template <class M>
concept IsColumnMajor = HasRealEigenScalar<M> &&
    (!bool(std::remove_cvref_t<M>::IsRowMajor) || std::remove_cvref_t<M>::ColsAtCompileTime == 1);

/// @brief A particle cloud: an `N x d` Eigen dense object, one row per particle, real scalar, column-major.
/// Satisfied by `Eigen::MatrixXd`, `Eigen::MatrixXf`, blocks and maps of them, and `upfi::core::cloud_matrix<S>`.
template <class M>
concept CloudMatrix = HasRealEigenScalar<M> && IsColumnMajor<M>;

}  // namespace upfi
