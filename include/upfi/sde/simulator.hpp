// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Simulation of particle clouds under an SDE, with optional birth/death branching: advancing clouds,
/// branching populations, independent-realisation snapshots and ground-truth path ensembles.
///
/// Work is vectorised over particles (SIMD lanes = particles, whenever the model and noise accept xsimd batches) and
/// parallel over fixed blocks of particles; every random draw is a pure function of (seed, stream, particle slot,
/// step), so results are bit-identical for any thread count.
///
/// Random streams of a counter_rng `rng` passed to the simulator: `rng.stream()` for Brownian increments and
/// `rng.stream() + 1` for division/death events. Snapshot k of snapshots() uses the generator (seed, 3k) for the
/// initial cells, (seed, 3k + 1) for the increments and (seed, 3k + 2) for the events.
/// @see algorithms.md §1.1 (branching diffusion) and §8.6 (simulation protocol).

#include <upfi/concepts/sde.hpp>
#include <upfi/config.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/sde/detail/generic_math.hpp>
#include <upfi/sde/detail/rates.hpp>
#include <upfi/sde/euler_maruyama.hpp>
#include <upfi/simd/counter_normals.hpp>
#include <upfi/simd/xsimd_compat.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

namespace upfi::sde {

/// @brief How negative coordinates are handled after a step (chemical-Langevin concentrations).
enum class positivity {
  automatic,  ///< `reject` for models declaring `nonnegative = true`, otherwise `none`
  none,       ///< leave the state as computed
  reject,     ///< a coordinate that would become negative keeps its previous value (the PFI authors' choice)
  reflect     ///< a negative coordinate is replaced by its absolute value
};

/// @brief Options of upfi::sde::simulator (use designated initialisers).
struct simulate_options {
  double dt = 1e-3;  ///< maximal step; each interval uses ceil(length / dt) equal steps
  positivity rule = positivity::automatic;
  bool growth = true;                   ///< branch (divide/die) when the model has rates; false: no branching
  double max_event_probability = 0.1;   ///< guard: (b + d) dt above this is an error (reduce dt)
  Eigen::Index max_cells = 20'000'000;  ///< guard against population explosions
  bool simd = true;                     ///< use SIMD batches when the model supports them
};

/// @brief Ground-truth paths: positions (and, with growth, accumulated log-weights int (b - d) dt) at each time.
struct path_ensemble {
  std::vector<double> times;
  std::vector<Eigen::MatrixXd> positions;    ///< one N x d cloud per time; row i is path i
  std::vector<Eigen::VectorXd> log_weights;  ///< one length-N vector per time (empty without growth)
};

/// @brief Simulates `Model` (drift, optional birth/death rates) with noise `Noise` using `Stepper`.
/// @tparam Stepper euler_maruyama (default), milstein (diagonal noise) or srk15 (additive noise).
template <class Model, class Noise, class Stepper = euler_maruyama>
class simulator {
  static_assert(DriftModel<Model>,
                "upfi::sde::simulator: Model must model upfi::DriftModel: dimension() and a "
                "pointwise generic `template <class T> void drift(t, const T* x, T* v) const`");
  static_assert(NoiseModel<Noise>,
                "upfi::sde::simulator: Noise must model upfi::NoiseModel (see "
                "docs/concepts/NoiseModel.md), e.g. additive_isotropic or chemical_langevin");
  static_assert(Stepper::template supports<Model, Noise, double>,
                "upfi::sde::simulator: this Stepper cannot integrate this model/noise pair (milstein needs diagonal "
                "noise, srk15 additive noise); use euler_maruyama");

  using batch = simd::batch<double>;
  static constexpr std::size_t lanes = simd::batch_size<double>;
  static constexpr bool simd_capable = Stepper::template supports<Model, Noise, batch> &&
                                       (!detail::has_rates<Model, double> || detail::has_rates<Model, batch>);

 public:
  static constexpr bool has_growth = detail::has_rates<Model, double>;

