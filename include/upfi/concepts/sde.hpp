// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Concepts of the SDE module: pointwise generic drift and growth models, noise models.
/// See docs/concepts/DriftModel.md and NoiseModel.md.
///
/// A *pointwise generic* model is written once as a template over a scalar-like type T and evaluated on one particle:
/// `x` points to its d coordinates, outputs go to `out`. The library instantiates it with T = double or float (a
/// reference evaluation), with T = xsimd::batch<S> (W particles per call: the SIMD hot path; coordinate k of the W
/// particles is one batch) and with T = upfi::ad::dual<...> (derivatives). Time is passed as the underlying real
/// scalar `scalar_of_t<T>`. Models call math unqualified (`tanh(x)`) after `using std::tanh;`.
///
/// Convention: dX = v(t, X) dt + sigma(t, X) dB, D = sigma sigma^T / 2; cells divide at rate b(t, X) and die at rate
/// d(t, X) (net growth g = b - d).

#include <upfi/concepts/scalar.hpp>

#include <Eigen/Core>

#include <concepts>

namespace upfi {

/// @brief Atom: the model reports its state dimension d.
template <class M>
concept HasDimension = requires(const M& m) {
  { m.dimension() } -> std::convertible_to<Eigen::Index>;
};

/// @brief Atom: `m.drift(t, x, v)` evaluates the drift of one particle (or one batch of particles) for scalar type T.
template <class M, class T = double>
concept HasPointwiseDrift = requires(const M& m, scalar_of_t<T> t, const T* x, T* v) {
  m.drift(t, x, v);
};

/// @brief Atom: `m.birth_rate(t, x)` is the division rate b >= 0 of a cell at x.
template <class M, class T = double>
concept HasBirthRate = requires(const M& m, scalar_of_t<T> t, const T* x) {
  { m.birth_rate(t, x) } -> std::convertible_to<T>;
};

/// @brief Atom: `m.death_rate(t, x)` is the death rate d >= 0 of a cell at x.
template <class M, class T = double>
concept HasDeathRate = requires(const M& m, scalar_of_t<T> t, const T* x) {
  { m.death_rate(t, x) } -> std::convertible_to<T>;
};

/// @brief A drift model: a dimension and a pointwise generic drift (checked for T = double).
/// Satisfied by upfi::sde::ornstein_uhlenbeck, bistable, toggle_switch, hill_network, chemical_langevin.
template <class M>
concept DriftModel = HasDimension<M> && HasPointwiseDrift<M, double>;

/// @brief Atom: the model has a birth or a death rate (branching dynamics; UPFI's g = b - d).
template <class M, class T = double>
concept HasGrowth = HasBirthRate<M, T> || HasDeathRate<M, T>;

/// @brief Atom: pointwise Brownian increment `n.increment(t, x, dB, out)`: out = sigma(t, x) dB, where dB holds
/// n.noise_dimension() Brownian increments.
template <class N, class T = double>
concept HasNoiseIncrement = requires(const N& n, scalar_of_t<T> t, const T* x, const T* db, T* out) {
  { n.noise_dimension() } -> std::convertible_to<Eigen::Index>;
  n.increment(t, x, db, out);
};

/// @brief Atom: diagonal noise, `n.diagonal(t, x, s)` writes sigma_ii(t, x) (noise_dimension() == dimension()).
template <class N, class T = double>
concept HasDiagonalNoise = requires(const N& n, scalar_of_t<T> t, const T* x, T* s) {
  n.diagonal(t, x, s);
};

/// @brief Atom: the diffusion tensor D(t, x) (d x d) and its row divergence (div D)_i = sum_j d_j D_ij at a point.
template <class N>
concept HasDiffusionTensor = requires(const N& n, double t, const Eigen::VectorXd& x) {
  { n.diffusion_tensor(t, x) } -> std::convertible_to<Eigen::MatrixXd>;
  { n.divergence(t, x) } -> std::convertible_to<Eigen::VectorXd>;
};

/// @brief Atom: additive noise, sigma independent of the state and time: `N::is_additive` is true and
/// `n.sigma_matrix()` is the constant d x m matrix.
template <class N>
concept IsAdditiveNoise = requires(const N& n) {
  requires N::is_additive;
  { n.sigma_matrix() } -> std::convertible_to<Eigen::MatrixXd>;
};

/// @brief A noise model: dimension, pointwise increments (T = double) and the diffusion tensor with its divergence.
/// Satisfied by upfi::sde::additive_isotropic, additive_diagonal, constant_matrix, diagonal_noise, chemical_langevin.
template <class N>
concept NoiseModel = HasDimension<N> && HasNoiseIncrement<N, double> && HasDiffusionTensor<N>;

}  // namespace upfi
