// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/concepts/score.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/problems/fokker_planck_grid.hpp>
#include <upfi/problems/ou_growth_moments.hpp>
#include <upfi/sde/bistable.hpp>

#include <Eigen/LU>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace {
// dX = (A x + e) dt + sqrt(2 D) dB with net growth g(x) = x^T Gamma x / 2 + c^T x + b (birth g+, death g-)
struct ou_quadratic {
  Eigen::MatrixXd a, gamma;
  Eigen::VectorXd e, c;
  double b = 0;
  [[nodiscard]] Eigen::Index dimension() const { return a.rows(); }
  template <class T>
  void drift(double, const T* x, T* v) const {
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      v[i] = e[i];
      for (Eigen::Index j = 0; j < a.rows(); ++j) v[i] += a(i, j) * x[j];
    }
  }
  [[nodiscard]] double g(const double* x) const {
    const Eigen::Map<const Eigen::VectorXd> y(x, a.rows());
    return 0.5 * y.dot(gamma * y) + c.dot(y) + b;
  }
  template <class T>
  [[nodiscard]] T birth_rate(double, const T* x) const {
    return std::max(g(x), 0.0);
  }
  template <class T>
  [[nodiscard]] T death_rate(double, const T* x) const {
    return std::max(-g(x), 0.0);
  }
};

ou_quadratic rotating_ou() {
  ou_quadratic m;
  m.a = (Eigen::MatrixXd(2, 2) << -1.0, 0.6, -0.6, -1.0).finished();
  m.e = Eigen::Vector2d(0.5, 0.0);
  m.gamma = (Eigen::MatrixXd(2, 2) << -0.5, 0.1, 0.1, -0.3).finished();
  m.c = Eigen::Vector2d(0.8, 0.0);
  m.b = -0.2;
  return m;
}

// the grid solution of rotating_ou at t = 1 from 1 x N((-1.5, 0.5), 0.2 I), box [-5, 4] x [-4, 4]
upfi::problems::fokker_planck_grid<ou_quadratic> solve_rotating_ou(Eigen::Index cells_per_axis,
                                                                   const Eigen::Vector2d& diffusion) {
  upfi::problems::fokker_planck_grid_options o;
  o.lower = Eigen::Vector2d(-5, -4);
  o.upper = Eigen::Vector2d(4, 4);
  o.cells = {cells_per_axis};
  o.autonomous = true;
  upfi::problems::fokker_planck_grid grid(rotating_ou(), diffusion, o);
  grid.initialize(
      [](const double* x) { return std::exp(-((x[0] + 1.5) * (x[0] + 1.5) + (x[1] - 0.5) * (x[1] - 0.5)) / 0.4); });
  grid.advance_to(1.0);
  return grid;
}

// largest absolute error of mass, mean and covariance against the closed form
double moment_error(const upfi::problems::fokker_planck_grid<ou_quadratic>& grid,
                    const upfi::problems::gaussian_population& exact) {
  return std::max({std::abs(grid.mass() - exact.mass), (grid.mean() - exact.mean).cwiseAbs().maxCoeff(),
                   (grid.covariance() - exact.covariance).cwiseAbs().maxCoeff()});
}

// a 1-D gradient system dX = -V'(X) dt + sqrt(2 D) dB, V = x^4 / 4 + x^2 / 2
struct single_well {
  [[nodiscard]] Eigen::Index dimension() const { return 1; }
  template <class T>
  void drift(double, const T* x, T* v) const {
    v[0] = -(x[0] * x[0] * x[0] + x[0]);
  }
};

// a drift that is not finite on part of the box
struct singular_drift {
  [[nodiscard]] Eigen::Index dimension() const { return 1; }
  template <class T>
  void drift(double, const T* x, T* v) const {
    v[0] = x[0] > 0.5 ? std::numeric_limits<double>::infinity() : -x[0];
  }
};

