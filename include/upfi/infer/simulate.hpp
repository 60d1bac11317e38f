// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Simulating a trained model: the SDE dX = v(t, X) dt + sqrt(2 D(X)) dB with the field's drift v and its known
/// noise model D (isotropic, constant matrix, pointwise diagonal, chemical Langevin; none for the deterministic
/// baselines), with the growth g either carried as log-masses along unbranched paths or realised as branching (a cell
/// divides with probability g dt when g > 0 and dies with probability -g dt when g < 0).
///
/// Euler-Maruyama on a whole cloud per step (the networks are evaluated batched). Random numbers are counter-based,
/// keyed by (seed, step, row): the result is the same for any thread count.

#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/flow/probability_flow.hpp>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace upfi::infer {

/// @brief Options of simulate_model.
struct model_simulation_options {
  double dt = 0.01;                    ///< maximal step; each interval uses ceil(length / dt) equal steps
  bool noise = true;                   ///< false: the deterministic skeleton dX = v dt
  bool branching = false;              ///< realise growth as division/death (rows stop being paths)
  std::uint64_t seed = 0;              ///< random stream of the Brownian increments and events
  Eigen::Index max_cells = 5'000'000;  ///< guard against population explosions (branching)
  bool nonnegative = false;            ///< concentrations: a coordinate that would turn negative keeps its value
                                       ///< (the rule sde::positivity::reject of the data simulator)
};

/// @brief Clouds of a simulated model at the requested times. Without branching, row i of every cloud is path i and
/// log_masses[k] holds int_0^{t_k} g along each path (log-mass relative to the start); with branching the clouds are
/// populations (rows are cells, not paths) and log_masses is empty.
struct model_trajectories {
  std::vector<double> times;
  std::vector<Eigen::MatrixXd> positions;
  std::vector<Eigen::VectorXd> log_masses;
};

/// @brief The drift v and growth g of a trained field on a cloud (into f.v and f.g): the SDE's coefficients, without
/// evaluating the score when the field exposes its drift and growth (a probability flow's score is not part of the
/// SDE and can cost far more than the networks).
template <class Field>
void drift_and_growth(const Field& field, double t, const Eigen::MatrixXd& x, flow::flow_values& f) {
  if constexpr (requires { field.drift_and_growth(t, x, f); }) {  // e.g. model_average
    field.drift_and_growth(t, x, f);
  } else if constexpr (requires {
                         field.drift().evaluate(t, x, f.v);
                         field.growth();
                       }) {
    field.drift().evaluate(t, x, f.v);
    flow::detail::growth_values(field.growth(), t, x, f.g);
  } else {
    field.evaluate(t, x, f);
  }
}

namespace detail {
template <class T>
struct is_pointwise_diagonal : std::false_type {};
template <class F>
struct is_pointwise_diagonal<flow::pointwise_diagonal_diffusion<F>> : std::true_type {};

// Writes the noise increment sqrt(2 D(X)) dW row by row into `out` (dW: N x d standard normals times sqrt(h)).
template <class Field>
void noise_increment(const Field& field, double t, const Eigen::MatrixXd& x, const Eigen::MatrixXd& dw,
                     const Eigen::MatrixXd& matrix_root, Eigen::MatrixXd& out) {
  if constexpr (requires { field.diffusion_diagonal(t, x); }) {  // chemical Langevin: D = diag(p + q) / 2V
    out = ((2.0 * field.diffusion_diagonal(t, x).array()).max(0.0).sqrt() * dw.array()).matrix();
  } else if constexpr (requires { field.diffusion(); }) {
    using diffusion = std::decay_t<decltype(field.diffusion())>;
    if constexpr (std::is_same_v<diffusion, flow::isotropic_diffusion>) {
      out = std::sqrt(2.0 * field.diffusion().delta) * dw;
    } else if constexpr (std::is_same_v<diffusion, flow::matrix_diffusion>) {
      out.noalias() = dw * matrix_root.transpose();
    } else if constexpr (is_pointwise_diagonal<diffusion>::value) {
      const Eigen::Index d = x.cols();
      Eigen::VectorXd row(d), diag(d);
      out.resize(x.rows(), d);
      for (Eigen::Index r = 0; r < x.rows(); ++r) {
        row = x.row(r).transpose();
        field.diffusion().f(t, row.data(), diag.data());
        out.row(r) = ((2.0 * diag.array()).max(0.0).sqrt() * dw.row(r).transpose().array()).transpose();
      }
    } else {
      static_assert(sizeof(Field) == 0, "upfi::infer::simulate_model: unknown diffusion policy");
    }
  } else {
    out.setZero(x.rows(), x.cols());  // deterministic transport (TIGON++, fitness-ODE)
  }
}

// (2D)^{1/2} of a constant matrix diffusion (symmetric square root: valid for semi-definite D).
template <class Field>
Eigen::MatrixXd matrix_noise_root(const Field& field) {
  if constexpr (requires { field.diffusion().d; }) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(2.0 * field.diffusion().d);
    return es.eigenvectors() * es.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal() * es.eigenvectors().transpose();
  } else {
    return {};
  }
}
}  // namespace detail

