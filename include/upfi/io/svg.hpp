// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Dependency-free SVG plots: scatter (one colour or coloured by value), lines, arrows (quiver), heat maps,
/// with axes, 1-2-5 ticks, a legend and a colour bar. Enough for the pictures of the `upfi` program (snapshots, drift
/// fields, growth maps, trajectories, loss curves) without any plotting library.
///
///     upfi::io::svg_plot p({.title = "snapshots", .x_label = "x0", .y_label = "x1"});
///     p.scatter(x, y, upfi::io::palette(0), "t = 0");
///     p.save("snapshots.svg");
///
/// Layers are drawn in the order they are added; the axes cover the union of all layers (padded by 3 %). Every input
/// is checked: mismatched lengths and non-finite values throw std::invalid_argument naming the layer and the index.

#include <upfi/core/error.hpp>
#include <upfi/io/detail/atomic_write.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace upfi::io {

/// @brief An sRGB colour.
struct color {
  std::uint8_t r = 0, g = 0, b = 0;
  /// @brief "#rrggbb".
  [[nodiscard]] std::string hex() const {
    std::array<char, 8> s{};
    std::snprintf(s.data(), s.size(), "#%02x%02x%02x", r, g, b);
    return s.data();
  }
  friend bool operator==(const color&, const color&) = default;
};

/// @brief The viridis colour map at t in [0, 1] (clamped; NaN maps to grey), linear between 9 anchors.
[[nodiscard]] inline color viridis(double t) {
  if (std::isnan(t)) return {128, 128, 128};
  static constexpr std::array<std::array<double, 3>, 9> anchors{{{68, 1, 84},
                                                                 {71, 44, 122},
                                                                 {59, 81, 139},
                                                                 {44, 113, 142},
                                                                 {33, 144, 141},
                                                                 {39, 173, 129},
                                                                 {92, 200, 99},
                                                                 {170, 220, 50},
                                                                 {253, 231, 37}}};
  const double s = std::clamp(t, 0.0, 1.0) * static_cast<double>(anchors.size() - 1);
  const auto i = std::min(static_cast<std::size_t>(s), anchors.size() - 2);
  const double f = s - static_cast<double>(i);
  const auto mix = [&](std::size_t c) {
    return static_cast<std::uint8_t>(std::lround(anchors[i][c] * (1 - f) + anchors[i + 1][c] * f));
  };
  return {mix(0), mix(1), mix(2)};
}

/// @brief A qualitative colour for series i (8 distinguishable colours, then repeating).
[[nodiscard]] inline color palette(std::size_t i) {
  static constexpr std::array<color, 8> colors{{{31, 119, 180},
                                                {255, 127, 14},
                                                {44, 160, 44},
                                                {214, 39, 40},
                                                {148, 103, 189},
                                                {140, 86, 75},
                                                {227, 119, 194},
                                                {127, 127, 127}}};
  return colors[i % colors.size()];
}

/// @brief Round tick values in [lo, hi]: multiples of a step of 1, 2 or 5 times a power of ten, the one giving about
/// `target` intervals.
/// @throws std::invalid_argument if a bound is not finite or lo > hi.
[[nodiscard]] inline std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    core::detail::throw_invalid_argument("upfi::io::nice_ticks: bad range [", lo, ", ", hi, "]");
  }
  if (hi == lo) return {lo};
  const double raw = (hi - lo) / std::max(target, 1);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;  // the 1-2-5 step whose tick count is closest to target
  for (const double m : {2.0, 5.0, 10.0}) {
    if (std::abs((hi - lo) / (m * power) - target) < std::abs((hi - lo) / step - target)) step = m * power;
  }
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k += 1) {
    const double v = k * step;
    ticks.push_back(std::abs(v) < 1e-12 * step ? 0.0 : v);
  }
  return ticks;
}

/// @brief Layout and labels of an svg_plot.
struct plot_options {
  std::string title{};
  std::string x_label{};
  std::string y_label{};
  double width = 640;   ///< pixels
  double height = 480;  ///< pixels
  bool log_y = false;   ///< logarithmic y axis (every y must then be > 0)
};

/// @brief A 2-D plot built layer by layer and written as SVG.
class svg_plot {
 public:
  using vector = Eigen::Ref<const Eigen::VectorXd>;

