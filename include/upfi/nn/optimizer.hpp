// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief First-order optimisers over a flat parameter vector: Adam, AdamW (decoupled weight decay), SGD with
/// momentum; learning-rate schedules; gradient clipping by global norm.
/// @see Kingma & Ba (2015), arXiv:1412.6980; Loshchilov & Hutter (2019), arXiv:1711.05101.

#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <cmath>
#include <numbers>

namespace upfi::nn {

/// @brief Adam / AdamW hyper-parameters (PyTorch's defaults; weight_decay 0 is Adam, > 0 with decoupled = true AdamW).
struct adam_options {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;  ///< AdamW: p <- p - lr * wd * p before the Adam step; Adam: added to the gradient
  bool decoupled = true;      ///< true: AdamW; false: classic L2 (g <- g + wd p)
};

/// @brief Adam / AdamW. State (moments, step count) lives in the object; step() updates parameters in place.
class adam {
 public:
  /// @throws std::invalid_argument on invalid hyper-parameters.
  explicit adam(Eigen::Index parameters, adam_options options = {}) : m_o(options) {
    if (!(options.learning_rate > 0) || !(options.beta1 >= 0 && options.beta1 < 1) ||
        !(options.beta2 >= 0 && options.beta2 < 1) || !(options.epsilon > 0) || !(options.weight_decay >= 0)) {
      core::detail::throw_invalid_argument(
          "upfi::nn::adam: need learning_rate > 0, beta1 and beta2 in [0, 1), "
          "epsilon > 0, weight_decay >= 0");
    }
    m_m = Eigen::VectorXd::Zero(parameters);
    m_v = Eigen::VectorXd::Zero(parameters);
  }
  /// @brief One step with gradient g at learning rate lr (default: the options' rate; schedules pass theirs).
  void step(Eigen::Ref<Eigen::VectorXd> params, const Eigen::Ref<const Eigen::VectorXd>& grad, double lr = -1) {
    if (params.size() != m_m.size() || grad.size() != m_m.size()) {
      core::detail::throw_invalid_argument("upfi::nn::adam::step: sizes ", params.size(), " and ", grad.size(),
                                           ", expected ", m_m.size());
    }
    if (lr < 0) lr = m_o.learning_rate;
    ++m_t;
    Eigen::VectorXd g = grad;
    if (m_o.weight_decay > 0) {
      if (m_o.decoupled) {
        params *= 1.0 - lr * m_o.weight_decay;
      } else {
        g += m_o.weight_decay * params;
      }
    }
    m_m = m_o.beta1 * m_m + (1 - m_o.beta1) * g;
    m_v = m_o.beta2 * m_v + (1 - m_o.beta2) * g.cwiseAbs2();
    const double c1 = 1 - std::pow(m_o.beta1, static_cast<double>(m_t));
    const double c2 = 1 - std::pow(m_o.beta2, static_cast<double>(m_t));
    params.array() -= lr * (m_m.array() / c1) / ((m_v.array() / c2).sqrt() + m_o.epsilon);
  }
  [[nodiscard]] long steps() const noexcept { return m_t; }

 private:
  adam_options m_o;
  Eigen::VectorXd m_m, m_v;
  long m_t = 0;
};

/// @brief SGD with (heavy-ball) momentum: v <- mu v + g; p <- p - lr v.
class sgd {
 public:
  sgd(Eigen::Index parameters, double learning_rate, double momentum = 0.0) : m_lr(learning_rate), m_mu(momentum) {
    if (!(learning_rate > 0) || !(momentum >= 0 && momentum < 1)) {
      core::detail::throw_invalid_argument("upfi::nn::sgd: need learning_rate > 0 and momentum in [0, 1)");
    }
    m_v = Eigen::VectorXd::Zero(parameters);
  }
  void step(Eigen::Ref<Eigen::VectorXd> params, const Eigen::Ref<const Eigen::VectorXd>& grad, double lr = -1) {
    if (params.size() != m_v.size() || grad.size() != m_v.size()) {
      core::detail::throw_invalid_argument("upfi::nn::sgd::step: size mismatch");
    }
    m_v = m_mu * m_v + grad;
    params -= (lr < 0 ? m_lr : lr) * m_v;
  }

 private:
  double m_lr, m_mu;
  Eigen::VectorXd m_v;
};

/// @brief Step schedule: lr0 * gamma^(floor(iteration / step_size)).
[[nodiscard]] inline double step_schedule(double lr0, long iteration, long step_size, double gamma) {
  if (step_size < 1) core::detail::throw_invalid_argument("upfi::nn::step_schedule: step_size must be >= 1");
  return lr0 * std::pow(gamma, static_cast<double>(iteration / step_size));
}

/// @brief Cosine schedule from lr0 to lr_min over `total` iterations (constant lr_min afterwards).
[[nodiscard]] inline double cosine_schedule(double lr0, long iteration, long total, double lr_min = 0.0) {
  if (total < 1) core::detail::throw_invalid_argument("upfi::nn::cosine_schedule: total must be >= 1");
  const double x = std::min(1.0, static_cast<double>(iteration) / static_cast<double>(total));
  return lr_min + 0.5 * (lr0 - lr_min) * (1 + std::cos(std::numbers::pi * x));
}

/// @brief Scales g so that |g| <= max_norm; returns the norm before clipping (non-finite norms are reported
/// unchanged so the caller can stop with a clear error).
inline double clip_by_norm(Eigen::Ref<Eigen::VectorXd> grad, double max_norm) {
  const double norm = grad.norm();
  if (std::isfinite(norm) && norm > max_norm && max_norm > 0) grad *= max_norm / norm;
  return norm;
}

}  // namespace upfi::nn
