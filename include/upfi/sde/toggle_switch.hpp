// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Genetic toggle switch (self-activation + mutual repression) with chemical-Langevin noise and growth.
///
///     p_1 = a_1 x_1^n / (k_1^n + x_1^n) + b_1 k_1^n / (k_1^n + x_2^n),   p_2 likewise with 1 <-> 2,
///     q = x (unit degradation), V = 4, birth g(x) = g_max x_2^2 / (1 + x_2^2) with g_max = 2,
///     (a_1, a_2, b_1, b_2, k_1, k_2, n) = (2, 2, 1, 1, 1, 1, 4); X_0 ~ U(0.25, 0.75)^2 + 0.1 N(0, I), clipped at 0.
/// The set-up of the toggle-switch example of the PFI authors' library (algorithms.md §4.7).

#include <upfi/concepts/sde.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/chemical_langevin.hpp>
#include <upfi/sde/detail/generic_math.hpp>
#include <upfi/sde/with_growth.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>

namespace upfi::sde {

/// @brief Parameters of the toggle switch.
struct toggle_switch_options {
  double a1 = 2, a2 = 2;   ///< self-activation strengths
  double b1 = 1, b2 = 1;   ///< basal (repressible) production
  double k1 = 1, k2 = 1;   ///< Hill thresholds
  int hill = 4;            ///< Hill coefficient n
  double degradation = 1;  ///< linear degradation rate of both genes
  double volume = 4;       ///< system volume V
  double max_birth = 2;    ///< g_max of the birth rate g_max x_2^2 / (1 + x_2^2); 0 disables growth
};

/// @brief Production p(x) of the toggle switch.
class toggle_production {
 public:
  explicit toggle_production(const toggle_switch_options& o) : m_o(o) {
    if (o.hill < 1) core::detail::throw_invalid_argument("upfi::sde::toggle_switch: hill = ", o.hill, " must be >= 1");
    if (!(o.k1 > 0) || !(o.k2 > 0)) {
      core::detail::throw_invalid_argument("upfi::sde::toggle_switch: thresholds must be > 0");
    }
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return 2; }
  template <class T>
  void operator()(scalar_of_t<T>, const T* x, T* out) const {
    using S = scalar_of_t<T>;
    const T k1n(static_cast<S>(std::pow(m_o.k1, m_o.hill))), k2n(static_cast<S>(std::pow(m_o.k2, m_o.hill)));
    const T x1n = detail::ipow(x[0], m_o.hill), x2n = detail::ipow(x[1], m_o.hill);
    out[0] = static_cast<S>(m_o.a1) * x1n / (k1n + x1n) + static_cast<S>(m_o.b1) * k1n / (k1n + x2n);
    out[1] = static_cast<S>(m_o.a2) * x2n / (k2n + x2n) + static_cast<S>(m_o.b2) * k2n / (k2n + x1n);
  }

 private:
  toggle_switch_options m_o;
};

/// @brief Birth rate g_max x_2^2 / (1 + x_2^2) of the toggle switch.
struct toggle_birth {
  double max_birth = 2;
  template <class T>
  [[nodiscard]] T birth_rate(scalar_of_t<T>, const T* x) const {
    using S = scalar_of_t<T>;
    const T x2 = x[1] * x[1];
    return static_cast<S>(max_birth) * x2 / (S(1) + x2);
  }
};

/// @brief The toggle-switch type: chemical Langevin dynamics with a birth rate.
using toggle_switch_model = with_growth<chemical_langevin<toggle_production>, toggle_birth>;

/// @brief Builds the toggle switch (a DriftModel, NoiseModel and HasGrowth at once).
/// @throws std::invalid_argument on invalid parameters.
[[nodiscard]] inline toggle_switch_model toggle_switch(const toggle_switch_options& o = {}) {
  if (!(o.max_birth >= 0)) {
    core::detail::throw_invalid_argument("upfi::sde::toggle_switch: max_birth = ", o.max_birth, " must be >= 0");
  }
  return toggle_switch_model(
      chemical_langevin<toggle_production>(toggle_production(o),
                                           linear_degradation(Eigen::Vector2d::Constant(o.degradation)), o.volume),
      toggle_birth{o.max_birth});
}

/// @brief n initial cells U(0.25, 0.75)^2 + 0.1 N(0, I), clipped at 0 (index = cell; uniforms on counter 0,
/// normals on counter 1).
[[nodiscard]] inline Eigen::MatrixXd toggle_switch_initial_cells(Eigen::Index n, const core::counter_rng& rng) {
  Eigen::MatrixXd u(n, 2), z(n, 2);
  rng.fill_uniform(u, 0);
  rng.fill_normal(z, 1);
  return (0.25 + 0.5 * u.array() + 0.1 * z.array()).cwiseMax(0.0).matrix();
}

}  // namespace upfi::sde
