// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Noise-conditional denoising score matching (algorithms.md §2.1, §8.5): one MLP over (t, x, eta) trained on
/// all snapshots at once, then evaluated at the smallest noise level (frozen) as the score of stage 2.
///
/// Loss per batch (B rows, snapshot i_b, sample x_b, level eta_b, z_b ~ N(0, I), x~ = x + eta z):
///   L = (1 / B) sum_b eta_b^2 / 2 |s(t_b, x~_b, eta_b) + z_b / eta_b|^2.
/// The network output is the score itself (dsm_parametrisation::score, default, as in the papers) or eta s
/// (noise_scaled, NCSN's s = net / eta, whose regression target -z has unit scale at every level); both minimise the
/// same loss over the same function class. Inputs [x, eta, t] are standardised with the
/// mean and standard deviation of a noisy sample drawn like the training batches. Batches are time-balanced (row b of
/// iteration k uses snapshot (b + k) mod K), noise is redrawn at every step, and every random number is a counter-
/// based function of (seed, iteration, row): the same seed gives the same network for any thread count. With
/// dsm_options::per_dimension_noise the noise of coordinate j is eta c_j z_j (c_j its width relative to the widest
/// coordinate) and the loss |eta c s + z|^2 / 2: the frozen score is that of the data smoothed by N(0, eta^2
/// diag(c^2)).

#include <upfi/concepts/score.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/nn/optimizer.hpp>
#include <upfi/ot/energy_distance.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace upfi::score {

/// @brief Noise levels eta_l log-spaced from `smallest` to `largest` (L levels, smallest first).
[[nodiscard]] inline std::vector<double> log_spaced_noise_levels(int levels, double smallest, double largest) {
  if (levels < 1 || !(smallest > 0) || !(largest >= smallest) || !std::isfinite(largest)) {
    core::detail::throw_invalid_argument("upfi::score::log_spaced_noise_levels: need levels >= 1 and 0 < smallest (",
                                         smallest, ") <= largest (", largest, "), got levels = ", levels);
  }
  std::vector<double> eta(static_cast<std::size_t>(levels));
  for (int l = 0; l < levels; ++l) {
    const double f = levels == 1 ? 0.0 : static_cast<double>(l) / (levels - 1);
    eta[static_cast<std::size_t>(l)] = std::exp(std::log(smallest) + f * (std::log(largest) - std::log(smallest)));
  }
  return eta;
}

/// @brief What the network outputs: the score s, or eta s (s = net / eta).
enum class dsm_parametrisation { score, noise_scaled };

/// @brief Hyper-parameters of train_dsm (defaults: UPFI Table 5, bistable d <= 10).
struct dsm_options {
  std::vector<Eigen::Index> hidden = {64, 64, 64};
  nn::activation activation =
      nn::activation::silu;  ///< the papers use ReLU; SiLU is smoother and more accurate (docs/score.md)
  std::vector<double> noise_levels = log_spaced_noise_levels(5, std::exp(-2.0), 1.0);
  long iterations = 25000;
  Eigen::Index batch = 256;
  double learning_rate = 3e-3;
  double weight_decay = 1e-2;  ///< AdamW (decoupled)
  bool cosine_decay = false;   ///< cosine learning-rate schedule to 0 over the iterations
  double clip_norm = 0;        ///< > 0: clip the gradient norm
  std::uint64_t seed = 0;
  long report_every = 500;  ///< callback period (iterations); the reported loss is the mean over the period
  dsm_parametrisation parametrisation = dsm_parametrisation::score;
  /// Noise of coordinate j = eta c_j instead of eta, with c_j = s_j / max_k s_k and s_j^2 the mean over snapshots of
  /// the within-snapshot variance of coordinate j: a coordinate much narrower than the others is smoothed in
  /// proportion to its own width, not over-smoothed by the wide coordinates' levels (bistable d = 5: the confined
  /// coordinates, sd 0.06, against the smallest level 0.135; docs/score.md). Needs every coordinate to vary.
  bool per_dimension_noise = false;
};

/// @brief What the progress callback receives.
struct dsm_progress {
  long iteration = 0;  ///< iterations done
  double loss = 0;     ///< mean batch loss over the last report period
  double seconds = 0;  ///< wall time since training started
};

