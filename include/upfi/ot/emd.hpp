// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Exact optimal transport (earth mover's distance) between weighted clouds by the primal network simplex
/// method, and the Wasserstein distances W1 and W2 built on it. For metrics on clouds of up to a few thousand points.
///
/// Transportation problem: min sum_ij c_ij pi_ij subject to pi 1 = a, pi^T 1 = b, pi >= 0, with c_ij = |x_i - y_j|^p.
/// The simplex runs on the complete bipartite graph plus an artificial root (initial tree: every node hangs from the
/// root on an artificial arc of prohibitive cost). Entering arcs come from a block search over reduced costs
/// c_ij + pi_i - pi_j; the leaving arc follows the strongly-feasible-tree rule (first minimum on the source side,
/// last on the target side), which prevents cycling on the many degenerate pivots of transportation problems. The
/// detached subtree is re-hung on the entering arc and its potentials shifted so the new tree arc has zero reduced
/// cost. The optimum is certified by the absence of negative reduced costs (up to a relative tolerance).
/// @see Ahuja, Magnanti, Orlin (1993), "Network Flows", ch. 11; Bonneel et al. (2011), "Displacement interpolation
///      using Lagrangian mass transport" (the network simplex used by POT's ot.emd).

#include <upfi/core/error.hpp>
#include <upfi/ot/online_softmin.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace upfi::ot {

/// @brief One entry of a sparse transport plan.
struct plan_entry {
  Eigen::Index i;  ///< source point
  Eigen::Index j;  ///< target point
  double mass;     ///< transported mass
};

/// @brief Result of emd: optimal cost, sparse optimal plan (at most N + M - 1 entries), pivot count.
struct emd_result {
  double cost = 0;
  std::vector<plan_entry> plan;
  std::int64_t pivots = 0;
  bool optimal = false;  ///< false only if max_pivots was reached
};

/// @brief Options of emd.
struct emd_options {
  std::int64_t max_pivots = 100'000'000;
};

