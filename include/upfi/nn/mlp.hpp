// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Batched multilayer perceptron over particle clouds (N x in -> N x out), GEMM-based, with exact
/// vector-Jacobian products w.r.t. inputs and parameters (layer by layer, no per-scalar tape), optional time input,
/// input standardisation, an output transform, seeded Xavier/He initialisation and save/load.
///
/// Layer l: Z_l = A_{l-1} W_l^T + 1 b_l^T, A_l = act(Z_l) (hidden layers), A_L = out_act(Z_L) (output transform, e.g.
/// softplus for non-negative rates). The input is [x, t] (when time_input) standardised as (v - mean) / std.
/// Parameters live in one flat vector (for optimisers): for each layer W_l (out x in, column-major), then b_l.
/// Backward: dZ = dA (.) act'(Z); dW = dZ^T A_{l-1}; db = column sums of dZ; dA_{l-1} = dZ W.

#include <upfi/concepts/scalar.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/nn/activation.hpp>

#include <Eigen/Core>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace upfi::nn {

/// @brief Weight initialisation: Xavier (Glorot) normal, std = sqrt(2 / (fan_in + fan_out)), or He normal,
/// std = sqrt(2 / fan_in). Biases start at zero.
enum class initialisation { xavier_normal, he_normal };

/// @brief Architecture of an mlp.
struct mlp_options {
  Eigen::Index inputs = 1;                          ///< state dimension d (without time)
  Eigen::Index outputs = 1;                         ///< output dimension
  std::vector<Eigen::Index> hidden = {64, 64, 64};  ///< widths of the hidden layers
  activation hidden_activation = activation::silu;
  activation output_activation = activation::identity;  ///< output transform (softplus for non-negative outputs)
  bool time_input = false;                              ///< append t as an extra input
  initialisation init = initialisation::xavier_normal;
};

/// @brief Intermediate values of a forward pass, needed by vjp(); reused across calls (resized lazily).
template <class S>
struct mlp_workspace {
  std::vector<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> z;    ///< pre-activations per layer
  std::vector<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> a;    ///< a[0] = standardised input, a[l] outputs
  mutable Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> partials;  ///< scratch: per-row-block parameter gradients
};

/// @brief The batched MLP.
template <RealScalar S = double>
class mlp {
 public:
  using vector_type = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using matrix_type = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using row_type = Eigen::Matrix<S, 1, Eigen::Dynamic>;

  /// @brief Builds and initialises from `seed` (counter-based: the same seed gives the same weights everywhere).
  /// @throws std::invalid_argument on non-positive sizes.
  explicit mlp(mlp_options options, std::uint64_t seed = 0) : m_options(std::move(options)) {
    if (m_options.inputs < 1 || m_options.outputs < 1) {
      core::detail::throw_invalid_argument("upfi::nn::mlp: inputs (", m_options.inputs, ") and outputs (",
                                           m_options.outputs, ") must be >= 1");
    }
    for (auto w : m_options.hidden) {
      if (w < 1) core::detail::throw_invalid_argument("upfi::nn::mlp: hidden width ", w, " must be >= 1");
    }
    m_widths.push_back(m_options.inputs + (m_options.time_input ? 1 : 0));
    for (auto w : m_options.hidden) m_widths.push_back(w);
    m_widths.push_back(m_options.outputs);
    Eigen::Index count = 0;
    for (std::size_t l = 1; l < m_widths.size(); ++l) {
      m_offsets.push_back(count);
      count += m_widths[l] * m_widths[l - 1] + m_widths[l];
    }
    m_params = vector_type::Zero(count);
    m_mean = row_type::Zero(m_widths[0]);
    m_std = row_type::Ones(m_widths[0]);
    initialise(seed);
  }

  [[nodiscard]] const mlp_options& options() const noexcept { return m_options; }
  [[nodiscard]] Eigen::Index inputs() const noexcept { return m_options.inputs; }
  [[nodiscard]] Eigen::Index outputs() const noexcept { return m_options.outputs; }
  [[nodiscard]] std::size_t layers() const noexcept { return m_widths.size() - 1; }
  [[nodiscard]] Eigen::Index parameter_count() const noexcept { return m_params.size(); }
  /// @brief All parameters as one flat vector (optimisers update it in place).
  [[nodiscard]] vector_type& parameters() noexcept { return m_params; }
  [[nodiscard]] const vector_type& parameters() const noexcept { return m_params; }

