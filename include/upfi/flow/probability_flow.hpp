// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The probability-flow field with mass (algorithms.md §1.2-§1.3), composed at compile time from a trainable
/// drift v, a diffusion D, a frozen score s and an optional trainable growth rate g:
///   u(t, x) = v(t, x) - (div D)(x) - D(x) s(t, x),     d/dt log m = g(t, x).
///
/// Diffusions: `isotropic_diffusion` (D = delta I, additive noise sigma dB with delta = sigma^2 / 2),
/// `matrix_diffusion` (constant symmetric D, the OU case) and `pointwise_diagonal_diffusion` (state-dependent diagonal
/// D(x) written once as a generic function; div D by duals). The trainable parameters are the
/// drift's followed by the growth's; the score is frozen (its parameters never change) but the gradient may flow
/// through its input (`score_input_path`, algorithms.md §8.4).

#include <upfi/ad/dual.hpp>
#include <upfi/concepts/nn.hpp>
#include <upfi/concepts/score.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace upfi::flow {

// A Diffusion policy (state_dependent: whether D depends on x) gives the correction c = div D + D s subtracted from the
// drift, and its VJP:
//   subtract_correction(t, X, S, U): U -= c for a block of rows U (in place: no N x d temporary);
//   correction_vjp(t, X, S, Cbar, dX*, dS) adds d<Cbar, c>/dX to *dX (when the policy depends on x) and writes
//   dS = d<Cbar, c>/dS;  check(d) validates the policy for dimension d.

/// @brief D = delta I (additive isotropic noise sigma dB has delta = sigma^2 / 2).
struct isotropic_diffusion {
  static constexpr bool state_dependent = false;
  double delta = 0;
  void subtract_correction(double, const Eigen::Ref<const Eigen::MatrixXd>&, const Eigen::MatrixXd& s,
                           Eigen::Ref<Eigen::MatrixXd> u) const {
    u -= delta * s;
  }
  void correction_vjp(double, const Eigen::Ref<const Eigen::MatrixXd>&, const Eigen::MatrixXd&,
                      const Eigen::MatrixXd& cbar, Eigen::MatrixXd*, Eigen::MatrixXd& ds) const {
    ds = delta * cbar;
  }
  void check(Eigen::Index) const {
    if (!(delta >= 0) || !std::isfinite(delta)) {
      core::detail::throw_invalid_argument("upfi::flow::isotropic_diffusion: delta = ", delta, " must be >= 0");
    }
  }
};

/// @brief A constant symmetric positive semi-definite D.
struct matrix_diffusion {
  static constexpr bool state_dependent = false;
  Eigen::MatrixXd d;
  void subtract_correction(double, const Eigen::Ref<const Eigen::MatrixXd>&, const Eigen::MatrixXd& s,
                           Eigen::Ref<Eigen::MatrixXd> u) const {
    u.noalias() -= s * d.transpose();
  }
  void correction_vjp(double, const Eigen::Ref<const Eigen::MatrixXd>&, const Eigen::MatrixXd&,
                      const Eigen::MatrixXd& cbar, Eigen::MatrixXd*, Eigen::MatrixXd& ds) const {
    ds = cbar * d;
  }
  void check(Eigen::Index dim) const {
    if (d.rows() != dim || d.cols() != dim || !d.allFinite() || !d.isApprox(d.transpose(), 1e-12)) {
      core::detail::throw_invalid_argument("upfi::flow::matrix_diffusion: D must be a finite symmetric ", dim, " x ",
                                           dim, " matrix, got ", d.rows(), " x ", d.cols());
    }
  }
};

/// @brief State-dependent diagonal D(x) = diag(D_11(t, x), ..., D_dd(t, x)) from a pointwise generic function (the
/// `Diffusion` functor of upfi::sde::diagonal_noise: `dimension()` and `template <class T> void operator()(
/// scalar_of_t<T> t, const T* x, T* d_diag) const`). The row divergence d_i D_ii and, for the VJP, the derivatives
/// d_j D_ii and d_j d_i D_ii come from forward-mode duals (nested for the second derivatives: O(d^2) evaluations per
/// particle, meant for moderate d).
template <class DiagonalFunction>
struct pointwise_diagonal_diffusion {
  static constexpr bool state_dependent = true;
  DiagonalFunction f;

