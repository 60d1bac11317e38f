// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Adapter that lets Boost.Odeint (or any integrator taking `rhs(y, dydt, t)`) integrate a probability-flow
/// field: the state is one flat vector [X column-major (N d values), log m (N values)]. Needs no Boost header itself.
///
/// @code
///   upfi::flow::odeint_system sys(field, n);
///   Eigen::VectorXd y = sys.pack(state);   // with <boost/numeric/odeint/external/eigen/eigen.hpp>
///   boost::numeric::odeint::integrate_const(boost::numeric::odeint::runge_kutta4<Eigen::VectorXd, double,
///       Eigen::VectorXd, double, boost::numeric::odeint::vector_space_algebra>(), sys, y, t0, t1, h);
///   state = sys.unpack(y);
/// @endcode

#include <upfi/core/error.hpp>
#include <upfi/flow/probability_flow.hpp>

#include <Eigen/Core>

namespace upfi::flow {

/// @brief `rhs(y, dydt, t)` view of a field over N particles (the regulariser is not part of the state).
template <class Field>
class odeint_system {
 public:
  odeint_system(const Field& field, Eigen::Index particles) : m_field(&field), m_n(particles) {
    if (particles < 1) core::detail::throw_invalid_argument("upfi::flow::odeint_system: need at least 1 particle");
  }
  [[nodiscard]] Eigen::Index size() const noexcept { return m_n * (m_field->dimension() + 1); }

  /// @brief dydt = [u; g] at (t, y). `State` is any contiguous vector of doubles (Eigen::VectorXd, std::vector).
  template <class State>
  void operator()(const State& y, State& dydt, double t) const {
    const Eigen::Index d = m_field->dimension();
    if (static_cast<Eigen::Index>(y.size()) != size()) {
      core::detail::throw_invalid_argument("upfi::flow::odeint_system: state has ", y.size(), " values, expected ",
                                           size());
    }
    const Eigen::Map<const Eigen::MatrixXd> x(y.data(), m_n, d);
    m_field->evaluate(t, x, m_values);
    dydt.resize(y.size());
    Eigen::Map<Eigen::MatrixXd>(dydt.data(), m_n, d) = m_values.u;
    Eigen::Map<Eigen::VectorXd>(dydt.data() + m_n * d, m_n) = m_values.g;
  }

  [[nodiscard]] Eigen::VectorXd pack(const Eigen::MatrixXd& x, const Eigen::VectorXd& log_m) const {
    if (x.rows() != m_n || x.cols() != m_field->dimension() || log_m.size() != m_n) {
      core::detail::throw_invalid_argument("upfi::flow::odeint_system::pack: state must be N x d and N");
    }
    Eigen::VectorXd y(size());
    y.head(x.size()) = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
    y.tail(m_n) = log_m;
    return y;
  }
  /// @brief Positions of a packed state (N x d).
  [[nodiscard]] Eigen::MatrixXd positions(const Eigen::VectorXd& y) const {
    return Eigen::Map<const Eigen::MatrixXd>(y.data(), m_n, m_field->dimension());
  }
  /// @brief Log-masses of a packed state.
  [[nodiscard]] Eigen::VectorXd log_masses(const Eigen::VectorXd& y) const { return y.tail(m_n); }

 private:
  const Field* m_field;
  Eigen::Index m_n;
  mutable flow_values m_values;
};

}  // namespace upfi::flow
