// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Observed strong orders of euler_maruyama (0.5), milstein (1.0) and srk15 (1.5), and the weak order of
// Euler-Maruyama (1.0). Coarse steps reuse the Brownian path of the finest level (summed increments, and the
// areas dZ recombined exactly), so the errors measure discretisation only.
#include <upfi/core/counter_rng.hpp>
#include <upfi/sde/additive_noise.hpp>
#include <upfi/sde/diagonal_noise.hpp>
#include <upfi/sde/euler_maruyama.hpp>
#include <upfi/sde/milstein.hpp>
#include <upfi/sde/ornstein_uhlenbeck.hpp>
#include <upfi/sde/simulator.hpp>
#include <upfi/sde/srk15.hpp>

#include <doctest/doctest.h>

#include "support/seed.hpp"
#include "support/statistics_moments.hpp"

#include <cmath>
#include <vector>

namespace {
constexpr double mu = 1.0, s = 0.8;  // geometric Brownian motion dX = mu X dt + s X dB

struct gbm_drift {
  [[nodiscard]] Eigen::Index dimension() const { return 1; }
  template <class T>
  void drift(upfi::scalar_of_t<T>, const T* x, T* v) const {
    v[0] = mu * x[0];
  }
};
struct gbm_diffusion {  // D = s^2 x^2 / 2, so sigma = s |x|
  [[nodiscard]] Eigen::Index dimension() const { return 1; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, T* out) const {
    out[0] = 0.5 * s * s * x[0] * x[0];
  }
};
struct nonlinear_drift {  // a coupled nonlinear drift for the additive-noise scheme
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  template <class T>
  void drift(upfi::scalar_of_t<T> t, const T* x, T* v) const {
    using std::cos;
    using std::sin;
    v[0] = -x[0] + sin(2.0 * x[1]) + 0.5 * cos(t);
    v[1] = -x[1] * x[1] * x[1] / 3.0 + cos(x[0]);
  }
};

// Brownian increments of one path on the finest grid: dW (m per step) and dZ.
struct fine_path {
  std::vector<double> dw, dz;
};
fine_path make_path(std::size_t steps, Eigen::Index m, double h, const upfi::core::counter_rng& rng,
                    std::uint64_t path) {
  fine_path p;
  p.dw.resize(steps * static_cast<std::size_t>(m));
  p.dz.resize(p.dw.size());
  for (std::size_t k = 0; k < steps; ++k) {
    for (Eigen::Index j = 0; j < m; ++j) {
      const auto z = rng.normal_pair(
          path, static_cast<std::uint32_t>(k * static_cast<std::size_t>(m) + static_cast<std::size_t>(j)));
      const std::size_t at = k * static_cast<std::size_t>(m) + static_cast<std::size_t>(j);
      p.dw[at] = std::sqrt(h) * z[0];
      p.dz[at] = 0.5 * h * std::sqrt(h) * (z[0] + z[1] / std::sqrt(3.0));
    }
  }
  return p;
}

// Integrates one path with `stepper`, combining `ratio` fine steps per coarse step.
template <class Stepper, class M, class N>
Eigen::VectorXd integrate(const Stepper& stepper, const M& model, const N& noise, Eigen::VectorXd x, const fine_path& p,
                          std::size_t fine_steps, double h, std::size_t ratio) {
  const Eigen::Index m = noise.noise_dimension();
  std::vector<double> scratch(Stepper::scratch_size(x.size(), m)), dw(static_cast<std::size_t>(m)), dz(dw.size());
  const double big = h * static_cast<double>(ratio);
  for (std::size_t c = 0; c < fine_steps / ratio; ++c) {
    for (Eigen::Index j = 0; j < m; ++j) {
      double w = 0, z = 0;
      for (std::size_t r = 0; r < ratio; ++r) {
        const std::size_t at = (c * ratio + r) * static_cast<std::size_t>(m) + static_cast<std::size_t>(j);
        z += p.dz[at] + w * h;  // int (W_s - W_start) ds over the substep = dZ_sub + (W_sub_start - W_start) h
        w += p.dw[at];
      }
      dw[static_cast<std::size_t>(j)] = w;
      dz[static_cast<std::size_t>(j)] = z;
    }
    stepper.step(model, noise, static_cast<double>(c) * big, big, x.data(), dw.data(), dz.data(), scratch.data());
  }
  return x;
}
}  // namespace

