// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Additive, diagonal and chemical-Langevin noise models: D, sigma, increments, row divergence.
#include <upfi/sde/additive_noise.hpp>
#include <upfi/sde/chemical_langevin.hpp>
#include <upfi/sde/diagonal_noise.hpp>
#include <upfi/simd/xsimd_compat.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

namespace {
// D_ii(x) = (1 + x_i^2 + x_0 x_1) / 2: depends on every coordinate.
struct quadratic_diffusion {
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, T* out) const {
    for (int i = 0; i < 2; ++i) out[i] = 0.5 * (1.0 + x[i] * x[i] + x[0] * x[1]);
  }
};
// Production p(x) = (2 / (1 + x_1^2), 1 + x_0) for a 2-gene CLE.
struct test_production {
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, T* out) const {
    out[0] = 2.0 / (1.0 + x[1] * x[1]);
    out[1] = 1.0 + x[0];
  }
};
// D(x) = x: negative for x < 0.
struct negative {
  [[nodiscard]] Eigen::Index dimension() const { return 1; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, T* out) const {
    out[0] = x[0];
  }
};
}  // namespace

TEST_SUITE("sde/noise_models") {
  TEST_CASE("additive isotropic noise: D = sigma^2 / 2 I, increments sigma dB, zero divergence") {
    const upfi::sde::additive_isotropic n(3, 0.5);
    static_assert(upfi::NoiseModel<upfi::sde::additive_isotropic> &&
                  upfi::IsAdditiveNoise<upfi::sde::additive_isotropic>);
    const Eigen::Vector3d x(1, 2, 3), db(0.1, -0.2, 0.3);
    Eigen::Vector3d out;
    n.increment(0.0, x.data(), db.data(), out.data());
    CHECK(out.isApprox(0.5 * db));
    CHECK(n.diffusion_tensor(0, x).isApprox(0.125 * Eigen::Matrix3d::Identity()));
    CHECK(n.divergence(0, x).isZero());
    CHECK_THROWS_WITH_AS(upfi::sde::additive_isotropic(2, -1.0),
                         "upfi::sde::additive_isotropic: sigma = -1 must be finite and >= 0", std::invalid_argument);
    CHECK_THROWS_AS(upfi::sde::additive_diagonal(Eigen::Vector2d(0.1, std::nan(""))), std::invalid_argument);
  }

  TEST_CASE("constant matrix noise from a diffusion tensor reproduces D = Sigma Sigma^T / 2") {
    Eigen::Matrix2d d;
    d << 0.5, 0.2, 0.2, 0.3;
    const auto n = upfi::sde::constant_matrix::from_diffusion(d);
    CHECK(n.diffusion_tensor(0, Eigen::Vector2d::Zero()).isApprox(d, 1e-14));
    Eigen::Matrix2d not_pd;
    not_pd << 1, 2, 2, 1;
    CHECK_THROWS_AS((void)upfi::sde::constant_matrix::from_diffusion(not_pd), std::invalid_argument);
    Eigen::Matrix2d asym;
    asym << 1, 0.1, 0, 1;
    CHECK_THROWS_WITH_AS((void)upfi::sde::constant_matrix::from_diffusion(asym),
                         "upfi::sde::constant_matrix::from_diffusion: D is not symmetric", std::invalid_argument);
  }

  TEST_CASE("state-dependent diagonal noise: sigma = sqrt(2 D), exact row divergence") {
    const upfi::sde::diagonal_noise n{quadratic_diffusion{}};
    static_assert(upfi::NoiseModel<decltype(n)> && !upfi::IsAdditiveNoise<decltype(n)>);
    const Eigen::Vector2d x(0.7, -0.4);
    Eigen::Vector2d s, div;
    n.diagonal(0.0, x.data(), s.data());
    const Eigen::MatrixXd dt = n.diffusion_tensor(0, x);
    CHECK(s[0] == doctest::Approx(std::sqrt(2 * dt(0, 0))));
    CHECK(dt(0, 1) == 0.0);
    div = n.divergence(0, x);
    // (div D)_i = d_i D_ii = x_i + x_{1-i} / 2
    CHECK(div[0] == doctest::Approx(0.7 + -0.4 / 2).epsilon(1e-14));
    CHECK(div[1] == doctest::Approx(-0.4 + 0.7 / 2).epsilon(1e-14));
    // same on SIMD batches
    using batch = upfi::simd::batch<double>;
    const batch xb[2] = {batch(0.7), batch(-0.4)};
    batch divb[2];
    n.divergence(0.0, xb, divb);
    CHECK(upfi::simd::reduce_max(divb[0]) == doctest::Approx(div[0]).epsilon(1e-14));
  }

  TEST_CASE("chemical Langevin model: drift p - q, D = diag(p + q) / 2V, divergence matches finite differences") {
    const upfi::sde::chemical_langevin cle(test_production{}, upfi::sde::linear_degradation(Eigen::Vector2d(1.0, 2.0)),
                                           4.0);
    static_assert(upfi::DriftModel<decltype(cle)> && upfi::NoiseModel<decltype(cle)>);
    static_assert(decltype(cle)::nonnegative);
    const Eigen::Vector2d x(0.8, 1.5);
    Eigen::Vector2d v;
    cle.drift(0.0, x.data(), v.data());
    const Eigen::Vector2d p(2.0 / (1.0 + 1.5 * 1.5), 1.8), q(0.8, 3.0);
    CHECK(v.isApprox(p - q));
    CHECK(cle.diffusion_tensor(0, x).diagonal().isApprox((p + q) / 8.0));
    const Eigen::VectorXd div = cle.divergence(0, x);
    const double h = 1e-6;
    for (int i = 0; i < 2; ++i) {
      Eigen::Vector2d xp = x, xm = x;
      xp[i] += h;
      xm[i] -= h;
      const double fd = (cle.diffusion_tensor(0, xp)(i, i) - cle.diffusion_tensor(0, xm)(i, i)) / (2 * h);
      CHECK(div[i] == doctest::Approx(fd).epsilon(1e-7));
    }
    CHECK_THROWS_WITH_AS(
        upfi::sde::chemical_langevin(test_production{}, upfi::sde::linear_degradation(Eigen::Vector2d(1, 1)), 0.0),
        "upfi::sde::chemical_langevin: volume V = 0 must be finite and > 0", std::invalid_argument);
    CHECK_THROWS_AS(
        upfi::sde::chemical_langevin(test_production{}, upfi::sde::linear_degradation(Eigen::Vector3d(1, 1, 1)), 1.0),
        std::invalid_argument);
    CHECK_THROWS_AS(upfi::sde::linear_degradation(Eigen::Vector2d(-1, 1)), std::invalid_argument);
  }

  TEST_CASE("negative diffusion values are clamped to zero noise") {
    const upfi::sde::diagonal_noise n{negative{}};
    const double x = -2.0;
    double s = 1;
    n.diagonal(0.0, &x, &s);
    CHECK(s == 0.0);
  }
}
