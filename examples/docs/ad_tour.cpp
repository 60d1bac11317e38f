// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// docs/ad.md quotes the regions between "// [name]" markers verbatim (checked by the test docs/snippets).
// Runs as a test: it exits non-zero if a stated property does not hold.
#include <upfi/ad.hpp>

#include "tour_check.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

// [model]
// A pointwise model written once as a template over its scalar type: double, float, SIMD batches and duals
struct double_well {  // dX = (x - x^3) dt + ...
  template <class T>
  void operator()(T, const T* x, T* out) const {
    out[0] = x[0] - x[0] * x[0] * x[0];
  }
};
// [model]

int main() {
  // [dual]
  // d/dx at x = 0.5: seed the derivative with 1
  const upfi::ad::dual<double> x{0.5, 1.0};
  upfi::ad::dual<double> v;
  double_well{}(upfi::ad::dual<double>{0.0}, &x, &v);
  std::printf("v(0.5) = %.3f, dv/dx = %.3f\n", v.v, v.d);  // 0.375 and 1 - 3 x^2 = 0.25
  // nested duals carry second derivatives: d2v/dx2 = -6 x = -3
  using second = upfi::ad::dual<upfi::ad::dual<double>>;
  const second xx{{0.5, 1.0}, {1.0, 0.0}};
  second vv;
  double_well{}(second{}, &xx, &vv);
  std::printf("d2v/dx2 = %.3f\n", vv.d.d);
  // [dual]
  tour::expect(std::abs(v.v - 0.375) < 1e-15 && std::abs(v.d - 0.25) < 1e-15 && std::abs(vv.d.d + 3.0) < 1e-14,
               "first and second derivatives of x - x^3 at 0.5");

  // [check]
  // Directional finite-difference check: 2 x 4 evaluations of f instead of 2 per parameter
  const auto f = [](const Eigen::VectorXd& p) { return std::exp(p[0]) * std::sin(p[1]) + p.squaredNorm(); };
  const Eigen::Vector3d p(0.3, -0.7, 1.1);
  const Eigen::Vector3d grad(std::exp(p[0]) * std::sin(p[1]) + 2 * p[0], std::exp(p[0]) * std::cos(p[1]) + 2 * p[1],
                             2 * p[2]);
  const auto r = upfi::ad::check_directional_derivatives(f, p, grad, /*directions=*/4, /*seed=*/1);
  std::printf("largest relative error over 4 random directions: %.1e\n", r.max_rel_error);
  // [check]
  tour::expect(r.max_rel_error < 1e-8, "the exact gradient passes the directional check");
  return tour::exit_code();
}