  explicit svg_plot(plot_options options = {}) : options_(std::move(options)) {
    if (!(options_.width >= 200) || !(options_.height >= 150)) {
      core::detail::throw_invalid_argument("upfi::io::svg_plot: size ", options_.width, " x ", options_.height,
                                           " is too small (at least 200 x 150)");
    }
  }

  /// @brief Points (x_i, y_i) in one colour.
  svg_plot& scatter(const vector& x, const vector& y, color c, std::string label = {}, double radius = 2,
                    double opacity = 0.7) {
    layer l = make_layer(kind::scatter, x, y, "scatter", std::move(label), c);
    l.size = radius;
    l.opacity = opacity;
    layers_.push_back(std::move(l));
    return *this;
  }

  /// @brief Points coloured by `values` on the viridis map, with a colour bar titled `value_label`.
  svg_plot& scatter(const vector& x, const vector& y, const vector& values, std::string value_label, double radius = 2,
                    double opacity = 0.8) {
    layer l = make_layer(kind::scatter, x, y, "scatter", {}, {});
    check_values(values, x.size(), "scatter values");
    l.values.assign(values.begin(), values.end());
    l.size = radius;
    l.opacity = opacity;
    set_colour_bar(values, std::move(value_label));
    layers_.push_back(std::move(l));
    return *this;
  }

  /// @brief A polyline through (x_i, y_i).
  svg_plot& line(const vector& x, const vector& y, color c, std::string label = {}, double width = 1.5,
                 double opacity = 1) {
    layer l = make_layer(kind::line, x, y, "line", std::move(label), c);
    l.size = width;
    l.opacity = opacity;
    layers_.push_back(std::move(l));
    return *this;
  }

  /// @brief Arrows from (x_i, y_i) along (u_i, v_i) times `scale` (data units); scale <= 0 picks one so that the
  /// longest arrow is `-scale` times (or, for 0, 0.06 times) the larger data extent of the tails.
  svg_plot& arrows(const vector& x, const vector& y, const vector& u, const vector& v, color c, double scale = 0,
                   std::string label = {}) {
    layer l = make_layer(kind::arrows, x, y, "arrows", std::move(label), c);
    check_values(u, x.size(), "arrows u");
    check_values(v, x.size(), "arrows v");
    if (scale <= 0) {
      const double fraction = scale < 0 ? -scale : 0.06;
      double longest = 0;
      for (Eigen::Index i = 0; i < u.size(); ++i) longest = std::max(longest, std::hypot(u[i], v[i]));
      const double extent = std::max({x.maxCoeff() - x.minCoeff(), y.maxCoeff() - y.minCoeff(), 1e-12});
      scale = longest > 0 ? fraction * extent / longest : 1;
    }
    for (Eigen::Index i = 0; i < u.size(); ++i) {
      l.x2.push_back(x[i] + scale * u[i]);
      l.y2.push_back(y[i] + scale * v[i]);
    }
    l.opacity = 0.9;
    layers_.push_back(std::move(l));
    return *this;
  }

  /// @brief A heat map of `values` on [x0, x1] x [y0, y1]: values(i, j) fills row i from the bottom (y) and
  /// column j from the left (x); colour bar titled `value_label`.
  svg_plot& heatmap(double x0, double x1, double y0, double y1, const Eigen::MatrixXd& values,
                    std::string value_label) {
    if (!(std::isfinite(x0) && std::isfinite(x1) && std::isfinite(y0) && std::isfinite(y1) && x0 < x1 && y0 < y1)) {
      core::detail::throw_invalid_argument("upfi::io::svg_plot::heatmap: bad extent [", x0, ", ", x1, "] x [", y0, ", ",
                                           y1, "]");
    }
    if (values.size() == 0) core::detail::throw_invalid_argument("upfi::io::svg_plot::heatmap: no values");
    for (Eigen::Index i = 0; i < values.rows(); ++i) {
      for (Eigen::Index j = 0; j < values.cols(); ++j) {
        if (!std::isfinite(values(i, j))) {
          core::detail::throw_invalid_argument("upfi::io::svg_plot::heatmap: value (", i, ", ", j,
                                               ") is not finite: ", values(i, j));
        }
      }
    }
    layer l;
    l.type = kind::heatmap;
    l.x = {x0, x1};
    l.y = {y0, y1};
    l.grid = values;
    set_colour_bar(values.reshaped(), std::move(value_label));
    layers_.push_back(std::move(l));
    return *this;
  }