/// @brief Outcome of training: the loss history (one entry per report period) and the wall time.
struct dsm_report {
  std::vector<double> losses;
  double seconds = 0;
  long iterations = 0;
};

/// @brief A trained noise-conditional score network s(t, x, eta) = net(x, eta, t) (or net / (eta c), see
/// dsm_parametrisation and noise_scale()), evaluated at a frozen noise level. Models ScoreModelWithVjp.
class dsm_score {
 public:
  /// @param network MLP with inputs d + 2 ([x, eta, t]), outputs d and no separate time input.
  /// @param noise_levels training levels; @param evaluation_noise the frozen level (default: the smallest).
  /// @param noise_scale per-coordinate factors c of the noise (eta c_j on coordinate j; empty: all 1), see
  /// dsm_options::per_dimension_noise.
  dsm_score(nn::mlp<double> network, std::vector<double> noise_levels, double evaluation_noise = 0,
            dsm_parametrisation parametrisation = dsm_parametrisation::score, Eigen::VectorXd noise_scale = {})
      : m_net(std::move(network)),
        m_levels(std::move(noise_levels)),
        m_param(parametrisation),
        m_scale(std::move(noise_scale)) {
    constexpr const char* who = "upfi::score::dsm_score";
    if (m_net.options().time_input || m_net.outputs() + 2 != m_net.inputs()) {
      core::detail::throw_invalid_argument(who, ": the network must map [x, eta, t] (d + 2 inputs) to d outputs, ",
                                           "got ", m_net.inputs(), " inputs, ", m_net.outputs(),
                                           " outputs, time input ", m_net.options().time_input ? "on" : "off");
    }
    if (m_scale.size() == 0) m_scale = Eigen::VectorXd::Ones(m_net.outputs());
    if (m_scale.size() != m_net.outputs() || !(m_scale.array() > 0).all() || !m_scale.allFinite()) {
      core::detail::throw_invalid_argument(who, ": the noise scale needs ", m_net.outputs(),
                                           " finite positive factors, got ", m_scale.size());
    }
    if (m_levels.empty()) core::detail::throw_invalid_argument(who, ": no noise levels");
    for (double e : m_levels) {
      if (!(e > 0) || !std::isfinite(e)) core::detail::throw_invalid_argument(who, ": noise level ", e, " is not > 0");
    }
    set_evaluation_noise(evaluation_noise == 0 ? *std::min_element(m_levels.begin(), m_levels.end())
                                               : evaluation_noise);
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_net.outputs(); }
  [[nodiscard]] const std::vector<double>& noise_levels() const noexcept { return m_levels; }
  [[nodiscard]] double evaluation_noise() const noexcept { return m_eval; }
  void set_evaluation_noise(double eta) {
    if (!(eta > 0) || !std::isfinite(eta)) {
      core::detail::throw_invalid_argument("upfi::score::dsm_score: evaluation noise ", eta, " must be > 0");
    }
    m_eval = eta;
  }
  [[nodiscard]] dsm_parametrisation parametrisation() const noexcept { return m_param; }
  /// @brief The per-coordinate noise factors c (all 1 unless trained with per_dimension_noise).
  [[nodiscard]] const Eigen::VectorXd& noise_scale() const noexcept { return m_scale; }
  [[nodiscard]] nn::mlp<double>& network() noexcept { return m_net; }
  [[nodiscard]] const nn::mlp<double>& network() const noexcept { return m_net; }