  void subtract_correction(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& s,
                           Eigen::Ref<Eigen::MatrixXd> u) const {
    const Eigen::Index n = x.rows(), d = x.cols();
    std::vector<ad::dual<double>> xd(static_cast<std::size_t>(d)), out(static_cast<std::size_t>(d));
    for (Eigen::Index r = 0; r < n; ++r) {
      for (Eigen::Index i = 0; i < d; ++i) {
        for (Eigen::Index k = 0; k < d; ++k) xd[static_cast<std::size_t>(k)] = ad::dual<double>(x(r, k), k == i);
        f(t, xd.data(), out.data());
        const auto& di = out[static_cast<std::size_t>(i)];
        u(r, i) -= di.d + di.v * s(r, i);  // d_i D_ii + D_ii s_i
      }
    }
  }
  void correction_vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& s,
                      const Eigen::MatrixXd& cbar, Eigen::MatrixXd* dx, Eigen::MatrixXd& ds) const {
    using d2 = ad::dual<ad::dual<double>>;
    const Eigen::Index n = x.rows(), d = x.cols();
    ds.resize(n, d);
    std::vector<d2> xd(static_cast<std::size_t>(d)), out(static_cast<std::size_t>(d));
    for (Eigen::Index r = 0; r < n; ++r) {
      for (Eigen::Index i = 0; i < d; ++i) {
        // outer seed e_j (derivative w.r.t. x_j), inner seed e_i (the divergence direction)
        for (Eigen::Index j = 0; j < d; ++j) {
          for (Eigen::Index k = 0; k < d; ++k) {
            xd[static_cast<std::size_t>(k)] = d2(ad::dual<double>(x(r, k), k == i), ad::dual<double>(k == j, 0.0));
          }
          f(t, xd.data(), out.data());
          const d2& di = out[static_cast<std::size_t>(i)];
          if (j == 0) ds(r, i) = cbar(r, i) * di.v.v;
          // d/dx_j of (d_i D_ii + D_ii s_i) with s held fixed
          if (dx != nullptr) (*dx)(r, j) += cbar(r, i) * (di.d.d + di.d.v * s(r, i));
        }
      }
    }
  }
  void check(Eigen::Index dim) const {
    if (f.dimension() != dim) {
      core::detail::throw_invalid_argument("upfi::flow::pointwise_diagonal_diffusion: the function has dimension ",
                                           f.dimension(), ", the drift ", dim);
    }
  }
};

/// @brief No growth: g = 0 and no parameters.
struct no_growth {};

/// @brief Values of the field on a cloud: velocity u, drift v (for regularisers) and log-mass rate g.
struct flow_values {
  Eigen::MatrixXd u, v;  ///< N x d
  Eigen::VectorXd g;     ///< N
  Eigen::MatrixXd s;     ///< workspace of the evaluation (kept so repeated evaluations reuse its storage)
};