  /// @brief Number of layers added.
  [[nodiscard]] std::size_t layers() const noexcept { return layers_.size(); }

  /// @brief The SVG document. @throws std::invalid_argument if the plot is empty or log_y meets y <= 0.
  [[nodiscard]] std::string str() const {
    if (layers_.empty()) core::detail::throw_invalid_argument("upfi::io::svg_plot: nothing to draw");
    frame f = make_frame();
    std::ostringstream s;
    s.precision(6);
    s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << options_.width << "\" height=\"" << options_.height
      << "\" viewBox=\"0 0 " << options_.width << ' ' << options_.height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
    s << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
    s << "<defs><clipPath id=\"plot-area\"><rect x=\"" << f.left << "\" y=\"" << f.top << "\" width=\""
      << f.right - f.left << "\" height=\"" << f.bottom - f.top << "\"/></clipPath>"
      << "<marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"5\" markerHeight=\"5\" "
         "orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n";
    draw_axes(s, f);
    s << "<g clip-path=\"url(#plot-area)\">\n";
    for (const layer& l : layers_) draw_layer(s, f, l);
    s << "</g>\n";
    draw_legend(s, f);
    draw_colour_bar(s, f);
    if (!options_.title.empty()) {
      s << "<text x=\"" << (f.left + f.right) / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
        << escape(options_.title) << "</text>\n";
    }
    s << "</svg>\n";
    return s.str();
  }

  /// @brief Writes str() to `path` atomically. @throws core::error if the file cannot be written.
  void save(const std::filesystem::path& path) const {
    detail::write_file_atomically(path, str(), "upfi::io::svg_plot::save");
  }

