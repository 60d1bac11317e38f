// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Kernel discrepancies between weighted clouds: the energy distance (full Szekely-Rizzo statistic) and the
/// Gaussian maximum mean discrepancy.
///
///     E(P, Q)     = 2 E|X - Y| - E|X - X'| - E|Y - Y'|                       (>= 0, = 0 iff P = Q)
///     MMD^2(P, Q) = E k(X, X') + E k(Y, Y') - 2 E k(X, Y),  k(x, y) = exp(-|x - y|^2 / (2 sigma^2))
///
/// Expectations use the given probability weights (normalised internally) and include the diagonal pairs
/// (V-statistics). GeomLoss's SamplesLoss("energy") returns E / 2; upfi returns E (say which in reports).

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>

#include <Eigen/Core>

#include <cmath>

namespace upfi::ot {

namespace detail {
// sum_ij w_i v_j phi(|x_i - y_j|^2), deterministic blocked reduction over rows.
template <class S, class Phi>
S pairwise_sum(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& x, const Eigen::Matrix<S, Eigen::Dynamic, 1>& w,
               const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& y, const Eigen::Matrix<S, Eigen::Dynamic, 1>& v,
               Phi phi) {
  return core::deterministic_reduce(
      x.rows(), 64, S(0),
      [&](Eigen::Index begin, Eigen::Index end) {
        S s = 0;
        for (Eigen::Index i = begin; i < end; ++i) {
          const Eigen::Matrix<S, Eigen::Dynamic, 1> d2 = (y.rowwise() - x.row(i)).rowwise().squaredNorm();
          s += w[i] * d2.unaryExpr(phi).dot(v);
        }
        return s;
      },
      [](S a, S b) { return a + b; });
}

template <class S>
Eigen::Matrix<S, Eigen::Dynamic, 1> normalised(const Eigen::Matrix<S, Eigen::Dynamic, 1>& w, Eigen::Index n,
                                               const char* who) {
  if (w.size() == 0) return Eigen::Matrix<S, Eigen::Dynamic, 1>::Constant(n, S(1) / static_cast<S>(n));
  if (w.size() != n || !w.allFinite() || (w.array() < 0).any() || !(w.sum() > 0)) {
    core::detail::throw_invalid_argument(who,
                                         ": weights must be one finite, non-negative value per point with a "
                                         "positive sum");
  }
  return w / w.sum();
}

template <class S>
void check_pair(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& x,
                const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& y, const char* who) {
  if (x.rows() == 0 || y.rows() == 0) core::detail::throw_invalid_argument(who, ": empty cloud");
  if (x.cols() != y.cols())
    core::detail::throw_invalid_argument(who, ": clouds of dimension ", x.cols(), " and ", y.cols());
  if (!x.allFinite() || !y.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite coordinates");
}
}  // namespace detail

/// @brief Energy distance 2 E|X-Y| - E|X-X'| - E|Y-Y'| (full Szekely-Rizzo; twice GeomLoss's "energy").
/// Empty weight vectors mean uniform weights.
template <RealScalar S>
[[nodiscard]] S energy_distance(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& x,
                                const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& y,
                                const Eigen::Matrix<S, Eigen::Dynamic, 1>& wx = {},
                                const Eigen::Matrix<S, Eigen::Dynamic, 1>& wy = {}) {
  constexpr const char* who = "upfi::ot::energy_distance";
  detail::check_pair(x, y, who);
  const auto a = detail::normalised(wx, x.rows(), who), b = detail::normalised(wy, y.rows(), who);
  const auto dist = [](S d2) { return std::sqrt(d2); };
  return 2 * detail::pairwise_sum(x, a, y, b, dist) - detail::pairwise_sum(x, a, x, a, dist) -
         detail::pairwise_sum(y, b, y, b, dist);
}

/// @brief Mean distance between two distinct points of a cloud, sum_{i != j} |y_i - y_j| / (n (n - 1)): the unbiased
/// estimate of E|Y - Y'|. If x (normalised weights w) and y (n uniform points) are independent samples of one law,
/// the energy distance's expectation is (sum_i w_i^2 + 1 / n) E|Y - Y'| (the V-statistics' diagonal pairs): the
/// sampling floor against which a measured energy distance is read.
/// @throws std::invalid_argument on fewer than two points or non-finite coordinates.
template <RealScalar S>
[[nodiscard]] S mean_pairwise_distance(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& y) {
  constexpr const char* who = "upfi::ot::mean_pairwise_distance";
  if (y.rows() < 2) core::detail::throw_invalid_argument(who, ": need at least two points, got ", y.rows());
  if (!y.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite coordinates");
  const auto n = static_cast<S>(y.rows());
  const Eigen::Matrix<S, Eigen::Dynamic, 1> ones = Eigen::Matrix<S, Eigen::Dynamic, 1>::Ones(y.rows());
  // the diagonal pairs contribute 0
  return detail::pairwise_sum(y, ones, y, ones, [](S d2) { return std::sqrt(d2); }) / (n * (n - 1));
}

/// @brief Squared Gaussian MMD with bandwidth sigma (V-statistic). @throws std::invalid_argument if sigma <= 0.
template <RealScalar S>
[[nodiscard]] S gaussian_mmd2(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& x,
                              const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& y, S sigma,
                              const Eigen::Matrix<S, Eigen::Dynamic, 1>& wx = {},
                              const Eigen::Matrix<S, Eigen::Dynamic, 1>& wy = {}) {
  constexpr const char* who = "upfi::ot::gaussian_mmd2";
  detail::check_pair(x, y, who);
  if (!(sigma > 0)) core::detail::throw_invalid_argument(who, ": sigma = ", sigma, " must be > 0");
  const auto a = detail::normalised(wx, x.rows(), who), b = detail::normalised(wy, y.rows(), who);
  const S inv = S(1) / (2 * sigma * sigma);
  const auto k = [inv](S d2) { return std::exp(-d2 * inv); };
  return detail::pairwise_sum(x, a, x, a, k) + detail::pairwise_sum(y, b, y, b, k) -
         2 * detail::pairwise_sum(x, a, y, b, k);
}

}  // namespace upfi::ot