TEST_SUITE("sde/steppers") {
  TEST_CASE("strong orders on geometric Brownian motion: Euler-Maruyama 0.5, Milstein 1.0") {
    const gbm_drift model;
    const upfi::sde::diagonal_noise noise{gbm_diffusion{}};
    const std::size_t fine = 1024;
    const double h = 1.0 / fine;
    const std::vector<std::size_t> ratios{4, 8, 16, 32, 64};
    std::vector<double> dts, e_em(ratios.size(), 0), e_mil(ratios.size(), 0);
    for (auto r : ratios) dts.push_back(h * static_cast<double>(r));
    const upfi::core::counter_rng rng(upfi::test::seed());
    const int paths = 1000;
    upfi::sde::euler_maruyama em;
    upfi::sde::milstein mil;
    for (int i = 0; i < paths; ++i) {
      const fine_path p = make_path(fine, 1, h, rng, static_cast<std::uint64_t>(i));
      double w = 0;
      for (double v : p.dw) w += v;
      const double exact = std::exp((mu - 0.5 * s * s) + s * w);
      for (std::size_t k = 0; k < ratios.size(); ++k) {
        e_em[k] += std::abs(integrate(em, model, noise, Eigen::VectorXd::Ones(1), p, fine, h, ratios[k])[0] - exact);
        e_mil[k] += std::abs(integrate(mil, model, noise, Eigen::VectorXd::Ones(1), p, fine, h, ratios[k])[0] - exact);
      }
    }
    const double p_em = upfi::test::observed_order(dts, e_em);
    const double p_mil = upfi::test::observed_order(dts, e_mil);
    MESSAGE("observed strong order: Euler-Maruyama ", p_em, ", Milstein ", p_mil);
    CHECK(p_em == doctest::Approx(0.5).epsilon(0.3));
    CHECK(p_mil == doctest::Approx(1.0).epsilon(0.15));
    CHECK(e_mil[0] < e_em[0]);
  }

  TEST_CASE("strong order of the additive-noise SRK scheme is 1.5 (Euler-Maruyama: 1.0 for additive noise)") {
    const nonlinear_drift model;
    const upfi::sde::additive_isotropic noise(2, 0.6);
    const std::size_t fine = 4096;
    const double h = 1.0 / fine;
    const std::vector<std::size_t> ratios{32, 64, 128, 256, 512};
    std::vector<double> dts, e_srk(ratios.size(), 0), e_em(ratios.size(), 0);
    for (auto r : ratios) dts.push_back(h * static_cast<double>(r));
    upfi::sde::srk15 srk;
    srk.prepare(model, noise);
    upfi::sde::euler_maruyama em;
    const upfi::core::counter_rng rng(upfi::test::seed(), 1);
    const Eigen::VectorXd x0 = Eigen::Vector2d(0.5, -0.3);
    for (int i = 0; i < 200; ++i) {
      const fine_path p = make_path(fine, 2, h, rng, static_cast<std::uint64_t>(i));
      const Eigen::VectorXd ref = integrate(srk, model, noise, x0, p, fine, h, 1);
      for (std::size_t k = 0; k < ratios.size(); ++k) {
        e_srk[k] += (integrate(srk, model, noise, x0, p, fine, h, ratios[k]) - ref).squaredNorm();
        e_em[k] += (integrate(em, model, noise, x0, p, fine, h, ratios[k]) - ref).squaredNorm();
      }
    }
    for (auto& e : e_srk) e = std::sqrt(e);
    for (auto& e : e_em) e = std::sqrt(e);
    const double p_srk = upfi::test::observed_order(dts, e_srk);
    const double p_em = upfi::test::observed_order(dts, e_em);
    MESSAGE("observed strong order (additive noise): SRK ", p_srk, ", Euler-Maruyama ", p_em);
    CHECK(p_srk == doctest::Approx(1.5).epsilon(0.15));
    CHECK(p_em == doctest::Approx(1.0).epsilon(0.2));
  }

  TEST_CASE("weak order of Euler-Maruyama is 1 (second moment of an OU process) [slow]") {
    // dX = -X dt + 0.5 dB, X_0 = 1: E X_T^2 = e^{-2T} + (1 - e^{-2T}) / 8.
    const upfi::sde::ornstein_uhlenbeck ou(-Eigen::MatrixXd::Identity(1, 1), Eigen::VectorXd::Zero(1),
                                           Eigen::MatrixXd::Constant(1, 1, 0.125));
    const double t = 1.0, exact = std::exp(-2 * t) + (1 - std::exp(-2 * t)) / 8;
    const std::vector<double> dts{0.2, 0.1, 0.05};
    std::vector<double> err;
    const Eigen::Index n = 400000;
    for (double dt : dts) {
      const upfi::sde::simulator sim(ou, ou.noise(), {.dt = dt});
      Eigen::MatrixXd x = Eigen::MatrixXd::Ones(n, 1);
      sim.advance(x, 0.0, dt, 0, static_cast<std::uint32_t>(std::lround(t / dt)),
                  upfi::core::counter_rng(upfi::test::seed(), 7));
      const double m2 = x.squaredNorm() / static_cast<double>(n);
      // Monte-Carlo standard error of E X^2 is about 3e-4: well below the weak errors (0.003 .. 0.014).
      err.push_back(std::abs(m2 - exact));
    }
    const double p = upfi::test::observed_order(dts, err);
    MESSAGE("observed weak order of Euler-Maruyama: ", p);
    CHECK(p == doctest::Approx(1.0).epsilon(0.25));
  }

  TEST_CASE("srk15 refuses non-additive noise") {
    upfi::sde::srk15 srk;
    CHECK_THROWS_AS(srk.prepare(gbm_drift{}, upfi::sde::diagonal_noise{gbm_diffusion{}}), std::invalid_argument);
  }
}