namespace detail {
/// Rows per block of a field evaluation of N x d values: about 16k values per block and at least two blocks from 512
/// rows on (networks cost far more per row than d suggests), an even number of blocks when there is more than one
/// (balanced on two or four threads), one block for small clouds. Blocks run in parallel with
/// single-threaded GEMMs inside; the split depends only on (N, d), so every row's arithmetic is the same for any
/// thread count (Eigen's own GEMM threading changes its blocking with the thread count, and on tall-skinny N x d
/// products it is slower than row blocks).
[[nodiscard]] constexpr Eigen::Index flow_block_rows(Eigen::Index n, Eigen::Index d) noexcept {
  Eigen::Index blocks = std::max<Eigen::Index>((n * std::max<Eigen::Index>(d, 1) + 16383) / 16384, n >= 512 ? 2 : 1);
  if (blocks <= 1) return std::max<Eigen::Index>(n, 1);
  blocks += blocks % 2;
  return (n + blocks - 1) / blocks;
}

// out = F(t, X) evaluated block by block: rows(t, X_block, values, U_block, record) fills v, s and g of a block's
// flow_values and writes u straight into the output rows U_block; `record` is the block's entry of `records` (resized
// to one per block) or null when `records` is null. out.s is a workspace: its content is unspecified afterwards.
template <class Record, class Rows>
void evaluate_in_row_blocks(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out,
                            std::vector<Record>* records, Rows&& rows) {
  const Eigen::Index n = x.rows(), d = x.cols();
  out.u.resize(n, d);
  const Eigen::Index block_rows = flow_block_rows(n, d);
  const Eigen::Index blocks = core::block_count(n, block_rows);
  if (records != nullptr) records->resize(static_cast<std::size_t>(std::max<Eigen::Index>(blocks, 1)));
  const auto record_of = [&](Eigen::Index r0) {
    return records != nullptr ? &(*records)[static_cast<std::size_t>(r0 / block_rows)] : nullptr;
  };
  if (blocks <= 1) {
    const core::thread_limit serial(1);
    rows(t, x, out, Eigen::Ref<Eigen::MatrixXd>(out.u), record_of(0));
    return;
  }
  out.v.resize(n, d);
  out.g.resize(n);
  core::parallel_for(n, block_rows, [&](Eigen::Index r0, Eigen::Index r1) {
    thread_local flow_values block;  // per-thread workspace: no allocation after the first block
    const Eigen::Index nr = r1 - r0;
    rows(t, x.middleRows(r0, nr), block, Eigen::Ref<Eigen::MatrixXd>(out.u.middleRows(r0, nr)), record_of(r0));
    out.v.middleRows(r0, nr) = block.v;
    out.g.segment(r0, nr) = block.g;
  });
}

// The same without records: rows(t, X_block, values, U_block).
template <class Rows>
void evaluate_in_row_blocks(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out, Rows&& rows) {
  evaluate_in_row_blocks(t, x, out, static_cast<std::vector<std::monostate>*>(nullptr),
                         [&](double tb, const Eigen::Ref<const Eigen::MatrixXd>& xb, flow_values& o,
                             Eigen::Ref<Eigen::MatrixXd> u, std::monostate*) { rows(tb, xb, o, u); });
}

// A VJP over the row blocks of evaluate_in_row_blocks (records are per block): body(b, r0, nr, dX_block, gp) writes
// the block's rows of dX (dX_block is null when grad_x is) and ADDS the block's parameter gradient to gp (null when
// grad_params is). One block runs here and adds to grad_params directly; several run in parallel, each into its own
// zeroed vector, summed in block order, so the result does not depend on the thread count.
template <class Body>
void vjp_in_row_blocks(Eigen::Index n, Eigen::Index d, Eigen::Index parameters, Eigen::MatrixXd* grad_x,
                       Eigen::VectorXd* grad_params, Body&& body) {
  const Eigen::Index block_rows = flow_block_rows(n, d);
  const Eigen::Index blocks = core::block_count(n, block_rows);
  if (grad_x != nullptr) grad_x->resize(n, d);
  if (blocks <= 1) {
    Eigen::MatrixXd dx;
    body(Eigen::Index{0}, Eigen::Index{0}, n, grad_x != nullptr ? &dx : nullptr, grad_params);
    if (grad_x != nullptr) *grad_x = std::move(dx);
    return;
  }
  Eigen::MatrixXd partials = Eigen::MatrixXd::Zero(grad_params != nullptr ? parameters : 0, blocks);
  core::parallel_for(n, block_rows, [&](Eigen::Index r0, Eigen::Index r1) {
    const Eigen::Index b = r0 / block_rows;
    Eigen::MatrixXd dx;
    Eigen::VectorXd gp = Eigen::VectorXd::Zero(grad_params != nullptr ? parameters : 0);
    body(b, r0, r1 - r0, grad_x != nullptr ? &dx : nullptr, grad_params != nullptr ? &gp : nullptr);
    if (grad_x != nullptr) grad_x->middleRows(r0, r1 - r0) = dx;
    if (grad_params != nullptr) partials.col(b) = gp;
  });
  if (grad_params != nullptr) *grad_params += partials.rowwise().sum();
}

// vjp(record, ...) of a field evaluated by evaluate_in_row_blocks with records: checks the record against the cloud,
// then runs rows(&record[b], t, X_b, cu_b, cv_b, cg_b, dX_b, gp) over the blocks (vjp_in_row_blocks).
template <class Record, class Rows>
void vjp_with_record(const std::vector<Record>& record, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
                     const Eigen::MatrixXd& cu, const Eigen::MatrixXd& cv, const Eigen::VectorXd& cg,
                     Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params, Eigen::Index parameters, const char* who,
                     Rows&& rows) {
  const Eigen::Index n = x.rows(), d = x.cols();
  const Eigen::Index block_rows = flow_block_rows(n, d);
  const auto blocks = static_cast<std::size_t>(std::max<Eigen::Index>(core::block_count(n, block_rows), 1));
  bool matches = record.size() == blocks;
  Eigen::Index recorded_rows = 0;
  for (std::size_t b = 0; b < record.size(); ++b) {
    recorded_rows += record[b].rows;
    const Eigen::Index expected = std::min(block_rows, n - static_cast<Eigen::Index>(b) * block_rows);
    matches = matches && record[b].rows == std::max<Eigen::Index>(expected, 0);
  }
  if (!matches) {
    core::detail::throw_invalid_argument(who, "::vjp: the record was made on a cloud of ", recorded_rows, " rows (",
                                         record.size(), " row blocks); this cloud has ", n, " rows");
  }
  if (cu.rows() != n || cu.cols() != d || (cv.size() != 0 && (cv.rows() != n || cv.cols() != d)) ||
      (cg.size() != 0 && cg.size() != n)) {
    core::detail::throw_invalid_argument(who, "::vjp: cotangents must be ", n, " x ", d, " (u, v) and ", n,
                                         " (g; v and g may be empty)");
  }
  using cref = Eigen::Ref<const Eigen::MatrixXd>;
  using vref = Eigen::Ref<const Eigen::VectorXd>;
  vjp_in_row_blocks(n, d, parameters, grad_x, grad_params,
                    [&](Eigen::Index b, Eigen::Index r0, Eigen::Index nr, Eigen::MatrixXd* dx, Eigen::VectorXd* gp) {
                      rows(&record[static_cast<std::size_t>(b)], t, x.middleRows(r0, nr), cref(cu.middleRows(r0, nr)),
                           cv.size() == 0 ? cref(cv) : cref(cv.middleRows(r0, nr)),
                           cg.size() == 0 ? vref(cg) : vref(cg.segment(r0, nr)), dx, gp);
                    });
}

// CRTP base of the row-blocked flow fields (probability_flow, transport_flow, chemical_langevin_flow): their public
// evaluate and vjp overloads, with and without a record. Derived provides `static constexpr const char* name`,
// dimension(), parameter_count(), record_type (a vector of block records) and, as private members befriending this
// base, evaluate_blocks(t, X, out, record*) (one evaluation in row blocks) and vjp_rows(block_record*, t, X, cu, cv,
// cg, dX*, dP*) (the VJP on a row block with its record, or on the whole cloud with none: the parts evaluate again).
// The record overloads are templates so that Derived::record_type is looked up once Derived is complete (through a
// defaulted parameter D: Clang 14 substitutes a constraint naming Derived itself when the base is instantiated).
template <class Derived>
class row_blocked_field {
 public:
  /// @brief u, v and g at time t on the cloud X (N x d).
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out) const {
    checked(x).evaluate_blocks(t, x, out, nullptr);
  }
  /// @brief evaluate(), also keeping in `record` what vjp(record, ...) needs to skip the forward passes of the VJP.
  template <class Record, class D = Derived>
    requires std::same_as<Record, typename D::record_type>
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out, Record& record) const {
    checked(x).evaluate_blocks(t, x, out, &record);
  }

  /// @brief VJP for cotangents on u (cu), v (cv, may be empty = 0) and g (cg, may be empty = 0): writes dX and ADDS
  /// the parameter gradient to `grad_params` (either may be null).
  void vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& cu, const Eigen::MatrixXd& cv,
           const Eigen::VectorXd& cg, Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    self().vjp_rows(nullptr, t, x, cu, cv, cg, grad_x, grad_params);
  }
  /// @brief The VJP at the point of the evaluation that filled `record` (same t and X): the same result as vjp()
  /// without repeating the networks' forward passes. Row blocks run in parallel and their parameter gradients are
  /// summed in block order: with one block (N < 512 for small d) the result is bit-identical to vjp(), with several
  /// it agrees to rounding and does not depend on the thread count.
  /// @throws std::invalid_argument if the record was made on a cloud of another size.
  template <class Record, class D = Derived>
    requires std::same_as<Record, typename D::record_type>
  void vjp(const Record& record, double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::MatrixXd& cu,
           const Eigen::MatrixXd& cv, const Eigen::VectorXd& cg, Eigen::MatrixXd* grad_x,
           Eigen::VectorXd* grad_params) const {
    vjp_with_record(record, t, x, cu, cv, cg, grad_x, grad_params, self().parameter_count(), Derived::name,
                    [this](const auto&... args) { self().vjp_rows(args...); });
  }

 private:
  [[nodiscard]] const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
  [[nodiscard]] const Derived& checked(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    if (x.cols() != self().dimension()) {
      core::detail::throw_invalid_argument(Derived::name, "::evaluate: cloud has ", x.cols(), " columns, expected ",
                                           self().dimension());
    }
    return self();
  }
};