  /// @throws std::invalid_argument if dimensions differ, dt is not positive, or an option is invalid.
  simulator(Model model, Noise noise, simulate_options options = {}, Stepper stepper = {})
      : m_model(std::move(model)), m_noise(std::move(noise)), m_options(options), m_stepper(std::move(stepper)) {
    constexpr const char* who = "upfi::sde::simulator";
    if (m_model.dimension() != m_noise.dimension()) {
      core::detail::throw_invalid_argument(who, ": model dimension ", m_model.dimension(),
                                           " differs from noise dimension ", m_noise.dimension());
    }
    if (!(options.dt > 0) || !std::isfinite(options.dt)) {
      core::detail::throw_invalid_argument(who, ": dt = ", options.dt, " must be finite and > 0");
    }
    if (!(options.max_event_probability > 0 && options.max_event_probability <= 1)) {
      core::detail::throw_invalid_argument(who, ": max_event_probability = ", options.max_event_probability,
                                           " must be in (0, 1]");
    }
    if (options.max_cells < 1) core::detail::throw_invalid_argument(who, ": max_cells must be >= 1");
    m_stepper.prepare(m_model, m_noise);
    m_positivity = options.rule;
    if (m_positivity == positivity::automatic) {
      m_positivity = requires { requires Model::nonnegative; }
      ? positivity::reject : positivity::none;
    }
  }

  [[nodiscard]] const Model& model() const noexcept { return m_model; }
  [[nodiscard]] const Noise& noise() const noexcept { return m_noise; }
  [[nodiscard]] const simulate_options& options() const noexcept { return m_options; }
  [[nodiscard]] Eigen::Index dimension() const { return m_model.dimension(); }
  /// @brief True when the SIMD path is compiled for this model and enabled in the options.
  [[nodiscard]] bool uses_simd() const noexcept { return simd_capable && UPFI_SIMD_ENABLED && m_options.simd; }

  /// @brief Number of counters one step consumes per particle (Brownian normals: m, or 2m with dZ).
  [[nodiscard]] std::uint32_t counters_per_step() const {
    return core::counter_rng::counters_per_vector(normals_per_step());
  }

  /// @brief Advances every row of `x` by `steps` steps of size `dt` from time t0, without branching. Steps are
  /// numbered first_step, first_step + 1, ... for the random draws (row i is particle index first_index + i). With
  /// `log_weights` (length N), adds int (b - d) dt along each path (left-point rule).
  void advance(Eigen::Ref<Eigen::MatrixXd> x, double t0, double dt, std::uint32_t first_step, std::uint32_t steps,
               const core::counter_rng& rng, Eigen::VectorXd* log_weights = nullptr,
               std::uint64_t first_index = 0) const {
    check_cloud(x.cols(), "advance");
    if (log_weights != nullptr && log_weights->size() != x.rows()) {
      core::detail::throw_invalid_argument("upfi::sde::simulator::advance: ", log_weights->size(), " log-weights for ",
                                           x.rows(), " particles");
    }
    core::parallel_for(x.rows(), [&](Eigen::Index begin, Eigen::Index end) {
      run_block(x, begin, end, t0, dt, first_step, steps, rng, first_index, log_weights, nullptr, nullptr);
    });
  }

