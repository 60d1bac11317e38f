// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief An ensemble of score models: the mean of K scores, s(t, x) = (1/K) sum_k s_k(t, x), with its VJP (the mean
/// of the members' VJPs) and, for recording members, a record of every member's evaluation so that the VJP needs no
/// second forward pass.
///
/// The mean of the scores is the score of the normalised geometric mean of the members' densities. Independently
/// trained DSM networks agree where the snapshots determine the density and differ in how they interpolate between
/// snapshot times and into the tails; their mean cancels part of those independent errors (its L2 error is at most
/// the root mean square of the members'). On the bistable benchmark this did not make UPFI's fits more reliable
/// (docs/results.md). train_dsm_ensemble trains the members with seeds derived from one seed; member 0 is exactly
/// train_dsm's network for that seed.

#include <upfi/concepts/score.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/score/dsm.hpp>

#include <Eigen/Core>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace upfi::score {

/// @brief The mean of K >= 1 score models of one type and dimension. Models ScoreModel; ScoreModelWithVjp and
/// RecordingScoreModel when the members do.
template <ScoreModel M>
class score_ensemble {
 public:
  /// @throws std::invalid_argument if `members` is empty or the members' dimensions differ.
  explicit score_ensemble(std::vector<M> members) : m_members(std::move(members)) {
    if (m_members.empty()) core::detail::throw_invalid_argument("upfi::score::score_ensemble: no members");
    for (std::size_t k = 1; k < m_members.size(); ++k) {
      if (m_members[k].dimension() != m_members[0].dimension()) {
        core::detail::throw_invalid_argument("upfi::score::score_ensemble: member ", k, " has dimension ",
                                             m_members[k].dimension(), ", member 0 has ", m_members[0].dimension());
      }
    }
  }

  [[nodiscard]] Eigen::Index dimension() const { return m_members[0].dimension(); }
  [[nodiscard]] std::size_t size() const noexcept { return m_members.size(); }
  [[nodiscard]] const std::vector<M>& members() const noexcept { return m_members; }
  [[nodiscard]] const M& member(std::size_t k) const { return m_members.at(k); }
  [[nodiscard]] M& member(std::size_t k) { return m_members.at(k); }

  /// @brief The mean of the members' scores at every row of X.
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    accumulate(out, [&](const M& m, std::size_t, Eigen::MatrixXd& s) { m.evaluate(t, x, s); });
  }
  /// @brief dX = C ds/dx: the mean of the members' VJPs.
  void vjp_x(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const requires ScoreModelWithVjp<M> {
    accumulate(out, [&](const M& m, std::size_t, Eigen::MatrixXd& s) { m.vjp_x(t, x, cot, s); });
  }

  /// @brief RecordingScoreModel interface: one record per member.
  using record_type = std::vector<score_record_t<M>>;
  /// @brief The mean score, keeping every member's record for vjp_x(record, ...).
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out,
                record_type& record) const requires RecordingScoreModel<M> {
    record.resize(m_members.size());
    accumulate(out, [&](const M& m, std::size_t k, Eigen::MatrixXd& s) { m.evaluate(t, x, s, record[k]); });
  }
  /// @brief vjp_x at the point of the evaluation that filled `record` (no second forward pass of any member).
  void vjp_x(const record_type& record, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const requires RecordingScoreModel<M> {
    if (record.size() != m_members.size()) {
      core::detail::throw_invalid_argument("upfi::score::score_ensemble::vjp_x: the record holds ", record.size(),
                                           " member evaluations, the ensemble has ", m_members.size(), " members");
    }
    accumulate(out, [&](const M& m, std::size_t k, Eigen::MatrixXd& s) { m.vjp_x(record[k], cot, s); });
  }

 private:
  // out = (1/K) sum_k f(member k), summed in member order (the same numbers for any thread count)
  template <class F>
  void accumulate(Eigen::MatrixXd& out, F&& f) const {
    Eigen::MatrixXd term;
    f(m_members[0], 0, out);
    for (std::size_t k = 1; k < m_members.size(); ++k) {
      f(m_members[k], k, term);
      out += term;
    }
    if (m_members.size() > 1) out /= static_cast<double>(m_members.size());
  }

  std::vector<M> m_members;
};

/// @brief Seed of member k of train_dsm_ensemble: `seed` for k = 0, then seeds spread by the golden-ratio increment
/// (distinct from the seeds of the neighbouring ensembles seed + 1, seed + 2, ...).
[[nodiscard]] constexpr std::uint64_t ensemble_member_seed(std::uint64_t seed, std::size_t k) noexcept {
  return seed + 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(k);
}

/// @brief Trains `members` DSM networks on `data`, each with `options` and the seed ensemble_member_seed(options.seed,
/// k), one after the other, and returns their mean. `progress` (optional) receives the member index and that
/// member's progress; `reports` (optional) receives one report per member.
/// @throws std::invalid_argument if members < 1 or an option is invalid; upfi::core::error as train_dsm.
[[nodiscard]] inline score_ensemble<dsm_score> train_dsm_ensemble(
    const core::snapshot_series<double>& data, const dsm_options& options, int members,
    const std::function<void(std::size_t, const dsm_progress&)>& progress = {},
    std::vector<dsm_report>* reports = nullptr) {
  if (members < 1) {
    core::detail::throw_invalid_argument("upfi::score::train_dsm_ensemble: members = ", members, " must be >= 1");
  }
  std::vector<dsm_score> trained;
  std::vector<dsm_report> local(static_cast<std::size_t>(members));
  trained.reserve(static_cast<std::size_t>(members));
  for (std::size_t k = 0; k < static_cast<std::size_t>(members); ++k) {
    dsm_options o = options;
    o.seed = ensemble_member_seed(options.seed, k);
    std::function<void(const dsm_progress&)> member_progress;
    if (progress) member_progress = [&progress, k](const dsm_progress& p) { progress(k, p); };
    trained.push_back(train_dsm(data, o, member_progress, &local[k]));
  }
  if (reports != nullptr) *reports = std::move(local);
  return score_ensemble<dsm_score>(std::move(trained));
}

}  // namespace upfi::score
