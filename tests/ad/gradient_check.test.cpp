// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/ad/gradient_check.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

namespace {
// f(p) = sum_i (i + 1) p_i^2 + sin(p_0 p_1): gradient in closed form
double test_function(const Eigen::VectorXd& p) {
  double s = std::sin(p[0] * p[1]);
  for (Eigen::Index i = 0; i < p.size(); ++i) s += static_cast<double>(i + 1) * p[i] * p[i];
  return s;
}
Eigen::VectorXd test_gradient(const Eigen::VectorXd& p) {
  Eigen::VectorXd g(p.size());
  for (Eigen::Index i = 0; i < p.size(); ++i) g[i] = 2.0 * static_cast<double>(i + 1) * p[i];
  g[0] += std::cos(p[0] * p[1]) * p[1];
  g[1] += std::cos(p[0] * p[1]) * p[0];
  return g;
}
}  // namespace

TEST_SUITE("ad") {
  TEST_CASE("check_gradient and check_directional_derivatives accept the exact gradient") {
    const Eigen::VectorXd p = Eigen::VectorXd::LinSpaced(12, -1.3, 2.1);
    const Eigen::VectorXd g = test_gradient(p);
    const auto full = upfi::ad::check_gradient(test_function, p, g);
    CHECK(full.max_rel_error < 1e-7);
    const auto dir = upfi::ad::check_directional_derivatives(test_function, p, g, 6, 42);
    CHECK(dir.max_rel_error < 1e-7);
    CHECK(dir.worst >= 0);
    CHECK(dir.worst < 6);
  }

  TEST_CASE("both checks flag an error in a single coordinate") {
    const Eigen::VectorXd p = Eigen::VectorXd::LinSpaced(12, -1.3, 2.1);
    for (const Eigen::Index wrong : {Eigen::Index{0}, Eigen::Index{7}, Eigen::Index{11}}) {
      CAPTURE(wrong);
      Eigen::VectorXd g = test_gradient(p);
      g[wrong] += 0.05 * g.norm();
      const auto full = upfi::ad::check_gradient(test_function, p, g);
      CHECK(full.worst == wrong);
      CHECK(full.max_rel_error > 1e-3);
      // a single wrong coordinate moves every Rademacher directional derivative by 0.05 |g| / sqrt(12)
      CHECK(upfi::ad::check_directional_derivatives(test_function, p, g, 4, 7).max_rel_error > 1e-3);
    }
  }

  TEST_CASE("the directions depend on the seed only") {
    const Eigen::VectorXd p = Eigen::VectorXd::LinSpaced(5, 0.2, 1.0);
    Eigen::VectorXd g = test_gradient(p);
    g[2] += 0.3;
    const auto a = upfi::ad::check_directional_derivatives(test_function, p, g, 3, 5);
    const auto b = upfi::ad::check_directional_derivatives(test_function, p, g, 3, 5);
    const auto c = upfi::ad::check_directional_derivatives(test_function, p, g, 3, 6);
    CHECK(a.max_abs_error == b.max_abs_error);
    CHECK(a.worst == b.worst);
    // |error| = 0.3 / sqrt(5) in every direction, whatever the signs
    CHECK(a.max_abs_error == doctest::Approx(0.3 / std::sqrt(5.0)).epsilon(1e-6));
    CHECK(c.max_abs_error == doctest::Approx(0.3 / std::sqrt(5.0)).epsilon(1e-6));
  }

  TEST_CASE("check_directional_derivatives rejects bad arguments") {
    const Eigen::VectorXd p = Eigen::VectorXd::Ones(3);
    CHECK_THROWS_WITH_AS((void)upfi::ad::check_directional_derivatives(test_function, p, Eigen::VectorXd::Ones(2)),
                         "check_directional_derivatives: grad and params differ in size", std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::ad::check_directional_derivatives(test_function, p, test_gradient(p), 0),
                         "check_directional_derivatives: directions must be >= 1", std::invalid_argument);
  }
}