  /// @brief Simulates a branching population from `x0` at t0 to t1: after each step every cell divides with
  /// probability b dt (the daughter copies its state, appended after the survivors) or dies with probability d dt.
  /// Without growth (model without rates, or options.growth false) this is advance().
  /// @throws std::invalid_argument if (b + d) dt exceeds options.max_event_probability (names the state and the
  /// step to use), or if the population exceeds options.max_cells.
  [[nodiscard]] Eigen::MatrixXd population(Eigen::MatrixXd x0, double t0, double t1,
                                           const core::counter_rng& rng) const {
    check_cloud(x0.cols(), "population");
    // not a structured binding: the lambda below captures dt, which Clang 14 cannot do for a binding
    const auto count = step_count(t0, t1);
    const std::uint32_t steps = count.first;
    const double dt = count.second;
    if (!(has_growth && m_options.growth)) {
      advance(x0, t0, dt, 0, steps, rng);
      return x0;
    }
    Eigen::MatrixXd x = std::move(x0);
    std::vector<char> events;
    for (std::uint32_t s = 0; s < steps; ++s) {
      events.assign(static_cast<std::size_t>(x.rows()), 0);
      core::parallel_for(x.rows(), [&](Eigen::Index begin, Eigen::Index end) {
        run_block(x, begin, end, t0 + s * dt, dt, s, 1, rng, 0, nullptr, &events, &rng);
      });
      Eigen::Index born = 0, died = 0;
      for (char e : events) {
        born += e == 1;
        died += e == 2;
      }
      if (born == 0 && died == 0) continue;
      const Eigen::Index n = x.rows() - died + born;
      if (n > m_options.max_cells) {
        core::detail::throw_invalid_argument("upfi::sde::simulator::population: the population reached ", n,
                                             " cells at t = ", t0 + (s + 1) * dt, " (max_cells = ", m_options.max_cells,
                                             "); start with fewer cells or raise max_cells");
      }
      Eigen::MatrixXd next(n, x.cols());
      Eigen::Index row = 0;
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        if (events[static_cast<std::size_t>(i)] != 2) next.row(row++) = x.row(i);
      }
      for (Eigen::Index i = 0; i < x.rows(); ++i) {
        if (events[static_cast<std::size_t>(i)] == 1) next.row(row++) = x.row(i);
      }
      x = std::move(next);
    }
    return x;
  }

  /// @brief Paths from the rows of x0 at times[0], recorded at every time in `times` (strictly increasing). With
  /// `weights` and a model with rates, also the log-weights int (b - d) dt (growth without branching).
  [[nodiscard]] path_ensemble paths(const Eigen::MatrixXd& x0, const std::vector<double>& times,
                                    const core::counter_rng& rng, bool weights = false) const {
    check_cloud(x0.cols(), "paths");
    check_times(times, "paths");
    path_ensemble out;
    out.times = times;
    Eigen::MatrixXd x = x0;
    Eigen::VectorXd logw = Eigen::VectorXd::Zero(x0.rows());
    const bool track = weights && has_growth;
    out.positions.push_back(x);
    if (track) out.log_weights.push_back(logw);
    std::uint32_t step = 0;
    for (std::size_t k = 1; k < times.size(); ++k) {
      const auto [steps, dt] = step_count(times[k - 1], times[k]);
      advance(x, times[k - 1], dt, step, steps, rng, track ? &logw : nullptr);
      step += steps;
      out.positions.push_back(x);
      if (track) out.log_weights.push_back(logw);
    }
    return out;
  }

  /// @brief Snapshots at `times` (>= 0, strictly increasing), each from an independent realisation started at t = 0
  /// with `initial(n0, rng)` cells (the papers' protocol). Branches when the model has rates and options.growth.
  /// Relative masses are the counts N_i / N_0.
  /// @tparam Initial callable `(Eigen::Index n, const core::counter_rng&) -> Eigen::MatrixXd` (n x d).
  template <class Initial>
  [[nodiscard]] core::snapshot_series<double> snapshots(const Initial& initial, Eigen::Index n0,
                                                        const std::vector<double>& times, std::uint64_t seed) const {
    check_times(times, "snapshots");
    if (times.front() < 0) {
      core::detail::throw_invalid_argument("upfi::sde::simulator::snapshots: times start at ", times.front(),
                                           "; realisations start at t = 0");
    }
    if (n0 < 1) core::detail::throw_invalid_argument("upfi::sde::simulator::snapshots: n0 must be >= 1");
    std::vector<Eigen::MatrixXd> clouds;
    for (std::size_t k = 0; k < times.size(); ++k) {
      const auto stream = static_cast<std::uint32_t>(3 * k);
      Eigen::MatrixXd x = initial(n0, core::counter_rng(seed, stream));
      if (x.rows() != n0 || x.cols() != dimension()) {
        core::detail::throw_invalid_argument("upfi::sde::simulator::snapshots: the initial sampler returned ", x.rows(),
                                             " x ", x.cols(), " for ", n0, " cells of dimension ", dimension());
      }
      clouds.push_back(times[k] > 0 ? population(std::move(x), 0.0, times[k], core::counter_rng(seed, stream + 1))
                                    : std::move(x));
      if (clouds.back().rows() == 0) {
        core::detail::throw_invalid_argument("upfi::sde::simulator::snapshots: every cell died before t = ", times[k],
                                             "; start with more cells");
      }
    }
    return core::snapshot_series<double>(times, std::move(clouds));
  }

