// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// k-sigma checks of sample means and covariances of a cloud against exact Gaussian moments.
#include <Eigen/Core>
#include <doctest/doctest.h>

#include <cmath>

namespace upfi::test {

/// Checks |sample mean - mean| < k sqrt(Sigma_ii / n_eff) + bias and |sample cov - cov| < k sqrt((S_ii S_jj +
/// S_ij^2) / n_eff) + bias, per entry (Gaussian formulas for the standard errors).
inline void check_gaussian_moments(const Eigen::MatrixXd& x, const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov,
                                   double k = 5.0, double n_eff = 0, double bias = 0) {
  const double n = n_eff > 0 ? n_eff : static_cast<double>(x.rows());
  const Eigen::VectorXd m = x.colwise().mean();
  const Eigen::MatrixXd c =
      (x.rowwise() - m.transpose()).transpose() * (x.rowwise() - m.transpose()) / static_cast<double>(x.rows() - 1);
  for (Eigen::Index i = 0; i < mean.size(); ++i) {
    CAPTURE(i);
    CHECK(std::abs(m[i] - mean[i]) < k * std::sqrt(cov(i, i) / n) + bias);
    for (Eigen::Index j = 0; j < mean.size(); ++j) {
      CAPTURE(j);
      CHECK(std::abs(c(i, j) - cov(i, j)) < k * std::sqrt((cov(i, i) * cov(j, j) + cov(i, j) * cov(i, j)) / n) + bias);
    }
  }
}

/// Least-squares slope of log(err) against log(h): the observed convergence order.
template <class Container>
double observed_order(const Container& h, const Container& err) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) {
    const double lx = std::log(h[i]), ly = std::log(err[i]);
    sx += lx;
    sy += ly;
    sxx += lx * lx;
    sxy += lx * ly;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

}  // namespace upfi::test
