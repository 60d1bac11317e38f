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

TEST_SUITE("ad/dual functions") {
  using d2 = dual<dual<double>>;
  // second-derivative seed x + eps1 + eps2
  d2 seed2(double x) { return {dual<double>(x, 1.0), dual<double>(1.0, 0.0)}; }

  template <class F>
  void check_first_and_second(F f, double x) {
    CAPTURE(x);
    const double h1 = 1e-6, h2 = 1e-4;
    const double fd1 = (f(x + h1) - f(x - h1)) / (2 * h1);
    const double fd2 = (f(x + h2) - 2 * f(x) + f(x - h2)) / (h2 * h2);
    const auto y1 = f(dual<double>(x, 1.0));
    CHECK(y1.v == doctest::Approx(f(x)).epsilon(1e-14));
    CHECK(y1.d == doctest::Approx(fd1).epsilon(1e-7));
    const d2 y2 = f(seed2(x));
    CHECK(y2.d.d == doctest::Approx(fd2).epsilon(2e-5));
  }

  TEST_CASE("log1p, expm1, pow with a dual exponent, abs") {
    for (double x : {0.2, 0.9, 2.5}) {
      check_first_and_second(
          [](auto v) {
            using std::log1p;
            return log1p(v * v);
          },
          x);
      check_first_and_second(
          [](auto v) {
            using std::expm1;
            return expm1(-v) * v;
          },
          x);
      check_first_and_second(
          [](auto v) {
            using std::pow;
            return pow(v, v);
          },
          x);  // x^x
      check_first_and_second(
          [](auto v) {
            using std::pow;
            return pow(3.0, v * v);
          },
          x);  // 3^(x^2)
      check_first_and_second(
          [](auto v) {
            using std::abs;
            return abs(v - 1.0) * v;
          },
          x);  // piecewise, x != 1
    }
    const auto z = upfi::ad::abs(dual<double>(0.0, 2.0));
    CHECK(z.v == 0.0);
    CHECK(z.d == 0.0);
  }

  TEST_CASE("Hill functions: derivatives in x, the threshold and a real exponent") {
    using upfi::ad::hill_activation;
    using upfi::ad::hill_repression;
    for (double x : {0.3, 1.0, 1.8}) {
      check_first_and_second([](auto v) { return hill_activation(v, 1.2, 2.5); }, x);
      check_first_and_second([](auto v) { return hill_repression(v, 0.7, 4.0); }, x);
      check_first_and_second([x](auto k) { return hill_activation(decltype(k)(x), k, 3.0); }, 0.9);  // in K
      check_first_and_second([x](auto n) { return hill_repression(decltype(n)(x), decltype(n)(0.8), n); },
                             2.0);  // in the Hill coefficient
      CHECK(hill_activation(x, 1.2, 2.5) + hill_repression(x, 1.2, 2.5) == doctest::Approx(1.0));
    }
    CHECK(hill_activation(0.0, 1.0, 2.0) == 0.0);
    CHECK(hill_activation(1.0, 1.0, 7.0) == doctest::Approx(0.5));
  }

  TEST_CASE("comparisons look at the value only") {
    const dual<double> a(1.0, 5.0), b(2.0, -5.0);
    CHECK(a < b);
    CHECK(b >= a);
    CHECK(a > 0.5);
    CHECK(3.0 > b);
    CHECK(seed2(1.0) <= 1.0);
  }
}