  /// @brief Score at the frozen noise level.
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    evaluate_at_noise(t, x, m_eval, out);
  }
  /// @brief RecordingScoreModel interface: the network's forward workspace.
  using record_type = nn::mlp_workspace<double>;
  /// @brief Score at the frozen noise level, keeping the network's intermediates in `record` for vjp_x(record, ...).
  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out, record_type& record) const {
    m_net.forward(t, with_noise_column(x, m_eval, t, "evaluate"), out, record);
    unscale(out, m_eval);
  }
  /// @brief Score of the data smoothed at noise level eta (the network's conditioning input).
  void evaluate_at_noise(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, double eta, Eigen::MatrixXd& out) const {
    const Eigen::MatrixXd in = with_noise_column(x, eta, t, "evaluate");
    m_net.evaluate(t, in, out);
    unscale(out, eta);
  }
  /// @brief dX = C ds/dx at the frozen noise level (the noise column is held fixed).
  void vjp_x(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
             Eigen::MatrixXd& out) const {
    const Eigen::MatrixXd in = with_noise_column(x, m_eval, t, "vjp_x");
    if (cot.rows() != x.rows() || cot.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::score::dsm_score::vjp_x: cotangent must be N x d");
    }
    Eigen::MatrixXd g, dy = cot;
    unscale(dy, m_eval);
    m_net.vjp(t, in, dy, &g, nullptr);
    out = g.leftCols(dimension());
  }
  /// @brief vjp_x at the point of the evaluation that filled `record` (no second forward pass).
  void vjp_x(const record_type& record, const Eigen::Ref<const Eigen::MatrixXd>& cot, Eigen::MatrixXd& out) const {
    if (cot.cols() != dimension() || record.a.empty() || cot.rows() != record.a[0].rows()) {
      core::detail::throw_invalid_argument("upfi::score::dsm_score::vjp_x: cotangent is ", cot.rows(), " x ",
                                           cot.cols(), ", the recorded evaluation ",
                                           record.a.empty() ? 0 : record.a[0].rows(), " x ", dimension());
    }
    Eigen::MatrixXd g, dy = cot;
    unscale(dy, m_eval);
    m_net.vjp(record, dy, &g, nullptr);
    out = g.leftCols(dimension());
  }

 private:
  // noise_scaled: the network outputs eta c_j s_j, so s = output / (eta c) (and the VJP's cotangent likewise)
  void unscale(Eigen::MatrixXd& m, double eta) const {
    if (m_param == dsm_parametrisation::noise_scaled) m.array().rowwise() /= (eta * m_scale.array()).transpose();
  }

  [[nodiscard]] Eigen::MatrixXd with_noise_column(const Eigen::Ref<const Eigen::MatrixXd>& x, double eta, double t,
                                                  const char* what) const {
    if (x.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::score::dsm_score::", what, ": cloud has ", x.cols(),
                                           " columns, expected ", dimension());
    }
    if (!std::isfinite(t)) core::detail::throw_invalid_argument("upfi::score::dsm_score::", what, ": t is not finite");
    Eigen::MatrixXd in(x.rows(), dimension() + 2);
    in.leftCols(dimension()) = x;
    in.col(dimension()).setConstant(eta);
    in.col(dimension() + 1).setConstant(t);
    return in;
  }

  nn::mlp<double> m_net;
  std::vector<double> m_levels;
  dsm_parametrisation m_param;
  Eigen::VectorXd m_scale;
  double m_eval = 0;
};

