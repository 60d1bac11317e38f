// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Closed-form reference: an OU population with quadratic fitness stays Gaussian (UPFI Proposition 2.1).
///
/// For v = A x + e, constant D and g(x) = x^T Gamma x / 2 + c^T x + b (Gamma <= 0), rho_t = m_t N(mu_t, Sigma_t) with
///
///     dm/dt     = m (b + c^T mu + mu^T Gamma mu / 2 + tr(Gamma Sigma) / 2)
///     dmu/dt    = A mu + e + Sigma (Gamma mu + c)
///     dSigma/dt = A Sigma + Sigma A^T + 2 D + Sigma Gamma Sigma
///
/// integrated here with classical RK4 (log m is integrated, so the mass cannot go negative).
/// @see algorithms.md §5.7.1; Zhang, Maddu, Qiu, Chardes (2025), arXiv:2505.13197, Prop. 2.1.

#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>

namespace upfi::problems {

/// @brief Mass, mean and covariance of the Gaussian population.
struct gaussian_population {
  double mass = 1;
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
};

/// @brief Integrates the moment ODEs from `start` over a time `t` with `steps` RK4 steps.
/// @throws std::invalid_argument on inconsistent sizes or steps < 1.
[[nodiscard]] inline gaussian_population ou_growth_moments(const Eigen::MatrixXd& a, const Eigen::VectorXd& e,
                                                           const Eigen::MatrixXd& diffusion,
                                                           const Eigen::MatrixXd& gamma, const Eigen::VectorXd& c,
                                                           double b, const gaussian_population& start, double t,
                                                           int steps = 2000) {
  const Eigen::Index d = a.rows();
  if (a.cols() != d || e.size() != d || diffusion.rows() != d || gamma.rows() != d || c.size() != d ||
      start.mean.size() != d || start.covariance.rows() != d || steps < 1) {
    core::detail::throw_invalid_argument("upfi::problems::ou_growth_moments: inconsistent sizes or steps < 1");
  }
  struct state {
    double log_mass;
    Eigen::VectorXd mu;
    Eigen::MatrixXd sigma;
  };
  const auto rhs = [&](const state& s) {
    state r;
    r.log_mass = b + c.dot(s.mu) + 0.5 * s.mu.dot(gamma * s.mu) + 0.5 * (gamma * s.sigma).trace();
    r.mu = a * s.mu + e + s.sigma * (gamma * s.mu + c);
    r.sigma = a * s.sigma + s.sigma * a.transpose() + 2.0 * diffusion + s.sigma * gamma * s.sigma;
    return r;
  };
  const auto axpy = [](const state& s, double h, const state& k) {
    return state{s.log_mass + h * k.log_mass, s.mu + h * k.mu, s.sigma + h * k.sigma};
  };
  state s{std::log(start.mass), start.mean, start.covariance};
  const double h = t / steps;
  for (int i = 0; i < steps; ++i) {
    const state k1 = rhs(s);
    const state k2 = rhs(axpy(s, h / 2, k1));
    const state k3 = rhs(axpy(s, h / 2, k2));
    const state k4 = rhs(axpy(s, h, k3));
    s.log_mass += h / 6 * (k1.log_mass + 2 * k2.log_mass + 2 * k3.log_mass + k4.log_mass);
    s.mu += h / 6 * (k1.mu + 2 * k2.mu + 2 * k3.mu + k4.mu);
    s.sigma += h / 6 * (k1.sigma + 2 * k2.sigma + 2 * k3.sigma + k4.sigma);
  }
  return {std::exp(s.log_mass), s.mu, 0.5 * (s.sigma + s.sigma.transpose())};
}

}  // namespace upfi::problems