/// @brief Exact OT on a dense cost matrix (N x M) with non-negative weights of equal totals (1e-9 relative).
/// @throws std::invalid_argument on size mismatches, negative or non-finite weights or costs, or unequal totals.
[[nodiscard]] inline emd_result emd(const Eigen::VectorXd& a, const Eigen::VectorXd& b, const Eigen::MatrixXd& cost,
                                    const emd_options& options = {}) {
  constexpr const char* who = "upfi::ot::emd";
  const Eigen::Index n = a.size(), m = b.size();
  if (cost.rows() != n || cost.cols() != m || n == 0 || m == 0) {
    core::detail::throw_invalid_argument(who, ": cost is ", cost.rows(), " x ", cost.cols(), " for ", n, " and ", m,
                                         " weights");
  }
  if (!a.allFinite() || !b.allFinite() || (a.array() < 0).any() || (b.array() < 0).any()) {
    core::detail::throw_invalid_argument(who, ": weights must be finite and >= 0");
  }
  if (!cost.allFinite()) core::detail::throw_invalid_argument(who, ": costs must be finite");
  const double total = a.sum();
  if (!(total > 0) || std::abs(total - b.sum()) > 1e-9 * total) {
    core::detail::throw_invalid_argument(who, ": total masses ", total, " and ", b.sum(),
                                         " must be positive and equal (normalise the weights)");
  }
  // Nodes: sources 0..n-1, sinks n..n+m-1, root n+m. Arcs: real arc i*m + j (source i -> sink j), artificial arc
  // n*m + u joins node u and the root.
  const auto nodes = static_cast<std::size_t>(n + m + 1);
  const std::int64_t real_arcs = static_cast<std::int64_t>(n) * m;
  const auto root = static_cast<std::int64_t>(n + m);
  const double cmax = std::max(0.0, cost.maxCoeff());
  const double artificial_cost = (cmax + 1) * static_cast<double>(n + m);
  std::vector<double> supply(nodes, 0.0);
  for (Eigen::Index i = 0; i < n; ++i) supply[static_cast<std::size_t>(i)] = a[i];
  for (Eigen::Index j = 0; j < m; ++j) supply[static_cast<std::size_t>(n + j)] = -b[j] * (total / b.sum());

  std::vector<double> flow(static_cast<std::size_t>(real_arcs) + nodes, 0.0);
  std::vector<double> pi(nodes, 0.0);
  std::vector<std::int64_t> parent(nodes, -1), pred(nodes, -1), depth(nodes, 0);
  std::vector<int> pred_dir(nodes, 0);  // +1: the pred arc goes node -> parent, -1: parent -> node
  std::vector<std::vector<std::int64_t>> children(nodes);
  // arc endpoints
  const auto source_of = [&](std::int64_t e) -> std::int64_t {
    if (e < real_arcs) return e / m;
    const std::int64_t u = e - real_arcs;
    return supply[static_cast<std::size_t>(u)] >= 0 ? u : root;
  };
  const auto target_of = [&](std::int64_t e) -> std::int64_t {
    if (e < real_arcs) return n + e % m;
    const std::int64_t u = e - real_arcs;
    return supply[static_cast<std::size_t>(u)] >= 0 ? root : u;
  };
  const auto arc_cost = [&](std::int64_t e) { return e < real_arcs ? cost(e / m, e % m) : artificial_cost; };
  for (std::int64_t u = 0; u < root; ++u) {
    const auto su = static_cast<std::size_t>(u);
    parent[su] = root;
    pred[su] = real_arcs + u;
    depth[su] = 1;
    children[static_cast<std::size_t>(root)].push_back(u);
    flow[static_cast<std::size_t>(real_arcs + u)] = std::abs(supply[su]);
    if (supply[su] >= 0) {
      pred_dir[su] = +1;
      pi[su] = -artificial_cost;  // c + pi(u) - pi(root) = 0
    } else {
      pred_dir[su] = -1;
      pi[su] = artificial_cost;  // c + pi(root) - pi(u) = 0
    }
  }
  const double tolerance = 1e-12 * (artificial_cost + cmax);
  const std::int64_t block =
      std::max<std::int64_t>(16, static_cast<std::int64_t>(std::sqrt(static_cast<double>(real_arcs))));
  std::int64_t next_arc = 0;
  emd_result result;
  std::vector<std::int64_t> stack;

  for (;;) {
    // ---- entering arc: block search for the most negative reduced cost ----
    std::int64_t entering = -1;
    double best = -tolerance;
    std::int64_t scanned = 0, in_block = 0;
    for (std::int64_t e = next_arc; scanned < real_arcs; ++scanned) {
      const std::int64_t i = e / m, j = e % m;
      const double rc = cost(i, j) + pi[static_cast<std::size_t>(i)] - pi[static_cast<std::size_t>(n + j)];
      if (rc < best) {
        best = rc;
        entering = e;
      }
      if (++e == real_arcs) e = 0;
      if (++in_block == block) {
        if (entering >= 0) {
          next_arc = e;
          break;
        }
        in_block = 0;
      }
    }
    if (entering < 0) {
      result.optimal = true;
      break;
    }
    if (result.pivots >= options.max_pivots) break;
    ++result.pivots;
    const std::int64_t first = entering / m, second = n + entering % m;
    // ---- join node (lowest common ancestor) ----
    std::int64_t u = first, v = second;
    while (u != v) {
      if (depth[static_cast<std::size_t>(u)] >= depth[static_cast<std::size_t>(v)]) {
        u = parent[static_cast<std::size_t>(u)];
      } else {
        v = parent[static_cast<std::size_t>(v)];
      }
    }
    const std::int64_t join = u;
    // ---- leaving arc: strongly feasible rule ----
    double delta = std::numeric_limits<double>::infinity();
    std::int64_t u_out = -1;
    int side = 0;
    for (std::int64_t w = first; w != join; w = parent[static_cast<std::size_t>(w)]) {
      if (pred_dir[static_cast<std::size_t>(w)] == +1) {  // against the cycle on the source side: flow decreases
        const double f = flow[static_cast<std::size_t>(pred[static_cast<std::size_t>(w)])];
        if (f < delta) {
          delta = f;
          u_out = w;
          side = 1;
        }
      }
    }
    for (std::int64_t w = second; w != join; w = parent[static_cast<std::size_t>(w)]) {
      if (pred_dir[static_cast<std::size_t>(w)] == -1) {  // against the cycle on the target side
        const double f = flow[static_cast<std::size_t>(pred[static_cast<std::size_t>(w)])];
        if (f <= delta) {
          delta = f;
          u_out = w;
          side = 2;
        }
      }
    }
    if (u_out < 0) core::detail::throw_invalid_argument(who, ": unbounded pivot (internal error)");
    // ---- flow update along the cycle ----
    if (delta > 0) {
      flow[static_cast<std::size_t>(entering)] += delta;
      for (std::int64_t w = first; w != join; w = parent[static_cast<std::size_t>(w)]) {
        flow[static_cast<std::size_t>(pred[static_cast<std::size_t>(w)])] -=
            pred_dir[static_cast<std::size_t>(w)] * delta;
      }
      for (std::int64_t w = second; w != join; w = parent[static_cast<std::size_t>(w)]) {
        flow[static_cast<std::size_t>(pred[static_cast<std::size_t>(w)])] +=
            pred_dir[static_cast<std::size_t>(w)] * delta;
      }
    }
    // ---- re-hang the subtree of u_out on the entering arc ----
    const std::int64_t u_in = side == 1 ? first : second, v_in = side == 1 ? second : first;
    const auto remove_child = [&](std::int64_t p, std::int64_t c) {
      auto& list = children[static_cast<std::size_t>(p)];
      const auto it = std::find(list.begin(), list.end(), c);
      *it = list.back();
      list.pop_back();
    };
    // reverse the path u_in -> ... -> u_out
    std::int64_t w = u_in, new_parent = v_in, new_pred = entering;
    int new_dir = source_of(entering) == u_in ? +1 : -1;
    for (;;) {
      const auto sw = static_cast<std::size_t>(w);
      const std::int64_t old_parent = parent[sw], old_pred = pred[sw];
      const int old_dir = pred_dir[sw];
      remove_child(old_parent, w);
      children[static_cast<std::size_t>(new_parent)].push_back(w);
      parent[sw] = new_parent;
      pred[sw] = new_pred;
      pred_dir[sw] = new_dir;
      if (w == u_out) break;
      new_parent = w;
      new_pred = old_pred;
      new_dir = -old_dir;
      w = old_parent;
    }
    // potentials and depths of the re-hung subtree: the entering arc must get reduced cost 0
    const double rc = arc_cost(entering) + pi[static_cast<std::size_t>(source_of(entering))] -
                      pi[static_cast<std::size_t>(target_of(entering))];
    const double shift = side == 1 ? -rc : rc;
    stack.assign(1, u_in);
    while (!stack.empty()) {
      const std::int64_t x = stack.back();
      stack.pop_back();
      const auto sx = static_cast<std::size_t>(x);
      pi[sx] += shift;
      depth[sx] = depth[static_cast<std::size_t>(parent[sx])] + 1;
      for (std::int64_t c : children[sx]) stack.push_back(c);
    }
  }
  for (std::int64_t e = 0; e < real_arcs; ++e) {
    const double f = flow[static_cast<std::size_t>(e)];
    if (f > 0) {
      result.plan.push_back({static_cast<Eigen::Index>(e / m), static_cast<Eigen::Index>(e % m), f});
      result.cost += f * cost(e / m, e % m);
    }
  }
  return result;
}