namespace detail {
/// One DSM batch, a pure function of (seed, iteration): network inputs [x~, eta, t] (B x (d+2)) and noises z (B x d).
struct dsm_batch {
  Eigen::MatrixXd input;
  Eigen::MatrixXd z;
};
/// Coordinate j gets noise eta scale_j z_j.
inline void draw_dsm_batch(const core::snapshot_series<double>& data, const std::vector<double>& levels,
                           const Eigen::VectorXd& scale, std::uint64_t seed, long iteration, Eigen::Index batch,
                           dsm_batch& out) {
  const Eigen::Index d = data.dimension();
  const auto k = static_cast<long>(data.size());
  const core::counter_rng rng(seed, static_cast<std::uint32_t>(iteration));
  out.input.resize(batch, d + 2);
  out.z.resize(batch, d);
  Eigen::MatrixXd u(batch, 2);
  rng.fill_uniform(u, 0);
  rng.fill_normal(out.z, 1);
  for (Eigen::Index b = 0; b < batch; ++b) {
    const auto i = static_cast<std::size_t>((b + iteration) % k);
    const auto& cloud = data.cloud(i);
    const auto row = std::min<Eigen::Index>(cloud.rows() - 1,
                                            static_cast<Eigen::Index>(u(b, 0) * static_cast<double>(cloud.rows())));
    const auto level = std::min<std::size_t>(levels.size() - 1,
                                             static_cast<std::size_t>(u(b, 1) * static_cast<double>(levels.size())));
    const double eta = levels[level];
    out.input.row(b).head(d) = cloud.row(row) + eta * out.z.row(b).cwiseProduct(scale.transpose());
    out.input(b, d) = eta;
    out.input(b, d + 1) = data.time(i);
  }
}

/// Loss and its gradient w.r.t. the network outputs y (B x d) of one batch, with noise eta c_j on coordinate j:
/// sum_j (eta c_j)^2 / 2 |s_j + z_j / (eta c_j)|^2 = |eta c s + z|^2 / 2, with eta c s = y (noise_scaled) or eta c y
/// (score). With c = 1 this is eta^2 / 2 |s + z / eta|^2.
inline double dsm_loss(const dsm_batch& batch, const Eigen::VectorXd& scale, const Eigen::MatrixXd& y,
                       dsm_parametrisation param, Eigen::MatrixXd* dy) {
  const Eigen::Index d = y.cols();
  // (eta_b c_j): the factor between the score and the unit-scale residual
  const Eigen::ArrayXXd w = batch.input.col(d) * scale.transpose();
  const Eigen::MatrixXd r = param == dsm_parametrisation::score ? Eigen::MatrixXd((y.array() * w).matrix() + batch.z)
                                                                : Eigen::MatrixXd(y + batch.z);
  const auto b = static_cast<double>(y.rows());
  if (dy != nullptr) {
    *dy = param == dsm_parametrisation::score ? Eigen::MatrixXd((r.array() * w).matrix() / b) : Eigen::MatrixXd(r / b);
  }
  return 0.5 * r.squaredNorm() / b;
}

/// The per-coordinate noise factors of dsm_options::per_dimension_noise: c_j = s_j / max_k s_k, s_j^2 the mean over
/// snapshots of the within-snapshot variance of coordinate j (all 1 when the option is off).
inline Eigen::VectorXd dsm_noise_scale(const core::snapshot_series<double>& data, bool per_dimension) {
  const Eigen::Index d = data.dimension();
  if (!per_dimension) return Eigen::VectorXd::Ones(d);
  Eigen::VectorXd var = Eigen::VectorXd::Zero(d);
  for (std::size_t k = 0; k < data.size(); ++k) {
    const Eigen::MatrixXd& x = data.cloud(k);
    const Eigen::RowVectorXd mean = x.colwise().mean();
    var += ((x.rowwise() - mean).array().square().colwise().sum() / static_cast<double>(x.rows())).matrix().transpose();
  }
  const Eigen::VectorXd sd = (var / static_cast<double>(data.size())).cwiseSqrt();
  for (Eigen::Index j = 0; j < d; ++j) {
    if (!(sd[j] > 0)) {
      core::detail::throw_invalid_argument("upfi::score::dsm_trainer: coordinate ", j,
                                           " does not vary within any snapshot; per_dimension_noise needs every "
                                           "coordinate to vary");
    }
  }
  return sd / sd.maxCoeff();
}

}  // namespace detail

/// @brief Step-by-step DSM training (train_dsm runs it to the end): construct, call step() as often as wanted (each
/// returns the batch loss), read model(). The data must outlive the trainer.
class dsm_trainer {
 public:
  /// @throws std::invalid_argument on invalid options.
  dsm_trainer(const core::snapshot_series<double>& data, const dsm_options& options)
      : m_data(&data), m_o(options), m_model(make_model(data, options)), m_opt(1) {
    nn::mlp<double>& f = m_model.network();
    // standardisation from a noisy sample drawn like the batches (its own seed)
    detail::dsm_batch probe;
    detail::draw_dsm_batch(data, options.noise_levels, m_model.noise_scale(), options.seed ^ 0x5eedf00dULL, 0, 4096,
                           probe);
    const Eigen::RowVectorXd mean = probe.input.colwise().mean();
    Eigen::RowVectorXd sd = ((probe.input.rowwise() - mean).array().square().colwise().mean()).sqrt().matrix();
    for (Eigen::Index q = 0; q < sd.size(); ++q)
      if (!(sd[q] > 0)) sd[q] = 1;
    f.set_standardisation(mean, sd);
    m_opt =
        nn::adam(f.parameter_count(), {.learning_rate = options.learning_rate, .weight_decay = options.weight_decay});
    m_grad.resize(f.parameter_count());
  }