 private:
  enum class kind { scatter, line, arrows, heatmap };
  struct layer {
    kind type = kind::scatter;
    std::vector<double> x, y, x2, y2, values;
    Eigen::MatrixXd grid;
    std::string label;
    color c;
    double size = 1, opacity = 1;
  };
  struct frame {
    double left, right, top, bottom;  // pixel box of the plot area
    double x_lo, x_hi, y_lo, y_hi;    // data box (log10 of y when log_y)
    [[nodiscard]] double px(double x) const { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); }
    [[nodiscard]] double py(double y) const { return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top); }
  };

  static void check_values(const vector& v, Eigen::Index n, const char* what) {
    if (v.size() != n) {
      core::detail::throw_invalid_argument("upfi::io::svg_plot: ", what, " has ", v.size(), " entries, expected ", n);
    }
    for (Eigen::Index i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        core::detail::throw_invalid_argument("upfi::io::svg_plot: ", what, "[", i, "] is not finite: ", v[i]);
      }
    }
  }

  layer make_layer(kind type, const vector& x, const vector& y, const char* what, std::string label, color c) const {
    if (x.size() == 0) core::detail::throw_invalid_argument("upfi::io::svg_plot: ", what, " has no points");
    const std::string name = std::string(what) + " x";
    check_values(x, x.size(), name.c_str());
    const std::string name_y = std::string(what) + " y";
    check_values(y, x.size(), name_y.c_str());
    layer l;
    l.type = type;
    l.x.assign(x.begin(), x.end());
    l.y.assign(y.begin(), y.end());
    l.label = std::move(label);
    l.c = c;
    return l;
  }

  template <class Values>
  void set_colour_bar(const Values& v, std::string label) {
    const double lo = v.minCoeff(), hi = v.maxCoeff();
    if (has_bar_) {
      bar_lo_ = std::min(bar_lo_, lo);
      bar_hi_ = std::max(bar_hi_, hi);
    } else {
      bar_lo_ = lo;
      bar_hi_ = hi;
      has_bar_ = true;
    }
    if (!label.empty()) bar_label_ = std::move(label);
  }

  [[nodiscard]] double colour_position(double v) const {
    return bar_hi_ > bar_lo_ ? (v - bar_lo_) / (bar_hi_ - bar_lo_) : 0.5;
  }

  [[nodiscard]] double y_value(double y) const {
    if (!options_.log_y) return y;
    if (!(y > 0)) core::detail::throw_invalid_argument("upfi::io::svg_plot: log y axis needs y > 0, got ", y);
    return std::log10(y);
  }

  [[nodiscard]] frame make_frame() const {
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
    const auto take = [&](const std::vector<double>& xs, const std::vector<double>& ys) {
      for (std::size_t i = 0; i < xs.size(); ++i) {
        x_lo = std::min(x_lo, xs[i]);
        x_hi = std::max(x_hi, xs[i]);
        const double y = y_value(ys[i]);
        y_lo = std::min(y_lo, y);
        y_hi = std::max(y_hi, y);
      }
    };
    for (const layer& l : layers_) {
      take(l.x, l.y);
      take(l.x2, l.y2);
    }
    const auto pad = [](double& lo, double& hi) {
      if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) {
        const double h = std::max(0.5, 0.1 * std::abs(hi));
        lo -= h;
        hi += h;
      } else {
        const double h = 0.03 * (hi - lo);
        lo -= h;
        hi += h;
      }
    };
    pad(x_lo, x_hi);
    pad(y_lo, y_hi);
    const double right_margin = has_bar_ ? 95 : 20;
    return {70, options_.width - right_margin, 36, options_.height - 50, x_lo, x_hi, y_lo, y_hi};
  }

  static std::string escape(std::string_view text) {
    std::string out;
    for (const char ch : text) {
      switch (ch) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        default:
          out += ch;
      }
    }
    return out;
  }

  static std::string tick_text(double v) {
    std::array<char, 32> s{};
    std::snprintf(s.data(), s.size(), "%g", v);
    return s.data();
  }

  void draw_axes(std::ostringstream& s, const frame& f) const {
    s << "<rect x=\"" << f.left << "\" y=\"" << f.top << "\" width=\"" << f.right - f.left << "\" height=\""
      << f.bottom - f.top << "\" fill=\"none\" stroke=\"#333333\"/>\n";
    for (const double t : nice_ticks(f.x_lo, f.x_hi, 6)) {
      const double p = f.px(t);
      s << "<line x1=\"" << p << "\" y1=\"" << f.bottom << "\" x2=\"" << p << "\" y2=\"" << f.bottom + 5
        << "\" stroke=\"#333333\"/><text x=\"" << p << "\" y=\"" << f.bottom + 18 << "\" text-anchor=\"middle\">"
        << tick_text(t) << "</text>\n";
    }
    for (const double t : nice_ticks(f.y_lo, f.y_hi, 6)) {
      const double p = f.py(t);
      const std::string text = options_.log_y ? tick_text(std::pow(10.0, t)) : tick_text(t);
      s << "<line x1=\"" << f.left - 5 << "\" y1=\"" << p << "\" x2=\"" << f.left << "\" y2=\"" << p
        << "\" stroke=\"#333333\"/><text x=\"" << f.left - 8 << "\" y=\"" << p + 4 << "\" text-anchor=\"end\">" << text
        << "</text>\n";
    }
    if (!options_.x_label.empty()) {
      s << "<text x=\"" << (f.left + f.right) / 2 << "\" y=\"" << options_.height - 12 << "\" text-anchor=\"middle\">"
        << escape(options_.x_label) << "</text>\n";
    }
    if (!options_.y_label.empty()) {
      s << "<text x=\"16\" y=\"" << (f.top + f.bottom) / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
        << (f.top + f.bottom) / 2 << ")\">" << escape(options_.y_label) << "</text>\n";
    }
  }

  void draw_layer(std::ostringstream& s, const frame& f, const layer& l) const {
    s.precision(5);
    switch (l.type) {
      case kind::scatter:
        s << "<g fill-opacity=\"" << l.opacity << "\"" << (l.values.empty() ? " fill=\"" + l.c.hex() + "\"" : "")
          << ">\n";
        for (std::size_t i = 0; i < l.x.size(); ++i) {
          s << "<circle cx=\"" << f.px(l.x[i]) << "\" cy=\"" << f.py(y_value(l.y[i])) << "\" r=\"" << l.size << "\"";
          if (!l.values.empty()) s << " fill=\"" << viridis(colour_position(l.values[i])).hex() << "\"";
          s << "/>\n";
        }
        s << "</g>\n";
        break;
      case kind::line:
        s << "<polyline fill=\"none\" stroke=\"" << l.c.hex() << "\" stroke-width=\"" << l.size
          << "\" stroke-opacity=\"" << l.opacity << "\" points=\"";
        for (std::size_t i = 0; i < l.x.size(); ++i) {
          s << (i > 0 ? " " : "") << f.px(l.x[i]) << ',' << f.py(y_value(l.y[i]));
        }
        s << "\"/>\n";
        break;
      case kind::arrows:
        s << "<g stroke=\"" << l.c.hex() << "\" stroke-width=\"1.2\" stroke-opacity=\"" << l.opacity << "\">\n";
        for (std::size_t i = 0; i < l.x.size(); ++i) {
          s << "<line x1=\"" << f.px(l.x[i]) << "\" y1=\"" << f.py(y_value(l.y[i])) << "\" x2=\"" << f.px(l.x2[i])
            << "\" y2=\"" << f.py(y_value(l.y2[i])) << "\" marker-end=\"url(#head)\"/>\n";
        }
        s << "</g>\n";
        break;
      case kind::heatmap: {
        const Eigen::Index rows = l.grid.rows(), cols = l.grid.cols();
        const double dx = (l.x[1] - l.x[0]) / static_cast<double>(cols);
        const double dy = (l.y[1] - l.y[0]) / static_cast<double>(rows);
        s << "<g shape-rendering=\"crispEdges\">\n";
        for (Eigen::Index i = 0; i < rows; ++i) {
          for (Eigen::Index j = 0; j < cols; ++j) {
            const double xa = f.px(l.x[0] + static_cast<double>(j) * dx),
                         xb = f.px(l.x[0] + static_cast<double>(j + 1) * dx);
            const double ya = f.py(y_value(l.y[0] + static_cast<double>(i + 1) * dy));
            const double yb = f.py(y_value(l.y[0] + static_cast<double>(i) * dy));
            s << "<rect x=\"" << xa << "\" y=\"" << ya << "\" width=\"" << xb - xa + 0.3 << "\" height=\""
              << yb - ya + 0.3 << "\" fill=\"" << viridis(colour_position(l.grid(i, j))).hex() << "\"/>\n";
          }
        }
        s << "</g>\n";
        break;
      }
    }
  }

  void draw_legend(std::ostringstream& s, const frame& f) const {
    double y = f.top + 16;
    for (const layer& l : layers_) {
      if (l.label.empty()) continue;
      const double x = f.right - 130;
      s << "<rect x=\"" << x << "\" y=\"" << y - 9 << "\" width=\"12\" height=\"10\" fill=\"" << l.c.hex()
        << "\"/><text x=\"" << x + 18 << "\" y=\"" << y << "\">" << escape(l.label) << "</text>\n";
      y += 16;
    }
  }

  void draw_colour_bar(std::ostringstream& s, const frame& f) const {
    if (!has_bar_) return;
    const double x = f.right + 15, top = f.top + 10, height = f.bottom - f.top - 20;
    constexpr int steps = 48;
    for (int i = 0; i < steps; ++i) {
      const double t = (static_cast<double>(i) + 0.5) / steps;
      s << "<rect x=\"" << x << "\" y=\"" << top + height * (1 - static_cast<double>(i + 1) / steps)
        << "\" width=\"14\" height=\"" << height / steps + 0.3 << "\" fill=\"" << viridis(t).hex() << "\"/>\n";
    }
    for (const double t : nice_ticks(bar_lo_, bar_hi_, 5)) {
      const double p = top + height * (1 - colour_position(t));
      s << "<text x=\"" << x + 18 << "\" y=\"" << p + 4 << "\">" << tick_text(t) << "</text>\n";
    }
    if (!bar_label_.empty()) {
      s << "<text x=\"" << x << "\" y=\"" << f.top << "\">" << escape(bar_label_) << "</text>\n";
    }
  }

  plot_options options_;
  std::vector<layer> layers_;
  bool has_bar_ = false;
  double bar_lo_ = 0, bar_hi_ = 0;
  std::string bar_label_;
};

}  // namespace upfi::io
