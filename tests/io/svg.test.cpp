// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/io/svg.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

using upfi::io::color;
using upfi::io::svg_plot;

namespace {
std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// cx, cy of every <circle> in document order
std::vector<std::pair<double, double>> circles(const std::string& svg) {
  std::vector<std::pair<double, double>> out;
  const std::regex re(R"re(<circle cx="([-0-9.e]+)" cy="([-0-9.e]+)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it) {
    out.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  }
  return out;
}

std::string message_of(const auto& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}
}  // namespace

TEST_CASE("nice_ticks: round 1-2-5 steps covering the range") {
  const auto t = upfi::io::nice_ticks(0, 1, 5);
  REQUIRE(t.size() == 6);
  for (std::size_t i = 0; i < t.size(); ++i) CHECK(t[i] == doctest::Approx(0.2 * static_cast<double>(i)));
  CHECK(upfi::io::nice_ticks(-3.3, 7.1, 5) == std::vector<double>{-2, 0, 2, 4, 6});
  const auto small = upfi::io::nice_ticks(1e-4, 6e-4, 5);
  CHECK(small.front() == doctest::Approx(1e-4));
  CHECK(small.back() == doctest::Approx(6e-4));
  CHECK(upfi::io::nice_ticks(2, 2) == std::vector<double>{2});
  CHECK(message_of([] { (void)upfi::io::nice_ticks(1, 0); }).find("bad range [1, 0]") != std::string::npos);
  CHECK(message_of([] { (void)upfi::io::nice_ticks(0, std::numeric_limits<double>::quiet_NaN()); }).find("bad range") !=
        std::string::npos);
}

TEST_CASE("viridis: anchors at the ends, clamped, grey for NaN; palette repeats after 8") {
  CHECK(upfi::io::viridis(0) == color{68, 1, 84});
  CHECK(upfi::io::viridis(1) == color{253, 231, 37});
  CHECK(upfi::io::viridis(-3) == upfi::io::viridis(0));
  CHECK(upfi::io::viridis(7) == upfi::io::viridis(1));
  CHECK(upfi::io::viridis(std::numeric_limits<double>::quiet_NaN()) == color{128, 128, 128});
  CHECK(upfi::io::viridis(0.5).hex() == "#21908d");
  CHECK(upfi::io::palette(9) == upfi::io::palette(1));
  CHECK(upfi::io::palette(0) != upfi::io::palette(1));
}

TEST_CASE("svg_plot: one element per point, data mapped linearly into the plot area") {
  const Eigen::VectorXd x{{0.0, 1.0, 0.5, 0.25}};
  const Eigen::VectorXd y{{0.0, 2.0, 1.0, 0.5}};
  svg_plot p({.title = "a < b & c", .x_label = "x0", .y_label = "x1"});
  p.scatter(x, y, upfi::io::palette(0), "cells");
  const std::string svg = p.str();
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(svg.find("a &lt; b &amp; c") != std::string::npos);
  CHECK(svg.find(">cells</text>") != std::string::npos);
  const auto c = circles(svg);
  REQUIRE(c.size() == 4);
  // collinear data stay collinear, with the same ratios
  CHECK(c[2].first == doctest::Approx((c[0].first + c[1].first) / 2).epsilon(1e-3));
  CHECK(c[2].second == doctest::Approx((c[0].second + c[1].second) / 2).epsilon(1e-3));
  CHECK(c[3].first == doctest::Approx(0.75 * c[0].first + 0.25 * c[1].first).epsilon(1e-3));
  CHECK(c[1].second < c[0].second);  // y grows upwards
  // inside the 640 x 480 canvas, padded away from the frame
  for (const auto& [cx, cy] : c) {
    CHECK(cx > 70);
    CHECK(cx < 620);
    CHECK(cy > 36);
    CHECK(cy < 430);
  }
}

TEST_CASE("svg_plot: lines, arrows, coloured scatter and heat map") {
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(5, 0, 1);
  const Eigen::VectorXd y = x.array().square();
  svg_plot p;
  p.line(x, y, upfi::io::palette(1), "y = x^2");
  p.arrows(x, y, Eigen::VectorXd::Ones(5), Eigen::VectorXd::Zero(5), upfi::io::palette(2));
  CHECK(count(p.str(), "<polyline") == 1);
  CHECK(count(p.str(), "marker-end=\"url(#head)\"") == 5);
  CHECK(p.layers() == 2);

  Eigen::MatrixXd grid(3, 4);
  for (Eigen::Index i = 0; i < 3; ++i) {
    for (Eigen::Index j = 0; j < 4; ++j) grid(i, j) = static_cast<double>(i * 4 + j);
  }
  svg_plot h;
  h.heatmap(-1, 1, 0, 3, grid, "growth");
  h.scatter(x, y, x, "value");
  const std::string svg = h.str();
  // 12 cells + 48 colour-bar steps + background + frame + clip rectangle
  CHECK(count(svg, "<rect") == 12 + 48 + 3);
  CHECK(svg.find(">growth</text>") == std::string::npos);  // the last label wins
  CHECK(svg.find(">value</text>") != std::string::npos);
  // the lowest grid value gets the bottom of the colour map, the highest its top
  CHECK(svg.find(upfi::io::viridis(0).hex()) != std::string::npos);
  CHECK(svg.find(upfi::io::viridis(1).hex()) != std::string::npos);
}

