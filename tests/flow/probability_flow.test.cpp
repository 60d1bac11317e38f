// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/flow/chemical_langevin_flow.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/flow/transport_flow.hpp>
#include <upfi/nn/linear_degradation_field.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/problems/ou_growth_moments.hpp>
#include <upfi/score/dsm.hpp>
#include <upfi/score/ensemble.hpp>
#include <upfi/score/gaussian.hpp>

#include <Eigen/Cholesky>
#include <doctest/doctest.h>

#include "score/support.hpp"
#include "support/random_matrix.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <string>
#include <vector>

using upfi::flow::flow_state;
using upfi::flow::tableau;

namespace {
using upfi::test::random_matrix;

// N points whose sample mean and (1/N) covariance are exactly mu and sigma.
Eigen::MatrixXd exact_moment_sample(const Eigen::VectorXd& mu, const Eigen::MatrixXd& sigma, Eigen::Index n) {
  Eigen::MatrixXd z = random_matrix(n, mu.size(), 40);
  z = z.rowwise() - z.colwise().mean();
  const Eigen::MatrixXd c = z.transpose() * z / static_cast<double>(n);
  const Eigen::MatrixXd lc = c.llt().matrixL(), ls = sigma.llt().matrixL();
  // Y = Z L_c^{-T} L_s^T has covariance L_s L_s^T
  const Eigen::MatrixXd w = lc.triangularView<Eigen::Lower>().solve(Eigen::MatrixXd::Identity(mu.size(), mu.size()));
  return ((z * w.transpose()) * ls.transpose()).rowwise() + mu.transpose();
}

auto ou_flow(const upfi::test::ou_case& c) {
  return upfi::flow::probability_flow(upfi::nn::linear_field(c.ou.drift_matrix(), c.ou.drift_offset()),
                                      upfi::score::ou_marginal_score(c.ou, c.m0, c.s0),
                                      upfi::flow::matrix_diffusion{c.ou.diffusion()});
}

// g(x) = x^T Gamma x / 2 + c^T x + b as a DifferentiableField (trainable b).
struct quadratic_fitness {
  Eigen::MatrixXd gamma;
  Eigen::VectorXd c, b = Eigen::VectorXd::Zero(1);
  [[nodiscard]] Eigen::Index inputs() const { return c.size(); }
  [[nodiscard]] Eigen::Index outputs() const { return 1; }
  [[nodiscard]] Eigen::Index parameter_count() const { return 1; }
  Eigen::VectorXd& parameters() { return b; }
  void evaluate(double, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    out = (0.5 * ((x * gamma).array() * x.array()).rowwise().sum()).matrix() + x * c;
    out.array() += b[0];
  }
  void vjp(double, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
           Eigen::MatrixXd* gx, Eigen::VectorXd* gp) const {
    if (gx != nullptr) *gx = cot.col(0).asDiagonal() * ((x * gamma).rowwise() + c.transpose());
    if (gp != nullptr) (*gp)[0] += cot.sum();
  }
};

// FD check of integrate_vjp for loss = <cx, X1> + <cl, log m1> + beta R over [0.1, 0.9].
template <class Field>
void check_flow_gradients(const Field& field, const tableau& tb, int steps, double alpha, const flow_state& y0) {
  const Eigen::Index n = y0.x.rows(), d = y0.x.cols();
  const Eigen::MatrixXd cx = random_matrix(n, d, 3);
  const Eigen::VectorXd cl = random_matrix(n, 1, 4).col(0);
  const double beta = 0.37;
  const upfi::flow::fixed_step_options o{.steps = steps, .alpha = alpha};
  const auto loss = [&](const Field& f, const flow_state& y) {
    const flow_state y1 = upfi::flow::integrate(f, tb, 0.1, 0.9, y, o);
    return (y1.x.array() * cx.array()).sum() + y1.log_m.dot(cl) + beta * y1.regulariser;
  };
  const auto g = upfi::flow::integrate_vjp(field, tb, 0.1, 0.9, y0, o, cx, cl, beta);
  // one recorded forward pass with the stage values kept: the same end state and the same gradients, bit for bit
  const auto tape = upfi::flow::integrate_recorded(field, tb, 0.1, 0.9, y0, o);
  CHECK(tape.stages.size() == static_cast<std::size_t>(steps));
  const flow_state y1 = upfi::flow::integrate(field, tb, 0.1, 0.9, y0, o);
  CHECK(tape.end.x == y1.x);
  CHECK(tape.end.log_m == y1.log_m);
  CHECK(tape.end.regulariser == y1.regulariser);
  const auto gt = upfi::flow::integrate_vjp(field, tape, cx, cl, beta);
  CHECK(gt.params == g.params);
  CHECK(gt.x0 == g.x0);
  CHECK(gt.log_m0 == g.log_m0);
  const auto lp = [&](const Eigen::VectorXd& p) {
    Field copy = field;
    copy.set_parameters(p);
    return loss(copy, y0);
  };
  CHECK(upfi::ad::check_gradient(lp, field.parameters(), g.params).max_rel_error < 1e-6);
  const auto lx = [&](const Eigen::VectorXd& v) {
    flow_state y = y0;
    y.x = Eigen::Map<const Eigen::MatrixXd>(v.data(), n, d);
    return loss(field, y);
  };
  const Eigen::VectorXd xflat = Eigen::Map<const Eigen::VectorXd>(y0.x.data(), y0.x.size());
  CHECK(upfi::ad::check_gradient(lx, xflat, Eigen::Map<const Eigen::VectorXd>(g.x0.data(), g.x0.size())).max_rel_error <
        1e-6);
  const auto ll = [&](const Eigen::VectorXd& v) {
    flow_state y = y0;
    y.log_m = v;
    return loss(field, y);
  };
  CHECK(upfi::ad::check_gradient(ll, y0.log_m, g.log_m0).max_rel_error < 1e-6);
}

// D_ii(x) = 0.2 + 0.1 x_i^2 + 0.05 x_{i+1}^2 tanh(x_i) (cyclic): state-dependent, coupled, smooth.
struct coupled_diagonal {
  Eigen::Index d = 3;
  [[nodiscard]] Eigen::Index dimension() const { return d; }
  template <class T>
  void operator()(upfi::scalar_of_t<T>, const T* x, T* out) const {
    using std::tanh;
    for (Eigen::Index i = 0; i < d; ++i) {
      const T& nb = x[(i + 1) % d];
      out[i] = 0.2 + 0.1 * x[i] * x[i] + 0.05 * nb * nb * tanh(x[i]);
    }
  }
};

// The same field with its records hidden: the reverse sweep then evaluates every part again (the reference path).
template <class Field>
struct without_records {
  Field f;
  [[nodiscard]] Eigen::Index dimension() const { return f.dimension(); }
  [[nodiscard]] Eigen::Index parameter_count() const { return f.parameter_count(); }
  [[nodiscard]] Eigen::VectorXd parameters() const { return f.parameters(); }
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, upfi::flow::flow_values& out) const {
    f.evaluate(t, x, out);
  }
  void vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& cu, const Eigen::MatrixXd& cv,
           const Eigen::VectorXd& cg, Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    f.vjp(t, x, cu, cv, cg, grad_x, grad_params);
  }
};

