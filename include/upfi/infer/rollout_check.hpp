// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief A check of a fitted model that needs no ground truth: simulate its SDE (drift, noise and growth as
/// log-masses) from the cells of the first snapshot through every later snapshot time, and compare the mass-weighted
/// simulated cells with each observed snapshot by the energy distance, and the simulated mass with the observed one.
///
/// Why: interval-wise teacher forcing fits the probability flow v - D s, which restarts from observed cells at every
/// snapshot and uses the frozen score s. The SDE uses v alone over the whole time course. Where the learned drift
/// absorbs errors of the score, or a wrong branch choice is compensated by growth within an interval, the
/// probability-flow fit can match every snapshot while the SDE roll-out drifts away from the later ones; this check
/// sees that mismatch. It cannot see what the snapshots do not determine: on the bistable benchmark the fits with
/// poor paths (a wrong branch split compensated by growth) pass it as well as the good ones (docs/results.md).

#include <upfi/core/cloud.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/core/subsample.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace upfi::infer {

namespace detail {
// The energy distance between cells `x` weighted by exp(log_w) (any scale) and the unweighted cells `y`, and its
// sampling floor (sum_i w_i^2 + 1 / m) E|Y - Y'| for normalised weights w and m = y.rows(); the floor is NaN when y
// has a single row (no estimate of E|Y - Y'|).
struct weighted_energy {
  double energy = 0;
  double floor = 0;
};
[[nodiscard]] inline weighted_energy weighted_energy_of(const Eigen::MatrixXd& x, const Eigen::VectorXd& log_w,
                                                        const Eigen::MatrixXd& y) {
  const Eigen::VectorXd w = (log_w.array() - log_w.maxCoeff()).exp().matrix();
  weighted_energy r;
  r.energy = ot::energy_distance<double>(x, y, w);
  r.floor = y.rows() >= 2 ? (w.squaredNorm() / (w.sum() * w.sum()) + 1.0 / static_cast<double>(y.rows())) *
                                ot::mean_pairwise_distance(y)
                          : std::numeric_limits<double>::quiet_NaN();
  return r;
}
}  // namespace detail

/// @brief Options of rollout_check.
struct rollout_check_options {
  model_simulation_options simulation{};  ///< the SDE simulation (branching is not allowed: paths carry log-masses)
  Eigen::Index max_samples = 2000;        ///< each side of an energy distance uses at most this many cells
  std::uint64_t seed = 0;                 ///< the subsets of large clouds
};

/// @brief Per later snapshot k = 1 ... K: the energy distance between the mass-weighted roll-out and snapshot k, and
/// log(model mass / observed mass) at t_k (empty when the series has frequencies only).
struct rollout_check_result {
  std::vector<double> times;  ///< t_1 ... t_K
  Eigen::VectorXd energy;     ///< energy distance (ot::energy_distance) at each t_k
  /// The sampling floor of `energy`: its expectation if the weighted roll-out had exactly snapshot k's law,
  /// (sum_i w_i^2 + 1 / m) E|Y - Y'| with the roll-out's normalised weights w, the m compared cells of the snapshot and
  /// E|Y - Y'| estimated from them (ot::mean_pairwise_distance). energy / energy_floor near 1: the mismatch is at the
  /// level of sampling noise; much larger: the model's law differs. Empty if a later snapshot has a single cell.
  Eigen::VectorXd energy_floor;
  Eigen::VectorXd log_mass_error;  ///< log(M_model / M_observed) at each t_k, both relative to t_0
  /// @brief The mean of `energy` over the later snapshots.
  [[nodiscard]] double mean_energy() const { return energy.mean(); }
  /// @brief energy / energy_floor at each t_k (empty when energy_floor is).
  [[nodiscard]] Eigen::VectorXd energy_ratio() const {
    return energy_floor.size() == 0 ? Eigen::VectorXd() : Eigen::VectorXd(energy.cwiseQuotient(energy_floor));
  }
};

