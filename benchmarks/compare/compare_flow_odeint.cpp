// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Side by side in one binary: the same probability-flow integration (OU drift A x + e, constant Gaussian score,
// matrix D; N particles in d dimensions) with upfi's drivers and with Boost.Odeint on an Eigen::VectorXd state
// (vector_space_algebra) through upfi::flow::odeint_system: RK4 with 100 fixed steps and DOPRI5 at atol = rtol = 1e-6
// over [0, 1]. Prints milliseconds and the ratio. Usage: compare_flow_odeint [N] [d]
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/memory.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/flow/odeint.hpp>

#include "flow_problem.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>

namespace odeint = boost::numeric::odeint;

template <class F>
double best_ms(F&& f, int repeats) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

int main(int argc, char** argv) {
  // Both drivers allocate N x d temporaries per field evaluation; glibc's adaptive mmap threshold would otherwise make
  // their cost depend on the allocation history of the process (which driver ran first). Fix it for both.
  upfi::core::retain_heap_memory();
  const Eigen::Index n = argc > 1 ? std::stol(argv[1]) : 2000, d = argc > 2 ? std::stol(argv[2]) : 10;
  Eigen::MatrixXd k(d, d), x0(n, d);
  upfi::core::counter_rng(1).fill_normal(k, 0);
  upfi::core::counter_rng(2).fill_normal(x0, 0);
  const auto field = make_compare_flow(k);
  const upfi::flow::flow_state y0{x0, Eigen::VectorXd::Zero(n), 0};
  const upfi::flow::odeint_system sys(field, n);
  using vec = Eigen::VectorXd;
  upfi::flow::flow_state ours;
  vec theirs;
  std::printf("N = %ld, d = %ld\n%-22s %10s %10s %7s %12s\n", static_cast<long>(n), static_cast<long>(d), "method",
              "upfi [ms]", "odeint [ms]", "ratio", "max |diff|");
  const double u_rk4 =
      best_ms([&] { ours = upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, y0, {.steps = 100}); }, 5);
  const double o_rk4 = best_ms(
      [&] {
        theirs = sys.pack(y0.x, y0.log_m);
        odeint::integrate_n_steps(odeint::runge_kutta4<vec, double, vec, double, odeint::vector_space_algebra>(),
                                  std::cref(sys), theirs, 0.0, 0.01, 100);
      },
      5);
  std::printf("%-22s %10.2f %10.2f %7.2f %12.2e\n", "RK4, 100 steps", u_rk4, o_rk4, o_rk4 / u_rk4,
              (sys.positions(theirs) - ours.x).cwiseAbs().maxCoeff());
  upfi::flow::adaptive_result r;
  const double u_dp =
      best_ms([&] { r = upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {.atol = 1e-6, .rtol = 1e-6}); }, 5);
  const double o_dp = best_ms(
      [&] {
        theirs = sys.pack(y0.x, y0.log_m);
        odeint::integrate_adaptive(
            odeint::make_controlled(
                1e-6, 1e-6, odeint::runge_kutta_dopri5<vec, double, vec, double, odeint::vector_space_algebra>()),
            std::cref(sys), theirs, 0.0, 1.0, 0.01);
      },
      5);
  std::size_t odeint_calls = 0;
  const auto counted = [&](const vec& x, vec& dxdt, double t) {
    ++odeint_calls;
    sys(x, dxdt, t);
  };
  theirs = sys.pack(y0.x, y0.log_m);
  const std::size_t odeint_steps = odeint::integrate_adaptive(
      odeint::make_controlled(1e-6, 1e-6,
                              odeint::runge_kutta_dopri5<vec, double, vec, double, odeint::vector_space_algebra>()),
      counted, theirs, 0.0, 1.0, 0.01);
  std::printf("%-22s %10.2f %10.2f %7.2f %12.2e   (upfi: %ld steps, %ld evaluations; odeint: %zu steps, %zu)\n",
              "DOPRI5, tol 1e-6", u_dp, o_dp, o_dp / u_dp, (sys.positions(theirs) - r.state.x).cwiseAbs().maxCoeff(),
              r.accepted, r.evaluations, odeint_steps, odeint_calls);
  // the same work per field evaluation: time per evaluation of each driver (step-size heuristics differ)
  std::printf("%-22s %10.3f %10.3f %7.2f\n", "  per evaluation", u_dp / static_cast<double>(r.evaluations),
              o_dp / static_cast<double>(odeint_calls),
              (o_dp / static_cast<double>(odeint_calls)) / (u_dp / static_cast<double>(r.evaluations)));
  return 0;
}