double relative_difference(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).norm() / b.norm(); }

// vjp(record, ...) against the recomputing vjp on an N x d cloud, and integrate_vjp through a tape that holds records
// against the same sweep with the records hidden: bit-identical with one row block, equal to rounding with several,
// and independent of the thread count.
template <class Field>
void check_recorded_vjp(const Field& field, Eigen::Index n) {
  static_assert(Field::keeps_records && upfi::flow::detail::records_evaluations<Field>);
  static_assert(!upfi::flow::detail::records_evaluations<without_records<Field>>);
  const Eigen::Index d = field.dimension();
  const auto blocks = upfi::core::block_count(n, upfi::flow::detail::flow_block_rows(n, d));
  CAPTURE(n);
  CAPTURE(blocks);
  const Eigen::MatrixXd x = random_matrix(n, d, 9), cu = random_matrix(n, d, 10), cv = random_matrix(n, d, 11);
  const Eigen::VectorXd cg = random_matrix(n, 1, 12).col(0);
  upfi::flow::flow_values plain, recorded;
  typename Field::record_type record;
  field.evaluate(0.4, x, plain);
  field.evaluate(0.4, x, recorded, record);
  CHECK(recorded.u == plain.u);
  CHECK(recorded.v == plain.v);
  CHECK(recorded.g == plain.g);
  CHECK(record.size() == static_cast<std::size_t>(blocks));
  const auto check_equal = [&](const Eigen::MatrixXd& got, const Eigen::MatrixXd& want) {
    if (blocks == 1) {
      CHECK(got == want);
    } else {
      CHECK(relative_difference(got, want) < 1e-13);
    }
  };
  for (const bool with_v_and_g : {true, false}) {
    CAPTURE(with_v_and_g);
    const Eigen::MatrixXd v_cot = with_v_and_g ? cv : Eigen::MatrixXd();
    const Eigen::VectorXd g_cot = with_v_and_g ? cg : Eigen::VectorXd();
    const Eigen::Index p = field.parameter_count();
    Eigen::MatrixXd dx_ref, dx_rec, dx_one;
    Eigen::VectorXd gp_ref = Eigen::VectorXd::Zero(p), gp_rec = gp_ref, gp_one = gp_ref;
    field.vjp(0.4, x, cu, v_cot, g_cot, &dx_ref, &gp_ref);
    field.vjp(record, 0.4, x, cu, v_cot, g_cot, &dx_rec, &gp_rec);
    check_equal(dx_rec, dx_ref);
    check_equal(gp_rec, gp_ref);
    {
      const upfi::core::thread_limit one(1);
      field.vjp(record, 0.4, x, cu, v_cot, g_cot, &dx_one, &gp_one);
    }
    CHECK(dx_one == dx_rec);
    CHECK(gp_one == gp_rec);
  }
  // a record made on another cloud, or cotangents of another size
  const Eigen::Index other = n > 512 ? 100 : n / 2;
  Eigen::MatrixXd dx;
  const std::string expected = upfi::core::detail::message("the record was made on a cloud of ", n, " rows (", blocks,
                                                           " row blocks); this cloud has ", other, " rows");
  CHECK_THROWS_WITH_AS(field.vjp(record, 0.4, x.topRows(other), cu.topRows(other), {}, {}, &dx, nullptr),
                       doctest::Contains(expected.c_str()), std::invalid_argument);
  CHECK_THROWS_WITH_AS(field.vjp(record, 0.4, x, cu.topRows(other), {}, {}, &dx, nullptr),
                       doctest::Contains("cotangents must be"), std::invalid_argument);
  // through two RK4 steps: the tape keeps one record per stage and the reverse sweep runs no forward pass
  const flow_state y0{x, 0.1 * cg, 0};
  const upfi::flow::fixed_step_options o{.steps = 2, .alpha = 0.5};
  const auto tape = upfi::flow::integrate_recorded(field, upfi::flow::rk4(), 0.1, 0.9, y0, o);
  REQUIRE(tape.stages.size() == 2);
  for (const auto& st : tape.stages) {
    REQUIRE(st.records.size() == 4);
    for (const auto& r : st.records) CHECK(std::any_cast<typename Field::record_type>(&r) != nullptr);
  }
  const without_records<Field> hidden{field};
  const auto ref_tape = upfi::flow::integrate_recorded(hidden, upfi::flow::rk4(), 0.1, 0.9, y0, o);
  CHECK(ref_tape.end.x == tape.end.x);
  CHECK(ref_tape.stages[0].records.empty());
  const auto g_rec = upfi::flow::integrate_vjp(field, tape, cu, cg, 0.37);
  const auto g_ref = upfi::flow::integrate_vjp(hidden, tape, cu, cg, 0.37);
  check_equal(g_rec.params, g_ref.params);
  check_equal(g_rec.x0, g_ref.x0);
  check_equal(g_rec.log_m0, g_ref.log_m0);
  // a tape without records (keep_records = false) gives the reference sweep's gradient exactly
  const auto plain_tape = upfi::flow::integrate_recorded(field, upfi::flow::rk4(), 0.1, 0.9, y0, o, true, false);
  CHECK(plain_tape.stages[1].records.empty());
  const auto g_plain = upfi::flow::integrate_vjp(field, plain_tape, cu, cg, 0.37);
  CHECK(g_plain.params == g_ref.params);
  CHECK(g_plain.x0 == g_ref.x0);
  // without kept stages the sweep evaluates each stage once and its VJPs reuse those records
  const auto g_again = upfi::flow::integrate_vjp(field, upfi::flow::rk4(), 0.1, 0.9, y0, o, cu, cg, 0.37);
  CHECK(g_again.params == g_rec.params);
  CHECK(g_again.x0 == g_rec.x0);
}

