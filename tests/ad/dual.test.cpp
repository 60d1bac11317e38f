// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/ad/dual.hpp>
#include <upfi/simd/xsimd_compat.hpp>

#include <doctest/doctest.h>

#include <cmath>

using upfi::ad::dual;

namespace {
// f(x) = exp(sin x) * sqrt(x) / (1 + tanh(x)^2) + log(x) * x^3 - cos(x) / x
template <class T>
T f(const T& x) {
  using std::cos;
  using std::exp;
  using std::log;
  using std::pow;
  using std::sin;
  using std::sqrt;
  using std::tanh;
  return exp(sin(x)) * sqrt(x) / (1.0 + tanh(x) * tanh(x)) + log(x) * pow(x, 3) - cos(x) / x;
}
double central(double x, double h) { return (f(x + h) - f(x - h)) / (2 * h); }
double second(double x, double h) { return (f(x + h) - 2 * f(x) + f(x - h)) / (h * h); }
}  // namespace

TEST_SUITE("ad/dual") {
  TEST_CASE("first derivatives match central finite differences") {
    for (double x : {0.3, 1.0, 2.7}) {
      CAPTURE(x);
      const auto y = f(dual<double>(x, 1.0));
      CHECK(y.v == doctest::Approx(f(x)).epsilon(1e-14));
      CHECK(y.d == doctest::Approx(central(x, 1e-6)).epsilon(1e-7));
    }
  }

  TEST_CASE("nested duals give second derivatives") {
    for (double x : {0.5, 1.7}) {
      CAPTURE(x);
      using d2 = dual<dual<double>>;
      const d2 xx(dual<double>(x, 1.0), dual<double>(1.0, 0.0));
      const d2 y = f(xx);
      CHECK(y.v.v == doctest::Approx(f(x)).epsilon(1e-14));
      CHECK(y.v.d == doctest::Approx(y.d.v).epsilon(1e-14));  // both first-derivative slots agree
      CHECK(y.d.d == doctest::Approx(second(x, 1e-4)).epsilon(1e-5));
      CHECK(upfi::ad::value(y) == y.v.v);
    }
  }

  TEST_CASE("duals of SIMD batches differentiate every lane") {
    using batch = upfi::simd::batch<double>;
    const batch x(1.3);
    const auto y = f(dual<batch>(x, batch(1.0)));
    CHECK(upfi::simd::reduce_max(y.d) == doctest::Approx(central(1.3, 1e-6)).epsilon(1e-7));
    CHECK(upfi::simd::reduce_min(y.d) == upfi::simd::reduce_max(y.d));
  }

  TEST_CASE("arithmetic with constants on either side") {
    const dual<double> x(2.0, 1.0);
    const auto y = (3.0 - x) * (x + 1.0) / (2.0 * x) - x / 4.0;
    // y = (3 - x)(x + 1) / (2x) - x/4; y' = [(-1)(x+1) + (3-x)] / (2x) - (3-x)(x+1)/(2x^2) - 1/4
    const double expected = ((-1.0) * 3.0 + 1.0) / 4.0 - (1.0 * 3.0) / 8.0 - 0.25;
    CHECK(y.d == doctest::Approx(expected));
    dual<double> z = x;
    z -= 1.0;
    z /= x;
    CHECK(z.d == doctest::Approx(1.0 / 4.0));  // (x - 1)/x, derivative 1/x^2
  }
}
