// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief A check of a trained flow field against its own discretisation: push cells of every snapshot to the next
/// snapshot time with the training's steps and accurately (10 RK4 steps by default), and compare each push with the
/// next snapshot by the energy distance (and its sampling floor), beside the cells left where they are.
///
/// Why: stage 2 fits the drift through a few explicit steps per interval (2 Euler steps by default, as in the
/// papers). The optimiser fits that step map, not the flow it discretises, and the two can differ by far more than
/// the step's truncation error suggests: a field whose 2-step map lands on the next snapshot can carry cells
/// elsewhere when the same field is followed accurately (docs/results.md, "The 2-Euler-step map"). Every simulation
/// after the fit (prediction, roll-outs, fates, leave-one-out) takes fine steps, so the fine column is the one those
/// outputs inherit. A fine energy well above the training-step one says the fit leans on its coarse steps; more
/// steps (fit_options::steps) or a two-stage stepper (flow::heun) in training narrow the gap.

#include <upfi/core/cloud.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/core/subsample.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/infer/rollout_check.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace upfi::infer {

/// @brief Options of step_check.
struct step_check_options {
  /// the accurate push: fine_steps steps of fine_stepper per interval (10 RK4 steps: 40 field evaluations, and a
  /// truncation error far below that of 50 Euler steps for a smooth field)
  flow::tableau fine_stepper = flow::rk4();
  int fine_steps = 10;
  Eigen::Index max_samples = 500;  ///< cells pushed from each snapshot, and cells of the next one compared
  std::uint64_t seed = 0;          ///< the subsets of large snapshots
  /// Stability of the accurate push: n steps (n = fine_steps first) are accepted when a push with 2n steps scores
  /// the same within `agreement` (energy distances within that fraction of the larger one or of the sampling floor,
  /// log-mass errors within that much); otherwise n doubles, at most `refinements` times (then the finest push,
  /// fine_steps x 2^refinements steps, is reported unconfirmed). A probability flow with a strong score term (D grad
  /// log p across thin directions of the data) is stiff: an explicit stepper with too few steps is unstable there and
  /// runs off (even to overflow) while the flow itself contracts. 0 turns the check off (fine_steps only, never
  /// confirmed).
  int refinements = 5;
  double agreement = 0.1;
};

/// @brief Per interval [t_{k-1}, t_k], k = 1 ... K, the energy distance between cells of snapshot k - 1 pushed to t_k
/// (weighted by their growth, each starting with equal mass) and snapshot k.
struct step_check_result {
  std::vector<double> times;     ///< t_1 ... t_K, the ends of the intervals
  int training_steps = 0;        ///< steps per interval of the training
  std::string training_stepper;  ///< their method
  int fine_steps = 0;            ///< steps per interval of the accurate push (the first try; see fine_steps_used)
  std::string fine_stepper;      ///< their method
  /// per interval, the steps of the reported accurate push: fine_steps, or more where fewer were unstable
  /// (step_check_options::refinements)
  std::vector<int> fine_steps_used;
  /// per interval, whether that push agreed with one of twice its steps (false: the refinements ran out, or were 0;
  /// the push reported is then the finest tried, or +inf if it diverged)
  std::vector<bool> fine_agreed;
  Eigen::VectorXd unmoved;   ///< the cells of snapshot k - 1 where they are
  Eigen::VectorXd training;  ///< pushed with the training's steps (the map the fit saw)
  Eigen::VectorXd fine;      ///< pushed accurately (the flow that simulations follow)
  /// the sampling floor of `fine` (infer::detail::weighted_energy_of); NaN where the next snapshot has one cell or
  /// the accurate push diverged
  Eigen::VectorXd floor;
  /// log(model mass ratio / observed mass ratio) over each interval, training and fine steps (empty when the series
  /// has frequencies only; NaN where the push diverged)
  Eigen::VectorXd log_mass_error_training, log_mass_error_fine;

