// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The entropic transport plan pi_ij = a_i b_j exp((f_i + g_j - C(x_i, y_j)) / eps), built from dual potentials:
/// dense for small problems, streaming (apply to vectors, marginals, barycentric projection) for large ones, never
/// storing N x M numbers unless asked.

#include <upfi/concepts/ot.hpp>
#include <upfi/core/error.hpp>
#include <upfi/ot/cost.hpp>
#include <upfi/ot/online_softmin.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>

#include <Eigen/Core>

#include <cmath>
#include <utility>

namespace upfi::ot {

/// @brief A transport plan given by clouds, log-masses and potentials (f on x, g on y) at temperature eps.
template <RealScalar S, CostFunction Cost = squared_euclidean>
class transport_plan {
 public:
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;

  /// @throws std::invalid_argument on inconsistent sizes or eps <= 0.
  transport_plan(matrix_type x, vector_type log_a, vector_type f, matrix_type y, vector_type log_b, vector_type g,
                 S eps, Cost cost = {})
      : m_x(std::move(x)),
        m_log_a(std::move(log_a)),
        m_f(std::move(f)),
        m_y(std::move(y)),
        m_log_b(std::move(log_b)),
        m_g(std::move(g)),
        m_eps(eps),
        m_cost(std::move(cost)) {
    if (m_log_a.size() != m_x.rows() || m_f.size() != m_x.rows() || m_log_b.size() != m_y.rows() ||
        m_g.size() != m_y.rows() || m_x.cols() != m_y.cols()) {
      core::detail::throw_invalid_argument(
          "upfi::ot::transport_plan: inconsistent sizes of clouds, masses and potentials");
    }
    if (!(eps > 0)) core::detail::throw_invalid_argument("upfi::ot::transport_plan: eps = ", eps, " must be > 0");
  }

  /// @brief The plan of OT(a, b) of a sinkhorn_divergence result (potentials f_ba, g_ab).
  [[nodiscard]] static transport_plan from(const sinkhorn_result<S>& r, matrix_type x, vector_type log_a, matrix_type y,
                                           vector_type log_b, Cost cost = {}) {
    return transport_plan(std::move(x), std::move(log_a), r.f_ba, std::move(y), std::move(log_b), r.g_ab, r.epsilon,
                          std::move(cost));
  }

  [[nodiscard]] Eigen::Index rows() const noexcept { return m_x.rows(); }
  [[nodiscard]] Eigen::Index cols() const noexcept { return m_y.rows(); }

  /// @brief pi V (N x k) for V (M x k), streamed.
  [[nodiscard]] matrix_type apply(const matrix_type& values) const {
    return stream(m_x, m_log_a, m_f, m_y, m_log_b, m_g, values);
  }
  /// @brief pi^T U (M x k) for U (N x k), streamed.
  [[nodiscard]] matrix_type apply_transpose(const matrix_type& values) const {
    return stream(m_y, m_log_b, m_g, m_x, m_log_a, m_f, values);
  }
  /// @brief Row sums pi 1 (length N).
  [[nodiscard]] vector_type row_marginal() const { return apply(matrix_type::Ones(cols(), 1)).col(0); }
  /// @brief Column sums pi^T 1 (length M).
  [[nodiscard]] vector_type column_marginal() const { return apply_transpose(matrix_type::Ones(rows(), 1)).col(0); }
  /// @brief Barycentric projection T(x_i) = sum_j pi_ij y_j / sum_j pi_ij (N x d): where each point is sent.
  [[nodiscard]] matrix_type barycentric_projection() const {
    return detail::plan_rows<S>(m_x, m_log_a, m_f, m_y, m_log_b, m_g, m_eps, m_y, m_cost).second;
  }
  /// @brief The dense N x M plan. @throws std::invalid_argument above `max_entries` entries (use the streaming
  /// methods for large problems).
  [[nodiscard]] matrix_type dense(Eigen::Index max_entries = 25'000'000) const {
    if (rows() * cols() > max_entries) {
      core::detail::throw_invalid_argument("upfi::ot::transport_plan::dense: ", rows(), " x ", cols(),
                                           " entries exceed max_entries = ", max_entries,
                                           "; use apply(), marginals or barycentric_projection()");
    }
    matrix_type p(rows(), cols());
    for (Eigen::Index j = 0; j < cols(); ++j) {
      for (Eigen::Index i = 0; i < rows(); ++i) {
        S sum = 0;
        for (Eigen::Index q = 0; q < m_x.cols(); ++q) sum += m_cost.term(m_x(i, q) - m_y(j, q));
        p(i, j) = std::exp(m_log_a[i] + m_log_b[j] + (m_f[i] + m_g[j] - m_cost.finish(sum)) / m_eps);
      }
    }
    return p;
  }

 private:
  // (pi V)_i = (row mass)_i * (softmax average of V)_i.
  matrix_type stream(const matrix_type& x, const vector_type& log_a, const vector_type& f, const matrix_type& y,
                     const vector_type& log_b, const vector_type& g, const matrix_type& values) const {
    if (values.rows() != y.rows()) {
      core::detail::throw_invalid_argument("upfi::ot::transport_plan: values have ", values.rows(), " rows, expected ",
                                           y.rows());
    }
    const auto [mass, avg] = detail::plan_rows<S>(x, log_a, f, y, log_b, g, m_eps, values, m_cost);
    return mass.asDiagonal() * avg;
  }

  matrix_type m_x;
  vector_type m_log_a, m_f;
  matrix_type m_y;
  vector_type m_log_b, m_g;
  S m_eps;
  Cost m_cost;
};

}  // namespace upfi::ot