/// @brief Simulates the trained `field` (probability_flow, chemical_langevin_flow, transport_flow or fitness_flow: its
/// drift v and growth g, with the noise model it was trained with) from the cloud x0 at times[0], recording the
/// clouds at every entry of `times` (strictly increasing).
/// @throws std::invalid_argument on bad sizes, non-finite x0, unsorted times or dt <= 0; upfi::core::error when the
/// state becomes non-finite (naming the time) or the population exceeds max_cells.
template <class Field>
[[nodiscard]] model_trajectories simulate_model(const Field& field, const Eigen::MatrixXd& x0,
                                                const std::vector<double>& times,
                                                const model_simulation_options& o = {}) {
  constexpr const char* who = "upfi::infer::simulate_model";
  const Eigen::Index d = field.dimension();
  if (x0.cols() != d || x0.rows() < 1 || !x0.allFinite()) {
    core::detail::throw_invalid_argument(who, ": the initial cloud is ", x0.rows(), " x ", x0.cols(),
                                         "; need at least one finite row of dimension ", d);
  }
  if (times.empty()) core::detail::throw_invalid_argument(who, ": no time given");
  for (std::size_t k = 0; k < times.size(); ++k) {
    if (!std::isfinite(times[k]) || (k > 0 && !(times[k] > times[k - 1]))) {
      core::detail::throw_invalid_argument(who, ": time ", k, " = ", times[k],
                                           " is not finite or not greater than the previous one");
    }
  }
  if (!(o.dt > 0) || !std::isfinite(o.dt) || o.max_cells < 1) {
    core::detail::throw_invalid_argument(who, ": need dt > 0 and max_cells >= 1, got dt = ", o.dt);
  }
  const Eigen::MatrixXd root = detail::matrix_noise_root(field);
  const core::counter_rng noise_rng(o.seed, 0), event_rng(o.seed, 1);
  model_trajectories out;
  out.times = times;
  Eigen::MatrixXd x = x0;
  Eigen::VectorXd log_m = Eigen::VectorXd::Zero(x0.rows());
  const auto record = [&] {
    out.positions.push_back(x);
    if (!o.branching) out.log_masses.push_back(log_m);
  };
  record();
  flow::flow_values f;
  Eigen::MatrixXd dw, dx;
  std::uint32_t step = 0;
  for (std::size_t k = 1; k < times.size(); ++k) {
    const auto n_steps = static_cast<long>(std::ceil((times[k] - times[k - 1]) / o.dt - 1e-9));
    const double h = (times[k] - times[k - 1]) / static_cast<double>(std::max(n_steps, 1L)), sq = std::sqrt(h);
    for (long s = 0; s < n_steps; ++s, ++step) {
      const double t = times[k - 1] + static_cast<double>(s) * h;
      drift_and_growth(field, t, x, f);
      Eigen::MatrixXd next = x + h * f.v;
      if (o.noise) {
        dw.resize(x.rows(), d);
        noise_rng.fill_normal(dw, step * core::counter_rng::counters_per_vector(d));
        dw *= sq;
        detail::noise_increment(field, t, x, dw, root, dx);
        next += dx;
      }
      if (!next.allFinite()) {
        UPFI_THROW(core::error(
            core::detail::message(who, ": the state is not finite at t = ", t + h, "; reduce dt or check the model")));
      }
      if (o.nonnegative) next = (next.array() < 0).select(x, next);
      if (!o.branching) {
        log_m += h * f.g;
        x = std::move(next);
        continue;
      }
      // events from the growth at the step's start: divide with probability g h (g > 0), die with -g h (g < 0)
      std::vector<char> event(static_cast<std::size_t>(x.rows()), 0);
      Eigen::Index born = 0, died = 0;
      for (Eigen::Index r = 0; r < x.rows(); ++r) {
        const double u = event_rng.uniform<double>(static_cast<std::uint64_t>(r), step);
        const double g = f.g[r];
        if (g > 0 && u < g * h) {
          event[static_cast<std::size_t>(r)] = 1;
          ++born;
        } else if (g < 0 && u < -g * h) {
          event[static_cast<std::size_t>(r)] = 2;
          ++died;
        }
      }
      const Eigen::Index n = x.rows() + born - died;
      if (n > o.max_cells) {
        UPFI_THROW(core::error(core::detail::message(who, ": the population reached ", n, " cells at t = ", t + h,
                                                     " (max_cells = ", o.max_cells, ")")));
      }
      if (n == 0) {
        UPFI_THROW(core::error(core::detail::message(who, ": every cell died before t = ", t + h)));
      }
      x.resize(n, d);
      Eigen::Index row = 0;
      for (Eigen::Index r = 0; r < next.rows(); ++r) {
        if (event[static_cast<std::size_t>(r)] != 2) x.row(row++) = next.row(r);
      }
      for (Eigen::Index r = 0; r < next.rows(); ++r) {
        if (event[static_cast<std::size_t>(r)] == 1) x.row(row++) = next.row(r);
      }
    }
    record();
  }
  return out;
}

}  // namespace upfi::infer
