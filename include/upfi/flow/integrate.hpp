// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Explicit Runge-Kutta integration of weighted clouds (X, log m) under a probability-flow field, with the
/// regulariser R = int sum_k m_k (|v_k|^2 + alpha g_k^2) dt, and its reverse mode through the steps
/// (discretise-then-optimise, algorithms.md §5.3, §8.4).
///
/// A step of size h from (x, l) at t, with stages j = 0..s-1:
///   X_j = x + h sum_{i<j} a_ji U_i,  L_j = l + h sum_{i<j} a_ji G_i,  (U_j, V_j, G_j) = F(t + c_j h, X_j),
///   r_j = sum_k e^{L_jk} (|V_jk|^2 + alpha G_jk^2),
///   x' = x + h sum_j b_j U_j,  l' = l + h sum_j bm_j G_j,  R' = R + h sum_j bm_j r_j,
/// where bm = b unless the tableau is partitioned (tableau::b_mass): the log-mass and the regulariser are quadratures
/// along the path (they do not feed back into it), so they may weigh the stages differently from the positions.
/// The reverse sweep of a step recomputes its stages from the stored (x, l), then walks the stages backwards:
/// Ubar_j = h b_j xbar' + sum_{m>j} h a_mj Xbar_m, Gbar_j = h bm_j lbar' + sum_{m>j} h a_mj Lbar_m, the regulariser
/// adds Vbar_j = 2 w e^{L_j} V_j, Gbar_j += 2 alpha w e^{L_j} G_j, Lbar_j = w e^{L_j}(|V_j|^2 + alpha G_j^2) with
/// w = h bm_j Rbar, and Xbar_j comes from the field's VJP. Memory: one (x, l) per step.

#include <upfi/core/detail/parse_finite.hpp>
#include <upfi/core/error.hpp>
#include <upfi/flow/probability_flow.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <any>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace upfi::flow {

/// @brief An explicit Butcher tableau (strictly lower-triangular a), with an optional embedded error weight vector
/// and optional separate weights for the log-mass and regulariser quadratures (a partitioned method).
struct tableau {
  std::string name;
  Eigen::MatrixXd a;
  Eigen::VectorXd b, c;
  Eigen::VectorXd b_error;  ///< b - b_hat of an embedded pair (empty: no error estimate)
  int order = 1;            ///< the order of the whole method (positions, log-masses and regulariser)
  Eigen::VectorXd b_mass;   ///< weights of the log-mass and regulariser quadratures (empty: b)
  [[nodiscard]] Eigen::Index stages() const noexcept { return b.size(); }
  /// @brief The weights of the log-mass and regulariser quadratures: b_mass, or b when it is empty.
  [[nodiscard]] const Eigen::VectorXd& mass_weights() const noexcept { return b_mass.size() != 0 ? b_mass : b; }
};

