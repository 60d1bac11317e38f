// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief UPFI or PFI on any snapshot series in one call, with a model that lives in the data's own units: fit,
/// evaluate drift and growth on clouds, simulate, save and reload. This is what the `upfi` program runs.
///
/// The data are first put on a common scale: x -> (x - mean) / s with one scale s for all coordinates (the pooled
/// RMS standard deviation, so distances keep their geometry) and t -> (t - t_0) / (t_K - t_0). The papers' defaults
/// (Sinkhorn blur 0.1, reach 5, networks 64-64-64) then mean the same thing on every dataset. The fitted model maps
/// back: v(t, x) = (s / T) v_z, g(t, x) = g_z / T and D = s^2 D_z / T, where T = t_K - t_0.
///
/// Two noise models (fit_options::noise): additive, dX = v dt + sqrt(2 D) dB with one D; and the chemical Langevin
/// form for concentrations (algorithms.md §1.2; UPFI's multiplicative model with linear degradation), drift
/// v = p(x) - lambda x with a production network p >= 0 (softplus output) and degradation rates lambda (known, or
/// learned from a start), and noise D(x) = diag(p + lambda x) / 2V for a system size V. Concentrations are not
/// shifted (mean 0 in the scaling): x -> x / s, and then lambda_z = T lambda and V_z = s V.
///
///     auto fit = upfi::infer::fit_snapshots(data, {.method = upfi::infer::fit_method::upfi});
///     Eigen::MatrixXd v;
///     fit.model.drift(data.time(1), data.cloud(1), v);
///     upfi::infer::write_model_file("model.upfi", fit.model.to_file());

#include <upfi/core/detail/parse_finite.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/flow/chemical_langevin_flow.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/infer/model_file.hpp>
#include <upfi/infer/simulate.hpp>
#include <upfi/infer/step_check.hpp>
#include <upfi/nn/linear_degradation_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/score/dsm.hpp>
#include <upfi/score/ensemble.hpp>
#include <upfi/score/kernel_score.hpp>

#include <Eigen/Core>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace upfi::infer {

/// @brief UPFI (drift + growth, unbalanced divergence) or PFI (drift only, balanced).
enum class fit_method { upfi, pfi };

/// @brief "upfi" or "pfi".
[[nodiscard]] inline const char* fit_method_name(fit_method m) noexcept {
  return m == fit_method::upfi ? "upfi" : "pfi";
}

/// @brief Whether the fitted networks (the drift, and the growth for UPFI) take time as an input.
enum class time_dependence {
  automatic,      ///< the papers' choices: autonomous for UPFI, time-dependent for PFI
  autonomous,     ///< f(x), g(x): what lets scan_diffusion identify D (a wrong D cannot be absorbed at every time)
  time_dependent  ///< f(x, t), g(x, t): for dynamics that change with time (a time course driven by a stimulus);
                  ///< the leave-one-out curve over D then flattens, and the networks extrapolate poorly in time
};

/// @brief "automatic", "autonomous" or "time-dependent".
[[nodiscard]] inline const char* time_dependence_name(time_dependence t) noexcept {
  switch (t) {
    case time_dependence::autonomous:
      return "autonomous";
    case time_dependence::time_dependent:
      return "time-dependent";
    default:
      return "automatic";
  }
}

/// @brief The noise model of fit_snapshots.
enum class noise_model {
  additive,          ///< dX = v dt + sqrt(2 D) dB with one D (fit_options::diffusion)
  chemical_langevin  ///< concentrations: v = p(x) - lambda x, D(x) = diag(p + lambda x) / 2V (fit_options::volume,
                     ///< fit_options::degradation)
};

/// @brief "additive" or "chemical-langevin".
[[nodiscard]] inline const char* noise_model_name(noise_model n) noexcept {
  return n == noise_model::additive ? "additive" : "chemical-langevin";
}

/// @brief How the score of stage 1 is estimated.
enum class score_estimator {
  kernel,  ///< training-free Gaussian kernel density score (fast; the default)
  dsm      ///< denoising score matching network (the papers' estimator)
};

/// @brief The additive D of fit_snapshots when fit_options::diffusion is 0, in the normalised units (one pooled
/// standard deviation, one time span): 0.05 s^2 / T in the data's units.
inline constexpr double automatic_normalised_diffusion = 0.05;