 private:
  [[nodiscard]] Eigen::Index normals_per_step() const {
    const Eigen::Index m = m_noise.noise_dimension();
    return Stepper::uses_area ? 2 * m : m;
  }

  void check_cloud(Eigen::Index cols, const char* what) const {
    if (cols != dimension()) {
      core::detail::throw_invalid_argument("upfi::sde::simulator::", what, ": the cloud has ", cols,
                                           " columns but the model has dimension ", dimension());
    }
  }
  static void check_times(const std::vector<double>& times, const char* what) {
    if (times.empty()) core::detail::throw_invalid_argument("upfi::sde::simulator::", what, ": no time given");
    for (std::size_t k = 0; k < times.size(); ++k) {
      if (!std::isfinite(times[k]) || (k > 0 && !(times[k] > times[k - 1]))) {
        core::detail::throw_invalid_argument("upfi::sde::simulator::", what, ": time ", k, " = ", times[k],
                                             " is not finite or not greater than the previous one");
      }
    }
  }
  [[nodiscard]] std::pair<std::uint32_t, double> step_count(double t0, double t1) const {
    if (!(t1 >= t0)) {
      core::detail::throw_invalid_argument("upfi::sde::simulator: end time ", t1, " is before start time ", t0);
    }
    const double n = std::ceil((t1 - t0) / m_options.dt - 1e-9);
    if (n > 4.0e9 / static_cast<double>(std::max<std::uint32_t>(counters_per_step(), 1))) {
      core::detail::throw_invalid_argument("upfi::sde::simulator: ", n, " steps exceed the counter range");
    }
    const auto steps = static_cast<std::uint32_t>(std::max(n, 0.0));
    return {steps, steps == 0 ? 0.0 : (t1 - t0) / steps};
  }

  // Per-block scratch, reused for every particle (or batch) of the block: no allocation in the step loop.
  template <class T>
  struct workspace {
    std::vector<T> state, previous, scratch, dw, dz;
    std::vector<double> normals;  // scalar path: nn normals of one particle
    workspace(Eigen::Index d, Eigen::Index m, Eigen::Index nn)
        : state(static_cast<std::size_t>(d)),
          previous(static_cast<std::size_t>(d)),
          scratch(Stepper::scratch_size(d, m)),
          dw(static_cast<std::size_t>(m)),
          dz(static_cast<std::size_t>(m)),
          normals(static_cast<std::size_t>(nn + 1)) {}
  };

  // Loads, steps and stores particles [begin, end): SIMD batches first, scalar tail. With `events`, also draws
  // the division/death event of each particle at the end of the (single) step. Block boundaries are multiples of
  // the batch width (default_block_size is), so which particles take the scalar path depends on N only.
  template <class X>
  void run_block(X& x, Eigen::Index begin, Eigen::Index end, double t0, double dt, std::uint32_t first_step,
                 std::uint32_t steps, const core::counter_rng& rng, std::uint64_t first_index,
                 Eigen::VectorXd* log_weights, std::vector<char>* events, const core::counter_rng* event_rng) const {
    const Eigen::Index d = dimension(), m = m_noise.noise_dimension(), nn = normals_per_step();
    Eigen::Index i = begin;
    if constexpr (simd_capable && UPFI_SIMD_ENABLED) {
      if (m_options.simd && i + static_cast<Eigen::Index>(lanes) <= end) {
        workspace<batch> ws(d, m, nn);
        for (; i + static_cast<Eigen::Index>(lanes) <= end; i += static_cast<Eigen::Index>(lanes)) {
          run_particles(ws, x, i, t0, dt, first_step, steps, rng, first_index, log_weights, events, event_rng);
        }
      }
    }
    if (i < end) {
      workspace<double> ws(d, m, nn);
      for (; i < end; ++i) {
        run_particles(ws, x, i, t0, dt, first_step, steps, rng, first_index, log_weights, events, event_rng);
      }
    }
  }