/// @brief Explicit Euler (order 1).
[[nodiscard]] inline tableau euler() {
  return {"euler", Eigen::MatrixXd::Zero(1, 1), Eigen::VectorXd::Ones(1), Eigen::VectorXd::Zero(1), {}, 1, {}};
}
// two_stage() and rk4() fill their coefficient vectors in place, not from fixed-size Eigen::Vector2d/4d: with
// AVX-512 (-march=native) GCC 12 sees a 64-byte load from the 32-byte vector on a path that never runs, and
// -Warray-bounds rejects it (a false positive).
/// @brief The explicit two-stage rule of order 2 with its second stage at `c2` (> 0): a21 = c2, b = (1 - 1/(2 c2),
/// 1/(2 c2)). Every explicit two-stage second-order Runge-Kutta method is one of these; midpoint(), heun() and
/// ralston() are c2 = 1/2, 1 and 2/3.
/// @throws std::invalid_argument naming `c2` when it is not finite and positive.
[[nodiscard]] inline tableau two_stage(std::string name, double c2) {
  if (!(c2 > 0) || !std::isfinite(c2)) {
    core::detail::throw_invalid_argument("upfi::flow::two_stage: c2 must be finite and > 0, got ", c2);
  }
  tableau t{std::move(name), Eigen::MatrixXd::Zero(2, 2), Eigen::VectorXd(2), Eigen::VectorXd(2), {}, 2, {}};
  const double b2 = 1.0 / (2.0 * c2);
  t.b << 1.0 - b2, b2;
  t.c << 0.0, c2;
  t.a(1, 0) = c2;
  return t;
}
/// @brief A partitioned two-stage rule: the second stage at `c2` (> 0, a21 = c2) as in two_stage(), the positions
/// weighted b = (1 - b2, b2) and the log-mass and regulariser quadratures weighted b_mass = (1 - b2_mass, b2_mass).
/// Order 2 when b2 c2 = b2_mass c2 = 1/2 (the rule is then two_stage(c2)), 1 otherwise. Two examples:
/// (c2, b2, b2_mass) = (1, 0, 1/2) moves the positions by Euler steps and integrates the growth and the regulariser
/// by the trapezoid rule along them; (1, 1/2, 0) moves them by Heun steps with left-endpoint (Euler) quadratures.
/// @throws std::invalid_argument naming the value when `c2` is not finite and positive or a weight is not finite.
[[nodiscard]] inline tableau two_stage(std::string name, double c2, double b2, double b2_mass) {
  if (!std::isfinite(b2) || !std::isfinite(b2_mass)) {
    core::detail::throw_invalid_argument("upfi::flow::two_stage: the weights must be finite, got ", b2, " and ",
                                         b2_mass);
  }
  tableau t = two_stage(std::move(name), c2);
  const double order2 = 1.0 / (2.0 * c2);
  t.order = b2 == order2 && b2_mass == order2 ? 2 : 1;
  t.b << 1.0 - b2, b2;
  if (b2_mass != b2) {
    t.b_mass.resize(2);
    t.b_mass << 1.0 - b2_mass, b2_mass;
  }
  return t;
}
/// @brief The explicit midpoint rule (order 2): one Euler half step, then the full step with the midpoint slope.
/// Its quadrature of the regulariser uses the midpoint alone (Heun's uses both ends).
[[nodiscard]] inline tableau midpoint() { return two_stage("midpoint", 0.5); }
/// @brief Heun's method, the explicit trapezoidal rule (order 2).
[[nodiscard]] inline tableau heun() { return two_stage("heun", 1.0); }
/// @brief Ralston's method (order 2): the two-stage rule with the smallest bound on the local truncation error
/// (Ralston 1962), second stage at c = 2/3, b = (1/4, 3/4).
[[nodiscard]] inline tableau ralston() { return two_stage("ralston", 2.0 / 3); }
/// @brief The classical fourth-order Runge-Kutta method.
[[nodiscard]] inline tableau rk4() {
  tableau t{"rk4", Eigen::MatrixXd::Zero(4, 4), Eigen::VectorXd(4), Eigen::VectorXd(4), {}, 4, {}};
  t.b << 1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6;
  t.c << 0.0, 0.5, 0.5, 1.0;
  t.a(1, 0) = 0.5;
  t.a(2, 1) = 0.5;
  t.a(3, 2) = 1.0;
  return t;
}
/// @brief Dormand-Prince 5(4) (Dormand & Prince 1980): fifth-order solution, embedded fourth-order error estimate.
[[nodiscard]] inline tableau dopri5() {
  tableau t;
  t.name = "dopri5";
  t.order = 5;
  t.a = Eigen::MatrixXd::Zero(7, 7);
  t.a.row(1).head(1) << 1.0 / 5;
  t.a.row(2).head(2) << 3.0 / 40, 9.0 / 40;
  t.a.row(3).head(3) << 44.0 / 45, -56.0 / 15, 32.0 / 9;
  t.a.row(4).head(4) << 19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729;
  t.a.row(5).head(5) << 9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656;
  t.a.row(6).head(6) << 35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84;
  t.b.resize(7);
  t.b << 35.0 / 384, 0.0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0.0;
  Eigen::VectorXd b_hat(7);
  b_hat << 5179.0 / 57600, 0.0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40;
  t.b_error = t.b - b_hat;
  t.c.resize(7);
  t.c << 0.0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1.0, 1.0;
  return t;
}

/// @brief Every built-in tableau, lowest order first: euler, midpoint, heun, ralston, rk4, dopri5.
[[nodiscard]] inline std::vector<tableau> tableaux() {
  return {euler(), midpoint(), heun(), ralston(), rk4(), dopri5()};
}

/// @brief The names of tableaux(), as a list for messages: "euler, midpoint, heun, ralston, rk4 or dopri5".
[[nodiscard]] inline std::string tableau_names() {
  const std::vector<tableau> all = tableaux();
  std::string list;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0) list += i + 1 == all.size() ? " or " : ", ";
    list += all[i].name;
  }
  return list;
}

/// @brief Every name tableau_named() accepts, as a list for messages and help texts: the names of tableaux() and
/// the two-stage families, "euler, midpoint, heun, ralston, rk4, dopri5, two_stage:C or two_stage:C,B,BM (C > 0)".
[[nodiscard]] inline std::string stepper_names() {
  std::string list = tableau_names();
  const std::size_t last = list.rfind(" or ");
  if (last != std::string::npos) list.replace(last, 4, ", ");
  return list + ", two_stage:C or two_stage:C,B,BM (C > 0)";
}