/// @brief Options of fit_snapshots. Diffusion and time are in the data's units.
struct fit_options {
  fit_method method = fit_method::upfi;
  /// D of the isotropic noise model (dX = ... + sqrt(2 D) dB), in coordinates^2 per time unit; 0: D_z = 0.05 in
  /// the normalised units (a mild noise level; choose it with infer::scan_diffusion when it matters).
  double diffusion = 0;
  std::vector<Eigen::Index> hidden = {64, 64, 64};
  time_dependence networks = time_dependence::automatic;  ///< whether drift (and growth) see time
  score_estimator score = score_estimator::kernel;
  long dsm_iterations = 10000;        ///< score = dsm
  int dsm_members = 1;                ///< score = dsm: the mean of this many networks (score::train_dsm_ensemble)
  Eigen::Index score_samples = 2000;  ///< score = kernel: at most this many points per snapshot
  long iterations = 2000;
  Eigen::Index batch = 128;
  double lambda = 1e-3;  ///< WFR regulariser weight
  /// Sinkhorn blur (eps = blur^2) in the normalised units (one pooled standard deviation = 1); the papers' 0.1
  double blur = 0.1;
  /// UPFI: the unbalanced divergence's reach (rho = reach^2) in the normalised units; the papers' 5 (PFI: balanced)
  double reach = 5;
  /// >= 0: train on relative masses smoothed by a least-squares polynomial of this degree in time
  /// (core::snapshot_series::with_smoothed_masses), for counted masses that scatter around a smooth trend; < 0: the
  /// masses as given
  int mass_smoothing = -1;
  /// in [0, 1): the fitted networks are the mean of the parameter iterates of this last fraction of the iterations
  /// (Polyak-Ruppert tail averaging, flow_training_options::average_tail); 0: the last iterate
  double average_tail = 0;
  /// steps of `stepper` per interval of the probability flow in stage 2 (flow_training_options::steps)
  int steps = 2;
  flow::tableau stepper = flow::euler();
  std::uint64_t seed = 0;
  long report_every = 100;
  /// after training, push up to step_check_cells cells of every snapshot to the next time with `steps` and with this
  /// many RK4 steps, doubled up to 5 times where they are unstable (infer::step_check, fit_result::step_check); 0: skip
  /// the check
  int step_check_steps = 10;
  Eigen::Index step_check_cells = 500;
  /// additive (`diffusion`) or chemical_langevin (`volume`, `degradation`, `learn_degradation`; data >= 0)
  noise_model noise = noise_model::additive;
  /// chemical_langevin: the system size V in the data's units (D = diag(p + lambda x) / 2V: the variance of a level x
  /// grows like x / V); must be > 0
  double volume = 0;
  /// chemical_langevin: the degradation rates lambda per time unit, one per coordinate or one for all (> 0)
  Eigen::VectorXd degradation{};
  /// chemical_langevin: learn the rates (through their logarithms) from `degradation` as the start; false: they are
  /// known (a measured mRNA half-life gives lambda = ln 2 / half-life)
  bool learn_degradation = false;
};

/// @brief Whether fit_snapshots with these options gives its networks time as an input (fit_options::networks, with
/// `automatic` resolved by the method).
[[nodiscard]] inline bool networks_see_time(const fit_options& o) noexcept {
  if (o.networks == time_dependence::automatic) return o.method == fit_method::pfi;
  return o.networks == time_dependence::time_dependent;
}

/// @brief The affine map between the data's units and the normalised units a model is trained in.
struct data_scaling {
  Eigen::RowVectorXd mean;  ///< subtracted from every cell (zero for concentrations: chemical-Langevin noise)
  double scale = 1;         ///< s: one length scale for all coordinates
  double t0 = 0;            ///< first time
  double span = 1;          ///< T = t_K - t_0

