// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Leave-one-out validation at held-out times (algorithms.md §8.7): for every inner snapshot k, fit on the
/// series without it, push the cells of snapshot k-1 to t_k with the fitted SDE (weighted by their growth), and
/// measure the exact W1 (and the energy distance) to the held-out cells, next to the static-OT interpolation baseline
/// and the neighbouring snapshots (the protocol of data/README.md). scan_diffusion repeats it over a grid of noise
/// levels (the additive D, or the volume V of chemical-Langevin noise) and picks the one whose fitted SDE predicts the
/// held-out snapshots best.

#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/core/subsample.hpp>
#include <upfi/infer/fit.hpp>
#include <upfi/metrics/distances.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

namespace upfi::infer {

/// @brief Options of leave_one_out.
struct leave_one_out_options {
  Eigen::Index max_cells = 2000;  ///< > 0: clouds larger than this are subsampled (seeded) before W1 (exact EMD is
                                  ///< O(N^2) memory); 0: all cells
  int steps = 20;                 ///< Euler-Maruyama steps of the push from t_{k-1} to t_k
  std::uint64_t seed = 0;         ///< subsampling and the model's Brownian paths
  int fits = 1;  ///< fits per held-out time, with training seeds fit.seed, fit.seed + 1, ...: the model's scores
                 ///< (W1, energy distance, mass) are their means, which tames fit-to-fit scatter (fits x the cost)
};

/// @brief The scores at one held-out time.
struct held_out_score {
  std::size_t index = 0;  ///< k
  double time = 0;        ///< t_k
  Eigen::Index cells = 0;
  double w1_model = 0;                 ///< fitted model, pushed from t_{k-1}, growth-weighted
  double w1_ot_interpolation = 0;      ///< McCann interpolation between snapshots k-1 and k+1
  double w1_previous = 0;              ///< snapshot k-1 itself
  double w1_next = 0;                  ///< snapshot k+1 itself
  double energy_model = 0;             ///< energy distance (Szekely-Rizzo) of the model's weighted prediction
  double energy_ot_interpolation = 0;  ///< energy distance of the OT interpolation
  double mass_model = 0;               ///< predicted relative mass M_{k-1} E[exp(int g)]
  double mass_observed = 0;            ///< M_k of the data
  double fit_seconds = 0;
};

namespace detail {

inline void check_leave_one_out(const char* who, const core::snapshot_series<double>& data,
                                const leave_one_out_options& o) {
  if (data.size() < 3) core::detail::throw_invalid_argument(who, ": need at least three snapshots, got ", data.size());
  if (o.max_cells < 0 || o.steps < 1 || o.fits < 1) {
    core::detail::throw_invalid_argument(who, ": need max_cells >= 0, steps >= 1 and fits >= 1, got ", o.max_cells,
                                         ", ", o.steps, " and ", o.fits);
  }
}

/// The (seeded) subsamples of snapshots k-1, k and k+1 that every score at held-out time k is computed on.
struct held_out_clouds {
  Eigen::MatrixXd previous, held_out, next;
};

inline held_out_clouds thinned_clouds(const core::snapshot_series<double>& data, std::size_t k,
                                      const leave_one_out_options& o) {
  const auto thin = [&](const Eigen::MatrixXd& x, std::uint32_t stream) -> Eigen::MatrixXd {
    if (o.max_cells == 0) return x;
    return core::random_rows(x, o.max_cells, core::counter_rng(o.seed, stream));
  };
  const auto stream = static_cast<std::uint32_t>(3 * k);
  return {thin(data.cloud(k - 1), stream), thin(data.cloud(k), stream + 1), thin(data.cloud(k + 1), stream + 2)};
}

/// The leave-one-out with the model-free scores (`baselines`, from held_out_baselines with the same options)
/// computed once: scan_diffusion reuses them for every D.
inline std::vector<held_out_score> leave_one_out_with(
    const core::snapshot_series<double>& data, const fit_options& fit, const leave_one_out_options& o,
    const std::vector<held_out_score>& baselines,
    const std::function<void(std::size_t, const fit_progress&)>& progress) {
  std::vector<held_out_score> out;
  for (std::size_t k = 1; k + 1 < data.size(); ++k) {
    held_out_score r = baselines.at(k - 1);
    const auto clouds = thinned_clouds(data, k, o);
    model_simulation_options so;  // the same Brownian increments for every fit
    so.dt = (data.time(k) - data.time(k - 1)) / o.steps;
    so.seed = o.seed + 1000 * k;
    const double share = 1.0 / o.fits;
    for (int f = 0; f < o.fits; ++f) {
      fit_options fo = fit;
      fo.seed = fit.seed + static_cast<std::uint64_t>(f);
      fo.step_check_steps = 0;  // the held-out snapshot is this fit's check
      const auto start = std::chrono::steady_clock::now();
      const auto fitted = fit_snapshots(data.without(k), fo, [&](const fit_progress& p) {
        if (progress) progress(k, p);
      });
      r.fit_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const auto pushed = fitted.model.simulate(clouds.previous, {data.time(k - 1), data.time(k)}, so);
      const Eigen::VectorXd w = pushed.log_masses.back().array().exp();
      r.w1_model += share * metrics::wasserstein1(pushed.positions.back(), clouds.held_out, w);
      r.energy_model += share * ot::energy_distance<double>(pushed.positions.back(), clouds.held_out, w);
      r.mass_model += share * data.relative_mass(k - 1) * w.mean();
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace detail

/// @brief The model-free scores of the leave-one-out protocol at every inner snapshot k: the static-OT (McCann)
/// interpolation between snapshots k-1 and k+1 and the neighbouring snapshots themselves against the held-out cells,
/// and the observed mass (the model fields stay 0). These are the baselines every leave_one_out reports, on the same
/// subsamples; computing them alone costs no fit.
/// @throws std::invalid_argument on fewer than three snapshots or bad options.
[[nodiscard]] inline std::vector<held_out_score> held_out_baselines(const core::snapshot_series<double>& data,
                                                                    const leave_one_out_options& o = {}) {
  detail::check_leave_one_out("upfi::infer::held_out_baselines", data, o);
  std::vector<held_out_score> out;
  for (std::size_t k = 1; k + 1 < data.size(); ++k) {
    held_out_score r;
    r.index = k;
    r.time = data.time(k);
    r.cells = data.count(k);
    r.mass_observed = data.relative_mass(k);
    const auto clouds = detail::thinned_clouds(data, k, o);
    const double s = (data.time(k) - data.time(k - 1)) / (data.time(k + 1) - data.time(k - 1));
    const auto interpolated = metrics::ot_interpolation(clouds.previous, clouds.next, s);
    r.w1_ot_interpolation = metrics::wasserstein1(interpolated.points, clouds.held_out, interpolated.weights);
    r.energy_ot_interpolation = ot::energy_distance<double>(interpolated.points, clouds.held_out, interpolated.weights);
    r.w1_previous = metrics::wasserstein1(clouds.previous, clouds.held_out);
    r.w1_next = metrics::wasserstein1(clouds.next, clouds.held_out);
    out.push_back(r);
  }
  return out;
}

/// @brief Runs the leave-one-out protocol for every inner snapshot (needs three or more snapshots): held_out_baselines
/// plus, at each k, the model fitted without snapshot k. `progress` (optional) sees the held-out index and the fit's
/// reports.
/// @throws std::invalid_argument on fewer than three snapshots or bad options; what fit_snapshots throws.
[[nodiscard]] inline std::vector<held_out_score> leave_one_out(
    const core::snapshot_series<double>& data, const fit_options& fit, const leave_one_out_options& o = {},
    const std::function<void(std::size_t, const fit_progress&)>& progress = {}) {
  detail::check_leave_one_out("upfi::infer::leave_one_out", data, o);
  return detail::leave_one_out_with(data, fit, o, held_out_baselines(data, o), progress);
}

/// @brief One noise level of a scan_diffusion: the leave-one-out scores of fit_snapshots at that level.
struct diffusion_scan_point {
  double value = 0;   ///< the noise level: D in the data's units (coordinates^2 per time unit) for additive noise,
                      ///< the volume V (data units) for chemical-Langevin noise, where D = diag(p + lambda x) / 2V
  double energy = 0;  ///< mean over the held-out times of held_out_score::energy_model
  double w1 = 0;      ///< mean of held_out_score::w1_model
  std::vector<held_out_score> scores;  ///< one per held-out time
};

/// @brief The leave-one-out curve over the grid and its minimiser (smallest mean energy distance).
struct diffusion_scan {
  std::vector<diffusion_scan_point> curve;  ///< in grid order
  std::size_t best_index = 0;
  noise_model noise = noise_model::additive;  ///< what the values are: D (additive) or V (chemical Langevin)
  [[nodiscard]] double best() const { return curve.at(best_index).value; }
  /// @brief (max - min) / min of the mean energy distances: a small value means a flat curve, a D the data do not
  /// pin down.
  [[nodiscard]] double relative_spread() const {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& p : curve) {
      lo = std::min(lo, p.energy);
      hi = std::max(hi, p.energy);
    }
    return (hi - lo) / std::max(lo, 1e-300);
  }
  /// @brief The value with the smallest mean W1: the second criterion, reported beside best(). The two agree on OU with
  /// growth and on two bistable data seeds of three (on the third W1 picks the true D, the energy distance twice
  /// it); on the simulated gene networks W1 keeps falling toward smaller D than the energy distance
  /// (docs/results.md). When they differ, the range between them is what the data say.
  [[nodiscard]] double best_w1() const {
    return argmin([](const diffusion_scan_point& p) { return p.w1; });
  }
  /// @brief The value with the smallest energy distance at the held-out time of index `h` alone (`scores[h]` of every
  /// point; h = 0 is the first inner snapshot). The held-out times can disagree by several grid steps (on the bistable
  /// benchmark the last one prefers the smallest D on every data seed) and the mean can follow one of them:
  /// comparing best_at(h) over h shows which (docs/results.md).
  /// @throws std::invalid_argument if a point has no score at `h`.
  [[nodiscard]] double best_at(std::size_t h) const {
    check_held_out("best_at", h);
    return argmin([h](const diffusion_scan_point& p) { return p.scores[h].energy_model; });
  }
  /// @brief best_at by W1.
  /// @throws std::invalid_argument if a point has no score at `h`.
  [[nodiscard]] double best_w1_at(std::size_t h) const {
    check_held_out("best_w1_at", h);
    return argmin([h](const diffusion_scan_point& p) { return p.scores[h].w1_model; });
  }
  /// @brief True when `d` is the smallest or the largest value of the grid (with two or more distinct values).
  [[nodiscard]] bool on_edge(double d) const {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& p : curve) {
      lo = std::min(lo, p.value);
      hi = std::max(hi, p.value);
    }
    return lo < hi && (d == lo || d == hi);
  }
  /// @brief True when the best value is on the grid's edge: the minimum may lie beyond it, so the grid should be
  /// extended.
  [[nodiscard]] bool best_on_edge() const { return on_edge(best()); }

 private:
  // The value of the first point with the smallest score(point); the curve's first value when it has one point.
  template <class Score>
  [[nodiscard]] double argmin(Score score) const {
    std::size_t b = 0;
    for (std::size_t i = 1; i < curve.size(); ++i) {
      if (score(curve[i]) < score(curve[b])) b = i;
    }
    return curve.at(b).value;
  }
  void check_held_out(const char* who, std::size_t h) const {
    for (const auto& p : curve) {
      if (h >= p.scores.size()) {
        core::detail::throw_invalid_argument("upfi::infer::diffusion_scan::", who, ": held-out index ", h,
                                             ", but the scan at ",
                                             noise == noise_model::chemical_langevin ? "V = " : "D = ", p.value,
                                             " has ", p.scores.size(), " held-out scores");
      }
    }
  }
};

namespace detail {
// The chemical-Langevin rates of `fit` for data of dimension d, checked before anything is fitted.
inline void check_scan_rates(const char* who, const core::snapshot_series<double>& data, const fit_options& fit) {
  const Eigen::Index d = data.dimension();
  if ((fit.degradation.size() != 1 && fit.degradation.size() != d) || !fit.degradation.allFinite() ||
      !(fit.degradation.array() > 0).all()) {
    core::detail::throw_invalid_argument(who, ": chemical-Langevin noise needs 1 or ", d,
                                         " finite degradation rates > 0, got ", fit.degradation.size(), " rates");
  }
}
}  // namespace detail

/// @brief The default grid of scan_diffusion: five noise levels, ascending.
/// Additive noise: 1/4 to 4 times fit_snapshots' automatic D (automatic_normalised_diffusion = 0.05 in normalised
/// units, 0.05 s^2 / T in the data's units, s the pooled RMS standard deviation and T the time span).
/// Chemical-Langevin noise: V_min / 2, V_min, 2 V_min, 4 V_min and 8 V_min, where V_min = sum_c m_c / sum_c v_c is
/// the volume at which the cells' spread would be intrinsic noise alone: at a balance of production and linear
/// degradation the chemical Langevin equation gives each coordinate a variance v = m / V (Fano factor 1 / V, m the
/// mean), so spread from anything else (cell states, the drift moving the cloud) makes the data's Fano factor larger
/// and V_min is the most noise the data allow; the grid starts one step below it so that data whose spread is nearly
/// all intrinsic get an interior minimum. m is the pooled mean and v the variance within snapshots, pooled over all
/// cells.
/// @throws std::invalid_argument if the cells all coincide or there is one time; for chemical-Langevin noise, data
/// whose mean or within-snapshot variance is not > 0.
[[nodiscard]] inline std::vector<double> default_noise_grid(const core::snapshot_series<double>& data,
                                                            const fit_options& fit) {
  constexpr const char* who = "upfi::infer::default_noise_grid";
  std::vector<double> grid;
  if (fit.noise != noise_model::chemical_langevin) {
    const auto s = data_scaling::of(data);
    for (const double f : {0.25, 0.5, 1.0, 2.0, 4.0})
      grid.push_back(f * automatic_normalised_diffusion * s.scale * s.scale / s.span);
    return grid;
  }
  double mean = 0, variance = 0, cells = 0;
  for (std::size_t k = 0; k < data.size(); ++k) {
    const auto& x = data.cloud(k);
    if (x.rows() == 0) continue;
    const Eigen::RowVectorXd m = x.colwise().mean();
    mean += x.sum();
    variance += (x.rowwise() - m).squaredNorm();
    cells += static_cast<double>(x.rows());
  }
  const double v_min = mean / variance;  // (sum_c m_c) / (sum_c v_c): the cell counts cancel
  if (!(mean > 0) || !(variance > 0) || !std::isfinite(v_min) || cells < 2) {
    core::detail::throw_invalid_argument(who, ": chemical-Langevin noise needs concentrations with a mean > 0 and a ",
                                         "spread within snapshots > 0; got sums ", mean, " and ", variance);
  }
  for (const double f : {0.5, 1.0, 2.0, 4.0, 8.0}) grid.push_back(f * v_min);
  return grid;
}

/// @brief Chooses the noise level of fit_snapshots by leave-one-out prediction: for every value of `grid` (data
/// units) runs leave_one_out with that noise level (`fit.diffusion = D` for additive noise, `fit.volume = V` for
/// chemical-Langevin noise, whose rates come from `fit`) and scores it by the mean energy distance between the fitted
/// SDE's growth-weighted prediction and the held-out cells. The whole curve is returned: with an autonomous drift
/// (UPFI's) a wrong noise level leaves a misfit at the held-out times; a time-dependent drift (PFI's) can absorb any
/// D, and the curve is then flat (diffusion_scan::relative_spread). Every value sees the same subsamples and Brownian
/// increments (common random numbers), so the differences along the curve are not sampling noise of the push.
/// `progress` (optional) sees the grid index, the held-out index and the fit's reports. default_noise_grid gives a
/// grid to start from.
/// @throws std::invalid_argument on an empty grid, a value that is not finite and > 0, or chemical-Langevin options
/// with rates of the wrong count or not > 0 (before any fit); what leave_one_out throws.
[[nodiscard]] inline diffusion_scan scan_diffusion(
    const core::snapshot_series<double>& data, fit_options fit, const std::vector<double>& grid,
    const leave_one_out_options& o = {},
    const std::function<void(std::size_t, std::size_t, const fit_progress&)>& progress = {}) {
  constexpr const char* who = "upfi::infer::scan_diffusion";
  if (grid.empty()) core::detail::throw_invalid_argument(who, ": the grid is empty");
  for (std::size_t i = 0; i < grid.size(); ++i) {
    if (!(std::isfinite(grid[i]) && grid[i] > 0)) {
      core::detail::throw_invalid_argument(who, ": grid value ", i, " = ", grid[i], " must be finite and > 0");
    }
  }
  const bool cle = fit.noise == noise_model::chemical_langevin;
  if (cle) detail::check_scan_rates(who, data, fit);
  detail::check_leave_one_out(who, data, o);
  const auto baselines = held_out_baselines(data, o);  // model-free: the same for every value
  diffusion_scan out;
  out.noise = fit.noise;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    (cle ? fit.volume : fit.diffusion) = grid[i];
    diffusion_scan_point p;
    p.value = grid[i];
    p.scores = detail::leave_one_out_with(data, fit, o, baselines, [&](std::size_t k, const fit_progress& r) {
      if (progress) progress(i, k, r);
    });
    for (const auto& s : p.scores) {
      p.energy += s.energy_model / static_cast<double>(p.scores.size());
      p.w1 += s.w1_model / static_cast<double>(p.scores.size());
    }
    out.curve.push_back(std::move(p));
    if (out.curve.back().energy < out.curve[out.best_index].energy) out.best_index = i;
  }
  return out;
}

}  // namespace upfi::infer
