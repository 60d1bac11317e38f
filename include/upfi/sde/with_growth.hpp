// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Attach birth and death rates to any drift model (and forward its noise interface, if it has one).

#include <upfi/concepts/sde.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/detail/rates.hpp>

#include <Eigen/Core>

#include <utility>

namespace upfi::sde {

/// @brief `Model` plus the birth/death rates of `Growth` (which provides `birth_rate(t, x)` and/or `death_rate(t, x)`
/// as pointwise generic functions). Models DriftModel and HasGrowth; models NoiseModel when `Model` does.
template <class Model, class Growth>
class with_growth {
  static_assert(DriftModel<Model>,
                "upfi::sde::with_growth: Model must model upfi::DriftModel (dimension() and a "
                "pointwise generic drift(t, x, v))");
  static_assert(HasGrowth<Growth>,
                "upfi::sde::with_growth: Growth must provide birth_rate(t, x) and/or "
                "death_rate(t, x) as pointwise generic functions");

 public:
  static constexpr bool nonnegative = requires { requires Model::nonnegative; };
  static constexpr bool is_additive = requires { requires Model::is_additive; };

  with_growth(Model model, Growth growth) : m_model(std::move(model)), m_growth(std::move(growth)) {}

  [[nodiscard]] const Model& base() const noexcept { return m_model; }
  [[nodiscard]] const Growth& growth() const noexcept { return m_growth; }
  [[nodiscard]] Eigen::Index dimension() const { return m_model.dimension(); }

  template <class T>
  void drift(scalar_of_t<T> t, const T* x, T* v) const {
    m_model.drift(t, x, v);
  }
  template <class T>
  [[nodiscard]] T birth_rate(scalar_of_t<T> t, const T* x) const {
    return detail::birth_of(m_growth, t, x);
  }
  template <class T>
  [[nodiscard]] T death_rate(scalar_of_t<T> t, const T* x) const {
    return detail::death_of(m_growth, t, x);
  }

  // Noise interface of the wrapped model, when present (e.g. chemical_langevin).
  [[nodiscard]] Eigen::Index noise_dimension() const requires HasNoiseIncrement<Model> {
    return m_model.noise_dimension();
  }
  template <class T>
  void increment(scalar_of_t<T> t, const T* x, const T* db, T* out) const requires HasNoiseIncrement<Model, T> {
    m_model.increment(t, x, db, out);
  }
  template <class T>
  void diagonal(scalar_of_t<T> t, const T* x, T* s) const requires HasDiagonalNoise<Model, T> {
    m_model.diagonal(t, x, s);
  }
  template <class T>
  void divergence(scalar_of_t<T> t, const T* x, T* out) const requires HasDiagonalNoise<Model, T> {
    m_model.divergence(t, x, out);
  }
  [[nodiscard]] Eigen::MatrixXd diffusion_tensor(double t,
                                                 const Eigen::VectorXd& x) const requires HasDiffusionTensor<Model> {
    return m_model.diffusion_tensor(t, x);
  }
  [[nodiscard]] Eigen::VectorXd divergence(double t,
                                           const Eigen::VectorXd& x) const requires HasDiffusionTensor<Model> {
    return m_model.divergence(t, x);
  }

 private:
  Model m_model;
  Growth m_growth;
};

}  // namespace upfi::sde
