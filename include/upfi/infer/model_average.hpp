// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief The average of several trained models (restarts of one fit with other seeds): drift v, growth g and, for
/// chemical-Langevin fields, the diffusion diagonal are the means of the members' values; a constant noise model
/// (isotropic or matrix) must be the same for every member. The average is what simulate_model, rollout_check and
/// the fate metrics consume (they read drift and growth through infer::drift_and_growth).
///
/// Averaging the fields of independent restarts is a variance reduction for fits whose outcome depends on the seed
/// (docs/results.md: at d = 5 the branch a drift sends the saddle's cells to varies with the training seed). It is
/// not a probability flow: a member's score is not part of the SDE, and the average has no `u`.

#include <upfi/core/error.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/simulate.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <utility>
#include <vector>

namespace upfi::infer {

/// @brief Mean drift, growth (and CLE noise diagonal) of `size()` trained fields of one type.
/// @tparam Field a trained field simulate_model accepts (probability_flow, chemical_langevin_flow, transport_flow,
/// fitness_flow, ...)
template <class Field>
class model_average {
 public:
  /// @throws std::invalid_argument if `members` is empty, their dimensions differ, or their constant noise models
  /// (isotropic delta, diffusion matrix) differ.
  explicit model_average(std::vector<Field> members) : m_members(std::move(members)) {
    constexpr const char* who = "upfi::infer::model_average";
    if (m_members.empty()) core::detail::throw_invalid_argument(who, ": no member given");
    const Eigen::Index d = m_members.front().dimension();
    for (std::size_t k = 1; k < m_members.size(); ++k) {
      const Field& m = m_members[k];
      if (m.dimension() != d) {
        core::detail::throw_invalid_argument(who, ": member ", k, " has dimension ", m.dimension(), ", member 0 has ",
                                             d);
      }
      if constexpr (requires { m.diffusion().delta; }) {
        if (m.diffusion().delta != m_members.front().diffusion().delta) {
          core::detail::throw_invalid_argument(who, ": member ", k, " has diffusion ", m.diffusion().delta,
                                               ", member 0 has ", m_members.front().diffusion().delta,
                                               "; the members must share their noise model");
        }
      } else if constexpr (requires { m.diffusion().d; }) {
        if (m.diffusion().d != m_members.front().diffusion().d) {
          core::detail::throw_invalid_argument(who, ": member ", k,
                                               " has another diffusion matrix than member 0; the members must share "
                                               "their noise model");
        }
      }
    }
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_members.front().dimension(); }
  [[nodiscard]] std::size_t size() const noexcept { return m_members.size(); }
  [[nodiscard]] const std::vector<Field>& members() const noexcept { return m_members; }

  /// The members' (common) constant noise model.
  [[nodiscard]] decltype(auto) diffusion() const requires requires(const Field& f) { f.diffusion(); }
  { return m_members.front().diffusion(); }

  /// Mean of the members' pointwise diffusion diagonals (chemical-Langevin fields: D = diag(p + q) / 2V).
  [[nodiscard]] Eigen::MatrixXd diffusion_diagonal(double t, const Eigen::MatrixXd& x) const requires
      requires(const Field& f) {
    f.diffusion_diagonal(t, x);
  }
  {
    Eigen::MatrixXd sum = m_members.front().diffusion_diagonal(t, x);
    for (std::size_t k = 1; k < m_members.size(); ++k) sum += m_members[k].diffusion_diagonal(t, x);
    return sum / static_cast<double>(m_members.size());
  }

  /// f.v and f.g: the means of the members' drift and growth on the cloud x at time t (members in order, so the
  /// result does not depend on the thread count).
  void drift_and_growth(double t, const Eigen::MatrixXd& x, flow::flow_values& f) const {
    flow::flow_values member;
    infer::drift_and_growth(m_members.front(), t, x, f);
    for (std::size_t k = 1; k < m_members.size(); ++k) {
      infer::drift_and_growth(m_members[k], t, x, member);
      f.v += member.v;
      f.g += member.g;
    }
    const double inv = 1.0 / static_cast<double>(m_members.size());
    f.v *= inv;
    f.g *= inv;
  }

 private:
  std::vector<Field> m_members;
};

}  // namespace upfi::infer