// What a part of a field (drift, growth; the score: upfi::score_record_t) keeps from an evaluation for its VJP: its
// record type when it has one, else nothing.
template <class F>
struct part_record {
  using type = std::monostate;
};
template <RecordingField F>
struct part_record<F> {
  using type = typename F::record_type;
};
template <class F>
using part_record_t = typename part_record<F>::type;

// f(t, X) -> out, filling `record` when there is one and f can use it.
template <class F>
void evaluate_part(const F& f, double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out,
                   part_record_t<F>* record) {
  if constexpr (RecordingField<F>) {
    if (record != nullptr) {
      f.evaluate(t, x, out, *record);
      return;
    }
  }
  f.evaluate(t, x, out);
}
// f's VJP at X (from the record when there is one: no second forward pass).
template <class F>
void vjp_part(const F& f, const part_record_t<F>* record, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
              const Eigen::Ref<const Eigen::MatrixXd>& dy, Eigen::MatrixXd* dx, Eigen::VectorXd* grad_params) {
  if constexpr (RecordingField<F>) {
    if (record != nullptr) {
      f.vjp(*record, dy, dx, grad_params);
      return;
    }
  }
  f.vjp(t, x, Eigen::MatrixXd(dy), dx, grad_params);
}
template <class M>
void evaluate_score(const M& s, double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out,
                    score_record_t<M>* record) {
  if constexpr (RecordingScoreModel<M>) {
    if (record != nullptr) {
      s.evaluate(t, x, out, *record);
      return;
    }
  }
  s.evaluate(t, x, out);
}
template <ScoreModelWithVjp M>
void score_vjp_x(const M& s, const score_record_t<M>* record, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
                 const Eigen::MatrixXd& cot, Eigen::MatrixXd& out) {
  if constexpr (RecordingScoreModel<M>) {
    if (record != nullptr) {
      s.vjp_x(*record, cot, out);
      return;
    }
  }
  s.vjp_x(t, x, cot, out);
}