double moment_error(const Eigen::MatrixXd& x, const Eigen::VectorXd& mu, const Eigen::MatrixXd& sigma) {
  const Eigen::RowVectorXd m = x.colwise().mean();
  const Eigen::MatrixXd xc = x.rowwise() - m;
  const Eigen::MatrixXd c = xc.transpose() * xc / static_cast<double>(x.rows());
  return std::max((m.transpose() - mu).cwiseAbs().maxCoeff(), (c - sigma).cwiseAbs().maxCoeff());
}
// The chemical-Langevin flow's velocity against a finite-difference row divergence of D, its gradients through Euler
// and RK4 steps against finite differences, and its recorded VJPs.
template <class Field>
void check_chemical_langevin_flow(Field field) {
  const Eigen::Index d = field.dimension(), n = 6;
  const Eigen::MatrixXd x = random_matrix(n, d, 12).array().abs() + 0.2;
  upfi::flow::flow_values f;
  field.evaluate(0.3, x, f);
  // u = v - div D - D s with div D_i = d D_ii / d x_i by central differences of the diffusion diagonal
  const double h = 1e-6;
  Eigen::MatrixXd div(n, d);
  for (Eigen::Index i = 0; i < d; ++i) {
    Eigen::MatrixXd xp = x, xm = x;
    xp.col(i).array() += h;
    xm.col(i).array() -= h;
    div.col(i) = (field.diffusion_diagonal(0.3, xp).col(i) - field.diffusion_diagonal(0.3, xm).col(i)) / (2 * h);
  }
  const Eigen::MatrixXd expected = f.v - div - (field.diffusion_diagonal(0.3, x).array() * f.s.array()).matrix();
  CHECK((f.u - expected).cwiseAbs().maxCoeff() < 1e-8);
  const flow_state y0{x, 0.2 * random_matrix(n, 1, 13).col(0), 0};
  for (const tableau& tb : {upfi::flow::euler(), upfi::flow::rk4()}) {
    CAPTURE(tb.name);
    check_flow_gradients(field, tb, 3, 0.5, y0);
  }
  // records: p, q, s and the rate networks' workspaces (one forward pass serves values, diagonals and VJPs)
  check_recorded_vjp(field, 200);
  check_recorded_vjp(field, 1500);
}

}  // namespace