  /// @brief The scaling of a series: pooled mean (zero when `centre` is false), pooled RMS standard deviation, first
  /// time and time span.
  /// @throws std::invalid_argument if all cells coincide or there is a single time.
  [[nodiscard]] static data_scaling of(const core::snapshot_series<double>& data, bool centre = true) {
    data_scaling s;
    s.mean = centre ? Eigen::RowVectorXd(data.pooled_mean()) : Eigen::RowVectorXd::Zero(data.dimension());
    s.scale = std::sqrt(data.pooled_std().array().square().mean());
    s.t0 = data.time(0);
    s.span = data.time(data.size() - 1) - s.t0;
    if (!(s.scale > 0) || !std::isfinite(s.scale) || !(s.span > 0)) {
      core::detail::throw_invalid_argument("upfi::infer::data_scaling: need cells that differ and two times or more");
    }
    return s;
  }
  [[nodiscard]] Eigen::MatrixXd to_model(const Eigen::MatrixXd& x) const { return (x.rowwise() - mean) / scale; }
  [[nodiscard]] Eigen::MatrixXd to_data(const Eigen::MatrixXd& z) const { return (z * scale).rowwise() + mean; }
  [[nodiscard]] double time_to_model(double t) const { return (t - t0) / span; }
  [[nodiscard]] core::snapshot_series<double> to_model(const core::snapshot_series<double>& data) const {
    std::vector<double> times;
    std::vector<Eigen::MatrixXd> clouds;
    for (std::size_t k = 0; k < data.size(); ++k) {
      times.push_back(time_to_model(data.time(k)));
      clouds.push_back(to_model(data.cloud(k)));
    }
    return {std::move(times), std::move(clouds), data.relative_masses()};
  }
};

namespace detail {
// A score that is never evaluated: simulating a model needs its drift, growth and noise only.
struct absent_score {
  Eigen::Index d = 0;
  [[nodiscard]] Eigen::Index dimension() const noexcept { return d; }
  void evaluate(double, const Eigen::MatrixXd& x, Eigen::MatrixXd& out) const { out.setZero(x.rows(), x.cols()); }
};

inline double parse_number(const model_file& f, const std::string& key) {
  const std::string text = f.meta(key);
  const auto v = core::detail::parse_finite(text);
  if (!v) {
    core::detail::throw_invalid_argument("upfi::infer::fitted_model: meta '", key, "' = '", text,
                                         "' is not a finite number");
  }
  return *v;
}

inline std::string exact(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}
}  // namespace detail

/// @brief The chemical-Langevin noise of a fitted model, in the normalised units of its training (fitted_model
/// converts to the data's units).
struct chemical_langevin_noise {
  Eigen::VectorXd degradation{};  ///< lambda_z = T lambda, one per coordinate (> 0)
  double volume = 0;              ///< V_z = s V (> 0)
};

/// @brief A fitted UPFI or PFI model in the data's units: drift network (the production network p of the
/// chemical-Langevin form), growth network (UPFI), noise (one D, or degradation rates and a volume) and scaling.
/// Copyable; reproducible simulation for a seed.
class fitted_model {
 public:
  /// @brief Assembles a model with additive noise from its parts (fit_snapshots and from_file do this).
  /// @throws std::invalid_argument on inconsistent dimensions or a negative diffusion.
  fitted_model(fit_method method, nn::mlp<double> drift, std::optional<nn::mlp<double>> growth,
               double normalised_diffusion, data_scaling scaling)
      : m_method(method),
        m_drift(std::move(drift)),
        m_growth(std::move(growth)),
        m_dz(normalised_diffusion),
        m_scaling(std::move(scaling)) {
    check_parts();
  }

  /// @brief Assembles a model with chemical-Langevin noise: production network p (softplus output), growth network
  /// (UPFI), rates and volume in normalised units, and a scaling that does not shift (mean 0).
  /// @throws std::invalid_argument on inconsistent dimensions, a production network without a softplus output, a
  /// rate or volume that is not finite and > 0, or a shifted scaling.
  fitted_model(fit_method method, nn::mlp<double> production, std::optional<nn::mlp<double>> growth,
               chemical_langevin_noise noise, data_scaling scaling)
      : m_method(method),
        m_drift(std::move(production)),
        m_growth(std::move(growth)),
        m_dz(0),
        m_cle(std::move(noise)),
        m_scaling(std::move(scaling)) {
    check_parts();
    constexpr const char* who = "upfi::infer::fitted_model";
    if (m_drift.options().output_activation != nn::activation::softplus) {
      core::detail::throw_invalid_argument(who, ": the production network of chemical-Langevin noise needs a ",
                                           "softplus output (p >= 0)");
    }
    if (m_cle->degradation.size() != dimension() || !(m_cle->degradation.array() > 0).all() ||
        !m_cle->degradation.allFinite() || !(m_cle->volume > 0) || !std::isfinite(m_cle->volume)) {
      core::detail::throw_invalid_argument(who, ": chemical-Langevin noise needs ", dimension(),
                                           " finite rates > 0 and a finite volume > 0; got ", m_cle->degradation.size(),
                                           " rates and volume ", m_cle->volume);
    }
    if (!m_scaling.mean.isZero(0)) {
      core::detail::throw_invalid_argument(who, ": chemical-Langevin noise models concentrations, which the ",
                                           "scaling must not shift (mean 0)");
    }
  }