TEST_CASE("svg_plot: bad input names the layer and the entry") {
  const Eigen::VectorXd x{{0.0, 1.0, 2.0}};
  const Eigen::VectorXd y2{{0.0, 1.0}};
  const Eigen::VectorXd bad{{0.0, std::numeric_limits<double>::quiet_NaN(), 2.0}};
  svg_plot p;
  CHECK(message_of([&] { p.scatter(x, y2, color{}); }) == "upfi::io::svg_plot: scatter y has 2 entries, expected 3");
  CHECK(message_of([&] { p.line(bad, x, color{}); }) == "upfi::io::svg_plot: line x[1] is not finite: nan");
  CHECK(message_of([&] { p.scatter(x, x, bad, "v"); }) == "upfi::io::svg_plot: scatter values[1] is not finite: nan");
  CHECK(message_of([&] { (void)p.str(); }) == "upfi::io::svg_plot: nothing to draw");
  CHECK(message_of([&] { p.heatmap(1, 0, 0, 1, Eigen::MatrixXd::Zero(2, 2), ""); }).find("bad extent") !=
        std::string::npos);
  svg_plot log({.log_y = true});
  log.line(x, x, color{});
  CHECK(message_of([&] { (void)log.str(); }) == "upfi::io::svg_plot: log y axis needs y > 0, got 0");
  CHECK(message_of([] { svg_plot tiny({.width = 10}); }).find("too small") != std::string::npos);
}

TEST_CASE("svg_plot: log axis ticks are powers of ten; save writes the document") {
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(4, 1, 4);
  const Eigen::VectorXd y{{1.0, 10.0, 100.0, 1000.0}};
  svg_plot p({.log_y = true});
  p.line(x, y, color{});
  const std::string svg = p.str();
  CHECK(svg.find(">1000</text>") != std::string::npos);
  CHECK(svg.find(">100</text>") != std::string::npos);
  const auto path = std::filesystem::temp_directory_path() / ("upfi_svg_" + std::to_string(::getpid()) + ".svg");
  p.save(path);
  std::ifstream in(path);
  const std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(back == svg);
  std::filesystem::remove(path);
}

#if defined(UPFI_RSVG_CONVERT) && defined(UPFI_PNGTOPNM)
// Renders a plot with librsvg and reads the pixels back (binary PPM): the picture must be a real image, not a blank
// page: several colours, enough ink, and the scatter's colour where the points are.
TEST_CASE("svg_plot: renders to a non-trivial PNG (rsvg-convert)") {
  const Eigen::Index n = 400;
  Eigen::VectorXd x(n), y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double a = 0.1 * static_cast<double>(i);
    x[i] = std::cos(a) * (1 + 0.01 * static_cast<double>(i));
    y[i] = std::sin(a) * (1 + 0.01 * static_cast<double>(i));
  }
  svg_plot p({.title = "spiral", .x_label = "x", .y_label = "y"});
  p.scatter(x, y, x, "x", 3, 1.0);
  const auto dir = std::filesystem::temp_directory_path() / ("upfi_render_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  p.save(dir / "p.svg");
  const std::string cmd = std::string(UPFI_RSVG_CONVERT) + " -o '" + (dir / "p.png").string() + "' '" +
                          (dir / "p.svg").string() + "' && " + UPFI_PNGTOPNM + " '" + (dir / "p.png").string() +
                          "' > '" + (dir / "p.ppm").string() + "' 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(dir / "p.ppm", std::ios::binary);
  std::string magic;
  int w = 0, h = 0, maxval = 0;
  in >> magic >> w >> h >> maxval;
  in.get();
  REQUIRE(magic == "P6");
  CHECK(w == 640);
  CHECK(h == 480);
  REQUIRE(maxval == 255);
  std::vector<unsigned char> px(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
  in.read(reinterpret_cast<char*>(px.data()), static_cast<std::streamsize>(px.size()));
  REQUIRE(in.gcount() == static_cast<std::streamsize>(px.size()));
  std::set<std::tuple<int, int, int>> colours;
  std::size_t ink = 0;
  for (std::size_t i = 0; i < px.size(); i += 3) {
    colours.insert({px[i], px[i + 1], px[i + 2]});
    if (px[i] + px[i + 1] + px[i + 2] < 3 * 230) ++ink;
  }
  const double fraction = static_cast<double>(ink) / (static_cast<double>(w) * static_cast<double>(h));
  MESSAGE("distinct colours " << colours.size() << ", ink fraction " << fraction);
  CHECK(colours.size() > 50);
  CHECK(fraction > 0.03);
  CHECK(fraction < 0.6);
  // the pixel at the last point's centre has the viridis colour of its value (the maximum of x up to rounding)
  const auto c = circles(p.str());
  std::size_t right = 0;
  for (std::size_t i = 1; i < c.size(); ++i) {
    if (c[i].first > c[right].first) right = i;
  }
  const auto at = (static_cast<std::size_t>(std::lround(c[right].second)) * static_cast<std::size_t>(w) +
                   static_cast<std::size_t>(std::lround(c[right].first))) *
                  3;
  const color top = upfi::io::viridis(1);
  CHECK(std::abs(px[at] - top.r) <= 12);
  CHECK(std::abs(px[at + 1] - top.g) <= 12);
  CHECK(std::abs(px[at + 2] - top.b) <= 12);
  std::filesystem::remove_all(dir);
}
#endif
