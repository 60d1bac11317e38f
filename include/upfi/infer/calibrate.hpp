// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Diffusion calibration by held-out snapshots (beyond the papers, which take the noise as known).
///
/// The papers fix the noise prior (sigma, or the volume V of the chemical Langevin model). Here it is chosen from
/// the data: for every value on a grid and every held-out inner snapshot h, a model is fitted on the series without
/// snapshot h, the cells of snapshot h - 1 are pushed (with their log-masses) by the fitted probability flow to
/// t_h, and the debiased Sinkhorn divergence to snapshot h is the validation loss. The value with the smallest
/// mean validation loss wins; the whole curve is returned so that a flat or noisy curve (an unidentifiable noise
/// level) can be seen and reported.
///
/// Why it can work: the probability flow is v = f - D grad log p_t. A drift model that cannot absorb a wrong D term
/// for all t (an autonomous drift, while p_t moves and changes shape) leaves a misfit that shows at times it was not
/// trained on. With a time-dependent drift network any D fits equally well and the curve is flat: the calibration
/// then says so rather than inventing a value.

#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/core/subsample.hpp>
#include <upfi/flow/integrate.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/ot/sinkhorn_divergence.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

namespace upfi::infer {

/// @brief Options of calibrate_diffusion.
struct diffusion_calibration_options {
  std::vector<std::size_t> held_out;     ///< inner snapshot indices to hold out (empty: every inner snapshot)
  flow_training_options training{};      ///< the fit of every (value, held-out snapshot) pair
  Eigen::Index validation_cells = 2000;  ///< at most this many cells of snapshots h - 1 and h (random subsets)
  int validation_steps = 0;              ///< steps of the validation push (0: training.steps)
};

/// @brief One grid value: mean validation loss and the loss of each held-out snapshot (in held_out order).
struct diffusion_calibration_point {
  double value = 0;
  double validation_loss = 0;
  std::vector<double> per_snapshot;
};

/// @brief The validation curve and its minimiser.
struct diffusion_calibration {
  std::vector<diffusion_calibration_point> curve;  ///< in grid order
  std::vector<std::size_t> held_out;
  std::size_t best_index = 0;
  [[nodiscard]] double best() const { return curve.at(best_index).value; }
  /// @brief Spread of the curve relative to its minimum, (max - min) / min: small values mean a flat curve.
  [[nodiscard]] double relative_spread() const {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& p : curve) {
      lo = std::min(lo, p.validation_loss);
      hi = std::max(hi, p.validation_loss);
    }
    return (hi - lo) / std::max(std::abs(lo), 1e-300);
  }
};

/// @brief What the progress callback sees after each fit.
struct diffusion_calibration_progress {
  double value = 0;
  std::size_t held_out = 0;
  double validation_loss = 0;
  flow_training_report report;
};

/// @brief Validation loss of a fitted field on snapshot h: push snapshot h - 1 to t_h (log-masses log M / n) and
/// take the Sinkhorn divergence (unbalanced when options.reach is set) to snapshot h.
/// @throws std::invalid_argument if h is not an inner index; upfi::core::error if the push or the loss is not finite.
template <class Field>
[[nodiscard]] double held_out_loss(const Field& field, const core::snapshot_series<double>& data, std::size_t h,
                                   const flow_training_options& training, Eigen::Index cells = 2000, int steps = 0) {
  constexpr const char* who = "upfi::infer::held_out_loss";
  if (h == 0 || h >= data.size()) {
    core::detail::throw_invalid_argument(who, ": snapshot ", h, " has no predecessor among ", data.size(),
                                         " snapshots");
  }
  if (cells < 2) core::detail::throw_invalid_argument(who, ": need at least 2 validation cells, got ", cells);
  const Eigen::MatrixXd x =
      core::random_rows(data.cloud(h - 1), cells, core::counter_rng(training.seed, 2 * static_cast<std::uint32_t>(h)));
  const Eigen::MatrixXd y =
      core::random_rows(data.cloud(h), cells, core::counter_rng(training.seed, 2 * static_cast<std::uint32_t>(h) + 1));
  const bool unbalanced = training.reach.has_value();
  const flow::fixed_step_options fo{.steps = steps > 0 ? steps : training.steps, .alpha = -1.0};
  const flow::flow_tape tape =
      flow::integrate_recorded(field, training.stepper, data.time(h - 1), data.time(h),
                               {x, sample_log_weights(data, h - 1, x.rows(), unbalanced), 0.0}, fo, false);
  const double s =
      ot::sinkhorn_divergence<double>(tape.end.x, tape.end.log_m, y, sample_log_weights(data, h, y.rows(), unbalanced),
                                      sinkhorn_options_of(training, false))
          .value;
  if (!std::isfinite(s)) {
    UPFI_THROW(
        core::error(core::detail::message(who, ": the validation divergence at snapshot ", h, " is not finite")));
  }
  return s;
}

/// @brief Chooses a noise level (sigma, D, V: whatever `make` reads) by held-out-snapshot validation loss.
/// @param make `make(value, training_series)` returns an untrained field for that noise level; it sees only the
/// training series (fit the score on it, not on the held-out snapshot).
/// @param grid candidate values (any order, at least one, all finite).
/// @throws std::invalid_argument on an empty or non-finite grid, fewer than three snapshots, or a held-out index
/// that is not inner; what training throws (non-finite losses, naming the iteration).
template <class Make>
[[nodiscard]] diffusion_calibration calibrate_diffusion(
    Make&& make, const core::snapshot_series<double>& data, const std::vector<double>& grid,
    const diffusion_calibration_options& o = {},
    const std::function<void(const diffusion_calibration_progress&)>& progress = {}) {
  constexpr const char* who = "upfi::infer::calibrate_diffusion";
  if (grid.empty()) core::detail::throw_invalid_argument(who, ": the grid is empty");
  for (double v : grid) {
    if (!std::isfinite(v)) core::detail::throw_invalid_argument(who, ": grid value ", v, " is not finite");
  }
  if (data.size() < 3) {
    core::detail::throw_invalid_argument(who, ": need at least 3 snapshots to hold out an inner one, got ",
                                         data.size());
  }
  diffusion_calibration out;
  out.held_out = o.held_out;
  if (out.held_out.empty()) {
    for (std::size_t h = 1; h + 1 < data.size(); ++h) out.held_out.push_back(h);
  }
  for (std::size_t h : out.held_out) {
    if (h == 0 || h + 1 >= data.size()) {
      core::detail::throw_invalid_argument(who, ": held-out snapshot ", h, " is not an inner snapshot (1..",
                                           data.size() - 2, ")");
    }
  }
  for (double value : grid) {
    diffusion_calibration_point p{value, 0.0, {}};
    for (std::size_t h : out.held_out) {
      const core::snapshot_series<double> train = data.without(h);
      flow_trainer trainer(make(value, train), train, o.training);
      diffusion_calibration_progress pr{value, h, 0.0, trainer.train()};
      pr.validation_loss = held_out_loss(trainer.field(), data, h, o.training, o.validation_cells, o.validation_steps);
      p.per_snapshot.push_back(pr.validation_loss);
      p.validation_loss += pr.validation_loss / static_cast<double>(out.held_out.size());
      if (progress) progress(pr);
    }
    out.curve.push_back(std::move(p));
  }
  for (std::size_t i = 1; i < out.curve.size(); ++i) {
    if (out.curve[i].validation_loss < out.curve[out.best_index].validation_loss) out.best_index = i;
  }
  return out;
}

}  // namespace upfi::infer
