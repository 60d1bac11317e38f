// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Adapter turning a trainable pointwise generic model (a mechanistic model with a parameter vector) into a
/// DifferentiableField, with derivatives from forward-mode duals: no hand-written derivative.
///
/// The model provides `dimension()`, `parameter_count()` and
/// `template <class T> void operator()(scalar_of_t<T> t, const T* x, const T* params, T* out) const`.
/// The VJP seeds one dual direction per parameter and per coordinate: (P + d) dual evaluations per particle, suited to
/// models with few parameters (Hill networks, OU matrices), parallel over particles.

#include <upfi/ad/dual.hpp>
#include <upfi/concepts/nn.hpp>
#include <upfi/concepts/scalar.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>

#include <Eigen/Core>

#include <utility>
#include <vector>

namespace upfi::nn {

/// @brief DifferentiableField from a pointwise generic trainable model (see file comment).
template <class Model>
class pointwise_field {
 public:
  /// @param params initial parameters (length model.parameter_count()).
  pointwise_field(Model model, Eigen::VectorXd params) : m_model(std::move(model)), m_params(std::move(params)) {
    if (m_params.size() != m_model.parameter_count()) {
      core::detail::throw_invalid_argument("upfi::nn::pointwise_field: ", m_params.size(),
                                           " parameters given, the model has ", m_model.parameter_count());
    }
  }
  [[nodiscard]] Eigen::Index inputs() const { return m_model.dimension(); }
  [[nodiscard]] Eigen::Index outputs() const { return m_model.dimension(); }
  [[nodiscard]] Eigen::Index parameter_count() const { return m_params.size(); }
  [[nodiscard]] Eigen::VectorXd& parameters() noexcept { return m_params; }
  [[nodiscard]] const Eigen::VectorXd& parameters() const noexcept { return m_params; }
  [[nodiscard]] const Model& model() const noexcept { return m_model; }

  void evaluate(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd& out) const {
    check(x);
    const Eigen::Index d = inputs();
    out.resize(x.rows(), d);
    core::parallel_for(x.rows(), [&](Eigen::Index begin, Eigen::Index end) {
      std::vector<double> xi(static_cast<std::size_t>(d)), vi(static_cast<std::size_t>(d));
      for (Eigen::Index i = begin; i < end; ++i) {
        for (Eigen::Index k = 0; k < d; ++k) xi[static_cast<std::size_t>(k)] = x(i, k);
        m_model(t, xi.data(), m_params.data(), vi.data());
        for (Eigen::Index k = 0; k < d; ++k) out(i, k) = vi[static_cast<std::size_t>(k)];
      }
    });
  }

  /// @brief dX = C J_x, d params += sum_n J_theta(n)^T C(n), by one dual direction per input coordinate and per
  /// parameter. Parameter gradients are reduced over fixed particle blocks in order (thread-count independent).
  void vjp(double t, const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& cot,
           Eigen::MatrixXd* grad_x, Eigen::VectorXd* grad_params) const {
    check(x);
    const Eigen::Index d = inputs(), p = parameter_count();
    if (cot.rows() != x.rows() || cot.cols() != d) {
      core::detail::throw_invalid_argument("upfi::nn::pointwise_field::vjp: cotangent must be N x d");
    }
    if (grad_params != nullptr && grad_params->size() != p) {
      core::detail::throw_invalid_argument("upfi::nn::pointwise_field::vjp: parameter gradient has wrong size");
    }
    if (grad_x != nullptr) grad_x->resize(x.rows(), d);
    using dual = ad::dual<double>;
    const Eigen::VectorXd total = core::deterministic_reduce(
        x.rows(), core::default_block_size, Eigen::VectorXd(Eigen::VectorXd::Zero(p)),
        [&](Eigen::Index begin, Eigen::Index end) {
          Eigen::VectorXd g = Eigen::VectorXd::Zero(p);
          std::vector<dual> xd(static_cast<std::size_t>(d)), pd(static_cast<std::size_t>(p)),
              vd(static_cast<std::size_t>(d));
          for (Eigen::Index i = begin; i < end; ++i) {
            for (Eigen::Index k = 0; k < d; ++k) xd[static_cast<std::size_t>(k)] = dual(x(i, k), 0.0);
            for (Eigen::Index k = 0; k < p; ++k) pd[static_cast<std::size_t>(k)] = dual(m_params[k], 0.0);
            const auto contract = [&] {
              double s = 0;
              for (Eigen::Index k = 0; k < d; ++k) s += vd[static_cast<std::size_t>(k)].d * cot(i, k);
              return s;
            };
            if (grad_params != nullptr) {
              for (Eigen::Index k = 0; k < p; ++k) {
                pd[static_cast<std::size_t>(k)].d = 1.0;
                m_model(t, xd.data(), pd.data(), vd.data());
                g[k] += contract();
                pd[static_cast<std::size_t>(k)].d = 0.0;
              }
            }
            if (grad_x != nullptr) {
              for (Eigen::Index j = 0; j < d; ++j) {
                xd[static_cast<std::size_t>(j)].d = 1.0;
                m_model(t, xd.data(), pd.data(), vd.data());
                (*grad_x)(i, j) = contract();
                xd[static_cast<std::size_t>(j)].d = 0.0;
              }
            }
          }
          return g;
        },
        [](Eigen::VectorXd a, const Eigen::VectorXd& b) {
          a += b;
          return a;
        });
    if (grad_params != nullptr) *grad_params += total;
  }

 private:
  void check(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
    if (x.cols() != inputs()) {
      core::detail::throw_invalid_argument("upfi::nn::pointwise_field: input has ", x.cols(), " columns, expected ",
                                           inputs());
    }
  }
  Model m_model;
  Eigen::VectorXd m_params;
};

}  // namespace upfi::nn