  [[nodiscard]] fit_method method() const noexcept { return m_method; }
  [[nodiscard]] noise_model noise() const noexcept {
    return m_cle ? noise_model::chemical_langevin : noise_model::additive;
  }
  [[nodiscard]] Eigen::Index dimension() const noexcept { return m_drift.inputs(); }
  [[nodiscard]] const data_scaling& scaling() const noexcept { return m_scaling; }
  /// @brief D of additive noise in the data's units (coordinates^2 per time unit).
  /// @throws std::invalid_argument for chemical-Langevin noise, whose D depends on the state (diffusion_diagonal).
  [[nodiscard]] double diffusion() const {
    if (m_cle) {
      core::detail::throw_invalid_argument("upfi::infer::fitted_model::diffusion: the model has chemical-Langevin ",
                                           "noise, which depends on the state: use diffusion_diagonal");
    }
    return m_dz * m_scaling.scale * m_scaling.scale / m_scaling.span;
  }
  /// @brief D_z of additive noise in the training's units; 0 for chemical-Langevin noise.
  [[nodiscard]] double normalised_diffusion() const noexcept { return m_dz; }
  /// @brief Chemical-Langevin noise: the degradation rates lambda per time unit (data units); empty for additive noise.
  [[nodiscard]] Eigen::VectorXd degradation() const {
    return m_cle ? Eigen::VectorXd(m_cle->degradation / m_scaling.span) : Eigen::VectorXd();
  }
  /// @brief Chemical-Langevin noise: the system size V in the data's units; 0 for additive noise.
  [[nodiscard]] double volume() const noexcept { return m_cle ? m_cle->volume / m_scaling.scale : 0.0; }
  /// @brief The chemical-Langevin noise in normalised units (absent for additive noise).
  [[nodiscard]] const std::optional<chemical_langevin_noise>& normalised_noise() const noexcept { return m_cle; }
  /// @brief The drift network (additive noise) or the production network p (chemical-Langevin noise; the drift is
  /// p - lambda x), in the training's units.
  [[nodiscard]] const nn::mlp<double>& drift_network() const noexcept { return m_drift; }
  [[nodiscard]] const std::optional<nn::mlp<double>>& growth_network() const noexcept { return m_growth; }

  /// @brief The drift v(t, x) on a cloud (N x d, data units) into v (N x d).
  void drift(double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) const {
    check_cloud(x, "drift");
    const Eigen::MatrixXd z = m_scaling.to_model(x);
    m_drift.evaluate(m_scaling.time_to_model(t), z, v);
    if (m_cle) v -= z * m_cle->degradation.asDiagonal();
    v *= m_scaling.scale / m_scaling.span;
  }

  /// @brief The diagonal of D(t, x) at every row of a cloud (N x d, data units): the constant D of additive noise, or
  /// (p + lambda x) / 2V.
  [[nodiscard]] Eigen::MatrixXd diffusion_diagonal(double t, const Eigen::MatrixXd& x) const {
    check_cloud(x, "diffusion_diagonal");
    if (!m_cle) return Eigen::MatrixXd::Constant(x.rows(), x.cols(), diffusion());
    const double s = m_scaling.scale;
    return cle_flow(flow::no_growth{}).diffusion_diagonal(m_scaling.time_to_model(t), m_scaling.to_model(x)) *
           (s * s / m_scaling.span);
  }

  /// @brief The growth rate g(t, x) per time unit on a cloud into g (N); zero for PFI.
  void growth(double t, const Eigen::MatrixXd& x, Eigen::VectorXd& g) const {
    check_cloud(x, "growth");
    if (!m_growth) {
      g.setZero(x.rows());
      return;
    }
    Eigen::MatrixXd out;
    m_growth->evaluate(m_scaling.time_to_model(t), m_scaling.to_model(x), out);
    g = out.col(0) / m_scaling.span;
  }