/// @brief The tableau of a name: one of tableau_names() (the `name` of each); `two_stage:C` for two_stage(C), the
/// second stage at the number C > 0; or `two_stage:C,B,BM` for the partitioned two_stage(C, B, BM), B and BM the
/// second stage's weights for the positions and for the log-mass and regulariser. The tableau keeps the name, so it
/// round-trips.
/// @throws std::invalid_argument naming the accepted names for any other, and the name for numbers that are not
/// finite or a C that is not > 0.
[[nodiscard]] inline tableau tableau_named(const std::string& name) {
  for (tableau& t : tableaux()) {
    if (t.name == name) return std::move(t);
  }
  const std::string family = "two_stage:";
  if (name.rfind(family, 0) == 0) {
    std::vector<std::optional<double>> numbers;
    std::size_t start = family.size();
    for (;;) {
      const std::size_t comma = name.find(',', start);
      numbers.push_back(core::detail::parse_finite(name.substr(start, comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    const bool finite = std::all_of(numbers.begin(), numbers.end(), [](const auto& v) { return v.has_value(); });
    if ((numbers.size() != 1 && numbers.size() != 3) || !finite || !(*numbers[0] > 0)) {
      core::detail::throw_invalid_argument("upfi::flow::tableau_named: stepper '", name,
                                           "' needs two_stage:C or two_stage:C,B,BM with finite numbers and C > 0");
    }
    if (numbers.size() == 1) return two_stage(name, *numbers[0]);
    return two_stage(name, *numbers[0], *numbers[1], *numbers[2]);
  }
  core::detail::throw_invalid_argument("upfi::flow::tableau_named: unknown stepper '", name, "' (expects ",
                                       stepper_names(), ")");
}

/// @brief A weighted cloud on the move: positions (N x d), log-masses (N) and the accumulated regulariser.
struct flow_state {
  Eigen::MatrixXd x;
  Eigen::VectorXd log_m;
  double regulariser = 0;
};

namespace detail {
// A flow field whose evaluations can keep what its VJP needs (probability_flow, transport_flow with network parts):
// `F::record_type`, `F::keeps_records`, evaluate(t, X, values, record) and vjp(record, t, X, cu, cv, cg, dX*, dP*).
template <class F>
concept records_evaluations = requires {
  typename F::record_type;
}
&&F::keeps_records&& requires(const F& f, double t, const Eigen::MatrixXd& x, flow_values& values,
                              typename F::record_type& record, const Eigen::VectorXd& cg, Eigen::MatrixXd* dx,
                              Eigen::VectorXd* dp) {
  f.evaluate(t, x, values, record);
  f.vjp(std::as_const(record), t, x, x, x, cg, dx, dp);
};

struct stage_values {
  bool keep_inputs = true;          // the reverse sweep needs every stage input; forward drivers do not
  bool keep_records = false;        // keep the field's records (records_evaluations fields) for the reverse sweep
  std::vector<std::any> records;    // per stage: the field's record_type, when keep_records
  std::vector<Eigen::MatrixXd> xs;  // stage inputs X_j (when keep_inputs)
  std::vector<Eigen::VectorXd> ls;  // stage log-masses L_j
  std::vector<flow_values> f;       // field values at the stages
  Eigen::MatrixXd scratch;          // stage input when !keep_inputs
  Eigen::MatrixXd err_x;            // embedded error estimate (adaptive driver)
  Eigen::VectorXd err_l;
};

// Linear combination `target = base + sum_i coef(i) rows(i)` (base may be null: no base term; zero coefficients
// skipped) in one cache-blocked pass: every block of the target stays in L1 while the terms are added, so a sum of s
// terms costs one sweep over memory instead of s (the stage sums are memory-bound).
template <class Matrix, class Coef, class Get>
void linear_combination(Matrix& target, const Matrix* base, Eigen::Index rows, Eigen::Index cols, Eigen::Index count,
                        Coef&& coef, Get&& get) {
  constexpr Eigen::Index max_terms = 16, block = 512;
  double c[max_terms];
  const double* p[max_terms];
  Eigen::Index terms = 0;
  for (Eigen::Index i = 0; i < count; ++i) {
    const double ci = coef(i);
    if (ci == 0) continue;
    if (terms == max_terms) UPFI_THROW(std::logic_error("upfi::flow: more than 16 stages in a linear combination"));
    c[terms] = ci;
    p[terms] = get(i).data();
    ++terms;
  }
  target.resize(rows, cols);
  double* out = target.data();
  const double* b = base != nullptr ? base->data() : nullptr;
  const Eigen::Index n = rows * cols;
  for (Eigen::Index start = 0; start < n; start += block) {
    const Eigen::Index len = std::min(block, n - start);
    double* o = out + start;
    if (b != nullptr) {
      for (Eigen::Index k = 0; k < len; ++k) o[k] = b[start + k];
    } else {
      for (Eigen::Index k = 0; k < len; ++k) o[k] = 0;
    }
    for (Eigen::Index t = 0; t < terms; ++t) {
      const double ct = c[t];
      const double* q = p[t] + start;
      for (Eigen::Index k = 0; k < len; ++k) o[k] += ct * q[k];
    }
  }
}

// target = base + sum_{i < count} coef(i) rows(i).
template <class Matrix, class Coef, class Get>
void stage_sum(Matrix& target, const Matrix& base, Eigen::Index count, Coef&& coef, Get&& rows) {
  linear_combination(target, &base, base.rows(), base.cols(), count, coef, rows);
}

// (x, l) = base + sum_{j < count} (coef_x(j) U_j, coef_l(j) G_j) over the stage values (base null: the sums alone),
// for an N x d cloud: next states, embedded error estimates and dense output all combine the stages this way.
template <class CoefX, class CoefL>
void combine_stage_values(const stage_values& st, Eigen::Index count, CoefX&& coef_x, CoefL&& coef_l,
                          const flow_state* base, Eigen::Index n, Eigen::Index d, Eigen::MatrixXd& x,
                          Eigen::VectorXd& l) {
  const auto u = [&](Eigen::Index j) -> const Eigen::MatrixXd& { return st.f[static_cast<std::size_t>(j)].u; };
  const auto g = [&](Eigen::Index j) -> const Eigen::VectorXd& { return st.f[static_cast<std::size_t>(j)].g; };
  linear_combination(x, base != nullptr ? &base->x : nullptr, n, d, count, coef_x, u);
  linear_combination(l, base != nullptr ? &base->log_m : nullptr, n, 1, count, coef_l, g);
}

// r = sum_k e^{l_k} (|v_k|^2 + alpha g_k^2), the regulariser's rate at one stage.
inline double regulariser_rate(const flow_values& f, const Eigen::VectorXd& l, double alpha) {
  return (l.array().exp() * (f.v.rowwise().squaredNorm().array() + alpha * f.g.array().square())).sum();
}

// start + sum_j weight(j) r_j over the stages with a nonzero weight, accumulated in stage order.
template <class Weight>
double accumulate_regulariser(double start, const stage_values& st, Eigen::Index count, Weight&& weight, double alpha) {
  for (Eigen::Index j = 0; j < count; ++j) {
    const double w = weight(j);
    const auto sj = static_cast<std::size_t>(j);
    if (w != 0) start += w * regulariser_rate(st.f[sj], st.ls[sj], alpha);
  }
  return start;
}

// Evaluates the stages of one step; with `first_known`, st.f[0] already holds F(t, y) (first-same-as-last reuse).
template <class Field>
void run_stages(const Field& field, const tableau& tb, double t, double h, const flow_state& y, stage_values& st,
                bool first_known = false) {
  const Eigen::Index s = tb.stages();
  st.xs.resize(static_cast<std::size_t>(st.keep_inputs ? s : 0));
  st.ls.resize(static_cast<std::size_t>(s));
  st.f.resize(static_cast<std::size_t>(s));
  const auto u = [&](Eigen::Index i) -> const Eigen::MatrixXd& { return st.f[static_cast<std::size_t>(i)].u; };
  const auto g = [&](Eigen::Index i) -> const Eigen::VectorXd& { return st.f[static_cast<std::size_t>(i)].g; };
  for (Eigen::Index j = 0; j < s; ++j) {
    const auto sj = static_cast<std::size_t>(j);
    const auto a = [&](Eigen::Index i) { return h * tb.a(j, i); };
    stage_sum(st.ls[sj], y.log_m, j, a, g);
    const Eigen::MatrixXd* input = &y.x;
    if (st.keep_inputs) {
      stage_sum(st.xs[sj], y.x, j, a, u);
      input = &st.xs[sj];
    } else if (j > 0) {
      stage_sum(st.scratch, y.x, j, a, u);
      input = &st.scratch;
    }
    if (j == 0 && first_known) continue;
    if (j > 0 && !input->allFinite()) {  // a diverging flow: named here, before the field sees the state
      UPFI_THROW(
          core::error(core::detail::message("upfi::flow: the state of stage ", j + 1, " at t = ", t + tb.c[j] * h,
                                            " is not finite; reduce the step or check the field")));
    }
    if constexpr (records_evaluations<Field>) {
      if (st.keep_records) {
        using record_type = typename Field::record_type;
        st.records.resize(static_cast<std::size_t>(s));
        auto* record = std::any_cast<record_type>(&st.records[sj]);
        if (record == nullptr) record = &st.records[sj].template emplace<record_type>();
        field.evaluate(t + tb.c[j] * h, *input, st.f[sj], *record);
        continue;
      }
    }
    field.evaluate(t + tb.c[j] * h, *input, st.f[sj]);
  }
}

// The field's VJP at stage j of `st` (from the stage's record when it has one).
template <class Field>
void stage_vjp(const Field& field, const stage_values& st, std::size_t j, double t, const Eigen::MatrixXd& cu,
               const Eigen::MatrixXd& cv, const Eigen::VectorXd& cg, Eigen::MatrixXd* dx, Eigen::VectorXd* dp) {
  if constexpr (records_evaluations<Field>) {
    if (j < st.records.size()) {
      if (const auto* record = std::any_cast<typename Field::record_type>(&st.records[j])) {
        field.vjp(*record, t, st.xs[j], cu, cv, cg, dx, dp);
        return;
      }
    }
  }
  field.vjp(t, st.xs[j], cu, cv, cg, dx, dp);
}

// combines the stages into the next state; returns the error norm (RMS of err / (atol + rtol max(|y|, |y'|))) when
// the tableau has an embedded pair and `with_error`.
inline double combine(const tableau& tb, double h, const flow_state& y, stage_values& st, double alpha, flow_state& out,
                      bool with_error = false, double atol = 0, double rtol = 0) {
  // x' = x + h sum_j b_j U_j, l' = l + h sum_j bm_j G_j, R' = R + h sum_j bm_j r_j (bm: the mass weights)
  const Eigen::Index n = y.x.rows(), d = y.x.cols();
  const auto b = [&](Eigen::Index j) { return h * tb.b[j]; };
  const Eigen::VectorXd& b_mass = tb.mass_weights();
  const auto bm = [&](Eigen::Index j) { return h * b_mass[j]; };
  combine_stage_values(st, tb.stages(), b, bm, &y, n, d, out.x, out.log_m);
  out.regulariser = alpha >= 0 ? accumulate_regulariser(y.regulariser, st, tb.stages(), bm, alpha) : y.regulariser;
  if (!with_error) return 0;
  const auto e = [&](Eigen::Index j) { return h * tb.b_error[j]; };
  combine_stage_values(st, tb.stages(), e, e, nullptr, n, d, st.err_x, st.err_l);
  const double sum =
      (st.err_x.array() / (atol + rtol * y.x.array().abs().max(out.x.array().abs()))).square().sum() +
      (st.err_l.array() / (atol + rtol * y.log_m.array().abs().max(out.log_m.array().abs()))).square().sum();
  return std::sqrt(sum / static_cast<double>(st.err_x.size() + st.err_l.size()));
}

inline void check_state(const flow_state& y, Eigen::Index d, const char* who) {
  if (y.x.cols() != d || y.log_m.size() != y.x.rows()) {
    core::detail::throw_invalid_argument(who, ": state is ", y.x.rows(), " x ", y.x.cols(), " with ", y.log_m.size(),
                                         " log-masses; expected N x ", d, " and N log-masses");
  }
  if (!y.x.allFinite() || !y.log_m.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite state");
}
}  // namespace detail

/// @brief Options of the fixed-step drivers.
struct fixed_step_options {
  int steps = 1;        ///< equal steps over [t0, t1]
  double alpha = -1.0;  ///< regulariser weight of g^2; < 0: no regulariser (R stays 0)
};

namespace detail {
// The fixed-step loop shared by integrate and integrate_recorded: before step n, `before(n, y)` sees its start; after
// it, `after(n, t, y, st)` sees its end and its stage values (and may move them away).
template <class Field, class Before, class After>
flow_state fixed_step_loop(const Field& field, const tableau& tb, double t0, double t1, flow_state y,
                           const fixed_step_options& options, bool keep_inputs, bool keep_records, const char* who,
                           Before&& before, After&& after) {
  check_state(y, field.dimension(), who);
  if (options.steps < 1 || !std::isfinite(t0) || !std::isfinite(t1)) {
    core::detail::throw_invalid_argument(who, ": need steps >= 1 and finite times, got steps = ", options.steps);
  }
  const double h = (t1 - t0) / options.steps;
  stage_values st;
  st.keep_inputs = keep_inputs;
  st.keep_records = keep_records;
  flow_state next;
  for (int n = 0; n < options.steps; ++n) {
    const double t = t0 + n * h;
    before(n, y);
    run_stages(field, tb, t, h, y, st);
    (void)combine(tb, h, y, st, options.alpha, next);
    if (!next.x.allFinite() || !next.log_m.allFinite()) {
      UPFI_THROW(core::error(core::detail::message(who, ": the state is not finite after step ", n + 1, " (t = ", t + h,
                                                   "); reduce the step or check the field")));
    }
    std::swap(y, next);
    after(n, t0 + (n + 1) * h, y, st);
  }
  return y;
}
}  // namespace detail

/// @brief Integrates from t0 to t1 in `steps` equal steps; `observer(t, state)` (optional) sees every step's end.
/// @throws std::invalid_argument on bad sizes, steps < 1, non-finite times or state; upfi::core::error when the state
/// becomes non-finite (naming the step).
template <class Field>
[[nodiscard]] flow_state integrate(const Field& field, const tableau& tb, double t0, double t1, flow_state y,
                                   const fixed_step_options& options = {},
                                   const std::function<void(double, const flow_state&)>& observer = {}) {
  return detail::fixed_step_loop(
      field, tb, t0, t1, std::move(y), options, false, false, "upfi::flow::integrate", [](int, const flow_state&) {},
      [&](int, double t, const flow_state& y1, const detail::stage_values&) {
        if (observer) observer(t, y1);
      });
}

/// @brief A forward pass recorded for the reverse sweep: the method, the step starts, optionally every step's stage
/// values (then the reverse sweep evaluates no field values again), and the end state.
struct flow_tape {
  tableau method;
  double t0 = 0, t1 = 0;
  fixed_step_options options;
  std::vector<flow_state> starts;            ///< state at the start of each step
  std::vector<detail::stage_values> stages;  ///< stage inputs and field values of each step (empty: not kept)
  flow_state end;                            ///< the integrated state at t1, as integrate() returns it
};

/// @brief integrate() that also records what integrate_vjp(field, tape, ...) needs. With `keep_stages` the tape holds
/// every stage's inputs and field values (memory: stages x steps x N x (3d + 2) values) and the reverse sweep skips
/// recomputing them; for a field that keeps records (probability_flow and transport_flow with network parts), the
/// tape also holds each stage's record (the networks' activations: about stages x steps x N x 2 x the hidden widths
/// per network) and the reverse sweep runs no forward pass at all (`keep_records = false` drops the records: same
/// gradients, less memory, the VJPs evaluate the networks again). Without `keep_stages` it holds one state per step
/// and the reverse sweep re-evaluates the stages (once per stage: the VJPs reuse those evaluations' records).
/// @throws as integrate().
template <class Field>
[[nodiscard]] flow_tape integrate_recorded(const Field& field, const tableau& tb, double t0, double t1,
                                           const flow_state& y0, const fixed_step_options& options = {},
                                           bool keep_stages = true, bool keep_records = true) {
  flow_tape tape{tb, t0, t1, options, {}, {}, {}};
  tape.starts.reserve(static_cast<std::size_t>(std::max(options.steps, 0)));
  tape.end = detail::fixed_step_loop(
      field, tb, t0, t1, y0, options, true, keep_stages && keep_records, "upfi::flow::integrate_recorded",
      [&](int, const flow_state& y) { tape.starts.push_back(y); },
      [&](int, double, const flow_state&, detail::stage_values& st) {
        if (keep_stages) {
          tape.stages.push_back(std::move(st));
          // the next step starts from empty stage values (moved-from vectors are unspecified)
          st = detail::stage_values{};
          st.keep_records = keep_records;
        }
      });
  return tape;
}

/// @brief Gradients returned by integrate_vjp.
struct flow_gradients {
  Eigen::MatrixXd x0;      ///< d loss / d X(t0)
  Eigen::VectorXd log_m0;  ///< d loss / d log m(t0)
  Eigen::VectorXd params;  ///< d loss / d (drift, growth) parameters
};

/// @brief Reverse sweep over a recorded forward pass: for cotangents on the final positions, log-masses and
/// regulariser (cot_x and cot_log_m may be empty = 0), returns the gradients w.r.t. the initial state and the field's
/// parameters. The field must have the parameters it had when the tape was recorded.
template <class Field>
[[nodiscard]] flow_gradients integrate_vjp(const Field& field, const flow_tape& tape, const Eigen::MatrixXd& cot_x,
                                           const Eigen::VectorXd& cot_log_m, double cot_regulariser = 0) {
  constexpr const char* who = "upfi::flow::integrate_vjp";
  const tableau& tb = tape.method;
  const Eigen::VectorXd& b_mass = tb.mass_weights();
  const int steps = tape.options.steps;
  if (tape.starts.size() != static_cast<std::size_t>(steps) ||
      (!tape.stages.empty() && tape.stages.size() != tape.starts.size())) {
    core::detail::throw_invalid_argument(who, ": the tape is incomplete (", tape.starts.size(), " step starts for ",
                                         steps, " steps)");
  }
  const Eigen::Index n = tape.end.x.rows(), d = tape.end.x.cols();
  if ((cot_x.size() != 0 && (cot_x.rows() != n || cot_x.cols() != d)) ||
      (cot_log_m.size() != 0 && cot_log_m.size() != n)) {
    core::detail::throw_invalid_argument(who, ": cotangents must be N x d and N (or empty)");
  }
  const double h = (tape.t1 - tape.t0) / steps, alpha = tape.options.alpha;
  flow_gradients g;
  g.x0 = cot_x.size() != 0 ? cot_x : Eigen::MatrixXd::Zero(n, d);
  g.log_m0 = cot_log_m.size() != 0 ? cot_log_m : Eigen::VectorXd::Zero(n);
  g.params = Eigen::VectorXd::Zero(field.parameter_count());
  const bool reg = alpha >= 0 && cot_regulariser != 0;
  const Eigen::Index s = tb.stages();
  std::vector<Eigen::MatrixXd> u_bar(static_cast<std::size_t>(s));
  std::vector<Eigen::VectorXd> g_bar(static_cast<std::size_t>(s));
  detail::stage_values recomputed;
  recomputed.keep_records = true;
  for (int k = steps; k-- > 0;) {
    const double t = tape.t0 + k * h;
    const detail::stage_values* stp = &recomputed;
    if (tape.stages.empty()) {
      detail::run_stages(field, tb, t, h, tape.starts[static_cast<std::size_t>(k)], recomputed);
    } else {
      stp = &tape.stages[static_cast<std::size_t>(k)];
    }
    const detail::stage_values& st = *stp;
    for (Eigen::Index j = 0; j < s; ++j) {
      u_bar[static_cast<std::size_t>(j)] = (h * tb.b[j]) * g.x0;
      g_bar[static_cast<std::size_t>(j)] = (h * b_mass[j]) * g.log_m0;
    }
    Eigen::MatrixXd x_bar_total = g.x0;
    Eigen::VectorXd l_bar_total = g.log_m0;
    for (Eigen::Index j = s; j-- > 0;) {
      const auto sj = static_cast<std::size_t>(j);
      Eigen::MatrixXd v_bar;
      Eigen::VectorXd l_bar_j = Eigen::VectorXd::Zero(n);
      if (reg && b_mass[j] != 0) {
        const double w = h * b_mass[j] * cot_regulariser;
        const Eigen::ArrayXd m = st.ls[sj].array().exp();
        v_bar = (2 * w) * (st.f[sj].v.array().colwise() * m).matrix();
        g_bar[sj].array() += 2 * alpha * w * m * st.f[sj].g.array();
        l_bar_j = (w * m * (st.f[sj].v.rowwise().squaredNorm().array() + alpha * st.f[sj].g.array().square())).matrix();
      }
      Eigen::MatrixXd x_bar_j;
      detail::stage_vjp(field, st, sj, t + tb.c[j] * h, u_bar[sj], v_bar, g_bar[sj], &x_bar_j, &g.params);
      x_bar_total += x_bar_j;
      l_bar_total += l_bar_j;
      for (Eigen::Index i = 0; i < j; ++i) {
        if (tb.a(j, i) == 0) continue;
        u_bar[static_cast<std::size_t>(i)] += (h * tb.a(j, i)) * x_bar_j;
        g_bar[static_cast<std::size_t>(i)] += (h * tb.a(j, i)) * l_bar_j;
      }
    }
    g.x0 = std::move(x_bar_total);
    g.log_m0 = std::move(l_bar_total);
  }
  return g;
}

/// @brief Reverse mode through `integrate` (same tableau, steps and alpha): integrate_recorded (one state per step)
/// followed by the reverse sweep. Use integrate_recorded and integrate_vjp(field, tape, ...) directly when the forward
/// result is needed too (one forward pass instead of two).
template <class Field>
[[nodiscard]] flow_gradients integrate_vjp(const Field& field, const tableau& tb, double t0, double t1,
                                           const flow_state& y0, const fixed_step_options& options,
                                           const Eigen::MatrixXd& cot_x, const Eigen::VectorXd& cot_log_m,
                                           double cot_regulariser = 0) {
  return integrate_vjp(field, integrate_recorded(field, tb, t0, t1, y0, options, false), cot_x, cot_log_m,
                       cot_regulariser);
}

/// @brief Options of the adaptive Dormand-Prince driver.
struct adaptive_options {
  double atol = 1e-6;
  double rtol = 1e-6;
  double first_step = 0;  ///< 0: chosen by Hairer, Norsett & Wanner's starting-step algorithm (one extra evaluation)
  double max_step = std::numeric_limits<double>::infinity();
  long max_steps = 100000;
  double alpha = -1.0;  ///< regulariser weight (< 0: none)
};

/// @brief Outcome of integrate_adaptive.
struct adaptive_result {
  flow_state state;            ///< at t1
  std::vector<flow_state> at;  ///< at each requested output time (dense output)
  long accepted = 0, rejected = 0;
  long evaluations = 0;  ///< field evaluations, the starting-step probe included
};

namespace detail {
// Shampine's fourth-order continuous extension of Dormand-Prince 5(4) (Hairer, Norsett & Wanner, Solving ODEs I,
// II.6): y(t + theta h) = y + h sum_j w_j(theta) K_j with w_j(theta) = sum_k P(j, k) theta^(k + 1). At theta = 1 the
// weights are b; their theta-derivatives are e_0 at 0 and e_6 at 1, so the interpolant is C1 across steps.
inline Eigen::VectorXd dopri5_dense_weights(double theta) {
  static const double p[7][4] = {
      {1.0, -8048581381.0 / 2820520608, 8663915743.0 / 2820520608, -12715105075.0 / 11282082432},
      {0.0, 0.0, 0.0, 0.0},
      {0.0, 131558114200.0 / 32700410799, -68118460800.0 / 10900136933, 87487479700.0 / 32700410799},
      {0.0, -1754552775.0 / 470086768, 14199869525.0 / 1410260304, -10690763975.0 / 1880347072},
      {0.0, 127303824393.0 / 49829197408, -318862633887.0 / 49829197408, 701980252875.0 / 199316789632},
      {0.0, -282668133.0 / 205662961, 2019193451.0 / 616988883, -1453857185.0 / 822651844},
      {0.0, 40617522.0 / 29380423, -110615467.0 / 29380423, 69997945.0 / 29380423}};
  Eigen::VectorXd w(7);
  for (int j = 0; j < 7; ++j) w[j] = theta * (p[j][0] + theta * (p[j][1] + theta * (p[j][2] + theta * p[j][3])));
  return w;
}

// RMS norm of (x, l) scaled by atol + rtol |(x0, l0)|.
inline double scaled_rms(const Eigen::MatrixXd& x, const Eigen::VectorXd& l, const flow_state& y0, double atol,
                         double rtol) {
  const double sum = (x.array() / (atol + rtol * y0.x.array().abs())).square().sum() +
                     (l.array() / (atol + rtol * y0.log_m.array().abs())).square().sum();
  return std::sqrt(sum / static_cast<double>(x.size() + l.size()));
}

// Hairer, Norsett & Wanner's starting step (Solving ODEs I, II.4) for a method of order 5: balances h0 = 0.01 |y|/|f|
// against the step at which an Euler probe's second-derivative estimate reaches the tolerance. f0 = F(t0, y0).
template <class Field>
double starting_step(const Field& field, double t0, const flow_state& y0, const flow_values& f0, double span,
                     double atol, double rtol) {
  const double d0 = scaled_rms(y0.x, y0.log_m, y0, atol, rtol);
  const double d1 = scaled_rms(f0.u, f0.g, y0, atol, rtol);
  double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  h0 = std::min(h0, span);
  const Eigen::MatrixXd x1 = y0.x + h0 * f0.u;
  flow_values f1;
  field.evaluate(t0 + h0, x1, f1);
  const double d2 = scaled_rms(f1.u - f0.u, f1.g - f0.g, y0, atol, rtol) / h0;
  const double h1 = std::max(d1, d2) <= 1e-15 ? std::max(1e-6, 1e-3 * h0) : std::pow(0.01 / std::max(d1, d2), 1.0 / 5);
  return std::min(100 * h0, h1);
}
}  // namespace detail

/// @brief Dormand-Prince 5(4) with error control from t0 to t1 > t0: RMS error norm over positions and log-masses with
/// weights atol + rtol max(|y|, |y'|), elementary controller (safety 0.9, step factors in [0.2, 5], no growth right
/// after a rejection), first-same-as-last (six evaluations per accepted step). States at the requested `outputs`
/// (sorted, within [t0, t1]) come from the method's fourth-order continuous extension (positions, log-masses and the
/// regulariser).
/// @throws std::invalid_argument on non-positive tolerances, unsorted outputs or t1 <= t0; upfi::core::error if the
/// step size underflows or max_steps is exceeded.
template <class Field>
[[nodiscard]] adaptive_result integrate_adaptive(const Field& field, double t0, double t1, flow_state y,
                                                 const adaptive_options& o = {},
                                                 const std::vector<double>& outputs = {}) {
  constexpr const char* who = "upfi::flow::integrate_adaptive";
  detail::check_state(y, field.dimension(), who);
  if (!(o.atol > 0) || !(o.rtol >= 0) || !(t1 > t0) || !(o.max_step > 0) || o.max_steps < 1 || !std::isfinite(t1) ||
      !std::isfinite(t0) || !(o.first_step >= 0)) {
    core::detail::throw_invalid_argument(who, ": need atol > 0, rtol >= 0, max_step > 0, first_step >= 0, ",
                                         "max_steps >= 1 and finite t1 > t0; got atol = ", o.atol, ", rtol = ", o.rtol,
                                         ", [", t0, ", ", t1, "]");
  }
  if (!std::is_sorted(outputs.begin(), outputs.end()) ||
      (!outputs.empty() && (outputs.front() < t0 || outputs.back() > t1))) {
    core::detail::throw_invalid_argument(who, ": output times must be sorted and inside [t0, t1]");
  }
  static const tableau tb = dopri5();
  const Eigen::Index s = tb.stages();
  adaptive_result r;
  detail::stage_values st;
  st.keep_inputs = false;
  st.f.resize(static_cast<std::size_t>(s));
  field.evaluate(t0, y.x, st.f[0]);
  r.evaluations = 1;
  double h = o.first_step;
  if (h == 0) {
    h = detail::starting_step(field, t0, y, st.f[0], t1 - t0, o.atol, o.rtol);
    ++r.evaluations;
  }
  flow_state next;
  std::size_t next_out = 0;
  while (next_out < outputs.size() && outputs[next_out] <= t0) {
    r.at.push_back(y);
    ++next_out;
  }
  double t = t0;
  bool just_rejected = false;
  while (t < t1) {
    if (r.accepted + r.rejected >= o.max_steps) {
      UPFI_THROW(core::error(core::detail::message(who, ": more than ", o.max_steps, " steps (t = ", t, ")")));
    }
    h = std::min({h, t1 - t, o.max_step});
    if (!(h > 1e-14 * std::max(1.0, std::abs(t)))) {
      UPFI_THROW(core::error(core::detail::message(who, ": step size underflow at t = ", t)));
    }
    detail::run_stages(field, tb, t, h, y, st, /*first_known=*/true);
    r.evaluations += s - 1;
    const double err = detail::combine(tb, h, y, st, o.alpha, next, true, o.atol, o.rtol);
    if (!std::isfinite(err) || !next.x.allFinite() || !next.log_m.allFinite()) {
      h *= 0.2;
      ++r.rejected;
      just_rejected = true;
      continue;
    }
    if (err > 1) {
      h *= std::max(0.2, 0.9 * std::pow(err, -0.2));
      ++r.rejected;
      just_rejected = true;
      continue;
    }
    while (next_out < outputs.size() && outputs[next_out] <= t + h) {
      const Eigen::VectorXd w = h * detail::dopri5_dense_weights((outputs[next_out] - t) / h);
      flow_state out;
      const auto wj = [&](Eigen::Index j) { return w[j]; };
      detail::combine_stage_values(st, s, wj, wj, &y, y.x.rows(), y.x.cols(), out.x, out.log_m);
      out.regulariser =
          o.alpha >= 0 ? detail::accumulate_regulariser(y.regulariser, st, s, wj, o.alpha) : y.regulariser;
      r.at.push_back(std::move(out));
      ++next_out;
    }
    t = (t1 - t - h <= 1e-14 * std::max(1.0, std::abs(t1))) ? t1 : t + h;
    std::swap(y, next);
    std::swap(st.f.front(), st.f.back());  // first same as last: stage 7 is F(t + h, y')
    ++r.accepted;
    h *= just_rejected ? 1.0 : std::min(5.0, 0.9 * std::pow(std::max(err, 1e-10), -0.2));
    just_rejected = false;
  }
  r.state = std::move(y);
  return r;
}

}  // namespace upfi::flow