/// @brief The check from an existing roll-out `sim` (simulate_model of the fitted field from data.cloud(0) at
/// data.times(), without branching).
/// @throws std::invalid_argument if the roll-out does not match the series (times, dimension, log-masses).
[[nodiscard]] inline rollout_check_result rollout_check(const model_trajectories& sim,
                                                        const core::snapshot_series<double>& data,
                                                        const rollout_check_options& o = {}) {
  constexpr const char* who = "upfi::infer::rollout_check";
  if (data.size() < 2) core::detail::throw_invalid_argument(who, ": need at least two snapshots");
  if (o.max_samples < 2) core::detail::throw_invalid_argument(who, ": max_samples = ", o.max_samples, " must be >= 2");
  if (sim.times != data.times() || sim.positions.size() != data.size() || sim.log_masses.size() != data.size()) {
    core::detail::throw_invalid_argument(who, ": the roll-out must be recorded at the ", data.size(),
                                         " snapshot times, with log-masses (no branching); it has ", sim.times.size(),
                                         " times and ", sim.log_masses.size(), " log-mass vectors");
  }
  rollout_check_result r;
  const std::size_t k_last = data.size() - 1;
  r.energy.resize(static_cast<Eigen::Index>(k_last));
  r.energy_floor.resize(static_cast<Eigen::Index>(k_last));
  if (!data.frequencies_only()) r.log_mass_error.resize(static_cast<Eigen::Index>(k_last));
  for (std::size_t k = 1; k <= k_last; ++k) {
    const Eigen::MatrixXd& x = sim.positions[k];
    const Eigen::VectorXd& lm = sim.log_masses[k];
    if (x.cols() != data.dimension() || lm.size() != x.rows() || x.rows() < 1) {
      core::detail::throw_invalid_argument(who, ": roll-out cloud ", k, " is ", x.rows(), " x ", x.cols(), " with ",
                                           lm.size(), " log-masses; the data have dimension ", data.dimension());
    }
    const auto i = static_cast<Eigen::Index>(k - 1);
    r.times.push_back(data.time(k));
    // subsets: the simulated rows keep their weights
    const core::counter_rng pick(o.seed, 0x7011'0000U + 2 * static_cast<std::uint32_t>(k));
    Eigen::MatrixXd xs = x;
    Eigen::VectorXd ls = lm;
    if (x.rows() > o.max_samples) {
      Eigen::MatrixXd both(x.rows(), x.cols() + 1);
      both << x, lm;
      const Eigen::MatrixXd sub = core::random_rows(both, o.max_samples, pick);
      xs = sub.leftCols(x.cols());
      ls = sub.col(x.cols());
    }
    const Eigen::MatrixXd y = core::random_rows(data.cloud(k), o.max_samples, pick.with_stream(pick.stream() + 1));
    const auto e = detail::weighted_energy_of(xs, ls, y);
    r.energy[i] = e.energy;
    if (std::isfinite(e.floor) && r.energy_floor.size() > 0) {
      r.energy_floor[i] = e.floor;
    } else {
      r.energy_floor.resize(0);  // a one-cell snapshot: no estimate of E|Y - Y'|
    }
    if (!data.frequencies_only()) {
      // log of the mean path mass, without overflow for large log-masses
      const double model_mass = core::log_sum_exp(lm) - std::log(static_cast<double>(lm.size()));
      r.log_mass_error[i] = model_mass - std::log(data.relative_mass(k) / data.relative_mass(0));
    }
  }
  return r;
}

/// @brief Simulates `field` (any field simulate_model takes) from the first snapshot's cells to every snapshot time
/// and checks the roll-out against the later snapshots.
/// @throws std::invalid_argument if options.simulation.branching is set, or as simulate_model and rollout_check.
template <class Field>
[[nodiscard]] rollout_check_result rollout_check(const Field& field, const core::snapshot_series<double>& data,
                                                 const rollout_check_options& o = {}) {
  if (o.simulation.branching) {
    core::detail::throw_invalid_argument("upfi::infer::rollout_check: the roll-out carries growth as log-masses; ",
                                         "branching must be off");
  }
  return rollout_check(simulate_model(field, data.cloud(0), data.times(), o.simulation), data, o);
}

}  // namespace upfi::infer