  /// @brief Simulates the model's SDE from x0 at times[0] (data units; o.dt in time units too); see simulate_model.
  /// With chemical-Langevin noise the paths stay >= 0 (model_simulation_options::nonnegative is set).
  [[nodiscard]] model_trajectories simulate(const Eigen::MatrixXd& x0, const std::vector<double>& times,
                                            model_simulation_options o = {}) const {
    check_cloud(x0, "simulate");
    std::vector<double> tz;
    for (const double t : times) tz.push_back(m_scaling.time_to_model(t));
    o.dt /= m_scaling.span;
    const Eigen::MatrixXd z0 = m_scaling.to_model(x0);
    const auto run = [&](const auto& growth) {
      if (m_cle) {
        o.nonnegative = true;
        return simulate_model(cle_flow(growth), z0, tz, o);
      }
      return simulate_model(
          flow::probability_flow(m_drift, detail::absent_score{dimension()}, flow::isotropic_diffusion{m_dz}, growth),
          z0, tz, o);
    };
    model_trajectories out = m_growth ? run(*m_growth) : run(flow::no_growth{});
    out.times = times;
    for (auto& p : out.positions) p = m_scaling.to_data(p);
    return out;
  }

  /// @brief The model as a model file (meta: format, method, noise, dimension, hidden, noise parameters, scaling;
  /// arrays: networks, and the degradation rates for chemical-Langevin noise).
  [[nodiscard]] model_file to_file() const {
    model_file f;
    f.set_meta("format", "upfi-fit 1");
    f.set_meta("method", fit_method_name(m_method));
    f.set_meta("noise", noise_model_name(noise()));
    f.set_meta("dimension", std::to_string(dimension()));
    f.set_meta("hidden", format_layer_widths(m_drift.options().hidden));
    f.set_meta("time_input", m_drift.options().time_input ? "1" : "0");
    if (m_cle) {
      f.set_meta("volume", detail::exact(volume()));
      f.set_meta("normalised_volume", detail::exact(m_cle->volume));
      f.set_array("degradation", degradation());
      f.set_array("normalised_degradation", m_cle->degradation);
    } else {
      f.set_meta("diffusion", detail::exact(diffusion()));
      f.set_meta("normalised_diffusion", detail::exact(m_dz));
    }
    f.set_meta("scale", detail::exact(m_scaling.scale));
    f.set_meta("t0", detail::exact(m_scaling.t0));
    f.set_meta("span", detail::exact(m_scaling.span));
    f.set_array("mean", m_scaling.mean.transpose());
    add_network(f, "drift", m_drift);
    if (m_growth) add_network(f, "growth", *m_growth);
    return f;
  }

  /// @brief Rebuilds a model saved by to_file() (a file without a noise entry has additive noise).
  /// @throws std::invalid_argument naming what is missing or wrong.
  [[nodiscard]] static fitted_model from_file(const model_file& f) {
    constexpr const char* who = "upfi::infer::fitted_model::from_file";
    if (f.meta("format") != "upfi-fit 1") {
      core::detail::throw_invalid_argument(who, ": format '", f.meta("format"), "' is not 'upfi-fit 1'");
    }
    const std::string m = f.meta("method");
    if (m != "upfi" && m != "pfi") core::detail::throw_invalid_argument(who, ": unknown method '", m, "'");
    const auto method = m == "upfi" ? fit_method::upfi : fit_method::pfi;
    const std::string noise = f.has_meta("noise") ? f.meta("noise") : std::string("additive");
    if (noise != noise_model_name(noise_model::additive) && noise != noise_model_name(noise_model::chemical_langevin)) {
      core::detail::throw_invalid_argument(who, ": unknown noise '", noise, "'");
    }
    const bool cle = noise == noise_model_name(noise_model::chemical_langevin);
    const double dim = detail::parse_number(f, "dimension");
    if (!(dim >= 1) || dim != std::floor(dim)) core::detail::throw_invalid_argument(who, ": bad dimension ", dim);
    const auto d = static_cast<Eigen::Index>(dim);
    nn::mlp_options net{.inputs = d,
                        .outputs = d,
                        .hidden = parse_layer_widths(f.meta("hidden")),
                        .output_activation = cle ? nn::activation::softplus : nn::activation::identity,
                        .time_input = f.meta("time_input") == "1"};
    nn::mlp<double> drift(net, 0);
    load_network(f, "drift", drift);
    std::optional<nn::mlp<double>> growth;
    if (method == fit_method::upfi) {
      net.outputs = 1;
      net.output_activation = nn::activation::identity;
      growth.emplace(net, 0);
      load_network(f, "growth", *growth);
    }
    data_scaling s;
    s.mean = f.array("mean").transpose();
    s.scale = detail::parse_number(f, "scale");
    s.t0 = detail::parse_number(f, "t0");
    s.span = detail::parse_number(f, "span");
    if (!(s.scale > 0) || !(s.span > 0)) core::detail::throw_invalid_argument(who, ": scale and span must be > 0");
    if (cle) {
      chemical_langevin_noise n{f.array("normalised_degradation"), detail::parse_number(f, "normalised_volume")};
      return {method, std::move(drift), std::move(growth), std::move(n), s};
    }
    return {method, std::move(drift), std::move(growth), detail::parse_number(f, "normalised_diffusion"), s};
  }