  /// @brief One AdamW step on a fresh batch; returns its loss. @throws upfi::core::error if the loss is not finite.
  double step() {
    nn::mlp<double>& f = m_model.network();
    detail::draw_dsm_batch(*m_data, m_o.noise_levels, m_model.noise_scale(), m_o.seed, m_iteration, m_o.batch, m_batch);
    m_grad.setZero();
    f.forward(0.0, m_batch.input, m_y, m_ws);
    const double loss = detail::dsm_loss(m_batch, m_model.noise_scale(), m_y, m_o.parametrisation, &m_dy);
    if (!std::isfinite(loss)) {
      UPFI_THROW(core::error(core::detail::message("upfi::score::dsm_trainer: the loss is not finite at iteration ",
                                                   m_iteration, "; lower the learning rate or set clip_norm")));
    }
    f.vjp(m_ws, m_dy, nullptr, &m_grad);
    if (m_o.clip_norm > 0) (void)nn::clip_by_norm(m_grad, m_o.clip_norm);
    const double lr =
        m_o.cosine_decay ? nn::cosine_schedule(m_o.learning_rate, m_iteration, std::max(1L, m_o.iterations)) : -1.0;
    m_opt.step(f.parameters(), m_grad, lr);
    ++m_iteration;
    return loss;
  }

  [[nodiscard]] long iteration() const noexcept { return m_iteration; }
  [[nodiscard]] const dsm_score& model() const noexcept { return m_model; }
  [[nodiscard]] dsm_score& model() noexcept { return m_model; }

 private:
  static dsm_score make_model(const core::snapshot_series<double>& data, const dsm_options& o) {
    if (o.iterations < 0 || o.batch < 1 || o.report_every < 1 || !(o.learning_rate > 0) || !(o.weight_decay >= 0) ||
        !(o.clip_norm >= 0)) {
      core::detail::throw_invalid_argument("upfi::score::dsm_trainer: need iterations >= 0, batch >= 1, report_every ",
                                           ">= 1, learning_rate > 0, weight_decay >= 0 and clip_norm >= 0");
    }
    const Eigen::Index d = data.dimension();
    nn::mlp<double> net({.inputs = d + 2,
                         .outputs = d,
                         .hidden = o.hidden,
                         .hidden_activation = o.activation,
                         .init = o.activation == nn::activation::relu ? nn::initialisation::he_normal
                                                                      : nn::initialisation::xavier_normal},
                        o.seed);
    return {std::move(net), o.noise_levels, 0.0, o.parametrisation,  // validates the levels
            detail::dsm_noise_scale(data, o.per_dimension_noise)};
  }

  const core::snapshot_series<double>* m_data;
  dsm_options m_o;
  dsm_score m_model;
  nn::adam m_opt;
  long m_iteration = 0;
  detail::dsm_batch m_batch;
  nn::mlp_workspace<double> m_ws;
  Eigen::MatrixXd m_y, m_dy;
  Eigen::VectorXd m_grad;
};

/// @brief Trains a noise-conditional score network on all snapshots (algorithms.md §2.1). `progress` (optional) is
/// called every options.report_every iterations and at the end.
/// @throws std::invalid_argument on invalid options; upfi::core::error if the loss becomes non-finite (the message
/// names the iteration; lower the learning rate or enable clipping).
[[nodiscard]] inline dsm_score train_dsm(const core::snapshot_series<double>& data, const dsm_options& options = {},
                                         const std::function<void(const dsm_progress&)>& progress = {},
                                         dsm_report* report = nullptr) {
  dsm_trainer trainer(data, options);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  double period_loss = 0;
  long period = 0;
  dsm_report local;
  for (long it = 0; it < options.iterations; ++it) {
    period_loss += trainer.step();
    ++period;
    if (period == options.report_every || it + 1 == options.iterations) {
      local.losses.push_back(period_loss / static_cast<double>(period));
      if (progress) progress({it + 1, local.losses.back(), elapsed()});
      period_loss = 0;
      period = 0;
    }
  }
  local.seconds = elapsed();
  local.iterations = options.iterations;
  if (report != nullptr) *report = std::move(local);
  return std::move(trainer.model());
}