TEST_SUITE("flow/probability_flow") {
  TEST_CASE("OU with the analytic score: pushed samples have the exact moments at t1, at each stepper's order") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto field = ou_flow(c);
    const double t0 = 0.2, t1 = 1.0;
    const Eigen::VectorXd mu0 = c.ou.mean(t0, c.m0), mu1 = c.ou.mean(t1, c.m0);
    const Eigen::MatrixXd s0 = c.ou.covariance(t0, c.s0), s1 = c.ou.covariance(t1, c.s0);
    const flow_state y0{exact_moment_sample(mu0, s0, 400), Eigen::VectorXd::Zero(400), 0};
    CHECK(moment_error(y0.x, mu0, s0) < 1e-12);
    for (const tableau& tb : upfi::flow::tableaux()) {
      CAPTURE(tb.name);
      std::vector<double> errors;
      const int base = tb.order >= 4 ? 2 : 8;
      for (int steps : {base, 2 * base, 4 * base}) {
        const auto y1 = upfi::flow::integrate(field, tb, t0, t1, y0, {.steps = steps});
        errors.push_back(moment_error(y1.x, mu1, s1));
      }
      const double order = std::log2(errors[1] / errors[2]);
      MESSAGE(tb.name << ": moment errors " << errors[0] << " " << errors[1] << " " << errors[2] << ", observed order "
                      << order);
      CHECK(errors[2] < errors[1]);
      CHECK(std::abs(order - tb.order) < (tb.order >= 5 ? 0.6 : 0.35));  // DOPRI5 nears round-off at 8 steps
    }
  }

  TEST_CASE("OU drift with quadratic growth: weighted particles carry the mass and moments of Prop. 2.1") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const Eigen::MatrixXd gamma = -0.5 * Eigen::MatrixXd::Identity(2, 2);
    const Eigen::VectorXd cc = upfi::test::vec(0.3, -0.2);
    const double b = 0.1, t1 = 0.6;
    const upfi::problems::gaussian_population start{1.0, c.m0, c.s0};
    const auto moments = [&](double t) {
      return upfi::problems::ou_growth_moments(c.ou.drift_matrix(), c.ou.drift_offset(), c.ou.diffusion(), gamma, cc, b,
                                               start, t, 100);
    };
    // the score of the normalised population is Gaussian with the moment-ODE mean and covariance
    const upfi::score::gaussian_score score(2, [&](double t) {
      const auto m = moments(t);
      return std::make_pair(m.mean, m.covariance);
    });
    quadratic_fitness g{gamma, cc};
    g.b[0] = b;
    const auto field = upfi::flow::probability_flow(upfi::nn::linear_field(c.ou.drift_matrix(), c.ou.drift_offset()),
                                                    score, upfi::flow::matrix_diffusion{c.ou.diffusion()}, g);
    const Eigen::Index n = 20000;
    const flow_state y0{exact_moment_sample(c.m0, c.s0, n), Eigen::VectorXd::Constant(n, -std::log(double(n))), 0};
    const auto y1 = upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, t1, y0, {.steps = 30});
    const Eigen::VectorXd w = y1.log_m.array().exp();
    const double mass = w.sum();
    const Eigen::RowVectorXd mean = (w.asDiagonal() * y1.x).colwise().sum() / mass;
    const Eigen::MatrixXd xc = y1.x.rowwise() - mean;
    const Eigen::MatrixXd cov = xc.transpose() * w.asDiagonal() * xc / mass;
    const auto exact = moments(t1);
    MESSAGE("mass " << mass << " vs " << exact.mass << "; mean error " << (mean.transpose() - exact.mean).norm()
                    << "; covariance error " << (cov - exact.covariance).norm());
    // finite-N error: the weighted moments depend on third and fourth sample moments, O(1/sqrt(N)) ~ 1%
    CHECK(mass == doctest::Approx(exact.mass).epsilon(0.005));
    CHECK((mean.transpose() - exact.mean).cwiseAbs().maxCoeff() < 0.01);
    CHECK((cov - exact.covariance).cwiseAbs().maxCoeff() < 0.01);
    CHECK(std::abs(exact.mass - 1.0) > 0.05);  // the growth is not negligible
  }

  TEST_CASE("gradients through 1-10 steps of every stepper match finite differences") {
    const Eigen::Index d = 2, n = 5;
    Eigen::MatrixXd cov(2, 2);
    cov << 1.0, 0.3, 0.3, 0.8;
    upfi::nn::mlp<double> drift(
        {.inputs = d, .outputs = d, .hidden = {6}, .hidden_activation = upfi::nn::activation::tanh}, 3);
    upfi::nn::mlp<double> growth({.inputs = d, .outputs = 1, .hidden = {5}}, 4);
    auto field =
        upfi::flow::probability_flow(std::move(drift), upfi::score::gaussian_score(upfi::test::vec(0.2, -0.1), cov),
                                     upfi::flow::isotropic_diffusion{0.4}, std::move(growth));
    const flow_state y0{0.7 * random_matrix(n, d, 1), 0.3 * random_matrix(n, 1, 2).col(0), 0};
    std::vector<tableau> steppers = upfi::flow::tableaux();
    // partitioned rules: the log-mass and regulariser weights differ from the positions' (and from each other's sign)
    steppers.push_back(upfi::flow::two_stage("euler + trapezoid", 1.0, 0.0, 0.5));
    steppers.push_back(upfi::flow::two_stage("heun + left point", 1.0, 0.5, 0.0));
    steppers.push_back(upfi::flow::two_stage("c2 = 0.4, mixed", 0.4, 1.25, -0.3));
    for (const tableau& tb : steppers) {
      for (int steps : {1, 3, 10}) {
        CAPTURE(tb.name);
        CAPTURE(steps);
        check_flow_gradients(field, tb, steps, 0.5, y0);
      }
    }
    const Eigen::MatrixXd cx = random_matrix(n, d, 3);
    const Eigen::VectorXd cl = random_matrix(n, 1, 4).col(0);
    // dropping the path through the score's input (the authors' no-grad score) changes the position gradient
    auto dropped = field;
    dropped.set_score_input_path(false);
    const upfi::flow::fixed_step_options o{.steps = 3};
    const auto full = upfi::flow::integrate_vjp(field, upfi::flow::rk4(), 0.1, 0.9, y0, o, cx, cl);
    const auto approx = upfi::flow::integrate_vjp(dropped, upfi::flow::rk4(), 0.1, 0.9, y0, o, cx, cl);
    CHECK((full.x0 - approx.x0).norm() > 1e-3 * full.x0.norm());
  }

  TEST_CASE("partitioned two-stage rules: log-mass and regulariser quadratures converge at the rule's order") {
    // u = A x (no score term), g = c^T x + x^T Gamma x / 2: the log-mass and the regulariser are quadratures along
    // the path; reference: 2048 RK4 steps
    Eigen::MatrixXd a(2, 2);
    a << -0.8, 1.0, -0.6, -1.2;
    quadratic_fitness fitness{0.4 * Eigen::MatrixXd::Identity(2, 2), upfi::test::vec(0.7, -0.5)};
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(a, upfi::test::vec(0.2, 0.1)),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
        upfi::flow::isotropic_diffusion{0.0}, fitness);
    const flow_state y0{random_matrix(30, 2, 6), Eigen::VectorXd::Zero(30), 0};
    const double alpha = 0.7;
    const flow_state ref =
        upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, y0, {.steps = 2048, .alpha = alpha});
    struct expected {
      tableau tb;
      int x_order, mass_order;
    };
    const std::vector<expected> cases{
        {upfi::flow::euler(), 1, 1},
        {upfi::flow::heun(), 2, 2},
        {upfi::flow::two_stage("euler + trapezoid", 1.0, 0.0, 0.5), 1, 1},
        {upfi::flow::two_stage("heun + left point", 1.0, 0.5, 0.0), 2, 1},
        {upfi::flow::two_stage("ralston, as a partition", 2.0 / 3, 0.75, 0.75), 2, 2},
        {upfi::flow::two_stage("heun, midpoint quadrature", 1.0, 0.5, 0.25), 2, 1},
    };
    for (const expected& e : cases) {
      CAPTURE(e.tb.name);
      CHECK(e.tb.order == std::min(e.x_order, e.mass_order));
      std::vector<double> ex, el, er;
      for (int steps : {32, 64, 128}) {
        const flow_state y1 = upfi::flow::integrate(field, e.tb, 0.0, 1.0, y0, {.steps = steps, .alpha = alpha});
        ex.push_back((y1.x - ref.x).cwiseAbs().maxCoeff());
        el.push_back((y1.log_m - ref.log_m).cwiseAbs().maxCoeff());
        er.push_back(std::abs(y1.regulariser - ref.regulariser));
      }
      const double ox = std::log2(ex[1] / ex[2]), ol = std::log2(el[1] / el[2]), orr = std::log2(er[1] / er[2]);
      MESSAGE(e.tb.name << ": observed orders x " << ox << ", log-mass " << ol << ", regulariser " << orr);
      CHECK(std::abs(ox - e.x_order) < 0.2);
      CHECK(std::abs(ol - e.mass_order) < 0.2);
      CHECK(std::abs(orr - e.mass_order) < 0.2);
    }
    // with equal weights the partitioned constructor is two_stage(c2): same tableau, no separate mass weights
    const tableau same = upfi::flow::two_stage("", 0.5, 1.0, 1.0);
    CHECK(same.b_mass.size() == 0);
    CHECK(same.b == upfi::flow::midpoint().b);
    CHECK(same.order == 2);
    CHECK(upfi::flow::heun().mass_weights() == upfi::flow::heun().b);
    CHECK_THROWS_WITH_AS((void)upfi::flow::two_stage("bad", 1.0, 0.5, std::nan("")),
                         "upfi::flow::two_stage: the weights must be finite, got 0.5 and nan", std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::flow::two_stage("bad", -1.0, 0.5, 0.5),
                         "upfi::flow::two_stage: c2 must be finite and > 0, got -1", std::invalid_argument);
  }

  TEST_CASE("Dormand-Prince step-size control meets the tolerance on a stiff-ish linear problem; dense output") {
    // u = A x with eigenvalues -1 and -30 (no score term: delta = 0); exact solution exp(A t) x0
    Eigen::MatrixXd a(2, 2);
    a << -1.0, 2.0, 0.0, -30.0;
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(a, Eigen::VectorXd::Zero(2)),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
        upfi::flow::isotropic_diffusion{0.0});
    const flow_state y0{random_matrix(20, 2, 5), Eigen::VectorXd::Zero(20), 0};
    const auto exact = [&](double t) {
      // A is upper triangular: closed form of exp(A t)
      Eigen::MatrixXd e(2, 2);
      e << std::exp(-t), 2.0 * (std::exp(-t) - std::exp(-30.0 * t)) / 29.0, 0.0, std::exp(-30.0 * t);
      return Eigen::MatrixXd(y0.x * e.transpose());
    };
    long previous_steps = 0;
    for (double tol : {1e-3, 1e-6, 1e-9}) {
      CAPTURE(tol);
      const auto r = upfi::flow::integrate_adaptive(field, 0.0, 2.0, y0, {.atol = tol, .rtol = tol}, {0.05, 0.5, 1.3});
      const double err = (r.state.x - exact(2.0)).cwiseAbs().maxCoeff();
      double dense = 0;
      for (std::size_t k = 0; k < 3; ++k) {
        dense = std::max(dense, (r.at[k].x - exact(std::vector<double>{0.05, 0.5, 1.3}[k])).cwiseAbs().maxCoeff());
      }
      MESSAGE("tol " << tol << ": error at t1 " << err << ", dense-output error " << dense << ", " << r.accepted
                     << " accepted / " << r.rejected << " rejected steps");
      CHECK(err < 20 * tol);
      CHECK(dense < 50 * tol);
      CHECK(r.accepted > previous_steps);
      previous_steps = r.accepted;
    }
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {.atol = 0.0}), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {.rtol = -1.0}), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 1.0, 0.0, y0), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 1.0, y0, {}, {0.5, 0.2}), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::flow::integrate_adaptive(field, 0.0, 100.0, y0, {.max_steps = 5}),
                         doctest::Contains("more than 5 steps"), upfi::core::error);
  }

  TEST_CASE("Dormand-Prince dense output is the fifth-order-local continuous extension, regulariser included") {
    // forced equal steps (loose tolerances, max_step = h): the interpolant's error at off-grid times falls like h^5
    Eigen::MatrixXd a(2, 2);
    a << -1.0, 2.0, 0.0, -3.0;
    const auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(a, Eigen::VectorXd::Zero(2)),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
        upfi::flow::isotropic_diffusion{0.0});
    const flow_state y0{random_matrix(5, 2, 7), Eigen::VectorXd::Zero(5), 0};
    const std::vector<double> times{0.33, 0.77, 1.41};
    const auto exact = [&](double t) {
      Eigen::MatrixXd e(2, 2);
      e << std::exp(-t), std::exp(-t) - std::exp(-3.0 * t), 0.0, std::exp(-3.0 * t);
      return Eigen::MatrixXd(y0.x * e.transpose());
    };
    std::vector<double> errors;
    for (double h : {0.4, 0.2, 0.1}) {
      const auto r = upfi::flow::integrate_adaptive(field, 0.0, 1.6, y0,
                                                    {.atol = 1e3, .rtol = 1e3, .first_step = h, .max_step = h}, times);
      REQUIRE(r.at.size() == times.size());
      CHECK(r.rejected == 0);
      CHECK(r.evaluations == 1 + 6 * r.accepted);  // first same as last
      double e = 0;
      for (std::size_t k = 0; k < times.size(); ++k)
        e = std::max(e, (r.at[k].x - exact(times[k])).cwiseAbs().maxCoeff());
      errors.push_back(e);
    }
    const double order1 = std::log2(errors[0] / errors[1]), order2 = std::log2(errors[1] / errors[2]);
    MESSAGE("dense-output errors " << errors[0] << ", " << errors[1] << ", " << errors[2] << ": orders " << order1
                                   << ", " << order2);
    CHECK(order1 > 4.5);
    CHECK(order2 > 4.5);

    // the regulariser and log-masses at an output time agree with a run that stops there (OU flow with growth)
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    quadratic_fitness g{-0.5 * Eigen::MatrixXd::Identity(2, 2), upfi::test::vec(0.3, -0.2)};
    const auto grown = upfi::flow::probability_flow(upfi::nn::linear_field(c.ou.drift_matrix(), c.ou.drift_offset()),
                                                    upfi::score::gaussian_score(c.m0, c.s0),
                                                    upfi::flow::matrix_diffusion{c.ou.diffusion()}, g);
    const flow_state z0{random_matrix(8, 2, 8), Eigen::VectorXd::Zero(8), 0};
    const upfi::flow::adaptive_options tight{.atol = 1e-10, .rtol = 1e-10, .alpha = 0.7};
    const auto dense = upfi::flow::integrate_adaptive(grown, 0.0, 1.0, z0, tight, {0.37});
    const auto stop = upfi::flow::integrate_adaptive(grown, 0.0, 0.37, z0, tight);
    CHECK(stop.state.regulariser > 0.1);
    CHECK(dense.at[0].regulariser == doctest::Approx(stop.state.regulariser).epsilon(1e-7));
    CHECK((dense.at[0].log_m - stop.state.log_m).cwiseAbs().maxCoeff() < 1e-7);
    CHECK((dense.at[0].x - stop.state.x).cwiseAbs().maxCoeff() < 1e-7);
    CHECK_THROWS_AS((void)upfi::flow::integrate_adaptive(grown, 0.0, 1.0, z0, {.first_step = -1.0}),
                    std::invalid_argument);
  }

  TEST_CASE("row-block evaluation: equal to a row-by-row evaluation, bit-identical for 1 and 2 threads") {
    const Eigen::Index d = 3, n = 12000;  // several blocks (about 16k values each)
    REQUIRE(upfi::flow::detail::flow_block_rows(n, d) < n);
    CHECK(upfi::flow::detail::flow_block_rows(100, d) == 100);
    auto field = upfi::flow::probability_flow(
        upfi::nn::mlp<double>({.inputs = d, .outputs = d, .hidden = {16, 16}}, 5),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d)),
        upfi::flow::isotropic_diffusion{0.3}, upfi::nn::mlp<double>({.inputs = d, .outputs = 1, .hidden = {8}}, 6));
    const Eigen::MatrixXd x = random_matrix(n, d, 9);
    upfi::flow::flow_values one, two, row;
    {
      const upfi::core::thread_limit limit(1);
      field.evaluate(0.4, x, one);
    }
    {
      const upfi::core::thread_limit limit(2);
      field.evaluate(0.4, x, two);
    }
    CHECK(one.u == two.u);
    CHECK(one.v == two.v);
    CHECK(one.g == two.g);
    for (Eigen::Index r : {Eigen::Index{0}, n / 3, n - 1}) {
      field.evaluate(0.4, x.row(r), row);
      CHECK((row.u - one.u.row(r)).cwiseAbs().maxCoeff() < 1e-12);
      CHECK((row.v - one.v.row(r)).cwiseAbs().maxCoeff() < 1e-12);
      CHECK(std::abs(row.g[0] - one.g[r]) < 1e-12);
    }
  }

  TEST_CASE("recorded evaluations: VJPs without a second forward pass equal the recomputing ones, any thread count") {
    static_assert(upfi::RecordingField<upfi::nn::mlp<double>> && !upfi::RecordingField<upfi::nn::linear_field>);
    const Eigen::Index d = 3;
    for (const Eigen::Index n : {Eigen::Index{200}, Eigen::Index{1500}}) {  // one row block; two
      const auto drift = upfi::nn::mlp<double>({.inputs = d, .outputs = d, .hidden = {16, 16}}, 5);
      const auto growth = upfi::nn::mlp<double>({.inputs = d, .outputs = 1, .hidden = {8}}, 6);
      // a DSM score network (a recording score: its input VJP reuses the evaluation) and a Gaussian score (none)
      const upfi::score::dsm_score dsm(upfi::nn::mlp<double>({.inputs = d + 2, .outputs = d, .hidden = {12}}, 7),
                                       {0.1});
      check_recorded_vjp(upfi::flow::probability_flow(drift, dsm, upfi::flow::isotropic_diffusion{0.3}, growth), n);
      // an ensemble of two recording scores keeps both members' records
      const upfi::score::score_ensemble<upfi::score::dsm_score> pair(
          {dsm,
           upfi::score::dsm_score(upfi::nn::mlp<double>({.inputs = d + 2, .outputs = d, .hidden = {12}}, 8), {0.1})});
      check_recorded_vjp(upfi::flow::probability_flow(drift, pair, upfi::flow::isotropic_diffusion{0.3}, growth), n);
      check_recorded_vjp(
          upfi::flow::probability_flow(
              drift, upfi::score::gaussian_score(Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d)),
              upfi::flow::isotropic_diffusion{0.3}),
          n);
      check_recorded_vjp(upfi::flow::transport_flow(drift, growth), n);
    }
    // a state-dependent diffusion keeps the score values too
    auto field = upfi::flow::probability_flow(
        upfi::nn::linear_field(3),
        upfi::score::gaussian_score(upfi::test::vec(0.3, -0.2, 0.1), Eigen::MatrixXd::Identity(3, 3)),
        upfi::flow::pointwise_diagonal_diffusion<coupled_diagonal>{{}});
    check_recorded_vjp(field, 40);
  }

  TEST_CASE("fixed-step driver: observers, shape checks") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto field = ou_flow(c);
    const flow_state y0{random_matrix(10, 2, 6), Eigen::VectorXd::Zero(10), 0};
    std::vector<double> seen;
    (void)upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, y0, {.steps = 4},
                                [&](double t, const flow_state&) { seen.push_back(t); });
    REQUIRE(seen.size() == 4);
    CHECK(seen.back() == doctest::Approx(1.0));
    CHECK_THROWS_AS((void)upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, y0, {.steps = 0}),
                    std::invalid_argument);
    flow_state bad = y0;
    bad.log_m.resize(3);
    CHECK_THROWS_AS((void)upfi::flow::integrate(field, upfi::flow::rk4(), 0.0, 1.0, bad), std::invalid_argument);
    CHECK_THROWS_AS(
        upfi::flow::probability_flow(upfi::nn::linear_field(3), upfi::score::ou_marginal_score(c.ou, c.m0, c.s0),
                                     upfi::flow::isotropic_diffusion{1.0}),
        std::invalid_argument);
  }

  TEST_CASE("tableaux by name: each stepper's name gives it back, each is consistent; other names are refused") {
    for (const tableau& tb : upfi::flow::tableaux()) {
      const tableau named = upfi::flow::tableau_named(tb.name);
      CHECK(named.name == tb.name);
      CHECK(named.order == tb.order);
      CHECK(named.b == tb.b);
      CHECK(named.c == tb.c);
      // consistency of an explicit Runge-Kutta tableau: sum b = 1, rows of a sum to c, a strictly lower-triangular;
      // order 2 also needs b . c = 1/2
      CAPTURE(tb.name);
      CHECK(tb.b.sum() == doctest::Approx(1.0).epsilon(1e-14));
      CHECK((tb.a.rowwise().sum() - tb.c).cwiseAbs().maxCoeff() < 1e-14);
      CHECK(tb.a.triangularView<Eigen::Upper>().toDenseMatrix().cwiseAbs().maxCoeff() == 0.0);
      if (tb.order >= 2) CHECK(tb.b.dot(tb.c) == doctest::Approx(0.5).epsilon(1e-14));
    }
    CHECK(upfi::flow::tableau_names() == "euler, midpoint, heun, ralston, rk4 or dopri5");
    CHECK(upfi::flow::stepper_names() ==
          "euler, midpoint, heun, ralston, rk4, dopri5, two_stage:C or two_stage:C,B,BM (C > 0)");
    // the named two-stage rules are members of the c2 family with their textbook weights
    CHECK(upfi::flow::midpoint().b(0) == 0.0);
    CHECK(upfi::flow::midpoint().b(1) == 1.0);
    CHECK(upfi::flow::heun().b(0) == 0.5);
    CHECK(upfi::flow::ralston().b(0) == 0.25);
    CHECK(upfi::flow::ralston().b(1) == 0.75);
    CHECK(upfi::flow::ralston().a(1, 0) == 2.0 / 3);
    const tableau general = upfi::flow::two_stage("c2 = 0.3", 0.3);
    CHECK(general.b.dot(general.c) == doctest::Approx(0.5).epsilon(1e-15));
    CHECK_THROWS_WITH_AS((void)upfi::flow::two_stage("bad", 0.0),
                         "upfi::flow::two_stage: c2 must be finite and > 0, got 0", std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::two_stage("bad", std::nan("")), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        (void)upfi::flow::tableau_named("rk2"),
        "upfi::flow::tableau_named: unknown stepper 'rk2' (expects euler, midpoint, heun, ralston, rk4, dopri5, "
        "two_stage:C or two_stage:C,B,BM (C > 0))",
        std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::flow::tableau_named("Euler"), std::invalid_argument);
    // the two-stage family by name: the coefficients of two_stage(), the name kept; a bad C is named
    const tableau quarter = upfi::flow::tableau_named("two_stage:0.25");
    CHECK(quarter.name == "two_stage:0.25");
    CHECK(quarter.order == 2);
    CHECK(quarter.b == upfi::flow::two_stage("", 0.25).b);
    CHECK(quarter.b(0) == -1.0);
    CHECK(quarter.a(1, 0) == 0.25);
    CHECK(upfi::flow::tableau_named("two_stage:1").b == upfi::flow::heun().b);
    // the partitioned family by name: positions weighted as Euler, log-mass and regulariser by the trapezoid rule
    const tableau split = upfi::flow::tableau_named("two_stage:1,0,0.5");
    CHECK(split.name == "two_stage:1,0,0.5");
    CHECK(split.order == 1);
    CHECK(split.a(1, 0) == 1.0);
    CHECK(split.b(0) == 1.0);
    CHECK(split.b(1) == 0.0);
    CHECK(split.mass_weights() == upfi::flow::heun().b);
    CHECK(upfi::flow::tableau_named("two_stage:0.5,1,1").order == 2);
    for (const char* bad : {"two_stage:0", "two_stage:-1", "two_stage:", "two_stage:nan", "two_stage:0.5x",
                            "two_stage:1,0", "two_stage:1,0,0.5,1", "two_stage:1,,0.5", "two_stage:0,0,0.5",
                            "two_stage:1,inf,0.5", "two_stage:1,0,0.5,"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS((void)upfi::flow::tableau_named(bad),
                           ("upfi::flow::tableau_named: stepper '" + std::string(bad) +
                            "' needs two_stage:C or two_stage:C,B,BM with finite numbers and C > 0")
                               .c_str(),
                           std::invalid_argument);
    }
  }

  TEST_CASE("chemical-Langevin flow: velocity against a finite-difference row divergence of D; gradients") {
    const Eigen::Index d = 3;
    const upfi::nn::mlp_options rate{.inputs = d,
                                     .outputs = d,
                                     .hidden = {8},
                                     .hidden_activation = upfi::nn::activation::tanh,
                                     .output_activation = upfi::nn::activation::softplus};
    const upfi::score::gaussian_score score(upfi::test::vec(1.0, 0.5, 0.8), Eigen::MatrixXd::Identity(3, 3) * 0.6);
    const upfi::nn::mlp<double> growth({.inputs = d, .hidden = {4}}, 9);
    SUBCASE("production and degradation networks (UPFI's multiplicative model)") {
      check_chemical_langevin_flow(upfi::flow::chemical_langevin_flow(
          upfi::nn::mlp<double>(rate, 7), upfi::nn::mlp<double>(rate, 8), score, 4.0, growth));
      CHECK_THROWS_AS(upfi::flow::chemical_langevin_flow(upfi::nn::mlp<double>(rate, 7), upfi::nn::mlp<double>(rate, 8),
                                                         score, 0.0),
                      std::invalid_argument);
    }
    SUBCASE("production network and linear degradation, learned rates (the chemical Langevin form)") {
      const upfi::nn::linear_degradation_field degradation(upfi::test::vec(2.0, 0.5, 1.3));
      auto field = upfi::flow::chemical_langevin_flow(upfi::nn::mlp<double>(rate, 7), degradation, score, 4.0, growth);
      CHECK(field.parameter_count() == upfi::nn::mlp<double>(rate, 7).parameter_count() + 3 + growth.parameter_count());
      check_chemical_langevin_flow(field);
      // the noise follows from the drift and the rates: D = diag(v + 2 lambda x) / 2V
      const Eigen::MatrixXd x = random_matrix(5, d, 3).array().abs() + 0.1;
      upfi::flow::flow_values f;
      field.evaluate(0.0, x, f);
      const Eigen::MatrixXd expected = (f.v + 2.0 * x * upfi::test::vec(2.0, 0.5, 1.3).asDiagonal()) / 8.0;
      CHECK((field.diffusion_diagonal(0.0, x) - expected).cwiseAbs().maxCoeff() < 1e-14);
    }
    SUBCASE("production network and fixed linear degradation (the authors' CLEFlow)") {
      const upfi::nn::linear_degradation_field degradation(upfi::test::vec(2.0, 0.5, 1.3), false);
      auto field = upfi::flow::chemical_langevin_flow(upfi::nn::mlp<double>(rate, 7), degradation, score, 4.0, growth);
      CHECK(field.parameter_count() == upfi::nn::mlp<double>(rate, 7).parameter_count() + growth.parameter_count());
      check_chemical_langevin_flow(field);
    }
  }

  TEST_CASE("state-dependent diagonal diffusion: u = v - div D - D s by duals, and gradients through the steps") {
    const Eigen::Index d = 3, n = 5;
    const upfi::score::gaussian_score score(upfi::test::vec(0.3, -0.2, 0.1), Eigen::MatrixXd::Identity(3, 3) * 0.9);
    const upfi::flow::pointwise_diagonal_diffusion<coupled_diagonal> diffusion{{}};
    auto field = upfi::flow::probability_flow(
        upfi::nn::mlp<double>(
            {.inputs = d, .outputs = d, .hidden = {6}, .hidden_activation = upfi::nn::activation::tanh}, 10),
        score, diffusion);
    const Eigen::MatrixXd x = random_matrix(n, d, 14);
    upfi::flow::flow_values f;
    field.evaluate(0.0, x, f);
    Eigen::MatrixXd s, expected(n, d);
    score.evaluate(0.0, x, s);
    const double h = 1e-6;
    for (Eigen::Index r = 0; r < n; ++r) {
      for (Eigen::Index i = 0; i < d; ++i) {
        Eigen::Vector3d xp = x.row(r).transpose(), xm = xp, dp, dm, d0;
        xp[i] += h;
        xm[i] -= h;
        coupled_diagonal{}(0.0, xp.data(), dp.data());
        coupled_diagonal{}(0.0, xm.data(), dm.data());
        const Eigen::Vector3d x0 = x.row(r).transpose();
        coupled_diagonal{}(0.0, x0.data(), d0.data());
        expected(r, i) = f.v(r, i) - (dp[i] - dm[i]) / (2 * h) - d0[i] * s(r, i);
      }
    }
    CHECK((f.u - expected).cwiseAbs().maxCoeff() < 1e-8);
    const flow_state y0{x, Eigen::VectorXd::Zero(n), 0};
    for (const tableau& tb : {upfi::flow::euler(), upfi::flow::rk4()}) {
      CAPTURE(tb.name);
      check_flow_gradients(field, tb, 3, 0.5, y0);
    }
  }
}