  /// @brief fine / max(training, floor) per interval: about 1 when the fine flow matches the next snapshot as well as
  /// the training's step map does (or as sampling allows); much larger when the fit leans on its coarse steps; +inf
  /// where the accurate push diverged.
  [[nodiscard]] Eigen::VectorXd gap_ratio() const {
    Eigen::VectorXd r(fine.size());
    for (Eigen::Index i = 0; i < fine.size(); ++i) {
      if (std::isinf(fine[i])) {
        r[i] = std::numeric_limits<double>::infinity();
        continue;
      }
      const double base = std::isfinite(floor[i]) ? std::max(training[i], floor[i]) : training[i];
      r[i] = base > 0 ? fine[i] / base : (fine[i] > 0 ? std::numeric_limits<double>::infinity() : 1.0);
    }
    return r;
  }
  /// @brief Whether a push over interval i (ending at times[i]) diverged: the training's or the accurate one.
  [[nodiscard]] bool diverged(Eigen::Index i) const {
    return training[i] == std::numeric_limits<double>::infinity() || fine[i] == std::numeric_limits<double>::infinity();
  }
  /// @brief Whether the accurate push needed more than fine_steps on some interval (a stiff flow).
  [[nodiscard]] bool refined() const {
    return std::any_of(fine_steps_used.begin(), fine_steps_used.end(), [&](int n) { return n > fine_steps; });
  }
  /// @brief Whether a push diverged on any interval.
  [[nodiscard]] bool diverged() const {
    for (Eigen::Index i = 0; i < fine.size(); ++i) {
      if (diverged(i)) return true;
    }
    return false;
  }
  /// @brief The largest gap_ratio over the intervals (1 for no interval).
  [[nodiscard]] double worst_gap_ratio() const {
    const Eigen::VectorXd r = gap_ratio();
    return r.size() == 0 ? 1.0 : r.maxCoeff();
  }
  /// @brief Whether the fit leans on its training steps: on some interval the fine push misses by more than `ratio`
  /// times the training's (gap_ratio) and by more than `fraction` of the unmoved cells' miss (a gap that matters
  /// against how far the cells travel; a fine miss of 3 % of the way at 4 times a tiny step-map miss does not).
  [[nodiscard]] bool leans_on_steps(double ratio = 3, double fraction = 0.1) const {
    const Eigen::VectorXd r = gap_ratio();
    for (Eigen::Index i = 0; i < r.size(); ++i) {
      if (r[i] > ratio && fine[i] > fraction * unmoved[i]) return true;
    }
    return false;
  }
  /// @brief Lengths times `factor` and times through `time_of` (to report a check made in normalised units in the
  /// data's units: lengths scale the energy distance linearly).
  template <class TimeMap>
  void rescale(double factor, const TimeMap& time_of) {
    for (double& t : times) t = time_of(t);
    unmoved *= factor;
    training *= factor;
    fine *= factor;
    floor *= factor;
  }
};