// The drift's VJP for the cotangent cu + cv (cv empty = 0): sets dx (when asked) and adds to the head of grad_params.
template <class Drift>
void drift_vjp(const Drift& drift, const part_record_t<Drift>* record, double t,
               const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cu,
               const Eigen::Ref<const Eigen::MatrixXd>& cv, Eigen::MatrixXd* dx, Eigen::VectorXd* grad_params) {
  const Eigen::Index pd = drift.parameter_count();
  const Eigen::MatrixXd c = cv.size() == 0 ? Eigen::MatrixXd(cu) : Eigen::MatrixXd(cu + cv);
  Eigen::VectorXd gd = Eigen::VectorXd::Zero(grad_params != nullptr ? pd : 0);
  vjp_part(drift, record, t, x, c, dx, grad_params != nullptr ? &gd : nullptr);
  if (grad_params != nullptr) grad_params->head(pd) += gd;
}

template <class Growth>
void growth_values(const Growth& growth, double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::VectorXd& g,
                   part_record_t<Growth>* record = nullptr) {
  if constexpr (std::is_same_v<Growth, no_growth>) {
    g.setZero(x.rows());
  } else {
    Eigen::MatrixXd out;
    evaluate_part(growth, t, x, out, record);
    g = out.col(0);
  }
}
// Adds the growth's VJP for the cotangent cg (empty = 0) to dx and to the tail of grad_params.
template <class Growth>
void growth_vjp(const Growth& growth, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
                const Eigen::Ref<const Eigen::VectorXd>& cg, Eigen::MatrixXd* dx, Eigen::VectorXd* grad_params,
                const part_record_t<Growth>* record = nullptr) {
  if constexpr (!std::is_same_v<Growth, no_growth>) {
    if (cg.size() == 0) return;
    const Eigen::Index pg = growth.parameter_count();
    Eigen::VectorXd gg = Eigen::VectorXd::Zero(grad_params != nullptr ? pg : 0);
    Eigen::MatrixXd dxg;
    vjp_part(growth, record, t, x, cg, dx != nullptr ? &dxg : nullptr, grad_params != nullptr ? &gg : nullptr);
    if (grad_params != nullptr) grad_params->tail(pg) += gg;
    if (dx != nullptr) *dx += dxg;
  }
}
template <class Growth>
void check_growth(const Growth& growth, Eigen::Index d, const char* who) {
  if constexpr (!std::is_same_v<Growth, no_growth>) {
    if (growth.inputs() != d || growth.outputs() != 1) {
      core::detail::throw_invalid_argument(who, ": growth must map ", d, " -> 1, got ", growth.inputs(), " -> ",
                                           growth.outputs());
    }
  }
}
template <class Growth>
Eigen::Index growth_parameter_count(const Growth& growth) {
  if constexpr (std::is_same_v<Growth, no_growth>) {
    return 0;
  } else {
    return growth.parameter_count();
  }
}
// [drift; growth] parameters of a field made of a drift and an optional growth (probability_flow, transport_flow).
template <class Drift, class Growth>
Eigen::VectorXd joint_parameters(const Drift& drift, const Growth& growth) {
  Eigen::VectorXd p(drift.parameter_count() + growth_parameter_count(growth));
  p.head(drift.parameter_count()) = const_cast<Drift&>(drift).parameters();
  if constexpr (!std::is_same_v<Growth, no_growth>)
    p.tail(growth.parameter_count()) = const_cast<Growth&>(growth).parameters();
  return p;
}
template <class Drift, class Growth>
void set_joint_parameters(Drift& drift, Growth& growth, const Eigen::Ref<const Eigen::VectorXd>& p, const char* who) {
  const Eigen::Index n = drift.parameter_count() + growth_parameter_count(growth);
  if (p.size() != n) core::detail::throw_invalid_argument(who, ": ", p.size(), " values, expected ", n);
  drift.parameters() = p.head(drift.parameter_count());
  if constexpr (!std::is_same_v<Growth, no_growth>) growth.parameters() = p.tail(growth.parameter_count());
}
}  // namespace detail