struct four_dimensional {
  [[nodiscard]] Eigen::Index dimension() const { return 4; }
  template <class T>
  void drift(double, const T* x, T* v) const {
    for (int k = 0; k < 4; ++k) v[k] = -x[k];
  }
};

// no drift in three dimensions
struct still {
  [[nodiscard]] Eigen::Index dimension() const { return 3; }
  template <class T>
  void drift(double, const T*, T* v) const {
    v[0] = v[1] = v[2] = 0;
  }
};

upfi::problems::fokker_planck_grid_options box_1d(Eigen::Index cells) {
  upfi::problems::fokker_planck_grid_options o;
  o.lower = Eigen::VectorXd::Constant(1, -3);
  o.upper = Eigen::VectorXd::Constant(1, 3);
  o.cells = {cells};
  o.autonomous = true;
  return o;
}

double standard_normal(const double* x) { return std::exp(-x[0] * x[0] / 2); }
}  // namespace

TEST_SUITE("problems") {
  TEST_CASE("fokker_planck_grid: OU with quadratic growth matches Proposition 2.1 at second order") {
    const Eigen::Vector2d diffusion(0.25, 0.4);
    const auto m = rotating_ou();
    const upfi::problems::gaussian_population start{1.0, Eigen::Vector2d(-1.5, 0.5),
                                                    0.2 * Eigen::MatrixXd::Identity(2, 2)};
    const auto exact = upfi::problems::ou_growth_moments(m.a, m.e, Eigen::MatrixXd(diffusion.asDiagonal()), m.gamma,
                                                         m.c, m.b, start, 1.0, 4000);
    std::vector<double> errors;
    for (const Eigen::Index n : {45, 90, 180}) {
      const auto grid = solve_rotating_ou(n, diffusion);
      errors.push_back(moment_error(grid, exact));
      CAPTURE(n);
      CHECK(grid.values().minCoeff() >= 0);
      CHECK(grid.boundary_mass() < 1e-6);
    }
    MESSAGE("moment errors at h = 0.2, 0.1, 0.05 (x-axis): " << errors[0] << ", " << errors[1] << ", " << errors[2]
                                                             << "; exact mass " << exact.mass);
    // the population changes: a test that only checked the start would fail here
    CHECK(std::abs(exact.mass - 1) > 0.1);
    CHECK(errors[2] < 2e-3);
    CHECK(std::log2(errors[1] / errors[2]) > 1.7);  // second order
    CHECK(std::log2(errors[0] / errors[1]) > 1.7);
  }

  TEST_CASE("fokker_planck_grid: without growth the mass is conserved and the result does not depend on threads") {
    auto m = rotating_ou();
    m.gamma.setZero();
    m.c.setZero();
    m.b = 0;
    upfi::problems::fokker_planck_grid_options o;
    o.lower = Eigen::Vector2d(-5, -4);
    o.upper = Eigen::Vector2d(4, 4);
    o.cells = {90, 80};
    const auto run = [&](int threads) {
      upfi::core::thread_limit limit(threads);
      upfi::problems::fokker_planck_grid grid(m, Eigen::VectorXd::Constant(1, 0.3), o);  // time-dependent path
      grid.initialize([](const double* x) { return std::exp(-(x[0] * x[0] + x[1] * x[1]) / 0.4); }, 2.5, 0.25);
      grid.advance_to(0.75);
      grid.advance_to(1.25);
      return grid;
    };
    const auto one = run(1), two = run(2);
    CHECK(one.time() == 1.25);
    CHECK(one.steps() > 10);
    CHECK(one.mass() == doctest::Approx(2.5).epsilon(1e-12));
    CHECK(one.values().minCoeff() >= 0);
    CHECK((one.values().array() == two.values().array()).all());
    // the mean follows dmu/dt = A mu + e from 0 over one time unit
    const upfi::problems::gaussian_population start{2.5, Eigen::Vector2d::Zero(),
                                                    0.2 * Eigen::MatrixXd::Identity(2, 2)};
    const auto exact = upfi::problems::ou_growth_moments(m.a, m.e, 0.3 * Eigen::MatrixXd::Identity(2, 2), m.gamma, m.c,
                                                         0.0, start, 1.0, 2000);
    CHECK((one.mean() - exact.mean).cwiseAbs().maxCoeff() < 5e-3);
    CHECK((one.covariance() - exact.covariance).cwiseAbs().maxCoeff() < 5e-3);
  }

  TEST_CASE("fokker_planck_grid: a gradient system relaxes to exp(-V / D), whose score is -V' / D") {
    const double diffusion = 0.3;
    upfi::problems::fokker_planck_grid grid(single_well{}, Eigen::VectorXd::Constant(1, diffusion), box_1d(240));
    grid.initialize(standard_normal);
    grid.advance_to(8.0);
    Eigen::VectorXd x(7);
    x << -1.2, -0.7, -0.3, 0.0, 0.25, 0.8, 1.3;
    const Eigen::MatrixXd s = grid.score(x);
    const Eigen::ArrayXd exact = -(x.array().cube() + x.array()) / diffusion;
    CAPTURE(s.transpose());
    CHECK((s.col(0).array() - exact).abs().maxCoeff() < 1e-2);  // measured 4e-3 on values up to 12
    // the density is the normalised Boltzmann weight
    const auto boltzmann = [diffusion](double y) { return std::exp(-(std::pow(y, 4) / 4 + y * y / 2) / diffusion); };
    double z = 0;
    for (int i = 0; i < 60000; ++i) z += boltzmann(-3 + (i + 0.5) * 1e-4) * 1e-4;
    const Eigen::VectorXd p = grid.density(x);
    for (Eigen::Index i = 0; i < x.size(); ++i) CHECK(p[i] == doctest::Approx(boltzmann(x[i]) / z).epsilon(2e-3));
  }

  TEST_CASE("fokker_planck_grid: three dimensions, pure diffusion spreads a Gaussian as 2 D t") {
    upfi::problems::fokker_planck_grid_options o;
    o.lower = Eigen::Vector3d::Constant(-3);
    o.upper = Eigen::Vector3d::Constant(3);
    o.cells = {40};
    o.autonomous = true;
    upfi::problems::fokker_planck_grid grid(still{}, Eigen::Vector3d(0.1, 0.2, 0.05), o);
    grid.initialize([](const double* x) { return std::exp(-(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]) / 0.5); });
    grid.advance_to(0.5);
    const Eigen::Vector3d expected = Eigen::Vector3d::Constant(0.25) + 2 * 0.5 * Eigen::Vector3d(0.1, 0.2, 0.05);
    CHECK((grid.covariance().diagonal() - expected).cwiseAbs().maxCoeff() < 2e-3);
    CHECK(std::abs(grid.covariance()(0, 1)) < 1e-12);
    CHECK(grid.mass() == doctest::Approx(1).epsilon(1e-12));
    // the score of the Gaussian at a point: -(x - mu) / variance per axis
    const Eigen::MatrixXd s = grid.score(Eigen::RowVector3d(0.3, -0.2, 0.4));
    for (Eigen::Index k = 0; k < 3; ++k) {
      const double exact = -(k == 0 ? 0.3 : k == 1 ? -0.2 : 0.4) / expected[k];
      CHECK(s(0, k) == doctest::Approx(exact).epsilon(0.02));
    }
  }

  TEST_CASE("fokker_planck_grid: the bistable benchmark's mass and branch split") {
    // the growth sends mass to the dividing branch x0 > 0, where the birth rate is about 5
    upfi::problems::fokker_planck_grid_options o;
    o.lower = Eigen::Vector2d::Constant(-2.4);
    o.upper = Eigen::Vector2d::Constant(2.4);
    o.cells = {120};
    o.autonomous = true;
    const upfi::sde::bistable truth(2);
    upfi::problems::fokker_planck_grid grid(truth, Eigen::VectorXd::Constant(1, 0.125), o);
    grid.initialize([](const double* x) { return std::exp(-(x[0] * x[0] + x[1] * x[1]) / 0.02); });
    grid.advance_to(1.0);
    double positive = 0;
    const Eigen::MatrixXd c = grid.centres();
    for (Eigen::Index i = 0; i < grid.size(); ++i) positive += c(i, 0) > 0 ? grid.values()[i] : 0.0;
    positive *= grid.cell_volume() / grid.mass();
    MESSAGE("bistable d = 2 at t = 1: mass " << grid.mass() << ", fraction at x0 > 0 " << positive << ", "
                                             << grid.steps() << " steps, boundary mass " << grid.boundary_mass());
    // by symmetry half of the cells would sit at x0 > 0 without growth; births there multiply them about 75-fold
    // (rate ~5 for most of the unit interval) against ~1.1-fold on the other branch
    CHECK(positive > 0.9);
    CHECK(grid.mass() > 20);
    CHECK(grid.mass() < 60);
    CHECK(grid.boundary_mass() < 1e-8);
  }

  TEST_CASE("fokker_planck_score: the exact score in space and time, its VJP, and its errors") {
    // with quadratic growth the OU population stays Gaussian (Proposition 2.1): score -Sigma(t)^-1 (x - mu(t))
    const Eigen::Vector2d diffusion(0.25, 0.4);
    const auto m = rotating_ou();
    const upfi::problems::gaussian_population start{1.0, Eigen::Vector2d(-1.5, 0.5),
                                                    0.2 * Eigen::MatrixXd::Identity(2, 2)};
    const auto gaussian_score = [&](double t, const Eigen::MatrixXd& x) {
      const auto g = upfi::problems::ou_growth_moments(m.a, m.e, Eigen::MatrixXd(diffusion.asDiagonal()), m.gamma, m.c,
                                                       m.b, start, t, 4000);
      const Eigen::MatrixXd precision = g.covariance.inverse();
      return Eigen::MatrixXd(-(x.rowwise() - g.mean.transpose()) * precision);  // precision is symmetric
    };
    upfi::problems::fokker_planck_grid_options o;
    o.lower = Eigen::Vector2d(-5, -4);
    o.upper = Eigen::Vector2d(4, 4);
    o.cells = {90};
    o.autonomous = true;
    upfi::problems::fokker_planck_grid grid(m, diffusion, o);
    grid.initialize(
        [](const double* x) { return std::exp(-((x[0] + 1.5) * (x[0] + 1.5) + (x[1] - 0.5) * (x[1] - 0.5)) / 0.4); });
    const upfi::problems::fokker_planck_score score(grid, {0.5, 0.75, 1.0});
    static_assert(upfi::ScoreModelWithVjp<decltype(score)>);
    CHECK(score.dimension() == 2);
    CHECK(score.grid().time() == 1.0);

    const auto exact_075 = upfi::problems::ou_growth_moments(m.a, m.e, Eigen::MatrixXd(diffusion.asDiagonal()), m.gamma,
                                                             m.c, m.b, start, 0.75, 4000);
    Eigen::MatrixXd x(4, 2);  // within about one standard deviation of the mean at t = 0.75
    x << 0.0, 0.0, 0.3, -0.2, -0.25, 0.35, 0.1, 0.4;
    x.rowwise() += exact_075.mean.transpose();
    Eigen::MatrixXd s;
    score.evaluate(0.75, x, s);
    const Eigen::MatrixXd truth = gaussian_score(0.75, x);
    CAPTURE(s);
    CAPTURE(truth);
    CHECK((s - truth).cwiseAbs().maxCoeff() < 0.03 * truth.cwiseAbs().maxCoeff() + 0.01);

    // between frames: linear in time, and close to the exact score there
    Eigen::MatrixXd s1, s2, mid;
    score.evaluate(1.0, x, s2);
    score.evaluate(0.875, x, mid);
    CHECK((mid - 0.5 * (s + s2)).cwiseAbs().maxCoeff() < 1e-12);
    // ... and nearer the exact score at that time than either frame (the mean moves by about 0.1 between them)
    const Eigen::MatrixXd truth_mid = gaussian_score(0.875, x);
    const double error_mid = (mid - truth_mid).cwiseAbs().maxCoeff();
    CHECK(error_mid < (s - truth_mid).cwiseAbs().maxCoeff());
    CHECK(error_mid < (s2 - truth_mid).cwiseAbs().maxCoeff());

    // the VJP: c^T ds/dx = -c^T Sigma^-1 (exactly the interpolant's slope inside a cell)
    Eigen::MatrixXd cot(4, 2), vjp;
    cot << 1.0, 0.0, 0.0, 1.0, 0.5, -2.0, -1.0, 0.3;
    score.vjp_x(0.75, x, cot, vjp);
    const Eigen::MatrixXd precision = exact_075.covariance.inverse();
    const Eigen::MatrixXd vjp_truth = -cot * precision;
    CAPTURE(vjp);
    CHECK((vjp - vjp_truth).cwiseAbs().maxCoeff() < 0.1 * precision.cwiseAbs().maxCoeff());
    // against central differences of evaluate() (same cell: the interpolant is multilinear), at a frame and between
    // frames, where the VJP is that of the blend of the two frames
    for (const double t : {0.75, 0.875}) {
      CAPTURE(t);
      score.vjp_x(t, x, cot, vjp);
      for (Eigen::Index k = 0; k < 2; ++k) {
        Eigen::MatrixXd xp = x, xm = x;
        xp.col(k).array() += 1e-4;
        xm.col(k).array() -= 1e-4;
        score.evaluate(t, xp, s1);
        score.evaluate(t, xm, s2);
        const Eigen::VectorXd fd = ((s1 - s2).cwiseProduct(cot)).rowwise().sum() / 2e-4;
        CHECK((fd - vjp.col(k)).cwiseAbs().maxCoeff() < 1e-6 * (1 + fd.cwiseAbs().maxCoeff()));
      }
    }

    // outside_box::nearest: a point beyond the box gets the score at the nearest point of the box, flat across it
    const upfi::problems::fokker_planck_score nearest(score.grid(), {1.0}, upfi::problems::outside_box::nearest);
    Eigen::MatrixXd beyond(2, 2), inside(2, 2), s_beyond, s_inside;
    beyond << 4.5, 0.2, -7.0, -5.5;
    inside << 4.0, 0.2, -5.0, -4.0;
    nearest.evaluate(1.0, beyond, s_beyond);
    nearest.evaluate(1.0, inside, s_inside);
    CHECK((s_beyond - s_inside).cwiseAbs().maxCoeff() == 0);
    nearest.vjp_x(1.0, beyond, Eigen::MatrixXd::Ones(2, 2), vjp);
    CHECK(vjp.allFinite());
    CHECK(vjp(1, 0) == 0);  // beyond the box on both axes
    CHECK(vjp(1, 1) == 0);

    // copies share the frames
    const auto copy = score;
    CHECK(copy.times().data() == score.times().data());

    using upfi::problems::fokker_planck_score;
    CHECK_THROWS_WITH_AS(score.evaluate(0.25, x, s), doctest::Contains("outside the frames' range [0.5, 1]"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(score.vjp_x(0.75, x, Eigen::MatrixXd::Zero(3, 2), vjp),
                         doctest::Contains("cotangent is 3 x 2"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(score.evaluate(0.75, Eigen::MatrixXd::Constant(1, 2, 4.5), s),
                         doctest::Contains("outside the box"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)fokker_planck_score(grid, {0.5, 0.5}), doctest::Contains("strictly increasing"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)fokker_planck_score(grid, {}), doctest::Contains("no frame times"),
                         std::invalid_argument);
    grid.advance_to(0.2);
    CHECK_THROWS_WITH_AS((void)fokker_planck_score(grid, {0.1, 0.5}), doctest::Contains("before the grid's time 0.2"),
                         std::invalid_argument);
  }

  TEST_CASE("fokker_planck_grid::interpolate_vjp: the exact slope of the blended interpolant, 0 beside a wall") {
    upfi::problems::fokker_planck_grid_options o;
    o.lower = Eigen::Vector3d::Constant(-3);
    o.upper = Eigen::Vector3d::Constant(3);
    o.cells = {12};  // centres at -2.75, -2.25, ..., 2.75
    o.autonomous = true;
    const upfi::problems::fokker_planck_grid grid(still{}, Eigen::Vector3d(0.1, 0.2, 0.05), o);
    const Eigen::MatrixXd c = grid.centres();
    Eigen::MatrixXd first(grid.size(), 2), second(grid.size(), 2);
    first.col(0) = c.col(0).array().sin() + c.col(1).array() * c.col(2).array();
    first.col(1) = (c.col(0).array() - 0.5 * c.col(2).array()).square();
    second.col(0) = c.col(1).array().cos() * c.col(0).array();
    second.col(1) = c.col(2).array().exp();
    // rows 0-3 inside the cells between centres (away from their faces); row 4 lies in the half cell beside the
    // lower wall along x0, row 5 beside the upper wall along x2
    Eigen::MatrixXd x(6, 3), cot(6, 2);
    x << -2.33, 0.42, 1.87, -0.71, -2.33, 0.42, 0.42, 1.87, -0.71, 1.87, -0.71, -2.33, -2.9, 0.42, -0.71, 1.87, -2.33,
        2.9;
    cot << 1.0, 0.0, 0.0, 1.0, 0.5, -2.0, -1.0, 0.3, 0.7, 0.7, -0.4, 1.1;
    for (const double w : {0.0, 0.3, 1.0}) {
      CAPTURE(w);
      const Eigen::MatrixXd vjp = grid.interpolate_vjp(first, second, w, x, cot);
      REQUIRE(vjp.rows() == 6);
      REQUIRE(vjp.cols() == 3);
      for (Eigen::Index k = 0; k < 3; ++k) {
        Eigen::MatrixXd xp = x, xm = x;
        xp.col(k).array() += 1e-5;
        xm.col(k).array() -= 1e-5;
        // multilinear in each cell: the central difference is exact up to rounding
        const Eigen::VectorXd fd =
            ((grid.interpolate(first, second, w, xp) - grid.interpolate(first, second, w, xm)).cwiseProduct(cot))
                .rowwise()
                .sum() /
            2e-5;
        CAPTURE(k);
        CHECK((fd - vjp.col(k)).cwiseAbs().maxCoeff() < 1e-8 * (1 + fd.cwiseAbs().maxCoeff()));
      }
      CHECK(vjp(4, 0) == 0);  // constant along x0 beside the lower wall ...
      CHECK(vjp(4, 1) != 0);  // ... but not along the other axes
      CHECK(vjp(5, 2) == 0);
      CHECK(vjp(5, 0) != 0);
    }
    // one field: pass it twice
    const Eigen::MatrixXd single = grid.interpolate_vjp(first, first, 0.6, x, cot);
    CHECK((single - grid.interpolate_vjp(first, second, 0.0, x, cot)).cwiseAbs().maxCoeff() < 1e-12);
    CHECK_THROWS_WITH_AS((void)grid.interpolate_vjp(first, second, 0.5, x, Eigen::MatrixXd::Zero(6, 3)),
                         "upfi::problems::fokker_planck_grid::interpolate_vjp: cotangent is 6 x 3; expected 6 x 2",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.interpolate_vjp(first, second.leftCols(1), 0.5, x, cot),
                         "upfi::problems::fokker_planck_grid::interpolate_vjp: the two fields are 1728 x 2 and "
                         "1728 x 1; the grid has 1728 cells",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.interpolate_vjp(first, second, -0.5, x, cot),
                         "upfi::problems::fokker_planck_grid::interpolate_vjp: weight -0.5 of the second field is not "
                         "in [0, 1]",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.interpolate_vjp(first, second, 0.5, Eigen::MatrixXd::Constant(1, 3, 3.5),
                                                    Eigen::MatrixXd::Zero(1, 2)),
                         doctest::Contains("interpolate_vjp: point 0 has coordinate 0 = 3.5 outside the box"),
                         std::invalid_argument);
  }

  TEST_CASE("fokker_planck_grid: invalid configurations and inputs raise clear errors") {
    using upfi::problems::fokker_planck_grid;
    const Eigen::VectorXd d1 = Eigen::VectorXd::Constant(1, 0.3);
    CHECK_THROWS_WITH_AS((void)fokker_planck_grid(four_dimensional{}, d1, box_1d(10)), doctest::Contains("dimension 4"),
                         std::invalid_argument);
    auto o = box_1d(10);
    o.cells = {2};
    CHECK_THROWS_WITH_AS((void)fokker_planck_grid(single_well{}, d1, o), doctest::Contains("need at least 3"),
                         std::invalid_argument);
    o = box_1d(10);
    o.upper[0] = -3;
    CHECK_THROWS_WITH_AS((void)fokker_planck_grid(single_well{}, d1, o), doctest::Contains("upper > lower"),
                         std::invalid_argument);
    o = box_1d(10);
    o.cfl = 1.5;
    CHECK_THROWS_WITH_AS((void)fokker_planck_grid(single_well{}, d1, o), doctest::Contains("cfl"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)fokker_planck_grid(single_well{}, Eigen::VectorXd::Constant(1, -0.1), box_1d(10)),
                         doctest::Contains("diffusion"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)fokker_planck_grid(rotating_ou(), d1, box_1d(10)),
                         doctest::Contains("the box corners have 1 and 1 coordinates; the model has 2"),
                         std::invalid_argument);

    fokker_planck_grid grid(single_well{}, d1, box_1d(30));
    CHECK_THROWS_WITH_AS(grid.initialize([](const double* x) { return x[0]; }), doctest::Contains("finite and >= 0"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(grid.initialize([](const double*) { return 0.0; }), doctest::Contains("zero on every cell"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(grid.initialize(standard_normal, -1.0), doctest::Contains("mass"), std::invalid_argument);
    grid.initialize(standard_normal, 1.0, 1.0);
    CHECK_THROWS_WITH_AS(grid.advance_to(0.5), doctest::Contains("before the current time"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.density(Eigen::MatrixXd::Constant(1, 1, 3.5)), doctest::Contains("outside the box"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.score(Eigen::MatrixXd::Zero(1, 2)), doctest::Contains("2 columns"),
                         std::invalid_argument);

    // two fields at once: the same as the combination of the single interpolations (corners shared, same weights)
    const Eigen::MatrixXd first = grid.score_at_centres();
    const Eigen::MatrixXd second = first.array().square().matrix();
    const Eigen::MatrixXd at = Eigen::VectorXd::LinSpaced(7, -2.9, 2.9);
    const Eigen::MatrixXd both = grid.interpolate(first, second, 0.3, at);
    CHECK((both - (0.7 * grid.interpolate(first, at) + 0.3 * grid.interpolate(second, at))).cwiseAbs().maxCoeff() <
          1e-12);
    CHECK((grid.interpolate(first, second, 1.0, at) - grid.interpolate(second, at)).cwiseAbs().maxCoeff() < 1e-12);
    CHECK_THROWS_WITH_AS((void)grid.interpolate(first, Eigen::MatrixXd::Zero(30, 2), 0.5, at),
                         doctest::Contains("the two fields are 30 x 1 and 30 x 2"), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.interpolate(first, second, 1.5, at), doctest::Contains("weight 1.5"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)grid.interpolate(first, second, std::nan(""), at), doctest::Contains("not in [0, 1]"),
                         std::invalid_argument);

    fokker_planck_grid singular(singular_drift{}, d1, box_1d(30));
    singular.initialize(standard_normal);
    CHECK_THROWS_WITH_AS(singular.advance_to(0.1), doctest::Contains("drift is not finite"), std::runtime_error);
  }
}