/// @brief Pushes up to o.max_samples cells of every snapshot of `data` but the last to the next snapshot time through
/// `field` (any flow field flow::integrate takes, e.g. flow::probability_flow) with `training_steps` and accurately,
/// and compares each with the next snapshot. The accurate push takes o.fine_steps steps of o.fine_stepper, more where
/// those are unstable (step_check_options::refinements; fine_steps_used says how many). Deterministic for a seed.
/// A push whose state turns non-finite (a flow that diverges within the interval: flow::integrate's core::error), or
/// ends so far away that its energy distance overflows, scores +inf, with NaN for its floor and log-mass error;
/// diverged() says where.
/// @throws std::invalid_argument on fewer than two snapshots, steps < 1, max_samples < 2, refinements < 0 or an
/// agreement that is not > 0, or what flow::integrate throws for invalid input.
template <class Field>
[[nodiscard]] step_check_result step_check(const Field& field, const core::snapshot_series<double>& data,
                                           const flow::tableau& stepper, int training_steps,
                                           const step_check_options& o = {}) {
  constexpr const char* who = "upfi::infer::step_check";
  if (data.size() < 2) core::detail::throw_invalid_argument(who, ": need at least two snapshots");
  if (training_steps < 1 || o.fine_steps < 1 || o.max_samples < 2 || o.refinements < 0 || o.refinements > 20 ||
      !(o.agreement > 0)) {
    core::detail::throw_invalid_argument(who, ": need training_steps >= 1, fine_steps >= 1 and max_samples >= 2, ",
                                         "0 <= refinements <= 20 and agreement > 0; got ", training_steps, ", ",
                                         o.fine_steps, ", ", o.max_samples, ", ", o.refinements, " and ", o.agreement);
  }
  const auto intervals = static_cast<Eigen::Index>(data.size() - 1);
  step_check_result r;
  r.training_steps = training_steps;
  r.training_stepper = stepper.name;
  r.fine_steps = o.fine_steps;
  r.fine_stepper = o.fine_stepper.name;
  for (Eigen::VectorXd* v : {&r.unmoved, &r.training, &r.fine, &r.floor}) v->resize(intervals);
  if (!data.frequencies_only()) {
    r.log_mass_error_training.resize(intervals);
    r.log_mass_error_fine.resize(intervals);
  }
  for (Eigen::Index i = 0; i < intervals; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const core::counter_rng pick(o.seed, 0x57E9'0000U + 2 * static_cast<std::uint32_t>(k));
    const Eigen::MatrixXd x = core::random_rows(data.cloud(k), o.max_samples, pick);
    const Eigen::MatrixXd y = core::random_rows(data.cloud(k + 1), o.max_samples, pick.with_stream(pick.stream() + 1));
    r.times.push_back(data.time(k + 1));
    r.unmoved[i] = ot::energy_distance<double>(x, y);
    const double log_ratio =
        data.frequencies_only() ? 0.0 : std::log(data.relative_mass(k + 1) / data.relative_mass(k));
    const flow::flow_state start{x, Eigen::VectorXd::Zero(x.rows()), 0};
    // a push with n steps, scored against the next snapshot; nothing where it diverges (a non-finite state, or cells
    // so far away that their distances overflow)
    struct scored {
      double energy, floor, log_mass_error;
    };
    const auto push = [&](const flow::tableau& tb, int n) -> std::optional<scored> {
      flow::flow_state end;
      try {
        end = flow::integrate(field, tb, data.time(k), data.time(k + 1), start, {.steps = n});
      } catch (const core::error&) {  // the state turned non-finite
        return std::nullopt;
      }
      const auto e = detail::weighted_energy_of(end.x, end.log_m, y);
      if (!std::isfinite(e.energy)) return std::nullopt;
      const double model = core::log_sum_exp(end.log_m) - std::log(static_cast<double>(end.log_m.size()));
      return scored{e.energy, e.floor, model - log_ratio};
    };
    // two pushes agree when their energies differ by at most `agreement` of the larger one (or of the sampling
    // floor, if that is larger) and their log-mass errors by at most `agreement`
    const auto agree = [&](const scored& u, const scored& v) {
      const double floor = std::isfinite(v.floor) ? v.floor : 0.0;
      return std::abs(u.energy - v.energy) <= o.agreement * std::max({u.energy, v.energy, floor}) &&
             std::abs(u.log_mass_error - v.log_mass_error) <= o.agreement;
    };
    // an interval's scores, or +inf (NaN for the log-mass error) where the push diverged
    const auto store = [&](const std::optional<scored>& end, Eigen::VectorXd& energy, Eigen::VectorXd& mass) {
      energy[i] = end ? end->energy : std::numeric_limits<double>::infinity();
      if (!data.frequencies_only()) mass[i] = end ? end->log_mass_error : std::numeric_limits<double>::quiet_NaN();
    };
    store(push(stepper, training_steps), r.training, r.log_mass_error_training);
    // the accurate push: n steps, doubled while a push with twice as many does not agree
    int n = o.fine_steps;
    bool agreed = false;
    std::optional<scored> fine = push(o.fine_stepper, n);
    for (int refinement = 0; refinement < o.refinements; ++refinement) {
      auto finer = push(o.fine_stepper, 2 * n);
      if (fine && finer && agree(*fine, *finer)) {
        agreed = true;  // n steps are stable: report them
        break;
      }
      n *= 2;
      fine = std::move(finer);  // the finest tried so far
    }
    r.fine_steps_used.push_back(n);
    r.fine_agreed.push_back(agreed);
    store(fine, r.fine, r.log_mass_error_fine);
    r.floor[i] = fine ? fine->floor : std::numeric_limits<double>::quiet_NaN();
  }
  return r;
}

}  // namespace upfi::infer