 private:
  // The chemical-Langevin flow of the model in normalised units (production network, fixed rates, no score): what
  // simulate() runs and diffusion_diagonal() reads.
  template <class Growth>
  [[nodiscard]] flow::chemical_langevin_flow<nn::mlp<double>, nn::linear_degradation_field, detail::absent_score,
                                             Growth>
  cle_flow(const Growth& growth) const {
    return flow::chemical_langevin_flow(m_drift, nn::linear_degradation_field(m_cle->degradation, false),
                                        detail::absent_score{dimension()}, m_cle->volume, growth);
  }

  void check_parts() const {
    const Eigen::Index d = m_drift.inputs();
    if (m_drift.outputs() != d || m_scaling.mean.size() != d ||
        (m_growth && (m_growth->inputs() != d || m_growth->outputs() != 1)) ||
        (m_method == fit_method::upfi) != m_growth.has_value() || !(m_dz >= 0)) {
      core::detail::throw_invalid_argument("upfi::infer::fitted_model: inconsistent parts (dimension ", d, ", growth ",
                                           m_growth ? "present" : "absent", ", method ", fit_method_name(m_method),
                                           ", diffusion ", m_dz, ")");
    }
    if (m_growth && m_growth->options().time_input != m_drift.options().time_input) {
      core::detail::throw_invalid_argument("upfi::infer::fitted_model: the drift and growth networks must both take ",
                                           "time as an input or both not (the drift does",
                                           m_drift.options().time_input ? "" : " not", ")");
    }
  }

  void check_cloud(const Eigen::MatrixXd& x, const char* what) const {
    if (x.cols() != dimension()) {
      core::detail::throw_invalid_argument("upfi::infer::fitted_model::", what, ": cloud has ", x.cols(),
                                           " columns, the model ", dimension());
    }
  }

  fit_method m_method;
  nn::mlp<double> m_drift;
  std::optional<nn::mlp<double>> m_growth;
  double m_dz;
  std::optional<chemical_langevin_noise> m_cle;
  data_scaling m_scaling;
};

/// @brief What fit_snapshots returns: the model, the training history (normalised units) and the stage timings.
struct fit_result {
  fitted_model model;
  flow_training_report report;
  /// the trained field pushed with the training's steps and with fit_options::step_check_steps RK4 steps (data units;
  /// on the training's masses, smoothed where fit_options::mass_smoothing says so); empty (no times) when the check is
  /// off
  step_check_result step_check;
  double score_seconds = 0;
  double training_seconds = 0;
};

/// @brief Which stage a fit_snapshots progress report comes from.
enum class fit_stage { score, flow };

/// @brief What the progress callback of fit_snapshots receives.
struct fit_progress {
  fit_stage stage = fit_stage::flow;
  long iteration = 0;   ///< iterations done in this stage
  long iterations = 0;  ///< iterations of this stage
  double loss = 0;      ///< score: DSM loss; flow: Sinkhorn divergence + regulariser (period means)
  double seconds = 0;   ///< wall time since the stage started
};