  template <class T>
  static constexpr std::size_t width = std::is_same_v<T, double> ? 1 : lanes;

  template <class T>
  static T load(const double* p) {
    if constexpr (std::is_same_v<T, double>) {
      return *p;
    } else {
      return T::load_unaligned(p);
    }
  }
  template <class T>
  static void store(const T& v, double* p) {
    if constexpr (std::is_same_v<T, double>) {
      *p = v;
    } else {
      v.store_unaligned(p);
    }
  }

  // Brownian increments dW (and areas dZ) of particle(s) starting at `index` for one step.
  template <class T>
  void increments(workspace<T>& ws, std::uint64_t index, std::uint32_t counter, double sqrt_dt, double area_scale,
                  const core::counter_rng& rng) const {
    const Eigen::Index m = m_noise.noise_dimension(), nn = normals_per_step();
    const double inv_sqrt3 = 1.0 / std::numbers::sqrt3;
    // Normal j of the step comes from counter (counter + j / 2), slot j % 2; xi1 = normals [0, m), xi2 = [m, 2m).
    const auto normal = [&](Eigen::Index j, auto& pair_cache) -> T {
      if (j % 2 == 0) {
        if constexpr (std::is_same_v<T, double>) {
          const auto z = rng.normal_pair(index, counter + static_cast<std::uint32_t>(j / 2));
          pair_cache = {z[0], z[1]};
        } else {
          pair_cache = simd::normal_pair_batch(rng, index, counter + static_cast<std::uint32_t>(j / 2));
        }
      }
      return pair_cache[static_cast<std::size_t>(j % 2)];
    };
    std::array<T, 2> cache{};
    if constexpr (!Stepper::uses_area) {
      for (Eigen::Index j = 0; j < m; ++j) ws.dw[static_cast<std::size_t>(j)] = normal(j, cache) * sqrt_dt;
    } else {
      // dW_j = sqrt(dt) xi1_j, dZ_j = dt^{3/2} (xi1_j + xi2_j / sqrt(3)) / 2.
      for (Eigen::Index j = 0; j < nn; ++j) {
        const T z = normal(j, cache);
        const auto k = static_cast<std::size_t>(j % m);
        if (j < m) {
          ws.dw[k] = z * sqrt_dt;
          ws.dz[k] = z * area_scale;
        } else {
          ws.dz[k] = ws.dz[k] + z * (area_scale * inv_sqrt3);
        }
      }
    }
  }