/// @brief Held-out denoising loss of a trained model on `data` (e.g. a validation split), averaged over
/// `repeats` batches of `batch` rows drawn with `seed` at every training noise level: the same quantity training
/// minimises, so it is comparable with the training loss history.
[[nodiscard]] inline double denoising_loss(const dsm_score& model, const core::snapshot_series<double>& data,
                                           std::uint64_t seed, long repeats = 20, Eigen::Index batch = 1024) {
  if (data.dimension() != model.dimension()) {
    core::detail::throw_invalid_argument("upfi::score::denoising_loss: data have dimension ", data.dimension(),
                                         ", the model ", model.dimension());
  }
  detail::dsm_batch b;
  Eigen::MatrixXd y;
  double total = 0;
  for (long r = 0; r < repeats; ++r) {
    detail::draw_dsm_batch(data, model.noise_levels(), model.noise_scale(), seed, r, batch, b);
    model.network().evaluate(0.0, b.input, y);
    total += detail::dsm_loss(b, model.noise_scale(), y, model.parametrisation(), nullptr);
  }
  return total / static_cast<double>(repeats);
}

/// @brief Options of annealed Langevin sampling (algorithms.md §2.2).
struct langevin_options {
  int steps_per_level = 100;
  double step_scale = 1e-4;  ///< alpha_l = step_scale eta_l^2 / eta_min^2
  std::uint64_t seed = 0;
};

/// @brief Annealed Langevin dynamics at time t from the initial cloud `x` (N x d): for each noise level from the
/// largest to the smallest, `steps_per_level` updates x <- x + alpha/2 c^2 s(t, x, eta) + sqrt(alpha) c z, with c the
/// model's noise_scale() (all 1 by default): the preconditioned Langevin step, whose stationary law is unchanged and
/// which stays stable in coordinates narrower than eta.
[[nodiscard]] inline Eigen::MatrixXd annealed_langevin(const dsm_score& model, double t, Eigen::MatrixXd x,
                                                       const langevin_options& options = {}) {
  if (x.cols() != model.dimension() || options.steps_per_level < 0 || !(options.step_scale > 0)) {
    core::detail::throw_invalid_argument("upfi::score::annealed_langevin: initial cloud must be N x d, ",
                                         "steps_per_level >= 0 and step_scale > 0");
  }
  std::vector<double> levels = model.noise_levels();
  std::sort(levels.begin(), levels.end(), std::greater<>());
  const double eta_min = levels.back();
  Eigen::MatrixXd s, z(x.rows(), x.cols());
  std::uint32_t counter = 0;
  const core::counter_rng rng(options.seed);
  const Eigen::Array<double, 1, Eigen::Dynamic> c = model.noise_scale().transpose().array(), c2 = c.square();
  for (double eta : levels) {
    const double alpha = options.step_scale * eta * eta / (eta_min * eta_min);
    for (int k = 0; k < options.steps_per_level; ++k) {
      model.evaluate_at_noise(t, x, eta, s);
      rng.fill_normal(z, counter);
      counter += static_cast<std::uint32_t>(core::counter_rng::counters_per_vector(x.cols()));
      x.array() += (0.5 * alpha * s.array()).rowwise() * c2 + (std::sqrt(alpha) * z.array()).rowwise() * c;
    }
  }
  return x;
}

/// @brief Validation by sampling: for each snapshot, annealed Langevin from a Gaussian with the snapshot's mean and
/// standard deviations (as many points as the snapshot, capped at max_points) compared with the data by the energy
/// distance. Returns one distance per snapshot.
[[nodiscard]] inline std::vector<double> langevin_energy_distances(const dsm_score& model,
                                                                   const core::snapshot_series<double>& data,
                                                                   const langevin_options& options = {},
                                                                   Eigen::Index max_points = 2000) {
  std::vector<double> out;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const Eigen::MatrixXd& c = data.cloud(i);
    const Eigen::Index n = std::min(c.rows(), max_points);
    const Eigen::RowVectorXd mean = c.colwise().mean();
    const Eigen::RowVectorXd sd = ((c.rowwise() - mean).array().square().colwise().mean()).sqrt().matrix();
    Eigen::MatrixXd x0(n, c.cols());
    core::counter_rng(options.seed, 1000 + static_cast<std::uint32_t>(i)).fill_normal(x0, 0);
    x0 = ((x0.array().rowwise() * sd.array()).rowwise() + mean.array()).matrix();
    langevin_options o = options;
    o.seed = options.seed + 7919 * (i + 1);
    const Eigen::MatrixXd samples = annealed_langevin(model, data.time(i), std::move(x0), o);
    out.push_back(ot::energy_distance<double>(samples, c.topRows(n)));
  }
  return out;
}

static_assert(ScoreModelWithVjp<dsm_score>);

}  // namespace upfi::score
