// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The soft-min kernel of log-domain Sinkhorn, with costs computed on the fly:
///
///     out_i = -eps * log sum_j exp(h_j - C(x_i, y_j) / eps)
///
/// and its weighted form (softmax-weighted averages of rows of V), which applies a transport plan to vectors.
/// Memory is O((N + M) d): no N x M matrix is ever stored. Rows are processed in parallel blocks; each row streams
/// over column tiles: SIMD cost evaluation (lanes = columns), one tile maximum, then one exp per pair; the running
/// sum is rescaled once per tile. Every row is reduced in a fixed order, so results do not depend on the thread
/// count. `upfi::ot::reference::online_softmin` is the scalar two-pass oracle.
/// @see Feydy et al. (2019), "Interpolating between optimal transport and MMD using Sinkhorn divergences",
///      AISTATS, arXiv:1810.08278 (online log-sum-exp reductions, as in KeOps).

#include <upfi/concepts/ot.hpp>
#include <upfi/config.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/ot/cost.hpp>
#include <upfi/simd/xsimd_compat.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

namespace upfi::ot {

namespace detail {

/// Columns per tile: the tile's costs stay in L1 while the row is reduced.
inline constexpr Eigen::Index softmin_tile = 512;
/// Rows per parallel block.
inline constexpr Eigen::Index softmin_row_block = 32;

// Per-row streaming state: out_i = m + log(s); acc_k / s are the softmax averages of V's columns.
template <class S>
struct row_state {
  S m = -std::numeric_limits<S>::infinity();
  S s = 0;
};

// Cost sources for reduce_row: C(x_i, y_j) for the current row, computed on the fly from coordinates ...
template <class S, class Cost>
struct computed_costs {
  const Cost& cost;
  const S* xi;  // the row's coordinates
  const S* y;   // M x d, column-major
  Eigen::Index ldy, d;
  template <class B>
  [[nodiscard]] B batch(Eigen::Index j) const {
    B sum(S(0));
    for (Eigen::Index q = 0; q < d; ++q) sum = sum + cost.term(B(xi[q]) - B::load_unaligned(y + q * ldy + j));
    return cost.finish(sum);
  }
  [[nodiscard]] S scalar(Eigen::Index j) const {
    S sum = 0;
    for (Eigen::Index q = 0; q < d; ++q) sum += cost.term(xi[q] - y[q * ldy + j]);
    return cost.finish(sum);
  }
};
// ... or read from a stored row of a cost matrix.
template <class S>
struct stored_costs {
  const S* row;  // contiguous C(i, 0..M)
  template <class B>
  [[nodiscard]] B batch(Eigen::Index j) const {
    return B::load_unaligned(row + j);
  }
  [[nodiscard]] S scalar(Eigen::Index j) const { return row[j]; }
};

// Reduces one row against all columns. `v` is a scratch buffer of softmin_tile values, `acc` k accumulators
// (weighted mode only, V given column-major with leading dimension ldv).
template <bool Weighted, class S, class Costs>
row_state<S> reduce_row(const Costs& costs, Eigen::Index m_cols, const S* h, S inv_eps, S* v, const S* vmat,
                        Eigen::Index ldv, Eigen::Index k, S* acc) {
  row_state<S> st;
  for (Eigen::Index c = 0; c < k; ++c) acc[c] = 0;
  for (Eigen::Index j0 = 0; j0 < m_cols; j0 += softmin_tile) {
    const Eigen::Index len = std::min(softmin_tile, m_cols - j0);
    S tile_max = -std::numeric_limits<S>::infinity();
    Eigen::Index j = 0;
#if UPFI_SIMD_ENABLED
    using batch = simd::batch<S>;
    constexpr Eigen::Index w = static_cast<Eigen::Index>(batch::size);
    batch bmax(-std::numeric_limits<S>::infinity());
    for (; j + w <= len; j += w) {
      const batch val = batch::load_unaligned(h + j0 + j) - costs.template batch<batch>(j0 + j) * batch(inv_eps);
      val.store_unaligned(v + j);
      bmax = xsimd::max(bmax, val);
    }
    tile_max = simd::reduce_max(bmax);
#endif
    for (; j < len; ++j) {
      v[j] = h[j0 + j] - costs.scalar(j0 + j) * inv_eps;
      tile_max = std::max(tile_max, v[j]);
    }
    if (!(tile_max > -std::numeric_limits<S>::infinity())) continue;  // the whole tile has zero weight
    if (tile_max > st.m) {
      // the max shift keeps every exp argument <= 0, so no partial sum can overflow
      const S scale = std::exp(st.m - tile_max);
      st.s *= scale;
      for (Eigen::Index c = 0; c < k; ++c) acc[c] *= scale;
      st.m = tile_max;
    }
    j = 0;
    if constexpr (!Weighted) {
#if UPFI_SIMD_ENABLED
      batch bs(S(0));
      for (; j + w <= len; j += w) bs = bs + xsimd::exp(batch::load_unaligned(v + j) - batch(st.m));
      st.s += simd::reduce_add(bs);
#endif
      for (; j < len; ++j) st.s += std::exp(v[j] - st.m);
    } else {
      for (; j < len; ++j) {
        const S e = std::exp(v[j] - st.m);
        st.s += e;
        for (Eigen::Index c = 0; c < k; ++c) acc[c] += e * vmat[c * ldv + j0 + j];
      }
    }
  }
  return st;
}

template <class Derived>
void check_clouds(const Eigen::MatrixBase<Derived>& x, Eigen::Index y_cols, Eigen::Index h_size, Eigen::Index y_rows,
                  const char* who) {
  if (x.cols() != y_cols) {
    core::detail::throw_invalid_argument(who, ": x has ", x.cols(), " coordinates but y has ", y_cols);
  }
  if (h_size != y_rows) {
    core::detail::throw_invalid_argument(who, ": h has ", h_size, " entries for ", y_rows, " points of y");
  }
}

}  // namespace detail

/// @brief out_i = -eps log sum_j exp(h_j - C(x_i, y_j) / eps), on the fly. Rows with no finite term get +inf.
/// @param x N x d, @param y M x d (column-major), @param h length M (typically log b_j + g_j / eps), @param eps > 0.
/// @throws std::invalid_argument on inconsistent sizes or eps <= 0.
template <RealScalar S, class Cost = squared_euclidean>
void online_softmin(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& x,
                    const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& y,
                    const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, 1>>& h, S eps,
                    Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, 1>> out, const Cost& cost = {}) {
  detail::check_clouds(x, y.cols(), h.size(), y.rows(), "upfi::ot::online_softmin");
  if (!(eps > 0)) core::detail::throw_invalid_argument("upfi::ot::online_softmin: eps = ", eps, " must be > 0");
  if (out.size() != x.rows()) core::detail::throw_invalid_argument("upfi::ot::online_softmin: out has wrong size");
  const Eigen::Index d = x.cols();
  const S inv_eps = S(1) / eps;
  core::parallel_for(x.rows(), detail::softmin_row_block, [&](Eigen::Index begin, Eigen::Index end) {
    std::vector<S> v(static_cast<std::size_t>(detail::softmin_tile)), xi(static_cast<std::size_t>(d));
    for (Eigen::Index i = begin; i < end; ++i) {
      for (Eigen::Index q = 0; q < d; ++q) xi[static_cast<std::size_t>(q)] = x(i, q);
      const detail::computed_costs<S, Cost> costs{cost, xi.data(), y.data(), y.outerStride(), d};
      const auto st = detail::reduce_row<false>(costs, y.rows(), h.data(), inv_eps, v.data(),
                                                static_cast<const S*>(nullptr), 0, 0, static_cast<S*>(nullptr));
      out[i] = st.s > 0 ? -eps * (st.m + std::log(st.s)) : std::numeric_limits<S>::infinity();
    }
  });
}

/// @brief Dense variant for small problems: out_i = -eps log sum_j exp(h_j - C_ij / eps) with C stored row-major
/// (N x M, row i contiguous), so no cost is recomputed across Sinkhorn iterations. Same tiling and SIMD reduction
/// as online_softmin; memory O(N M).
template <RealScalar S>
void dense_softmin(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>& cost,
                   const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, 1>>& h, S eps,
                   Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, 1>> out) {
  if (h.size() != cost.cols() || out.size() != cost.rows()) {
    core::detail::throw_invalid_argument("upfi::ot::dense_softmin: C is ", cost.rows(), " x ", cost.cols(), ", h has ",
                                         h.size(), " entries, out ", out.size());
  }
  if (!(eps > 0)) core::detail::throw_invalid_argument("upfi::ot::dense_softmin: eps = ", eps, " must be > 0");
  const S inv_eps = S(1) / eps;
  core::parallel_for(cost.rows(), detail::softmin_row_block, [&](Eigen::Index begin, Eigen::Index end) {
    std::vector<S> v(static_cast<std::size_t>(detail::softmin_tile));
    for (Eigen::Index i = begin; i < end; ++i) {
      const detail::stored_costs<S> costs{cost.data() + i * cost.outerStride()};
      const auto st = detail::reduce_row<false>(costs, cost.cols(), h.data(), inv_eps, v.data(),
                                                static_cast<const S*>(nullptr), 0, 0, static_cast<S*>(nullptr));
      out[i] = st.s > 0 ? -eps * (st.m + std::log(st.s)) : std::numeric_limits<S>::infinity();
    }
  });
}

/// @brief The cost matrix C_ij = C(x_i, y_j), row-major (for dense_softmin).
template <RealScalar S, class Cost = squared_euclidean>
[[nodiscard]] Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> cost_matrix(
    const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& x,
    const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& y, const Cost& cost = {}) {
  if (x.cols() != y.cols()) core::detail::throw_invalid_argument("upfi::ot::cost_matrix: dimensions differ");
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> c(x.rows(), y.rows());
  core::parallel_for(x.rows(), detail::softmin_row_block, [&](Eigen::Index begin, Eigen::Index end) {
    std::vector<S> xi(static_cast<std::size_t>(x.cols()));
    for (Eigen::Index i = begin; i < end; ++i) {
      for (Eigen::Index q = 0; q < x.cols(); ++q) xi[static_cast<std::size_t>(q)] = x(i, q);
      const detail::computed_costs<S, Cost> costs{cost, xi.data(), y.data(), y.outerStride(), x.cols()};
      for (Eigen::Index j = 0; j < y.rows(); ++j) c(i, j) = costs.scalar(j);
    }
  });
  return c;
}

/// @brief Softmax-weighted averages: out(i, :) = sum_j w_ij V(j, :) with w_ij proportional to
/// exp(h_j - C(x_i, y_j) / eps), sum_j w_ij = 1; also returns lse_i = log sum_j exp(h_j - C_ij / eps).
/// Applying a transport plan and barycentric projections are built on this.
template <RealScalar S, class Cost = squared_euclidean>
void online_softmax_average(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& x,
                            const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& y,
                            const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, 1>>& h, S eps,
                            const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& values,
                            Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> out,
                            Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, 1>> lse, const Cost& cost = {}) {
  detail::check_clouds(x, y.cols(), h.size(), y.rows(), "upfi::ot::online_softmax_average");
  if (!(eps > 0)) core::detail::throw_invalid_argument("upfi::ot::online_softmax_average: eps must be > 0");
  if (values.rows() != y.rows() || out.rows() != x.rows() || out.cols() != values.cols() || lse.size() != x.rows()) {
    core::detail::throw_invalid_argument("upfi::ot::online_softmax_average: values must be M x k, out N x k, lse N");
  }
  const Eigen::Index d = x.cols(), k = values.cols();
  const S inv_eps = S(1) / eps;
  core::parallel_for(x.rows(), detail::softmin_row_block, [&](Eigen::Index begin, Eigen::Index end) {
    std::vector<S> v(static_cast<std::size_t>(detail::softmin_tile)), xi(static_cast<std::size_t>(d)),
        acc(static_cast<std::size_t>(k));
    for (Eigen::Index i = begin; i < end; ++i) {
      for (Eigen::Index q = 0; q < d; ++q) xi[static_cast<std::size_t>(q)] = x(i, q);
      const detail::computed_costs<S, Cost> costs{cost, xi.data(), y.data(), y.outerStride(), d};
      const auto st = detail::reduce_row<true>(costs, y.rows(), h.data(), inv_eps, v.data(), values.data(),
                                               values.outerStride(), k, acc.data());
      lse[i] = st.s > 0 ? st.m + std::log(st.s) : -std::numeric_limits<S>::infinity();
      for (Eigen::Index c = 0; c < k; ++c) out(i, c) = st.s > 0 ? acc[static_cast<std::size_t>(c)] / st.s : S(0);
    }
  });
}

namespace detail {
/// Rows of the plan pi_ij = a_i b_j exp((f_i + g_j - C_ij) / eps) between `from` (log-masses log_from, potential
/// pot_from) and `to`: row masses sum_j pi_ij = a_i exp(f_i / eps + lse_i) and the averages
/// sum_j pi_ij V_j / sum_j pi_ij of the rows of `values` (M x k), from one softmax-average pass.
template <class S, class Cost>
std::pair<Eigen::Matrix<S, Eigen::Dynamic, 1>, Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> plan_rows(
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& from, const Eigen::Matrix<S, Eigen::Dynamic, 1>& log_from,
    const Eigen::Matrix<S, Eigen::Dynamic, 1>& pot_from, const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& to,
    const Eigen::Matrix<S, Eigen::Dynamic, 1>& log_to, const Eigen::Matrix<S, Eigen::Dynamic, 1>& pot_to, S eps,
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& values, const Cost& cost) {
  Eigen::Matrix<S, Eigen::Dynamic, 1> lse(from.rows());
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> avg(from.rows(), values.cols());
  online_softmax_average<S>(from, to, Eigen::Matrix<S, Eigen::Dynamic, 1>(log_to + pot_to / eps), eps, values, avg, lse,
                            cost);
  return {(log_from + pot_from / eps + lse).array().exp(), std::move(avg)};
}
}  // namespace detail

namespace reference {

/// @brief Scalar two-pass oracle of online_softmin (max, then sum of exp), for tests.
template <RealScalar S, class Cost = squared_euclidean>
void online_softmin(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& x,
                    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& y,
                    const Eigen::Matrix<S, Eigen::Dynamic, 1>& h, S eps, Eigen::Matrix<S, Eigen::Dynamic, 1>& out,
                    const Cost& cost = {}) {
  out.resize(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    std::vector<S> v(static_cast<std::size_t>(y.rows()));
    S m = -std::numeric_limits<S>::infinity();
    for (Eigen::Index j = 0; j < y.rows(); ++j) {
      S sum = 0;
      for (Eigen::Index q = 0; q < x.cols(); ++q) sum += cost.term(x(i, q) - y(j, q));
      v[static_cast<std::size_t>(j)] = h[j] - cost.finish(sum) / eps;
      m = std::max(m, v[static_cast<std::size_t>(j)]);
    }
    S s = 0;
    if (m > -std::numeric_limits<S>::infinity()) {
      for (S val : v) s += std::exp(val - m);
    }
    out[i] = s > 0 ? -eps * (m + std::log(s)) : std::numeric_limits<S>::infinity();
  }
}

}  // namespace reference
}  // namespace upfi::ot