/// @brief u = v - D s and g (see the file comment). Drift and Growth model DifferentiableField (Growth with one
/// output), or Growth = no_growth; Score models ScoreModel.
template <DifferentiableField Drift, ScoreModel Score, class Diffusion, class Growth = no_growth>
class probability_flow : public detail::row_blocked_field<probability_flow<Drift, Score, Diffusion, Growth>> {
 public:
  static constexpr const char* name = "upfi::flow::probability_flow";
  static constexpr bool has_growth = !std::is_same_v<Growth, no_growth>;

  /// @throws std::invalid_argument on inconsistent dimensions or an invalid diffusion.
  probability_flow(Drift drift, Score score, Diffusion diffusion, Growth growth = {})
      : m_drift(std::move(drift)),
        m_score(std::move(score)),
        m_diff(std::move(diffusion)),
        m_growth(std::move(growth)) {
    const Eigen::Index d = m_drift.inputs();
    if (m_drift.outputs() != d || m_score.dimension() != d) {
      core::detail::throw_invalid_argument("upfi::flow::probability_flow: drift is ", m_drift.inputs(), " -> ",
                                           m_drift.outputs(), ", score has dimension ", m_score.dimension(),
                                           "; all must equal d");
    }
    detail::check_growth(m_growth, d, "upfi::flow::probability_flow");
    m_diff.check(d);
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_drift.inputs(); }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept {
    return m_drift.parameter_count() + detail::growth_parameter_count(m_growth);
  }
  /// @brief All trainable parameters: [drift; growth].
  [[nodiscard]] Eigen::VectorXd parameters() const { return detail::joint_parameters(m_drift, m_growth); }
  void set_parameters(const Eigen::Ref<const Eigen::VectorXd>& p) {
    detail::set_joint_parameters(m_drift, m_growth, p, "upfi::flow::probability_flow::set_parameters");
  }
  /// @brief Whether VJPs include the path through the score's input (needs ScoreModelWithVjp; default: when available).
  void set_score_input_path(bool on) {
    if (on && !ScoreModelWithVjp<Score>) {
      core::detail::throw_invalid_argument("upfi::flow::probability_flow: the score model has no vjp_x");
    }
    m_score_path = on;
  }
  [[nodiscard]] bool score_input_path() const noexcept { return m_score_path; }