  // One particle (T = double) or `lanes` consecutive particles (T = batch) starting at row i.
  template <class T, class X>
  void run_particles(workspace<T>& ws, X& x, Eigen::Index i, double t0, double dt, std::uint32_t first_step,
                     std::uint32_t steps, const core::counter_rng& rng, std::uint64_t first_index,
                     Eigen::VectorXd* log_weights, std::vector<char>* events,
                     const core::counter_rng* event_rng) const {
    constexpr std::size_t w = width<T>;
    const Eigen::Index d = dimension();
    const auto du = static_cast<std::size_t>(d);
    alignas(64) std::array<double, w> lane_buffer{};
    for (Eigen::Index k = 0; k < d; ++k) {
      if constexpr (w == 1) {
        ws.state[static_cast<std::size_t>(k)] = x(i, k);
      } else {
        for (std::size_t l = 0; l < w; ++l) lane_buffer[l] = x(i + static_cast<Eigen::Index>(l), k);
        ws.state[static_cast<std::size_t>(k)] = T::load_unaligned(lane_buffer.data());
      }
    }
    T logw(0);
    if (log_weights != nullptr) logw = load<T>(log_weights->data() + i);
    const double sqrt_dt = std::sqrt(dt);
    const double area_scale = 0.5 * dt * sqrt_dt;
    const std::uint32_t cps = counters_per_step();
    const std::uint64_t index = first_index + static_cast<std::uint64_t>(i);
    for (std::uint32_t s = 0; s < steps; ++s) {
      const std::uint32_t step = first_step + s;
      const double t = t0 + s * dt;
      increments(ws, index, step * cps, sqrt_dt, area_scale, rng);
      if constexpr (has_growth) {
        if (log_weights != nullptr) {
          logw = logw + (detail::birth_of<Model, T>(m_model, t, ws.state.data()) -
                         detail::death_of<Model, T>(m_model, t, ws.state.data())) *
                            dt;
        }
      }
      if (m_positivity != positivity::none) ws.previous = ws.state;
      m_stepper.step(m_model, m_noise, t, dt, ws.state.data(), ws.dw.data(), ws.dz.data(), ws.scratch.data());
      if (m_positivity == positivity::reject) {
        for (std::size_t k = 0; k < du; ++k) {
          ws.state[k] = detail::if_else(ws.state[k] < T(0), ws.previous[k], ws.state[k]);
        }
      } else if (m_positivity == positivity::reflect) {
        using std::abs;
        for (std::size_t k = 0; k < du; ++k) ws.state[k] = abs(ws.state[k]);
      }
    }
    for (Eigen::Index k = 0; k < d; ++k) {
      if constexpr (w == 1) {
        x(i, k) = ws.state[static_cast<std::size_t>(k)];
      } else {
        ws.state[static_cast<std::size_t>(k)].store_unaligned(lane_buffer.data());
        for (std::size_t l = 0; l < w; ++l) x(i + static_cast<Eigen::Index>(l), k) = lane_buffer[l];
      }
    }
    if (log_weights != nullptr) store<T>(logw, log_weights->data() + i);
    if constexpr (has_growth) {
      if (events != nullptr) draw_events<T>(ws, i, t0 + steps * dt, dt, first_step, *events, *event_rng);
    }
  }

  // Division (1) or death (2) of the particle(s) at row i after the step, with the (b + d) dt guard.
  template <class T>
  void draw_events(workspace<T>& ws, Eigen::Index i, double t, double dt, std::uint32_t step, std::vector<char>& events,
                   const core::counter_rng& rng) const {
    constexpr std::size_t w = width<T>;
    alignas(64) std::array<double, w> birth{}, death{};
    store<T>(detail::birth_of<Model, T>(m_model, t, ws.state.data()), birth.data());
    store<T>(detail::death_of<Model, T>(m_model, t, ws.state.data()), death.data());
    const core::counter_rng event_rng = rng.with_stream(rng.stream() + 1);
    for (std::size_t l = 0; l < w; ++l) {
      const double pb = birth[l] * dt, pd = death[l] * dt;
      const auto row = i + static_cast<Eigen::Index>(l);
      if (!(pb >= 0 && pd >= 0) || pb + pd > m_options.max_event_probability) {
        core::detail::throw_invalid_argument("upfi::sde::simulator: (b + d) dt = ", pb + pd, " (b = ", birth[l],
                                             ", d = ", death[l], ") at cell ", row, ", t = ", t,
                                             " exceeds max_event_probability = ", m_options.max_event_probability,
                                             "; use dt <= ", m_options.max_event_probability / (birth[l] + death[l]),
                                             " or check that the rates are finite and non-negative");
      }
      const double u = event_rng.uniform(static_cast<std::uint64_t>(row), step);
      events[static_cast<std::size_t>(row)] = u < pb ? 1 : (u < pb + pd ? 2 : 0);
    }
  }

  Model m_model;
  Noise m_noise;
  simulate_options m_options;
  Stepper m_stepper;
  positivity m_positivity = positivity::none;
};

}  // namespace upfi::sde