/// @brief Fits UPFI or PFI to `data` (two or more snapshots): the score (kernel or DSM) on the normalised series,
/// then the drift (and growth) by interval-wise teacher forcing. Deterministic for a seed.
/// @throws std::invalid_argument on invalid options or data (a mass_smoothing degree >= the number of snapshots, or
/// for a frequencies-only series; chemical-Langevin noise without a volume or rates, with a diffusion, or on data with
/// a negative value; volume or rates given with additive noise); upfi::core::error on non-finite losses (naming the
/// iteration).
[[nodiscard]] inline fit_result fit_snapshots(const core::snapshot_series<double>& data, const fit_options& o = {},
                                              const std::function<void(const fit_progress&)>& progress = {}) {
  constexpr const char* who = "upfi::infer::fit_snapshots";
  if (data.size() < 2) core::detail::throw_invalid_argument(who, ": need at least two snapshots");
  if (!(o.diffusion >= 0) || !std::isfinite(o.diffusion) || o.iterations < 0 || o.batch < 1 || o.hidden.empty() ||
      o.report_every < 1 || (o.score == score_estimator::dsm && (o.dsm_iterations < 1 || o.dsm_members < 1)) ||
      o.score_samples < 0 || !(o.average_tail >= 0 && o.average_tail < 1) || o.steps < 1 || o.step_check_steps < 0 ||
      o.step_check_cells < 2 || !(o.blur > 0) || !std::isfinite(o.blur) || !(o.reach > 0) || !std::isfinite(o.reach)) {
    core::detail::throw_invalid_argument(
        who, ": need diffusion >= 0, iterations >= 0, batch >= 1, hidden layers, ",
        "report_every >= 1, dsm_iterations >= 1 and dsm_members >= 1 (DSM), ",
        "0 <= average_tail < 1, steps >= 1, step_check_steps >= 0, ",
        "step_check_cells >= 2, blur > 0 and reach > 0; got diffusion = ", o.diffusion, ", iterations = ", o.iterations,
        ", batch = ", o.batch, ", dsm_members = ", o.dsm_members, ", average_tail = ", o.average_tail,
        ", steps = ", o.steps, ", step_check_steps = ", o.step_check_steps, ", step_check_cells = ", o.step_check_cells,
        ", blur = ", o.blur, ", reach = ", o.reach);
  }
  const Eigen::Index d = data.dimension();
  const bool cle = o.noise == noise_model::chemical_langevin;
  if (cle) {
    if (!(o.volume > 0) || !std::isfinite(o.volume) || (o.degradation.size() != 1 && o.degradation.size() != d) ||
        !(o.degradation.array() > 0).all() || !o.degradation.allFinite() || o.diffusion != 0) {
      core::detail::throw_invalid_argument(
          who, ": chemical-Langevin noise needs a finite volume > 0 and 1 or ", d,
          " finite degradation rates > 0, and no diffusion (D follows from the drift); got volume = ", o.volume, ", ",
          o.degradation.size(), " rates, diffusion = ", o.diffusion);
    }
    for (std::size_t k = 0; k < data.size(); ++k) {
      const auto& x = data.cloud(k);
      if (x.size() > 0 && x.minCoeff() < 0) {
        Eigen::Index r = 0, c = 0;
        const double v = x.minCoeff(&r, &c);
        core::detail::throw_invalid_argument(who, ": chemical-Langevin noise models concentrations >= 0, but snapshot ",
                                             k, " (t = ", data.time(k), ") has x", c, " = ", v, " in row ", r);
      }
    }
  } else if (o.volume != 0 || o.degradation.size() != 0 || o.learn_degradation) {
    core::detail::throw_invalid_argument(who, ": volume, degradation and learn_degradation apply to ",
                                         "chemical-Langevin noise only (noise = chemical_langevin)");
  }
  const data_scaling scaling = data_scaling::of(data, !cle);
  const auto z = scaling.to_model(o.mass_smoothing >= 0 ? data.with_smoothed_masses(o.mass_smoothing) : data);
  const double dz = cle               ? 0.0
                    : o.diffusion > 0 ? o.diffusion * scaling.span / (scaling.scale * scaling.scale)
                                      : automatic_normalised_diffusion;
  const bool with_growth = o.method == fit_method::upfi;

  flow_training_options to;
  to.iterations = o.iterations;
  to.batch = o.batch;
  to.lambda = o.lambda;
  to.average_tail = o.average_tail;
  to.steps = o.steps;
  to.stepper = o.stepper;
  to.seed = o.seed;
  to.report_every = o.report_every;
  to.blur = o.blur;
  to.reach = with_growth ? std::optional<double>(o.reach) : std::nullopt;
  nn::mlp_options net{.inputs = d, .outputs = d, .hidden = o.hidden, .time_input = networks_see_time(o)};
  nn::mlp_options scalar = net;
  scalar.outputs = 1;
  nn::mlp_options rate = net;
  rate.output_activation = nn::activation::softplus;

  const auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  const auto flow_progress_of = [&](const infer::flow_progress& p) {
    if (progress) progress({fit_stage::flow, p.iteration, o.iterations, p.loss.total(), p.seconds});
  };
  const auto check_steps = [&](const auto& field) {
    if (o.step_check_steps == 0) return step_check_result{};
    auto r = infer::step_check(field, z, o.stepper, o.steps,
                               {.fine_steps = o.step_check_steps, .max_samples = o.step_check_cells, .seed = o.seed});
    r.rescale(scaling.scale, [&](double t) { return scaling.t0 + scaling.span * t; });
    return r;
  };
  const auto train = [&](auto score, std::chrono::steady_clock::time_point score_start) -> fit_result {
    const double score_seconds = seconds_since(score_start);
    const auto run = [&](auto field) -> fit_result {
      const auto start = std::chrono::steady_clock::now();
      flow_trainer trainer(std::move(field), z, to);
      auto report = trainer.train(flow_progress_of);
      const double seconds = seconds_since(start);
      const auto& f = trainer.field();
      std::optional<nn::mlp<double>> growth;
      if constexpr (std::decay_t<decltype(f)>::has_growth) growth = f.growth();
      auto model = [&] {
        if constexpr (requires { f.production(); }) {
          return fitted_model(o.method, f.production(), std::move(growth),
                              chemical_langevin_noise{f.degradation().rates(), o.volume * scaling.scale}, scaling);
        } else {
          return fitted_model(o.method, f.drift(), std::move(growth), dz, scaling);
        }
      }();
      return {std::move(model), std::move(report), check_steps(f), score_seconds, seconds};
    };
    if (cle) {
      const Eigen::VectorXd lambda =
          o.degradation.size() == 1 ? Eigen::VectorXd::Constant(d, o.degradation[0]) : Eigen::VectorXd(o.degradation);
      const nn::linear_degradation_field q(lambda * scaling.span, o.learn_degradation);
      const double vz = o.volume * scaling.scale;
      if (with_growth) {
        return run(flow::chemical_langevin_flow(nn::mlp<double>(rate, o.seed), q, std::move(score), vz,
                                                nn::mlp<double>(scalar, o.seed + 1)));
      }
      return run(flow::chemical_langevin_flow(nn::mlp<double>(rate, o.seed), q, std::move(score), vz));
    }
    if (with_growth) {
      return run(flow::probability_flow(nn::mlp<double>(net, o.seed), std::move(score), flow::isotropic_diffusion{dz},
                                        nn::mlp<double>(scalar, o.seed + 1)));
    }
    return run(flow::probability_flow(nn::mlp<double>(net, o.seed), std::move(score), flow::isotropic_diffusion{dz}));
  };
  const auto score_start = std::chrono::steady_clock::now();
  if (o.score == score_estimator::dsm) {
    score::dsm_options dso;
    dso.iterations = o.dsm_iterations;
    dso.seed = o.seed + 7;
    // one network (dsm_members = 1) is train_dsm's; the progress counts the members' iterations one after another
    const long total = o.dsm_iterations * o.dsm_members;
    return train(
        score::train_dsm_ensemble(z, dso, o.dsm_members,
                                  [&](std::size_t k, const score::dsm_progress& p) {
                                    if (progress)
                                      progress({fit_stage::score, p.iteration + static_cast<long>(k) * o.dsm_iterations,
                                                total, p.loss, seconds_since(score_start)});
                                  }),
        score_start);
  }
  score::kernel_score_options ko;
  ko.max_samples = o.score_samples;
  ko.seed = o.seed + 7;
  return train(score::kernel_score(z, ko), score_start);
}

}  // namespace upfi::infer