/// @brief Wasserstein distance W_p (p = 1 or 2) between weighted clouds with the Euclidean ground distance,
/// exact (network simplex). Empty weights mean uniform. @throws std::invalid_argument for other p or bad input.
[[nodiscard]] inline double wasserstein(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, int p = 1,
                                        Eigen::VectorXd wx = {}, Eigen::VectorXd wy = {}) {
  if (p != 1 && p != 2) core::detail::throw_invalid_argument("upfi::ot::wasserstein: p = ", p, " must be 1 or 2");
  if (x.cols() != y.cols()) core::detail::throw_invalid_argument("upfi::ot::wasserstein: dimensions differ");
  if (wx.size() == 0) wx = Eigen::VectorXd::Constant(x.rows(), 1.0 / static_cast<double>(x.rows()));
  if (wy.size() == 0) wy = Eigen::VectorXd::Constant(y.rows(), 1.0 / static_cast<double>(y.rows()));
  const Eigen::MatrixXd c = p == 1 ? Eigen::MatrixXd(cost_matrix<double>(x, y, euclidean{}))
                                   : Eigen::MatrixXd(2.0 * cost_matrix<double>(x, y, squared_euclidean{}));
  const double total = wx.sum();
  const emd_result r = emd(wx / total, wy / wy.sum(), c);
  return p == 1 ? r.cost : std::sqrt(std::max(0.0, r.cost));
}

}  // namespace upfi::ot