  /// @brief Weights of layer l (out x in), a view into parameters().
  [[nodiscard]] Eigen::Map<const matrix_type> weight(std::size_t l) const {
    return {m_params.data() + m_offsets[l], m_widths[l + 1], m_widths[l]};
  }
  /// @brief Bias of layer l, a view into parameters().
  [[nodiscard]] Eigen::Map<const vector_type> bias(std::size_t l) const {
    return {m_params.data() + m_offsets[l] + m_widths[l + 1] * m_widths[l], m_widths[l + 1]};
  }

  /// @brief Input standardisation (v - mean) / std for v = [x, t]; std entries must be > 0.
  void set_standardisation(row_type mean, row_type std) {
    if (mean.size() != m_widths[0] || std.size() != m_widths[0] || !(std.array() > 0).all() || !mean.allFinite() ||
        !std.allFinite()) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::set_standardisation: need ", m_widths[0],
                                           " finite means and positive standard deviations");
    }
    m_mean = std::move(mean);
    m_std = std::move(std);
  }
  [[nodiscard]] const row_type& input_mean() const noexcept { return m_mean; }
  [[nodiscard]] const row_type& input_std() const noexcept { return m_std; }

  /// @brief Rows per block of the parallel passes. Every pass cuts the cloud into blocks of this many rows (fixed,
  /// never depending on the thread count), runs the blocks in parallel with single-threaded GEMMs and sums parameter
  /// gradients over blocks in block order, so results are bit-identical for any thread count.
  static constexpr Eigen::Index block_rows = 128;

  /// @brief Y = f(t, X) for X (N x inputs); keeps intermediates in `ws` for vjp().
  /// @throws std::invalid_argument if X has the wrong number of columns.
  void forward(S t, const Eigen::Ref<const matrix_type>& x, matrix_type& y, mlp_workspace<S>& ws) const {
    if (x.cols() != m_options.inputs) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::forward: input has ", x.cols(), " columns, expected ",
                                           m_options.inputs);
    }
    const Eigen::Index n = x.rows();
    const std::size_t nl = layers();
    ws.z.resize(nl);
    ws.a.resize(nl + 1);
    ws.a[0].resize(n, m_widths[0]);
    ws.a[0].leftCols(m_options.inputs) = x;
    if (m_options.time_input) ws.a[0].col(m_options.inputs).setConstant(t);
    ws.a[0] = ((ws.a[0].rowwise() - m_mean).array().rowwise() / m_std.array()).matrix();
    for (std::size_t l = 0; l < nl; ++l) {
      ws.z[l].resize(n, m_widths[l + 1]);
      ws.a[l + 1].resize(n, m_widths[l + 1]);
    }
    for_row_blocks(n, [&](Eigen::Index r0, Eigen::Index r1) {
      for (std::size_t l = 0; l < nl; ++l) {
        auto z = ws.z[l].middleRows(r0, r1 - r0);
        z.noalias() = ws.a[l].middleRows(r0, r1 - r0) * weight(l).transpose();
        z.rowwise() += bias(l).transpose();
        auto out = ws.a[l + 1].middleRows(r0, r1 - r0).array();
        apply_activation(l + 1 == nl ? m_options.output_activation : m_options.hidden_activation, z.array(), out);
      }
    });
    y = ws.a[nl];
  }

  /// @brief Y = f(t, X) without keeping a workspace.
  [[nodiscard]] matrix_type operator()(S t, const Eigen::Ref<const matrix_type>& x) const {
    return forward_pass(t, x).a.back();
  }

  /// @brief DifferentiableField interface: Y = f(t, X).
  void evaluate(S t, const Eigen::Ref<const matrix_type>& x, matrix_type& y) const {
    mlp_workspace<S> ws;
    forward(t, x, y, ws);
  }
  /// @brief RecordingField interface: the record of an evaluation is the forward pass's workspace.
  using record_type = mlp_workspace<S>;
  /// @brief RecordingField interface: Y = f(t, X), keeping the intermediates in `ws` for vjp(ws, ...) (= forward()).
  void evaluate(S t, const Eigen::Ref<const matrix_type>& x, matrix_type& y, mlp_workspace<S>& ws) const {
    forward(t, x, y, ws);
  }
  /// @brief DifferentiableField interface: VJP at (t, X) with its own forward pass (see the workspace overload to
  /// reuse a forward pass).
  void vjp(S t, const Eigen::Ref<const matrix_type>& x, const Eigen::Ref<const matrix_type>& dy, matrix_type* grad_x,
           vector_type* grad_params) const {
    vjp(forward_pass(t, x), dy, grad_x, grad_params);
  }

  /// @brief Vector-Jacobian product of the last forward(): given dY (N x outputs), writes dX (N x inputs) when
  /// `grad_x` is non-null and ADDS the parameter gradient to `grad_params` when non-null.
  void vjp(const mlp_workspace<S>& ws, const Eigen::Ref<const matrix_type>& dy, matrix_type* grad_x,
           vector_type* grad_params) const {
    const std::size_t nl = layers();
    if (ws.a.size() != nl + 1 || dy.rows() != ws.a[0].rows() || dy.cols() != m_options.outputs) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::vjp: cotangent is ", dy.rows(), " x ", dy.cols(),
                                           " but the last forward pass produced ", ws.a.empty() ? 0 : ws.a[0].rows(),
                                           " x ", m_options.outputs);
    }
    if (grad_params != nullptr && grad_params->size() != parameter_count()) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::vjp: parameter gradient has ", grad_params->size(),
                                           " entries, expected ", parameter_count());
    }
    const Eigen::Index n = dy.rows();
    if (grad_x != nullptr) grad_x->resize(n, m_options.inputs);
    const bool want_params = grad_params != nullptr;
    auto& partials = ws.partials;
    if (want_params) partials.setZero(parameter_count(), core::block_count(n, block_rows));
    for_row_blocks(n, [&](Eigen::Index r0, Eigen::Index r1) {
      const Eigen::Index nr = r1 - r0;
      matrix_type delta = dy.middleRows(r0, nr);  // dA_l, then dZ_l
      matrix_type deriv;
      for (std::size_t l = nl; l-- > 0;) {
        deriv.resize(nr, m_widths[l + 1]);
        auto d_out = deriv.array();
        activation_derivative(l + 1 == nl ? m_options.output_activation : m_options.hidden_activation,
                              ws.z[l].middleRows(r0, nr).array(), ws.a[l + 1].middleRows(r0, nr).array(), d_out);
        delta.array() *= deriv.array();
        if (want_params) {
          S* g = partials.col(r0 / block_rows).data();
          Eigen::Map<matrix_type> gw(g + m_offsets[l], m_widths[l + 1], m_widths[l]);
          Eigen::Map<vector_type> gb(g + m_offsets[l] + m_widths[l + 1] * m_widths[l], m_widths[l + 1]);
          gw.noalias() += delta.transpose() * ws.a[l].middleRows(r0, nr);
          gb += delta.colwise().sum().transpose();
        }
        if (l > 0 || grad_x != nullptr) {
          matrix_type prev = delta * weight(l);
          delta = std::move(prev);
        }
      }
      if (grad_x != nullptr) {
        // undo the standardisation: d/dx = d/dv / std; drop the time column
        grad_x->middleRows(r0, nr) =
            (delta.leftCols(m_options.inputs).array().rowwise() / m_std.head(m_options.inputs).array()).matrix();
      }
    });
    if (want_params) *grad_params += partials.rowwise().sum();
  }

  /// @brief Diagonal of the input Jacobian, diag(n, i) = d f_i / d x_i at sample n (N x d; needs outputs == inputs),
  /// by forward-mode tangents: one pass per coordinate (the chemical-Langevin velocity needs it, algorithms.md §1.2).
  void jacobian_diagonal(S t, const Eigen::Ref<const matrix_type>& x, matrix_type& diag) const {
    require_square("jacobian_diagonal");
    jacobian_diagonal(forward_pass(t, x), diag);
  }
  /// @brief jacobian_diagonal() at the point of the last forward() into `ws` (no second forward pass).
  void jacobian_diagonal(const mlp_workspace<S>& ws, matrix_type& diag) const {
    require_square("jacobian_diagonal");
    require_forward(ws, "jacobian_diagonal");
    const Eigen::Index n = ws.a[0].rows(), d = m_options.inputs;
    diag.resize(n, d);
    for_row_blocks(n, [&](Eigen::Index r0, Eigen::Index r1) {
      const Eigen::Index nr = r1 - r0;
      unit_tangents local;
      unit_tangent_pass(ws, r0, nr, local, false);
      for (Eigen::Index i = 0; i < d; ++i)
        diag.col(i).segment(r0, nr) = local.tangents.back().col(i).segment(i * nr, nr);
    });
  }

  /// @brief VJP of jacobian_diagonal: for a cotangent C (N x d) of the diagonal, writes dX when `grad_x` is non-null
  /// and ADDS d(sum C .* diag)/d(parameters) to `grad_params` when non-null (reverse mode over the tangent passes; uses
  /// second derivatives of the activations).
  void jacobian_diagonal_vjp(S t, const Eigen::Ref<const matrix_type>& x, const Eigen::Ref<const matrix_type>& cot,
                             matrix_type* grad_x, vector_type* grad_params) const {
    require_square("jacobian_diagonal_vjp");
    jacobian_diagonal_vjp(forward_pass(t, x), cot, grad_x, grad_params);
  }
  /// @brief jacobian_diagonal_vjp() at the point of the last forward() into `ws` (no second forward pass).
  void jacobian_diagonal_vjp(const mlp_workspace<S>& ws, const Eigen::Ref<const matrix_type>& cot, matrix_type* grad_x,
                             vector_type* grad_params) const {
    require_square("jacobian_diagonal_vjp");
    require_forward(ws, "jacobian_diagonal_vjp");
    if (cot.rows() != ws.a[0].rows() || cot.cols() != m_options.inputs) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::jacobian_diagonal_vjp: cotangent is ", cot.rows(), " x ",
                                           cot.cols(), ", expected ", ws.a[0].rows(), " x ", m_options.inputs);
    }
    if (grad_params != nullptr && grad_params->size() != parameter_count()) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::jacobian_diagonal_vjp: parameter gradient has wrong size");
    }
    const std::size_t nl = layers();
    const Eigen::Index n = ws.a[0].rows(), d = m_options.inputs;
    if (grad_x != nullptr) grad_x->resize(n, d);
    if (grad_params != nullptr) ws.partials.setZero(parameter_count(), core::block_count(n, block_rows));
    // Reverse mode over the stacked tangent pass (see unit_tangent_pass). The loss sum_{n,i} C(n, i) T_L^i(n, i)
    // depends on the parameters through the tangent products Zdot_l^i = T_l^i W_l^T and, through act'(Z_l), on the
    // primal pass. The tangent chain runs once on the stacked seeds (one GEMM per product); what it sends into Z_l,
    // sum_i tbar_{l+1}^i .* Zdot_l^i .* act''(Z_l), is summed over the seeds first, so the primal chain runs once.
    for_row_blocks(n, [&](Eigen::Index r0, Eigen::Index r1) {
      const Eigen::Index nr = r1 - r0;
      unit_tangents u;
      unit_tangent_pass(ws, r0, nr, u, true);
      S* g = grad_params != nullptr ? ws.partials.col(r0 / block_rows).data() : nullptr;
      const auto gw_of = [&](std::size_t l) {
        return Eigen::Map<matrix_type>(g + m_offsets[l], m_widths[l + 1], m_widths[l]);
      };
      const auto gb_of = [&](std::size_t l) {
        return Eigen::Map<vector_type>(g + m_offsets[l] + m_widths[l + 1] * m_widths[l], m_widths[l + 1]);
      };
      matrix_type t_bar = matrix_type::Zero(d * nr, m_options.outputs);  // cotangent of the stacked output tangents
      for (Eigen::Index i = 0; i < d; ++i) t_bar.col(i).segment(i * nr, nr) = cot.col(i).segment(r0, nr);
      std::vector<matrix_type> source(nl);  // the tangent chain's cotangent of Z_l, summed over the seeds
      matrix_type zdot_bar;
      for (std::size_t l = nl; l-- > 0;) {
        const Eigen::Index w = m_widths[l + 1];
        zdot_bar.resize(d * nr, w);
        source[l].setZero(nr, w);
        for (Eigen::Index i = 0; i < d; ++i) {
          const auto tb = t_bar.middleRows(i * nr, nr).array();
          zdot_bar.middleRows(i * nr, nr).array() = tb * u.d1[l].array();
          source[l].array() += tb * u.zdot[l].middleRows(i * nr, nr).array();
        }
        source[l].array() *= u.d2[l].array();
        if (l > 0) {
          if (g != nullptr) gw_of(l).noalias() += zdot_bar.transpose() * u.tangents[l];
          t_bar.noalias() = zdot_bar * weight(l);
        } else if (g != nullptr) {
          // T_0^i is the seed: column i equal to 1 / std_i
          for (Eigen::Index i = 0; i < d; ++i) {
            gw_of(0).col(i) += zdot_bar.middleRows(i * nr, nr).colwise().sum().transpose() / m_std[i];
          }
        }
      }
      matrix_type a_bar, z_bar;  // the primal chain: A_L does not enter the tangents
      for (std::size_t l = nl; l-- > 0;) {
        z_bar = source[l];
        if (l + 1 < nl) z_bar.array() += a_bar.array() * u.d1[l].array();
        if (g != nullptr) {
          gw_of(l).noalias() += z_bar.transpose() * ws.a[l].middleRows(r0, nr);
          gb_of(l) += z_bar.colwise().sum().transpose();
        }
        if (l > 0 || grad_x != nullptr) a_bar.noalias() = z_bar * weight(l);
      }
      if (grad_x != nullptr) {
        grad_x->middleRows(r0, nr) = (a_bar.leftCols(d).array().rowwise() / m_std.head(d).array()).matrix();
      }
    });
    if (grad_params != nullptr) *grad_params += ws.partials.rowwise().sum();
  }

  /// @brief Directional derivative of the output along per-row input directions: jvp(n, k) = sum_i d f_k / d x_i
  /// (x_n) dir(n, i) (N x outputs), by one forward-mode tangent pass.
  void jvp(S t, const Eigen::Ref<const matrix_type>& x, const Eigen::Ref<const matrix_type>& dir,
           matrix_type& out) const {
    if (dir.rows() != x.rows() || dir.cols() != m_options.inputs) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::jvp: direction is ", dir.rows(), " x ", dir.cols(),
                                           ", expected ", x.rows(), " x ", m_options.inputs);
    }
    const mlp_workspace<S> ws = forward_pass(t, x);
    out.resize(x.rows(), m_options.outputs);
    for_row_blocks(x.rows(), [&](Eigen::Index r0, Eigen::Index r1) {
      std::vector<matrix_type> tangents;
      propagate_tangent(ws, r0, r1 - r0, direction_seed(dir.middleRows(r0, r1 - r0)), tangents);
      out.middleRows(r0, r1 - r0) = tangents.back();
    });
  }

  /// @brief VJP of jvp() w.r.t. the evaluation point and the parameters, for a fixed direction: given a cotangent
  /// C (N x outputs) of jvp(t, X, dir), writes d(sum C .* jvp)/dX when `grad_x` is non-null and ADDS the parameter
  /// gradient when `grad_params` is non-null (reverse over forward; second derivatives of the activations). With
  /// outputs == 1 and dir = the cotangent of a gradient field, this is the gradient field's VJP.
  void jvp_vjp(S t, const Eigen::Ref<const matrix_type>& x, const Eigen::Ref<const matrix_type>& dir,
               const Eigen::Ref<const matrix_type>& cot, matrix_type* grad_x, vector_type* grad_params) const {
    if (dir.rows() != x.rows() || dir.cols() != m_options.inputs || cot.rows() != x.rows() ||
        cot.cols() != m_options.outputs) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::jvp_vjp: direction (", dir.rows(), " x ", dir.cols(),
                                           ") must be N x inputs and cotangent (", cot.rows(), " x ", cot.cols(),
                                           ") N x outputs for N = ", x.rows());
    }
    if (grad_params != nullptr && grad_params->size() != parameter_count()) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::jvp_vjp: parameter gradient has wrong size");
    }
    const mlp_workspace<S> ws = forward_pass(t, x);
    second_order_reverse(ws, grad_x, grad_params, [&](Eigen::Index r0, Eigen::Index nr, const auto& reverse) {
      reverse(direction_seed(dir.middleRows(r0, nr)), cot.middleRows(r0, nr));
    });
  }

  /// @brief Re-initialises the weights from `seed` (stream 0: layer l uses counters from 4096 l on).
  void initialise(std::uint64_t seed) {
    const core::counter_rng rng(seed);
    for (std::size_t l = 0; l < layers(); ++l) {
      const auto fan_in = static_cast<double>(m_widths[l]), fan_out = static_cast<double>(m_widths[l + 1]);
      const double sd = m_options.init == initialisation::xavier_normal ? std::sqrt(2.0 / (fan_in + fan_out))
                                                                        : std::sqrt(2.0 / fan_in);
      Eigen::MatrixXd w(m_widths[l + 1], m_widths[l]);
      rng.fill_normal(w, static_cast<std::uint32_t>(4096 * l));
      Eigen::Map<matrix_type>(m_params.data() + m_offsets[l], m_widths[l + 1], m_widths[l]) =
          (sd * w).template cast<S>();
      Eigen::Map<vector_type>(m_params.data() + m_offsets[l] + m_widths[l + 1] * m_widths[l], m_widths[l + 1])
          .setZero();
    }
  }

  /// @brief Saves architecture, standardisation and parameters as text (format "upfi-mlp 1", documented in
  /// docs/nn.md); numbers in shortest round-trip form, so load(save(m)) is bit-exact. Written atomically.
  void save(const std::filesystem::path& path) const {
    std::ostringstream out;
    out << "upfi-mlp 1\n";
    out << "inputs " << m_options.inputs << "\noutputs " << m_options.outputs << "\ntime_input "
        << (m_options.time_input ? 1 : 0) << "\nhidden";
    for (auto w : m_options.hidden) out << ' ' << w;
    out << "\nhidden_activation " << to_string(m_options.hidden_activation) << "\noutput_activation "
        << to_string(m_options.output_activation) << "\n";
    const auto write = [&out](const char* name, const auto& v) {
      out << name << ' ' << v.size();
      for (Eigen::Index i = 0; i < v.size(); ++i) out << ' ' << core::detail::format_number(static_cast<double>(v[i]));
      out << '\n';
    };
    write("mean", m_mean);
    write("std", m_std);
    write("parameters", m_params);
    const std::string text = out.str();
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      file << text;
      if (!file)
        UPFI_THROW(core::error(core::detail::message("upfi::nn::mlp::save: cannot write '", tmp.string(), "'")));
    }
    std::filesystem::rename(tmp, path);
  }

  /// @brief Loads a model written by save(). @throws std::invalid_argument naming the problem (unknown format or
  /// version, missing field, wrong count, non-numeric value).
  [[nodiscard]] static mlp load(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) core::detail::throw_invalid_argument("upfi::nn::mlp::load: cannot open '", path.string(), "'");
    std::stringstream buffer;
    buffer << file.rdbuf();
    std::istringstream in(buffer.str());
    const auto fail = [&](const std::string& what) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::load: ", path.string(), ": ", what);
    };
    std::string magic, key;
    int version = 0;
    if (!(in >> magic >> version) || magic != "upfi-mlp") fail("not an upfi-mlp file");
    if (version != 1) fail(core::detail::message("unsupported version ", version, " (this build reads version 1)"));
    mlp_options o;
    const auto expect = [&](const char* name) {
      if (!(in >> key) || key != name) fail(core::detail::message("expected '", name, "'"));
    };
    int time_input = 0;
    expect("inputs");
    in >> o.inputs;
    expect("outputs");
    in >> o.outputs;
    expect("time_input");
    in >> time_input;
    o.time_input = time_input != 0;
    expect("hidden");
    o.hidden.clear();
    std::string line;
    std::getline(in, line);
    std::istringstream widths(line);
    for (Eigen::Index w; widths >> w;) o.hidden.push_back(w);
    std::string name;
    expect("hidden_activation");
    in >> name;
    o.hidden_activation = activation_from_string(name);
    expect("output_activation");
    in >> name;
    o.output_activation = activation_from_string(name);
    if (!in) fail("malformed header");
    mlp m(o, 0);
    const auto read = [&](const char* field, auto& v) {
      Eigen::Index count = -1;
      expect(field);
      if (!(in >> count) || count != v.size()) {
        fail(core::detail::message("field '", field, "' has ", count, " values, expected ", v.size()));
      }
      for (Eigen::Index i = 0; i < count; ++i) {
        std::string token;
        double value = 0;
        in >> token;
        const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
        if (ec != std::errc{} || ptr != token.data() + token.size() || !std::isfinite(value)) {
          fail(core::detail::message("field '", field, "' value ", i, " ('", token, "') is not a finite number"));
        }
        v[i] = static_cast<S>(value);
      }
    };
    read("mean", m.m_mean);
    read("std", m.m_std);
    read("parameters", m.m_params);
    return m;
  }

 private:
  // A forward pass at (t, X) into a fresh workspace: the recomputing overloads run their workspace versions on it.
  [[nodiscard]] mlp_workspace<S> forward_pass(S t, const Eigen::Ref<const matrix_type>& x) const {
    mlp_workspace<S> ws;
    matrix_type y;
    forward(t, x, y, ws);
    return ws;
  }
  // Runs body(r0, r1) over fixed row blocks. With one block it runs here with Eigen's GEMM threading off (Eigen
  // takes its thread count from omp_get_max_threads() unless setNbThreads was called), so the arithmetic is the same
  // as inside a parallel region whatever the thread count.
  template <class Body>
  static void for_row_blocks(Eigen::Index n, Body&& body) {
    if (core::block_count(n, block_rows) <= 1) {
      const core::thread_limit serial(1);
      if (n > 0) body(Eigen::Index{0}, n);
    } else {
      core::parallel_for(n, block_rows, body);
    }
  }
  // Forward-mode tangents of the d unit seeds e_i / std_i (on the standardised input) for rows [r0, r0 + nr),
  // stacked: zdot[l] = T_l W_l^T and tangents[l + 1] = act'(Z_l) .* zdot[l] are (d nr) x width_{l+1}, rows
  // [i nr, (i + 1) nr) for seed i, so each layer costs one GEMM for all seeds (layer 0's product is a column of W_0).
  // d1[l] = act'(Z_l) and, when asked, d2[l] = act''(Z_l) (nr x width_{l+1}).
  struct unit_tangents {
    std::vector<matrix_type> zdot, tangents, d1, d2;
  };
  void unit_tangent_pass(const mlp_workspace<S>& ws, Eigen::Index r0, Eigen::Index nr, unit_tangents& u,
                         bool second_derivatives) const {
    const std::size_t nl = layers();
    const Eigen::Index d = m_options.inputs;
    u.zdot.resize(nl);
    u.tangents.resize(nl + 1);
    u.d1.resize(nl);
    u.d2.resize(second_derivatives ? nl : 0);
    for (std::size_t l = 0; l < nl; ++l) {
      const activation act = l + 1 == nl ? m_options.output_activation : m_options.hidden_activation;
      const Eigen::Index w = m_widths[l + 1];
      const auto z = ws.z[l].middleRows(r0, nr).array();
      const auto a = ws.a[l + 1].middleRows(r0, nr).array();
      u.d1[l].resize(nr, w);
      auto a1 = u.d1[l].array();
      activation_derivative(act, z, a, a1);
      if (second_derivatives) {
        u.d2[l].resize(nr, w);
        auto a2 = u.d2[l].array();
        activation_second_derivative(act, z, a, a2);
      }
      u.zdot[l].resize(d * nr, w);
      if (l == 0) {
        for (Eigen::Index i = 0; i < d; ++i) {
          u.zdot[0].middleRows(i * nr, nr).rowwise() = weight(0).col(i).transpose() / m_std[i];
        }
      } else {
        u.zdot[l].noalias() = u.tangents[l] * weight(l).transpose();
      }
      u.tangents[l + 1].resize(d * nr, w);
      for (Eigen::Index i = 0; i < d; ++i) {
        u.tangents[l + 1].middleRows(i * nr, nr).array() = u.zdot[l].middleRows(i * nr, nr).array() * u.d1[l].array();
      }
    }
  }
  void require_forward(const mlp_workspace<S>& ws, const char* what) const {
    if (ws.a.size() != layers() + 1 || ws.z.size() != layers()) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::", what,
                                           ": the workspace holds no forward pass of this network");
    }
  }
  void require_square(const char* what) const {
    if (m_options.inputs != m_options.outputs) {
      core::detail::throw_invalid_argument("upfi::nn::mlp::", what, ": needs outputs == inputs, got ",
                                           m_options.outputs, " and ", m_options.inputs);
    }
  }
  // A direction in x becomes dir / std on the standardised input (no component along time).
  [[nodiscard]] matrix_type direction_seed(const Eigen::Ref<const matrix_type>& dir) const {
    matrix_type seed = matrix_type::Zero(dir.rows(), m_widths[0]);
    seed.leftCols(m_options.inputs) = (dir.array().rowwise() / m_std.head(m_options.inputs).array()).matrix();
    return seed;
  }
  // Tangents of the forward pass in `ws`, rows [r0, r0 + nr), for a seed on the standardised input:
  // tangents[0] = seed, tangents[l + 1] = act'(Z_l) .* (tangents[l] W_l^T).
  void propagate_tangent(const mlp_workspace<S>& ws, Eigen::Index r0, Eigen::Index nr, matrix_type seed,
                         std::vector<matrix_type>& tangents) const {
    const std::size_t nl = layers();
    tangents.resize(nl + 1);
    tangents[0] = std::move(seed);
    matrix_type deriv;
    for (std::size_t l = 0; l < nl; ++l) {
      deriv.resize(nr, m_widths[l + 1]);
      auto d = deriv.array();
      activation_derivative(l + 1 == nl ? m_options.output_activation : m_options.hidden_activation,
                            ws.z[l].middleRows(r0, nr).array(), ws.a[l + 1].middleRows(r0, nr).array(), d);
      tangents[l + 1] = (deriv.array() * (tangents[l] * weight(l).transpose()).array()).matrix();
    }
  }

  // Driver of the second-order VJPs (over tangent passes) after a forward pass in `ws`: for each row block,
  // `passes(r0, nr, reverse)` calls reverse(seed, t_bar) once per tangent pass (seed on the standardised input, t_bar
  // the cotangent of the output tangent); the input cotangents are summed into grad_x rows and the parameter gradients
  // into the block's column of ws.partials, summed in block order at the end.
  template <class Passes>
  void second_order_reverse(const mlp_workspace<S>& ws, matrix_type* grad_x, vector_type* grad_params,
                            Passes&& passes) const {
    const std::size_t nl = layers();
    const Eigen::Index n = ws.a[0].rows();
    if (grad_x != nullptr) grad_x->resize(n, m_options.inputs);
    if (grad_params != nullptr) ws.partials.setZero(parameter_count(), core::block_count(n, block_rows));
    for_row_blocks(n, [&](Eigen::Index r0, Eigen::Index r1) {
      const Eigen::Index nr = r1 - r0;
      std::vector<matrix_type> d1(nl), d2(nl), tangents;
      for (std::size_t l = 0; l < nl; ++l) {
        const activation act = l + 1 == nl ? m_options.output_activation : m_options.hidden_activation;
        d1[l].resize(nr, m_widths[l + 1]);
        d2[l].resize(nr, m_widths[l + 1]);
        auto a1 = d1[l].array();
        auto a2 = d2[l].array();
        const auto z = ws.z[l].middleRows(r0, nr).array();
        const auto a = ws.a[l + 1].middleRows(r0, nr).array();
        activation_derivative(act, z, a, a1);
        activation_second_derivative(act, z, a, a2);
      }
      S* g = grad_params != nullptr ? ws.partials.col(r0 / block_rows).data() : nullptr;
      matrix_type a_bar_input = matrix_type::Zero(nr, m_widths[0]);
      const auto reverse = [&](matrix_type seed, const Eigen::Ref<const matrix_type>& t_bar_out) {
        propagate_tangent(ws, r0, nr, std::move(seed), tangents);
        // T_l = act'(Z_l) .* Zdot_l, Zdot_l = T_{l-1} W_l^T; A_l = act(Z_l), Z_l = A_{l-1} W_l^T + b_l.
        matrix_type t_bar = t_bar_out;
        matrix_type a_bar = matrix_type::Zero(nr, m_options.outputs);  // the tangent does not depend on A_L
        for (std::size_t l = nl; l-- > 0;) {
          const matrix_type zdot = tangents[l] * weight(l).transpose();
          const matrix_type zdot_bar = (t_bar.array() * d1[l].array()).matrix();
          const matrix_type z_bar =
              (t_bar.array() * d2[l].array() * zdot.array() + a_bar.array() * d1[l].array()).matrix();
          if (g != nullptr) {
            Eigen::Map<matrix_type> gw(g + m_offsets[l], m_widths[l + 1], m_widths[l]);
            Eigen::Map<vector_type> gb(g + m_offsets[l] + m_widths[l + 1] * m_widths[l], m_widths[l + 1]);
            gw.noalias() += zdot_bar.transpose() * tangents[l];
            gw.noalias() += z_bar.transpose() * ws.a[l].middleRows(r0, nr);
            gb += z_bar.colwise().sum().transpose();
          }
          t_bar = zdot_bar * weight(l);
          a_bar = z_bar * weight(l);
        }
        a_bar_input += a_bar;
      };
      passes(r0, nr, reverse);
      if (grad_x != nullptr) {
        grad_x->middleRows(r0, nr) =
            (a_bar_input.leftCols(m_options.inputs).array().rowwise() / m_std.head(m_options.inputs).array()).matrix();
      }
    });
    if (grad_params != nullptr) *grad_params += ws.partials.rowwise().sum();
  }

  mlp_options m_options;
  std::vector<Eigen::Index> m_widths;   // input, hidden..., output
  std::vector<Eigen::Index> m_offsets;  // start of layer l in the parameter vector
  vector_type m_params;
  row_type m_mean, m_std;
};

}  // namespace upfi::nn