  [[nodiscard]] const Drift& drift() const noexcept { return m_drift; }
  [[nodiscard]] const Score& score() const noexcept { return m_score; }
  [[nodiscard]] const Diffusion& diffusion() const noexcept { return m_diff; }
  [[nodiscard]] const Growth& growth() const noexcept { return m_growth; }

  /// @brief What an evaluation keeps for the VJP, per row block: the networks' intermediates (for parts that model
  /// RecordingField / RecordingScoreModel) and, for a state-dependent D, the score values.
  struct block_record {
    Eigen::Index rows = 0;
    detail::part_record_t<Drift> drift;
    score_record_t<Score> score;
    detail::part_record_t<Growth> growth;
    Eigen::MatrixXd s;
  };
  /// @brief The record of one evaluation (one entry per row block).
  using record_type = std::vector<block_record>;
  /// @brief Whether a record saves work in vjp(record, ...) (some part keeps its intermediates).
  static constexpr bool keeps_records = RecordingField<Drift> || RecordingScoreModel<Score> ||
                                        Diffusion::state_dependent ||
                                        !std::is_same_v<detail::part_record_t<Growth>, std::monostate>;

 private:
  friend class detail::row_blocked_field<probability_flow>;

  void evaluate_blocks(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, flow_values& out,
                       record_type* record) const {
    detail::evaluate_in_row_blocks(t, x, out, record,
                                   [this](double tb, const Eigen::Ref<const Eigen::MatrixXd>& xb, flow_values& o,
                                          Eigen::Ref<Eigen::MatrixXd> u, block_record* rec) {
                                     if (rec != nullptr) rec->rows = xb.rows();
                                     detail::evaluate_part(m_drift, tb, xb, o.v, rec ? &rec->drift : nullptr);
                                     detail::evaluate_score(m_score, tb, xb, o.s, rec ? &rec->score : nullptr);
                                     if constexpr (Diffusion::state_dependent) {
                                       if (rec != nullptr) rec->s = o.s;
                                     }
                                     u = o.v;
                                     m_diff.subtract_correction(tb, xb, o.s, u);
                                     detail::growth_values(m_growth, tb, xb, o.g, rec ? &rec->growth : nullptr);
                                   });
  }

  // The VJP on rows X (a row block with its record, or the whole cloud with rec = null: the parts evaluate again).
  void vjp_rows(const block_record* rec, double t, const Eigen::Ref<const Eigen::MatrixXd>& x,
                const Eigen::Ref<const Eigen::MatrixXd>& cu, const Eigen::Ref<const Eigen::MatrixXd>& cv,
                const Eigen::Ref<const Eigen::VectorXd>& cg, Eigen::MatrixXd* grad_x,
                Eigen::VectorXd* grad_params) const {
    Eigen::MatrixXd dx;
    detail::drift_vjp(m_drift, rec ? &rec->drift : nullptr, t, x, cu, cv, grad_x != nullptr ? &dx : nullptr,
                      grad_params);
    if (grad_x != nullptr) {
      // u = v - c(x, s(x)): cbar = -cu
      Eigen::MatrixXd s, s_bar;
      const Eigen::MatrixXd* sp = &s;
      if constexpr (Diffusion::state_dependent) {  // constant D: the VJP needs no s
        if (rec != nullptr) {
          sp = &rec->s;
        } else {
          m_score.evaluate(t, x, s);
        }
      }
      m_diff.correction_vjp(t, x, *sp, Eigen::MatrixXd(-cu), &dx, s_bar);
      if constexpr (ScoreModelWithVjp<Score>) {
        if (m_score_path) {
          Eigen::MatrixXd ds;
          detail::score_vjp_x(m_score, rec ? &rec->score : nullptr, t, x, s_bar, ds);
          dx += ds;
        }
      }
    }
    detail::growth_vjp(m_growth, t, x, cg, grad_x != nullptr ? &dx : nullptr, grad_params,
                       rec ? &rec->growth : nullptr);
    if (grad_x != nullptr) *grad_x = std::move(dx);
  }

  Drift m_drift;
  Score m_score;
  Diffusion m_diff;
  [[no_unique_address]] Growth m_growth;
  bool m_score_path = ScoreModelWithVjp<Score>;
};

}  // namespace upfi::flow
