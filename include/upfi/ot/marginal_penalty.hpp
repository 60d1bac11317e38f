// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Marginal penalties of entropic OT: hard constraints (balanced) or a KL penalty of strength rho.
/// @see Chizat, Peyre, Schmitzer, Vialard (2018), arXiv:1607.05816; Sejourne et al. (2019), arXiv:1910.12958.

#include <upfi/concepts/ot.hpp>
#include <upfi/core/error.hpp>

#include <cmath>

namespace upfi::ot {

/// @brief Balanced OT: both marginals are enforced exactly; soft-min damping kappa = 1.
struct balanced {
  [[nodiscard]] static constexpr double damping(double) noexcept { return 1.0; }
  [[nodiscard]] static constexpr bool is_balanced() noexcept { return true; }
};

/// @brief rho KL(pi 1 | alpha) + rho KL(pi^T 1 | beta): kappa = 1 / (1 + eps / rho). GeomLoss `reach` r is rho = r^2.
class kl_penalty {
 public:
  /// @throws std::invalid_argument unless rho > 0 (use `balanced` for rho = infinity).
  explicit kl_penalty(double rho) : m_rho(rho) {
    if (!(rho > 0) || std::isnan(rho)) {
      core::detail::throw_invalid_argument("upfi::ot::kl_penalty: rho = ", rho,
                                           " must be > 0 (use upfi::ot::balanced for hard marginal constraints)");
    }
  }
  /// @brief From GeomLoss's `reach` (a length): rho = reach^2.
  [[nodiscard]] static kl_penalty from_reach(double reach) { return kl_penalty(reach * reach); }
  [[nodiscard]] double rho() const noexcept { return m_rho; }
  [[nodiscard]] double damping(double eps) const noexcept {
    return std::isinf(m_rho) ? 1.0 : 1.0 / (1.0 + eps / m_rho);
  }
  [[nodiscard]] bool is_balanced() const noexcept { return std::isinf(m_rho); }

 private:
  double m_rho;
};

}  // namespace upfi::ot
