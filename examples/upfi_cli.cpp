// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// The `upfi` command-line program: simulate built-in systems, fit UPFI / PFI to a CSV of snapshots, validate by
// leave-one-out and choose the noise level with it, push cells forward (trajectories, growth rates, fates) and draw
// SVG pictures. Run `upfi help`.
//
// Outputs go to a folder (--out). They are written into a hidden staging folder first and moved into place only
// when the command has succeeded, so a failed run never leaves files that look complete. Errors print one line
// ("upfi: file:line: problem") and exit with 1; usage errors exit with 2.
#include <upfi/core/detail/parse_finite.hpp>
#include <upfi/upfi.hpp>
#if defined(UPFI_CLI_HDF5)
#include <upfi/io/h5ad.hpp>
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;
using upfi::infer::fit_method;

namespace {

constexpr const char* usage_text = R"(usage: upfi <command> [arguments]

commands:
  simulate <bistable|bf|hsc> --out FILE.csv [--dim D] [--cells N] [--seed S]
      Snapshots of a built-in system with cell division (UPFI paper benchmarks) as CSV.
  fit DATA.csv --out DIR [fit options] [--step-check N] [--no-plots]
      Score + UPFI (or PFI) on a CSV of snapshots (header time,x0,x1,...). Writes DIR/model.upfi, DIR/fit.json,
      DIR/loss.csv and the pictures (snapshots, drift, growth, trajectories, loss) as SVG. The step check pushes
      each snapshot to the next time with the training's steps and with N RK4 steps [10] (0: off) and prints both
      misses; an accurate push that misses far more than the training's means the fit leans on its coarse steps.
  evaluate DATA.csv --out DIR [fit options] [--max-cells N] [--fits F]
      Leave-one-out at every inner time: W1 of the model's prediction against the held-out cells, next to the
      static-OT interpolation baseline. Writes DIR/evaluate.json and DIR/evaluate.csv. --fits F averages the
      model's scores over F fits per held-out time (training seeds S, S+1, ...; F times the cost).
  calibrate DATA.csv --out DIR [--grid D,D,...] [fit options] [--max-cells N] [--fits F]
      Chooses the noise level: the leave-one-out of evaluate for every value of the grid, scored by the energy
      distance between the fitted SDE's prediction and the held-out cells. Additive noise: the grid holds D (data
      units; default 1/4, 1/2, 1, 2 and 4 times the automatic D). --noise cle --degradation L: the grid holds the
      volume V (default 1/2 ... 8 times the V at which the data's spread would be intrinsic noise alone). Prints the
      curve and the best value; writes DIR/calibration.csv, DIR/calibration.json and DIR/calibration.svg. A flat
      curve means the data do not pin the noise down (a time-dependent drift, PFI's, absorbs any D).
  predict MODEL CELLS.csv --out DIR [--to T] [--frames F] [--seed S] [--fates K --data DATA.csv]
      Pushes the cells of each time in CELLS.csv forward to T with the fitted SDE. Writes DIR/trajectories.csv
      (path, time, log-mass, coordinates), DIR/growth.csv (growth rate per cell) and, with --fates, DIR/fates.csv
      (probabilities of the K k-means regions of the last snapshot of DATA.csv).
  plot DATA.csv --out DIR [--model MODEL] [--loss LOSS.csv]
      The pictures alone, for data and optionally a fitted model.

fit options:
  --method upfi|pfi      UPFI (drift + growth) or PFI (drift only)            [upfi]
  --diffusion D          noise D in data units (coords^2 / time); 0 = auto      [0]
  --noise additive|cle   additive noise with one D, or the chemical Langevin form for concentrations >= 0:
                         drift p(x) - L x (production network p >= 0), noise D(x) = diag(p + L x) / 2V   [additive]
  --volume V             cle: the system size V in data units (noise variance of a level x ~ x / V)
  --degradation L,L,...  cle: degradation rates per time unit, one per coordinate or one for all
  --learn-degradation    cle: learn the rates, starting from --degradation (otherwise they are known)
  --score kernel|dsm     training-free kernel score or denoising score matching [kernel]
  --score-iterations N   DSM iterations                                        [10000]
  --score-members K      DSM: the score is the mean of K networks              [1]
  --mass-smoothing DEG   train on log-masses smoothed by a polynomial of DEG   [off]
  --iterations N         drift/growth iterations                               [2000]
  --average-tail F       networks = mean of the iterates of the last F of them [0]
  --batch B              cells per snapshot and iteration                      [128]
  --blur B               Sinkhorn blur in normalised units (1 = pooled std)    [0.1]
  --reach R              UPFI: unbalanced reach in normalised units            [5]
  --steps N              flow steps per interval between snapshots             [2]
  --stepper NAME         their method (below)                                  [euler]
  --hidden W,W,...       hidden layer widths                                   [64,64,64]
  --networks autonomous|time-dependent
                         whether drift and growth see time   [upfi: autonomous, pfi: time-dependent]
  --seed S               random seed (same seed, same numbers)                 [0]
  --threads T            threads (results do not depend on it)                 [all]
  --quiet                no progress output

steppers (--stepper): @STEPPERS@.
  two_stage:C is the second-order two-stage rule with its second stage at C (midpoint 0.5, ralston 2/3, heun 1);
  two_stage:C,B,BM weighs the second stage by B for the positions and by BM for the log-mass and the regulariser
  (two_stage:1,0,0.5: Euler positions with trapezoid quadratures; first order unless B = BM = 1/(2C)).

data: CSV with a header time,x0,x1,... (one row per cell), or AnnData .h5ad (when built with HDF5) with
  --embedding KEY (obsm, default X_pca), --time-key COLUMN (obs, default time) and --components K (leading K columns).
)";

// The help text, with the steppers the library accepts (so it cannot fall behind upfi::flow::stepper_names()).
std::string usage() {
  std::string text = usage_text;
  const std::string slot = "@STEPPERS@";
  text.replace(text.find(slot), slot.size(), upfi::flow::stepper_names());
  return text;
}

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --name value flags and bare switches after the positional arguments of a command.
class arguments {
 public:
  arguments(int argc, char** argv, int first, const std::set<std::string>& value_flags,
            const std::set<std::string>& switches) {
    for (int i = first; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) == 0) {
        if (switches.count(a)) {
          m_switches.insert(a);
        } else if (value_flags.count(a)) {
          if (i + 1 >= argc) throw usage_error("option " + a + " needs a value");
          m_values[a] = argv[++i];
        } else {
          throw usage_error("unknown option " + a);
        }
      } else {
        m_positional.push_back(a);
      }
    }
  }
  [[nodiscard]] const std::vector<std::string>& positional() const { return m_positional; }
  [[nodiscard]] bool has(const std::string& flag) const { return m_switches.count(flag) || m_values.count(flag); }
  [[nodiscard]] std::string text(const std::string& flag, const std::string& fallback) const {
    const auto it = m_values.find(flag);
    return it == m_values.end() ? fallback : it->second;
  }
  [[nodiscard]] double number(const std::string& flag, double fallback) const {
    const auto it = m_values.find(flag);
    if (it == m_values.end()) return fallback;
    const auto v = upfi::core::detail::parse_finite(it->second);
    if (!v) throw usage_error("option " + flag + " needs a number, got '" + it->second + "'");
    return *v;
  }
  [[nodiscard]] long integer(const std::string& flag, long fallback, long minimum) const {
    const double v = number(flag, static_cast<double>(fallback));
    if (v != std::floor(v) || v < static_cast<double>(minimum) || v > 1e15) {
      throw usage_error("option " + flag + " needs an integer >= " + std::to_string(minimum) + ", got '" +
                        text(flag, "") + "'");
    }
    return static_cast<long>(v);
  }

 private:
  std::vector<std::string> m_positional;
  std::map<std::string, std::string> m_values;
  std::set<std::string> m_switches;
};

// Progress with a bar and ETA on a terminal, one line per tenth otherwise; nothing with --quiet.
class progress_bar {
 public:
  explicit progress_bar(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDERR_FILENO) == 1) {}
  void operator()(const std::string& stage, long done, long total, double seconds, double loss) {
    if (m_quiet || total <= 0) return;
    const double f = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const double eta = f > 0 ? seconds * (1 - f) / f : 0;
    if (m_tty) {
      const int width = 30, filled = static_cast<int>(f * width);
      std::fprintf(stderr, "\r  %-22s [%s%s] %3.0f%% %ld/%ld  loss %.4g  %.0f s, ETA %.0f s   ", stage.c_str(),
                   std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - filled), '.').c_str(), 100 * f, done, total, loss,
                   seconds, eta);
      if (done >= total) std::fputc('\n', stderr);
    } else {
      const int tenth = static_cast<int>(f * 10);
      if (stage != m_stage) m_last = -1;
      if (tenth > m_last || done >= total) {
        std::fprintf(stderr, "  %s: %ld/%ld (%.0f%%), loss %.4g, %.0f s, ETA %.0f s\n", stage.c_str(), done, total,
                     100 * f, loss, seconds, eta);
        m_last = tenth;
      }
    }
    m_stage = stage;
    std::fflush(stderr);
  }
  void note(const std::string& line) const {
    if (!m_quiet) std::fprintf(stderr, "%s\n", line.c_str());
  }

 private:
  bool m_quiet, m_tty;
  std::string m_stage;
  int m_last = -1;
};

// Files are written into <out>/.upfi-partial-<pid> and moved into <out> by commit(); dropped otherwise.
class staged_output {
 public:
  explicit staged_output(const fs::path& out) : m_out(out) {
    if (fs::exists(m_out) && !fs::is_directory(m_out)) {
      throw std::runtime_error("output folder '" + m_out.string() + "' exists and is not a folder");
    }
    fs::create_directories(m_out);
    m_stage = m_out / (".upfi-partial-" + std::to_string(::getpid()));
    fs::create_directories(m_stage);
  }
  ~staged_output() {
    std::error_code ignored;
    fs::remove_all(m_stage, ignored);
  }
  staged_output(const staged_output&) = delete;
  staged_output& operator=(const staged_output&) = delete;
  [[nodiscard]] fs::path operator()(const std::string& name) {
    m_files.push_back(name);
    return m_stage / name;
  }
  void commit() {
    for (const auto& f : m_files) fs::rename(m_stage / f, m_out / f);
    m_files.clear();
  }

 private:
  fs::path m_out, m_stage;
  std::vector<std::string> m_files;
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.flush();
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
}

// Minimal JSON object writer (keys in insertion order; numbers with 10 significant digits).
class json_object {
 public:
  json_object& add(const std::string& key, double v) { return raw(key, number(v)); }
  // A JSON number with `digits` significant digits; null for a non-finite value (JSON has no infinity or NaN).
  static std::string number(double v, int digits = 10) {
    std::ostringstream s;
    s.precision(digits);
    if (std::isfinite(v)) {
      s << v;
    } else {
      s << "null";
    }
    return s.str();
  }
  json_object& add(const std::string& key, const std::string& v) { return raw(key, quote(v)); }
  json_object& add(const std::string& key, const char* v) { return raw(key, quote(v)); }
  json_object& raw(const std::string& key, const std::string& json) {
    m_items.push_back(quote(key) + ": " + json);
    return *this;
  }
  [[nodiscard]] std::string str(int indent = 0) const {
    const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
    std::string s = "{\n";
    for (std::size_t i = 0; i < m_items.size(); ++i) s += pad + m_items[i] + (i + 1 < m_items.size() ? ",\n" : "\n");
    return s + std::string(static_cast<std::size_t>(indent), ' ') + "}";
  }
  static std::string quote(const std::string& v) {
    std::string s = "\"";
    for (const char c : v) {
      if (c == '"' || c == '\\') {
        s += '\\';
        s += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        s += ' ';
      } else {
        s += c;
      }
    }
    return s + "\"";
  }

 private:
  std::vector<std::string> m_items;
};

// CSV, or AnnData (.h5ad: --embedding KEY of obsm, --time-key COLUMN of obs) when built with HDF5. --masses counts
// (default) reads relative masses from the cell counts; --masses none when counts reflect sampling depth only.
upfi::core::snapshot_series<double> read_data(const std::string& path, const arguments& a) {
  const std::string masses = a.text("--masses", "counts");
  if (masses != "counts" && masses != "none")
    throw usage_error("--masses must be counts or none, got '" + masses + "'");
  const auto convention =
      masses == "counts" ? upfi::core::mass_convention::counts : upfi::core::mass_convention::frequencies_only;
  if (path.size() > 5 && path.substr(path.size() - 5) == ".h5ad") {
#if defined(UPFI_CLI_HDF5)
    upfi::io::h5ad_read_options o;
    o.embedding = a.text("--embedding", o.embedding);
    o.time_key = a.text("--time-key", o.time_key);
    o.components = a.integer("--components", 0, 0);
    o.masses = convention;
    return upfi::io::read_h5ad(path, o);
#else
    throw std::runtime_error(path + ": this upfi was built without HDF5; .h5ad input needs libhdf5-dev");
#endif
  }
  if (a.has("--embedding") || a.has("--time-key") || a.has("--components")) {
    throw usage_error("--embedding, --time-key and --components apply to .h5ad input only");
  }
  upfi::io::csv_read_options o;
  o.masses = convention;
  return upfi::io::read_snapshot_csv<double>(path, o);
}

// `noise_level_chosen`: calibrate chooses the noise level itself (cle: no --volume needed).
upfi::infer::fit_options fit_options_of(const arguments& a, bool noise_level_chosen = false) {
  upfi::infer::fit_options o;
  const std::string method = a.text("--method", "upfi");
  if (method != "upfi" && method != "pfi") throw usage_error("--method must be upfi or pfi, got '" + method + "'");
  o.method = method == "upfi" ? fit_method::upfi : fit_method::pfi;
  o.diffusion = a.number("--diffusion", 0);
  if (o.diffusion < 0) throw usage_error("--diffusion must be >= 0");
  const std::string score = a.text("--score", "kernel");
  if (score != "kernel" && score != "dsm") throw usage_error("--score must be kernel or dsm, got '" + score + "'");
  o.score = score == "dsm" ? upfi::infer::score_estimator::dsm : upfi::infer::score_estimator::kernel;
  o.dsm_iterations = a.integer("--score-iterations", o.dsm_iterations, 1);
  o.dsm_members = static_cast<int>(a.integer("--score-members", o.dsm_members, 1));
  if (a.has("--mass-smoothing")) o.mass_smoothing = static_cast<int>(a.integer("--mass-smoothing", 0, 0));
  o.iterations = a.integer("--iterations", o.iterations, 0);
  o.average_tail = a.number("--average-tail", 0);
  if (!(o.average_tail >= 0 && o.average_tail < 1)) {
    throw usage_error("--average-tail must lie in [0, 1), got '" + a.text("--average-tail", "") + "'");
  }
  o.batch = a.integer("--batch", o.batch, 1);
  o.blur = a.number("--blur", o.blur);
  if (!(o.blur > 0)) throw usage_error("--blur must be > 0, got '" + a.text("--blur", "") + "'");
  o.reach = a.number("--reach", o.reach);
  if (!(o.reach > 0)) throw usage_error("--reach must be > 0, got '" + a.text("--reach", "") + "'");
  const long steps = a.integer("--steps", o.steps, 1);
  if (steps > 100000) throw usage_error("--steps must be at most 100000, got '" + a.text("--steps", "") + "'");
  o.steps = static_cast<int>(steps);
  if (a.has("--stepper")) {
    try {
      o.stepper = upfi::flow::tableau_named(a.text("--stepper", ""));
    } catch (const std::invalid_argument&) {
      throw usage_error("--stepper must be " + upfi::flow::stepper_names() + ", got '" + a.text("--stepper", "") + "'");
    }
  }
  if (a.has("--networks")) {
    const std::string n = a.text("--networks", "");
    if (n != "autonomous" && n != "time-dependent") {
      throw usage_error("--networks must be autonomous or time-dependent, got '" + n + "'");
    }
    o.networks =
        n == "autonomous" ? upfi::infer::time_dependence::autonomous : upfi::infer::time_dependence::time_dependent;
  }
  const std::string noise = a.text("--noise", "additive");
  if (noise != "additive" && noise != "cle") throw usage_error("--noise must be additive or cle, got '" + noise + "'");
  if (noise == "cle") {
    o.noise = upfi::infer::noise_model::chemical_langevin;
    if (a.has("--diffusion"))
      throw usage_error("--diffusion applies to --noise additive (cle: D follows from --volume)");
    if (!a.has("--degradation") || (!noise_level_chosen && !a.has("--volume")))
      throw usage_error(noise_level_chosen ? "--noise cle needs --degradation"
                                           : "--noise cle needs --volume and --degradation");
    if (!noise_level_chosen) {
      o.volume = a.number("--volume", 0);
      if (!(o.volume > 0)) throw usage_error("--volume must be > 0, got '" + a.text("--volume", "") + "'");
    }
    std::vector<double> rates;
    std::istringstream in(a.text("--degradation", ""));
    for (std::string item; std::getline(in, item, ',');) {
      const auto v = upfi::core::detail::parse_finite(item);
      if (!v || !(*v > 0)) {
        throw usage_error("--degradation needs positive rates like 1 or 1,2,0.5, got '" + a.text("--degradation", "") +
                          "'");
      }
      rates.push_back(*v);
    }
    if (rates.empty()) throw usage_error("--degradation needs positive rates like 1 or 1,2,0.5, got ''");
    o.degradation = Eigen::Map<const Eigen::VectorXd>(rates.data(), static_cast<Eigen::Index>(rates.size()));
    o.learn_degradation = a.has("--learn-degradation");
  } else if (a.has("--volume") || a.has("--degradation") || a.has("--learn-degradation")) {
    throw usage_error("--volume, --degradation and --learn-degradation apply to --noise cle");
  }
  o.seed = static_cast<std::uint64_t>(a.integer("--seed", 0, 0));
  if (a.has("--hidden")) {
    try {
      o.hidden = upfi::infer::parse_layer_widths(a.text("--hidden", ""));
    } catch (const std::invalid_argument&) {
      throw usage_error("--hidden needs widths like 64,64,64, got '" + a.text("--hidden", "") + "'");
    }
  }
  o.report_every = std::max(1L, o.iterations / 50);
  return o;
}

const std::set<std::string> fit_flags = {
    "--method",   "--diffusion",  "--score",  "--score-iterations", "--score-members", "--iterations",
    "--batch",    "--hidden",     "--seed",   "--threads",          "--out",           "--embedding",
    "--time-key", "--components", "--masses", "--mass-smoothing",   "--average-tail",  "--steps",
    "--stepper",  "--networks",   "--noise",  "--volume",           "--degradation",   "--blur",
    "--reach"};
// the bare switches of the fitting commands (beside --quiet)
const char* const learn_degradation_switch = "--learn-degradation";

std::function<void(const upfi::infer::fit_progress&)> fit_reporter(progress_bar& bar, const std::string& prefix) {
  return [&bar, prefix](const upfi::infer::fit_progress& p) {
    bar(prefix + (p.stage == upfi::infer::fit_stage::score ? "score (DSM)" : "drift + growth"), p.iteration,
        p.iterations, p.seconds, p.loss);
  };
}

// ---- pictures ----------------------------------------------------------------------------------------------------

Eigen::MatrixXd thin(const Eigen::MatrixXd& x, Eigen::Index n, std::uint32_t stream) {
  return upfi::core::random_rows(x, n, upfi::core::counter_rng(99, stream));
}

std::string time_label(double t) {
  std::ostringstream s;
  s << "t = " << t;
  return s.str();
}

struct plot_box {
  double x0, x1, y0, y1;
};

plot_box box_of(const upfi::core::snapshot_series<double>& data) {
  plot_box b{1e300, -1e300, 1e300, -1e300};
  for (const auto& c : data.clouds()) {
    b.x0 = std::min(b.x0, c.col(0).minCoeff());
    b.x1 = std::max(b.x1, c.col(0).maxCoeff());
    b.y0 = std::min(b.y0, c.col(1).minCoeff());
    b.y1 = std::max(b.y1, c.col(1).maxCoeff());
  }
  return b;
}

// An n x n grid over the first two coordinates, the other coordinates at the pooled mean (rows: y slow, x fast).
Eigen::MatrixXd grid_cloud(const upfi::core::snapshot_series<double>& data, const plot_box& b, Eigen::Index n) {
  const Eigen::RowVectorXd mean = data.pooled_mean();
  Eigen::MatrixXd g(n * n, data.dimension());
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) {
      g.row(i * n + j) = mean;
      g(i * n + j, 0) = b.x0 + (b.x1 - b.x0) * (static_cast<double>(j) + 0.5) / static_cast<double>(n);
      g(i * n + j, 1) = b.y0 + (b.y1 - b.y0) * (static_cast<double>(i) + 0.5) / static_cast<double>(n);
    }
  }
  return g;
}

void snapshot_layers(upfi::io::svg_plot& p, const upfi::core::snapshot_series<double>& data, double opacity) {
  for (std::size_t k = 0; k < data.size(); ++k) {
    const Eigen::MatrixXd x = thin(data.cloud(k), 1500, static_cast<std::uint32_t>(k));
    p.scatter(x.col(0), x.col(1), upfi::io::palette(k), opacity > 0.5 ? time_label(data.time(k)) : "", 2, opacity);
  }
}

void write_plots(staged_output& out, const upfi::core::snapshot_series<double>& data,
                 const upfi::infer::fitted_model* model, const std::vector<std::pair<double, double>>& loss) {
  if (data.dimension() < 2) return;  // the pictures show the first two coordinates
  const std::string others = data.dimension() > 2 ? " (other coordinates at their mean)" : "";
  upfi::io::svg_plot snap({.title = "snapshots", .x_label = "x0", .y_label = "x1"});
  snapshot_layers(snap, data, 0.7);
  snap.save(out("snapshots.svg"));
  if (!loss.empty()) {
    Eigen::VectorXd it(static_cast<Eigen::Index>(loss.size())), l(it.size());
    for (std::size_t i = 0; i < loss.size(); ++i) {
      it[static_cast<Eigen::Index>(i)] = loss[i].first;
      l[static_cast<Eigen::Index>(i)] = loss[i].second;
    }
    upfi::io::svg_plot p({.title = "training loss", .x_label = "iteration", .y_label = "Sinkhorn + regulariser"});
    p.line(it, l, upfi::io::palette(0), "loss");
    p.save(out("loss.svg"));
  }
  if (model == nullptr) return;
  const plot_box b = box_of(data);
  const double t_mid = 0.5 * (data.time(0) + data.time(data.size() - 1));
  const Eigen::MatrixXd g = grid_cloud(data, b, 20);
  Eigen::MatrixXd v;
  model->drift(t_mid, g, v);
  upfi::io::svg_plot drift({.title = "inferred drift at t = " + std::to_string(t_mid).substr(0, 6) + others,
                            .x_label = "x0",
                            .y_label = "x1"});
  snapshot_layers(drift, data, 0.15);
  drift.arrows(g.col(0), g.col(1), v.col(0), v.col(1), {20, 20, 20});
  drift.save(out("drift.svg"));
  if (model->method() == fit_method::upfi) {
    const Eigen::MatrixXd fine = grid_cloud(data, b, 40);
    Eigen::VectorXd rate;
    model->growth(t_mid, fine, rate);
    upfi::io::svg_plot growth({.title = "inferred growth rate" + others, .x_label = "x0", .y_label = "x1"});
    growth.heatmap(b.x0, b.x1, b.y0, b.y1, rate.reshaped(40, 40).transpose(), "growth / time");
    const Eigen::MatrixXd last = thin(data.cloud(data.size() - 1), 800, 77);
    growth.scatter(last.col(0), last.col(1), upfi::io::color{255, 255, 255}, "", 1.2, 0.5);
    growth.save(out("growth.svg"));
  }
  // sampled trajectories from the first snapshot
  const Eigen::MatrixXd start = thin(data.cloud(0), 40, 5);
  std::vector<double> times;
  const double t0 = data.time(0), t1 = data.time(data.size() - 1);
  for (int i = 0; i <= 50; ++i) times.push_back(t0 + (t1 - t0) * i / 50.0);
  const auto paths = model->simulate(start, times, {.dt = (t1 - t0) / 100, .seed = 8});
  upfi::io::svg_plot traj({.title = "sampled trajectories" + others, .x_label = "x0", .y_label = "x1"});
  snapshot_layers(traj, data, 0.12);
  for (Eigen::Index r = 0; r < start.rows(); ++r) {
    Eigen::VectorXd px(static_cast<Eigen::Index>(times.size())), py(px.size());
    for (std::size_t k = 0; k < times.size(); ++k) {
      px[static_cast<Eigen::Index>(k)] = paths.positions[k](r, 0);
      py[static_cast<Eigen::Index>(k)] = paths.positions[k](r, 1);
    }
    traj.line(px, py, {40, 40, 40}, "", 0.8, 0.7);
  }
  traj.save(out("trajectories.svg"));
}

// ---- commands ------------------------------------------------------------------------------------------------------

int run_simulate(int argc, char** argv) {
  const arguments a(argc, argv, 2, {"--out", "--dim", "--cells", "--seed"}, {});
  if (a.positional().size() != 1) throw usage_error("simulate needs one system: bistable, bf or hsc");
  if (!a.has("--out")) throw usage_error("simulate needs --out FILE.csv");
  const std::string system = a.positional()[0];
  const auto seed = static_cast<std::uint64_t>(a.integer("--seed", 0, 0));
  const long cells = a.integer("--cells", 500, 2);
  const auto data = [&] {
    if (system == "bistable") {
      upfi::problems::bistable_benchmark_options o;
      o.dimension = a.integer("--dim", 2, 2);
      o.cells = cells;
      o.data_seed = seed;
      return upfi::problems::bistable_snapshots(o);
    }
    if (system == "bf" || system == "hsc") {
      if (a.has("--dim")) throw usage_error("--dim applies to bistable only");
      upfi::problems::network_benchmark_options o;
      o.cells = cells;
      o.data_seed = seed;
      return upfi::problems::network_snapshots(
          system == "bf" ? upfi::problems::network_system::bf : upfi::problems::network_system::hsc, o);
    }
    throw usage_error("unknown system '" + system + "' (bistable, bf or hsc)");
  }();
  upfi::io::write_snapshot_csv(a.text("--out", ""), data);
  std::printf("%s: %zu snapshots, %ld cells in total, d = %ld -> %s\n", system.c_str(), data.size(),
              static_cast<long>(data.total_count()), static_cast<long>(data.dimension()), a.text("--out", "").c_str());
  return 0;
}

// fit.json's step_check: the steps, the worst gap ratio and one object per interval (data units).
// 6 significant digits; a non-finite value (a gap ratio that is infinite where the training's push lands exactly on
// a one-cell next snapshot, a model mass that overflowed) is written as null
std::string number(double v) { return json_object::number(v, 6); }

std::string step_check_json(const upfi::infer::step_check_result& c) {
  std::string s = "{\"training_steps\": " + std::to_string(c.training_steps) +
                  ", \"training_stepper\": " + json_object::quote(c.training_stepper) +
                  ", \"fine_steps\": " + std::to_string(c.fine_steps) +
                  ", \"fine_stepper\": " + json_object::quote(c.fine_stepper) +
                  ", \"worst_gap_ratio\": " + number(c.worst_gap_ratio()) + ", \"intervals\": [";
  const Eigen::VectorXd ratio = c.gap_ratio();
  for (Eigen::Index i = 0; i < c.fine.size(); ++i) {
    s += std::string(i > 0 ? ", " : "") + "{\"time\": " + number(c.times[static_cast<std::size_t>(i)]) +
         ", \"unmoved\": " + number(c.unmoved[i]) + ", \"training\": " + number(c.training[i]) +
         ", \"fine\": " + number(c.fine[i]);
    if (std::isfinite(c.floor[i])) s += ", \"floor\": " + number(c.floor[i]);
    s += ", \"fine_steps_used\": " + std::to_string(c.fine_steps_used[static_cast<std::size_t>(i)]) +
         ", \"fine_agreed\": " + (c.fine_agreed[static_cast<std::size_t>(i)] ? "true" : "false");
    s += ", \"gap_ratio\": " + number(ratio[i]);
    if (c.log_mass_error_fine.size() > 0) {
      s += ", \"log_mass_error_training\": " + number(c.log_mass_error_training[i]) +
           ", \"log_mass_error_fine\": " + number(c.log_mass_error_fine[i]);
    }
    s += "}";
  }
  return s + "]}";
}

// The step check on the terminal: the three misses per interval, and a note where the fit leans on its steps (the fine
// flow misses a next snapshot by more than 3 times the training's step map, and by more than a tenth of the way).
void print_step_check(const upfi::infer::step_check_result& c) {
  std::string line = "step check, energy distance to the next snapshot with " + std::to_string(c.training_steps) + " " +
                     c.training_stepper + " steps / " + std::to_string(c.fine_steps) + " " + c.fine_stepper +
                     " steps / unmoved:";
  std::string refined, unsettled;  // the intervals where the accurate push took more steps, or never settled
  int most = c.fine_steps;
  for (Eigen::Index i = 0; i < c.fine.size(); ++i) {
    const auto k = static_cast<std::size_t>(i);
    const int used = c.fine_steps_used[k];
    char cell[160];
    std::snprintf(cell, sizeof cell, "%s t = %g: %.3g / %.3g%s / %.3g", i > 0 ? "," : "", c.times[k], c.training[i],
                  c.fine[i], used != c.fine_steps ? (" (" + std::to_string(used) + " steps)").c_str() : "",
                  c.unmoved[i]);
    line += cell;
    if (used > c.fine_steps && c.fine_agreed[k]) refined += (refined.empty() ? "" : ", ") + number(c.times[k]);
    if (!c.fine_agreed[k] && !c.diverged(i)) unsettled += (unsettled.empty() ? "" : ", ") + number(c.times[k]);
    most = std::max(most, used);
  }
  std::printf("%s\n", line.c_str());
  if (!refined.empty()) {
    std::printf(
        "note: %d %s steps were unstable on the intervals ending at t = %s, where more steps (in brackets) agree with "
        "twice as many: the probability flow is stiff there (its score term D grad log p across thin directions of "
        "the data). The SDE simulations (predict, fates) take the drift and the noise, not the score.\n",
        c.fine_steps, c.fine_stepper.c_str(), refined.c_str());
  }
  if (!unsettled.empty() && most > c.fine_steps) {
    std::printf("note: on the intervals ending at t = %s the accurate push had not settled at %d steps\n",
                unsettled.c_str(), most);
  }
  if (c.diverged()) {
    std::string where;
    for (Eigen::Index i = 0; i < c.fine.size(); ++i) {
      if (c.diverged(i)) where += (where.empty() ? "" : ", ") + number(c.times[static_cast<std::size_t>(i)]);
    }
    std::printf(
        "note: the fitted probability flow, followed accurately, diverges (inf above, up to %d %s steps) on the "
        "intervals ending at t = %s; the fit saw its %d training steps only. The SDE simulations (predict, fates) "
        "take the drift and the noise, not the score, and do not inherit this.\n",
        most, c.fine_stepper.c_str(), where.c_str(), c.training_steps);
    return;
  }
  const double worst = c.worst_gap_ratio();
  if (c.leans_on_steps()) {
    std::printf(
        "note: the fitted flow, followed accurately, misses a next snapshot by %.3g times what its "
        "%d training steps do; simulations (predict, fates) take fine steps. Refit with --steps %d%s\n",
        worst, c.training_steps, 4 * c.training_steps, c.training_stepper == "euler" ? " or --stepper heun" : "");
  }
}

int run_fit(int argc, char** argv) {
  std::set<std::string> flags = fit_flags;
  flags.insert("--step-check");
  const arguments a(argc, argv, 2, flags, {"--quiet", "--no-plots", learn_degradation_switch});
  if (a.positional().size() != 1) throw usage_error("fit needs one data file");
  if (!a.has("--out")) throw usage_error("fit needs --out DIR");
  const upfi::core::thread_limit threads(static_cast<int>(a.integer("--threads", upfi::core::max_threads(), 1)));
  auto o = fit_options_of(a);
  o.step_check_steps = static_cast<int>(a.integer("--step-check", o.step_check_steps, 0));
  const auto data = read_data(a.positional()[0], a);
  progress_bar bar(a.has("--quiet"));
  staged_output out(a.text("--out", ""));
  bar.note("upfi fit: " + std::to_string(data.size()) + " snapshots, " + std::to_string(data.total_count()) +
           " cells, d = " + std::to_string(data.dimension()) + ", method " + upfi::infer::fit_method_name(o.method));
  const auto fit = upfi::infer::fit_snapshots(data, o, fit_reporter(bar, ""));
  upfi::infer::write_model_file(out("model.upfi"), fit.model.to_file());
  std::string loss_csv = "iteration,divergence,regulariser,total,seconds\n";
  std::vector<std::pair<double, double>> loss;
  for (const auto& h : fit.report.history) {
    std::ostringstream s;
    s.precision(10);
    s << h.iteration << ',' << h.loss.divergence << ',' << h.loss.regulariser << ',' << h.loss.total() << ','
      << h.seconds << '\n';
    loss_csv += s.str();
    loss.emplace_back(static_cast<double>(h.iteration), h.loss.total());
  }
  write_text(out("loss.csv"), loss_csv);
  // predicted masses at the observed times, and the roll-out check (the SDE from the first snapshot against the
  // later ones: energy distance in data units, and its sampling floor)
  std::string masses = "[";
  const auto paths = fit.model.simulate(thin(data.cloud(0), 2000, 1), data.times(),
                                        {.dt = (data.time(data.size() - 1) - data.time(0)) / 100, .seed = o.seed});
  const auto check = upfi::infer::rollout_check(paths, data, {.seed = o.seed});
  for (std::size_t k = 0; k < data.size(); ++k) {
    masses += std::string(k > 0 ? ", " : "") + "{\"time\": " + number(data.time(k)) +
              ", \"observed\": " + number(data.relative_mass(k)) +
              ", \"model\": " + number(paths.log_masses[k].array().exp().mean());
    if (k > 0) {
      const auto i = static_cast<Eigen::Index>(k - 1);
      masses += ", \"rollout_energy\": " + number(check.energy[i]);
      if (check.energy_floor.size() > 0) masses += ", \"rollout_energy_floor\": " + number(check.energy_floor[i]);
    }
    masses += "}";
  }
  masses += "]";
  json_object j;
  j.add("command", "fit")
      .add("data", a.positional()[0])
      .add("method", upfi::infer::fit_method_name(o.method))
      .add("networks", upfi::infer::networks_see_time(o) ? "time-dependent" : "autonomous")
      .add("dimension", static_cast<double>(data.dimension()))
      .add("cells", static_cast<double>(data.total_count()))
      .add("noise", upfi::infer::noise_model_name(fit.model.noise()));
  if (fit.model.noise() == upfi::infer::noise_model::additive) {
    j.add("diffusion", fit.model.diffusion());
  } else {
    std::string rates = "[";
    for (Eigen::Index i = 0; i < fit.model.degradation().size(); ++i)
      rates += std::string(i > 0 ? ", " : "") + number(fit.model.degradation()[i]);
    j.add("volume", fit.model.volume())
        .raw("degradation", rates + "]")
        .raw("learn_degradation", o.learn_degradation ? "true" : "false");
  }
  j.add("score", o.score == upfi::infer::score_estimator::dsm ? "dsm" : "kernel")
      .add("score_members", static_cast<double>(o.score == upfi::infer::score_estimator::dsm ? o.dsm_members : 0))
      .add("mass_smoothing", static_cast<double>(o.mass_smoothing))
      .add("iterations", static_cast<double>(o.iterations))
      .add("average_tail", o.average_tail)
      .add("blur", o.blur)
      .raw("reach", o.method == fit_method::upfi ? json_object::number(o.reach) : "null")
      .add("steps", static_cast<double>(o.steps))
      .add("stepper", o.stepper.name)
      .add("seed", static_cast<double>(o.seed))
      .add("final_loss", fit.report.history.empty() ? 0.0 : fit.report.history.back().loss.total())
      .add("score_seconds", fit.score_seconds)
      .add("training_seconds", fit.training_seconds)
      .raw("relative_masses", masses);
  if (!fit.step_check.times.empty()) j.raw("step_check", step_check_json(fit.step_check));
  write_text(out("fit.json"), j.str() + "\n");
  if (!a.has("--no-plots")) write_plots(out, data, &fit.model, loss);
  out.commit();
  std::string noise;
  if (fit.model.noise() == upfi::infer::noise_model::additive) {
    noise = "D = " + number(fit.model.diffusion());
  } else {
    noise = "V = " + number(fit.model.volume()) + ", degradation";
    for (Eigen::Index i = 0; i < fit.model.degradation().size(); ++i)
      noise += (i > 0 ? "," : " ") + number(fit.model.degradation()[i]);
  }
  std::printf("fitted %s in %.1f s (score %.1f s); final loss %.5f; %s -> %s\n", upfi::infer::fit_method_name(o.method),
              fit.training_seconds + fit.score_seconds, fit.score_seconds,
              fit.report.history.empty() ? 0.0 : fit.report.history.back().loss.total(), noise.c_str(),
              a.text("--out", "").c_str());
  if (!fit.step_check.times.empty()) print_step_check(fit.step_check);
  return 0;
}

// What evaluate and calibrate share: one data file with three or more times, --out, the fit options, and the
// leave-one-out's subsampling (--max-cells) with the fit's seed. `check` sees the arguments before anything runs;
// the command makes its progress bar and staged output once its own checks have passed.
struct leave_one_out_command {
  arguments a;
  upfi::core::thread_limit threads;
  upfi::infer::fit_options o;
  upfi::core::snapshot_series<double> data;
  upfi::infer::leave_one_out_options lo;

  leave_one_out_command(const std::string& name, int argc, char** argv, const std::set<std::string>& extra_flags,
                        const std::function<void(const arguments&)>& check = {}, bool noise_level_chosen = false)
      : a(parsed(name, argc, argv, extra_flags, check)),
        threads(static_cast<int>(a.integer("--threads", upfi::core::max_threads(), 1))),
        o(fit_options_of(a, noise_level_chosen)),
        data(read_data(a.positional()[0], a)) {
    if (data.size() < 3) throw std::runtime_error(name + " needs three or more time points (leave one out)");
    lo.max_cells = a.integer("--max-cells", lo.max_cells, 0);
    lo.fits = static_cast<int>(a.integer("--fits", lo.fits, 1));
    lo.seed = o.seed;
  }

 private:
  static arguments parsed(const std::string& name, int argc, char** argv, const std::set<std::string>& extra_flags,
                          const std::function<void(const arguments&)>& check) {
    std::set<std::string> flags = fit_flags;
    flags.insert("--max-cells");
    flags.insert("--fits");
    flags.insert(extra_flags.begin(), extra_flags.end());
    arguments a(argc, argv, 2, flags, {"--quiet", learn_degradation_switch});
    if (a.positional().size() != 1) throw usage_error(name + " needs one data file");
    if (!a.has("--out")) throw usage_error(name + " needs --out DIR");
    if (check) check(a);
    return a;
  }
};

// The settings that evaluate.json and calibration.json share.
json_object leave_one_out_json(const char* command, const arguments& a, const upfi::infer::fit_options& o,
                               const upfi::infer::leave_one_out_options& lo) {
  json_object j;
  j.add("command", command)
      .add("data", a.positional()[0])
      .add("method", upfi::infer::fit_method_name(o.method))
      .add("networks", upfi::infer::networks_see_time(o) ? "time-dependent" : "autonomous")
      .add("noise", upfi::infer::noise_model_name(o.noise))
      .add("iterations", static_cast<double>(o.iterations))
      .add("max_cells", static_cast<double>(lo.max_cells))
      .add("fits", static_cast<double>(lo.fits))
      .add("seed", static_cast<double>(o.seed));
  return j;
}

int run_evaluate(int argc, char** argv) {
  leave_one_out_command run("evaluate", argc, argv, {});
  const auto& a = run.a;
  const auto& data = run.data;
  const auto& o = run.o;
  const auto& lo = run.lo;
  progress_bar bar(a.has("--quiet"));
  staged_output out(a.text("--out", ""));
  std::map<std::size_t, std::function<void(const upfi::infer::fit_progress&)>> reporters;
  const auto scores = upfi::infer::leave_one_out(data, o, lo, [&](std::size_t k, const upfi::infer::fit_progress& p) {
    auto& r = reporters[k];
    if (!r) r = fit_reporter(bar, "hold out t = " + std::to_string(data.time(k)).substr(0, 6) + ": ");
    r(p);
  });
  std::string csv =
      "time,cells,w1_model,w1_ot_interpolation,w1_previous,w1_next,energy_model,energy_ot_interpolation,mass_model,"
      "mass_observed\n";
  std::string rows = "[";
  std::printf("| held-out t | cells | W1 %s | W1 OT-interp | W1 prev | W1 next | mass (model / data) |\n",
              upfi::infer::fit_method_name(o.method));
  std::printf("|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const auto& s = scores[i];
    std::ostringstream line;
    line.precision(8);
    line << s.time << ',' << s.cells << ',' << s.w1_model << ',' << s.w1_ot_interpolation << ',' << s.w1_previous << ','
         << s.w1_next << ',' << s.energy_model << ',' << s.energy_ot_interpolation << ',' << s.mass_model << ','
         << s.mass_observed << '\n';
    csv += line.str();
    json_object r;
    r.add("time", s.time)
        .add("cells", static_cast<double>(s.cells))
        .add("w1_model", s.w1_model)
        .add("w1_ot_interpolation", s.w1_ot_interpolation)
        .add("w1_previous", s.w1_previous)
        .add("w1_next", s.w1_next)
        .add("energy_model", s.energy_model)
        .add("energy_ot_interpolation", s.energy_ot_interpolation)
        .add("mass_model", s.mass_model)
        .add("mass_observed", s.mass_observed)
        .add("fit_seconds", s.fit_seconds);
    rows += (i > 0 ? ", " : "") + r.str(2);
    std::printf("| %.4g | %ld | %.3f | %.3f | %.3f | %.3f | %.3f / %.3f |\n", s.time, static_cast<long>(s.cells),
                s.w1_model, s.w1_ot_interpolation, s.w1_previous, s.w1_next, s.mass_model, s.mass_observed);
  }
  rows += "]";
  write_text(out("evaluate.csv"), csv);
  json_object j = leave_one_out_json("evaluate", a, o, lo);
  j.raw("held_out", rows);
  write_text(out("evaluate.json"), j.str() + "\n");
  out.commit();
  return 0;
}

// --grid in data units (D for additive noise, V for cle); by default upfi::infer::default_noise_grid.
std::vector<double> noise_grid(const arguments& a, const upfi::core::snapshot_series<double>& data,
                               const upfi::infer::fit_options& o) {
  if (!a.has("--grid")) return upfi::infer::default_noise_grid(data, o);
  std::vector<double> grid;
  std::istringstream in(a.text("--grid", ""));
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto v = upfi::core::detail::parse_finite(item);
    if (!v || !(*v > 0)) {
      throw usage_error("--grid needs positive numbers like 0.01,0.03,0.1, got '" + a.text("--grid", "") + "'");
    }
    grid.push_back(*v);
  }
  if (grid.empty()) throw usage_error("--grid needs positive numbers like 0.01,0.03,0.1, got ''");
  return grid;
}

int run_calibrate(int argc, char** argv) {
  leave_one_out_command run(
      "calibrate", argc, argv, {"--grid"},
      [](const arguments& args) {
        if (args.has("--diffusion"))
          throw usage_error("calibrate chooses the diffusion: give the candidates with --grid");
        if (args.has("--volume")) throw usage_error("calibrate chooses the volume: give the candidates with --grid");
      },
      true);
  const auto& a = run.a;
  const auto& data = run.data;
  const auto& o = run.o;
  const auto& lo = run.lo;
  const auto grid = noise_grid(a, data, o);
  // what the grid holds: the additive D or the chemical-Langevin volume V
  const bool cle = o.noise == upfi::infer::noise_model::chemical_langevin;
  const std::string name = cle ? "volume" : "diffusion", sym = cle ? "V" : "D";
  progress_bar bar(a.has("--quiet"));
  staged_output out(a.text("--out", ""));
  std::map<std::pair<std::size_t, std::size_t>, std::function<void(const upfi::infer::fit_progress&)>> reporters;
  const auto scan = upfi::infer::scan_diffusion(
      data, o, grid, lo, [&](std::size_t i, std::size_t k, const upfi::infer::fit_progress& p) {
        auto& r = reporters[{i, k}];
        if (!r) {
          std::ostringstream label;
          label.precision(4);
          label << sym << " = " << grid[i] << ", hold out t = " << data.time(k) << ": ";
          r = fit_reporter(bar, label.str());
        }
        r(p);
      });
  const double best_w1 = scan.best_w1();
  std::string csv = name + ",energy,w1\n";
  std::string curve = "[";
  std::printf("| %s | energy distance (mean) | W1 (mean) |\n|---|---|---|\n", sym.c_str());
  Eigen::VectorXd log_d(static_cast<Eigen::Index>(grid.size())), energy(log_d.size()), w1(log_d.size());
  for (std::size_t i = 0; i < scan.curve.size(); ++i) {
    const auto& p = scan.curve[i];
    std::ostringstream line;
    line.precision(10);
    line << p.value << ',' << p.energy << ',' << p.w1 << '\n';
    csv += line.str();
    std::string held = "[";
    for (std::size_t h = 0; h < p.scores.size(); ++h) {
      json_object r;
      r.add("time", p.scores[h].time)
          .add("energy_model", p.scores[h].energy_model)
          .add("w1_model", p.scores[h].w1_model)
          .add("mass_model", p.scores[h].mass_model)
          .add("mass_observed", p.scores[h].mass_observed);
      held += (h > 0 ? ", " : "") + r.str(4);
    }
    json_object c;
    c.add(name, p.value).add("energy", p.energy).add("w1", p.w1).raw("held_out", held + "]");
    curve += (i > 0 ? ", " : "") + c.str(2);
    std::printf("| %.4g | %.5f%s | %.4f%s |\n", p.value, p.energy, i == scan.best_index ? " (best)" : "", p.w1,
                p.value == best_w1 ? " (best)" : "");
    log_d[static_cast<Eigen::Index>(i)] = std::log10(p.value);
    energy[static_cast<Eigen::Index>(i)] = p.energy;
    w1[static_cast<Eigen::Index>(i)] = p.w1;
  }
  write_text(out("calibration.csv"), csv);
  // each held-out time's own minimisers: the mean can follow one of them (docs/results.md)
  std::string per_time = "[";
  std::ostringstream per_time_line;
  per_time_line.precision(6);
  per_time_line << "per held-out time, best " << sym << " by energy distance / W1:";
  for (std::size_t h = 0; h < scan.curve.front().scores.size(); ++h) {
    const double t = scan.curve.front().scores[h].time;
    json_object r;
    r.add("time", t).add("best_" + name, scan.best_at(h)).add("best_" + name + "_w1", scan.best_w1_at(h));
    per_time += (h > 0 ? ", " : "") + r.str(4);
    per_time_line << (h > 0 ? "," : "") << " t = " << t << ": " << scan.best_at(h) << " / " << scan.best_w1_at(h);
  }
  const bool flat = scan.relative_spread() < 0.1;
  json_object j = leave_one_out_json("calibrate", a, o, lo);
  j.add("best_" + name, scan.best())
      .add("best_" + name + "_w1", best_w1)
      .add("relative_spread", scan.relative_spread())
      .raw("flat", flat ? "true" : "false")
      .raw("best_on_edge", scan.best_on_edge() ? "true" : "false")
      .raw("best_w1_on_edge", scan.on_edge(best_w1) ? "true" : "false")
      .raw("per_time", per_time + "]")
      .raw("curve", curve + "]");
  write_text(out("calibration.json"), j.str() + "\n");
  // sorted by D for the line
  std::vector<Eigen::Index> order(static_cast<std::size_t>(log_d.size()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Eigen::Index>(i);
  std::sort(order.begin(), order.end(), [&](Eigen::Index x, Eigen::Index y) { return log_d[x] < log_d[y]; });
  // both criteria on one axis, each relative to its smallest value (their minimisers can differ)
  const Eigen::VectorXd xs = log_d(order), ye = energy(order) / energy.minCoeff(), yw = w1(order) / w1.minCoeff();
  upfi::io::svg_plot plot({.title = name + " calibration (leave-one-out)",
                           .x_label = "log10 " + sym + " (data units)",
                           .y_label = "mean score at held-out times / its smallest value"});
  plot.line(xs, ye, upfi::io::palette(0), "energy distance");
  plot.scatter(xs, ye, upfi::io::palette(0), "", 3, 1.0);
  plot.line(xs, yw, upfi::io::palette(1), "W1");
  plot.scatter(xs, yw, upfi::io::palette(1), "", 3, 1.0);
  plot.save(out("calibration.svg"));
  out.commit();
  std::printf("%s\n", per_time_line.str().c_str());
  std::printf("best %s = %.6g by energy distance (relative spread of the curve %.2f), %.6g by W1 -> %s\n", sym.c_str(),
              scan.best(), scan.relative_spread(), best_w1, a.text("--out", "").c_str());
  if (flat) {
    bar.note("note: the curve is flat (relative spread below 0.1): the data do not pin " + sym + " down" +
             std::string(upfi::infer::networks_see_time(o) ? " (a time-dependent drift absorbs any D)" : ""));
  }
  if (scan.best_on_edge()) bar.note("note: the best " + sym + " is at the edge of the grid; extend --grid beyond it");
  if (!scan.best_on_edge() && scan.on_edge(best_w1)) {
    bar.note("note: the W1 minimum is at the edge of the grid; extend --grid beyond it to see where W1 turns");
  }
  return 0;
}

// Fate probabilities of a model with state-dependent (chemical-Langevin) noise: fo.paths simulated paths from every
// query cell to fo.t1 (fo.steps steps, the model's simulator), each end state counted in the region of its nearest
// centre; the queries go in blocks so that memory stays at a few thousand paths per block.
Eigen::MatrixXd simulated_fates(const upfi::infer::fitted_model& model, const Eigen::MatrixXd& cells,
                                const Eigen::MatrixXd& centres, const upfi::metrics::fate_options& fo) {
  const Eigen::Index n = cells.rows(), k = centres.rows(), paths = fo.paths;
  const Eigen::Index block = std::max<Eigen::Index>(1, 20000 / paths);
  Eigen::MatrixXd p = Eigen::MatrixXd::Zero(n, k);
  for (Eigen::Index first = 0; first < n; first += block) {
    const Eigen::Index rows = std::min(block, n - first);
    Eigen::MatrixXd x0(rows * paths, cells.cols());
    for (Eigen::Index i = 0; i < rows; ++i) x0.middleRows(i * paths, paths) = cells.row(first + i).replicate(paths, 1);
    const auto end = model.simulate(x0, {fo.t0, fo.t1},
                                    {.dt = (fo.t1 - fo.t0) / static_cast<double>(fo.steps),
                                     .seed = fo.seed + 1000003 * static_cast<std::uint64_t>(first)});
    const auto labels = upfi::metrics::nearest_centre(centres, end.positions.back());
    for (Eigen::Index r = 0; r < x0.rows(); ++r) p(first + r / paths, labels[static_cast<std::size_t>(r)]) += 1;
  }
  return p / static_cast<double>(paths);
}

int run_predict(int argc, char** argv) {
  const arguments a(argc, argv, 2,
                    {"--out", "--to", "--frames", "--seed", "--fates", "--data", "--threads", "--paths", "--embedding",
                     "--time-key", "--components", "--masses"},
                    {"--quiet"});
  if (a.positional().size() != 2) throw usage_error("predict needs a model file and a cells file");
  if (!a.has("--out")) throw usage_error("predict needs --out DIR");
  if (a.has("--fates") != a.has("--data")) throw usage_error("--fates K needs --data DATA.csv (and vice versa)");
  const upfi::core::thread_limit threads(static_cast<int>(a.integer("--threads", upfi::core::max_threads(), 1)));
  const auto model = upfi::infer::fitted_model::from_file(upfi::infer::read_model_file(a.positional()[0]));
  upfi::io::csv_read_options ro;
  ro.min_time_points = 1;
  const auto cells = upfi::io::read_snapshot_csv<double>(a.positional()[1], ro);
  if (cells.dimension() != model.dimension()) {
    throw std::runtime_error(a.positional()[1] + ": cells have " + std::to_string(cells.dimension()) +
                             " coordinates, the model " + std::to_string(model.dimension()));
  }
  const double to = a.number("--to", model.scaling().t0 + model.scaling().span);
  const long frames = a.integer("--frames", 11, 2);
  const auto seed = static_cast<std::uint64_t>(a.integer("--seed", 0, 0));
  staged_output out(a.text("--out", ""));
  const Eigen::Index d = model.dimension();
  std::ostringstream traj, growth;
  traj.precision(8);
  growth.precision(8);
  traj << "path,time,log_mass";
  growth << "time";
  for (Eigen::Index c = 0; c < d; ++c) {
    traj << ",x" << c;
    growth << ",x" << c;
  }
  traj << '\n';
  growth << ",growth\n";
  long path = 0;
  for (std::size_t k = 0; k < cells.size(); ++k) {
    const double t0 = cells.time(k);
    const Eigen::MatrixXd& x = cells.cloud(k);
    Eigen::VectorXd g;
    model.growth(t0, x, g);
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      growth << t0;
      for (Eigen::Index c = 0; c < d; ++c) growth << ',' << x(r, c);
      growth << ',' << g[r] << '\n';
    }
    if (!(to > t0)) continue;  // cells at or after --to are reported (growth) but not pushed
    std::vector<double> times;
    for (long i = 0; i < frames; ++i)
      times.push_back(t0 + (to - t0) * static_cast<double>(i) / static_cast<double>(frames - 1));
    const auto p = model.simulate(x, times, {.dt = (to - t0) / 100, .seed = seed + k});
    for (Eigen::Index r = 0; r < x.rows(); ++r, ++path) {
      for (std::size_t f = 0; f < times.size(); ++f) {
        traj << path << ',' << times[f] << ',' << p.log_masses[f][r];
        for (Eigen::Index c = 0; c < d; ++c) traj << ',' << p.positions[f](r, c);
        traj << '\n';
      }
    }
  }
  write_text(out("trajectories.csv"), traj.str());
  write_text(out("growth.csv"), growth.str());
  if (a.has("--fates")) {
    const auto data = read_data(a.text("--data", ""), a);
    const long k = a.integer("--fates", 2, 1);
    const auto regions = upfi::metrics::kmeans(data.cloud(data.size() - 1), k, seed);
    const double t_end = data.time(data.size() - 1);
    const auto drift = [&model](double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& v) { model.drift(t, x, v); };
    std::ostringstream fates;
    fates.precision(6);
    fates << "time";
    for (Eigen::Index c = 0; c < d; ++c) fates << ",x" << c;
    for (long r = 0; r < k; ++r) fates << ",p" << r;
    fates << '\n';
    for (std::size_t s = 0; s < cells.size(); ++s) {
      if (!(t_end > cells.time(s))) continue;
      upfi::metrics::fate_options fo{
          .t0 = cells.time(s), .t1 = t_end, .steps = 100, .paths = a.integer("--paths", 200, 1), .seed = seed + 31 * s};
      const Eigen::MatrixXd p = model.noise() == upfi::infer::noise_model::additive
                                    ? upfi::metrics::fate_probabilities(
                                          drift, std::sqrt(2 * model.diffusion()) * Eigen::MatrixXd::Identity(d, d),
                                          cells.cloud(s), regions.centres, fo)
                                    : simulated_fates(model, cells.cloud(s), regions.centres, fo);
      for (Eigen::Index r = 0; r < p.rows(); ++r) {
        fates << cells.time(s);
        for (Eigen::Index c = 0; c < d; ++c) fates << ',' << cells.cloud(s)(r, c);
        for (long c = 0; c < k; ++c) fates << ',' << p(r, c);
        fates << '\n';
      }
    }
    write_text(out("fates.csv"), fates.str());
  }
  out.commit();
  std::printf("pushed %ld cells to t = %g -> %s\n", path, to, a.text("--out", "").c_str());
  return 0;
}

int run_plot(int argc, char** argv) {
  const arguments a(argc, argv, 2,
                    {"--out", "--model", "--loss", "--embedding", "--time-key", "--components", "--masses"}, {});
  if (a.positional().size() != 1) throw usage_error("plot needs one data file");
  if (!a.has("--out")) throw usage_error("plot needs --out DIR");
  const auto data = read_data(a.positional()[0], a);
  if (data.dimension() < 2) throw std::runtime_error("plot needs at least two coordinates");
  std::optional<upfi::infer::fitted_model> model;
  if (a.has("--model"))
    model = upfi::infer::fitted_model::from_file(upfi::infer::read_model_file(a.text("--model", "")));
  std::vector<std::pair<double, double>> loss;
  if (a.has("--loss")) {  // loss.csv of `upfi fit`: iteration,...,total (4th column)
    std::ifstream in(a.text("--loss", ""));
    if (!in) throw std::runtime_error("cannot open '" + a.text("--loss", "") + "'");
    std::string line;
    std::getline(in, line);
    for (std::size_t n = 2; std::getline(in, line); ++n) {
      std::istringstream s(line);
      std::string f[5];
      for (auto& x : f) std::getline(s, x, ',');
      try {
        loss.emplace_back(std::stod(f[0]), std::stod(f[3]));
      } catch (const std::exception&) {
        throw std::runtime_error(a.text("--loss", "") + ":" + std::to_string(n) + ": not a loss.csv row");
      }
    }
  }
  staged_output out(a.text("--out", ""));
  write_plots(out, data, model ? &*model : nullptr, loss);
  out.commit();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  upfi::core::retain_heap_memory();  // reuse freed cloud-sized temporaries (upfi/core/memory.hpp)
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "simulate") return run_simulate(argc, argv);
    if (command == "fit") return run_fit(argc, argv);
    if (command == "evaluate") return run_evaluate(argc, argv);
    if (command == "calibrate") return run_calibrate(argc, argv);
    if (command == "predict") return run_predict(argc, argv);
    if (command == "plot") return run_plot(argc, argv);
    if (command == "help" || command == "--help" || command == "-h") {
      std::fputs(usage().c_str(), stdout);
      return 0;
    }
    throw usage_error(command.empty() ? "no command given" : "unknown command '" + command + "'");
  } catch (const usage_error& e) {
    std::fprintf(stderr, "upfi: %s (run 'upfi help')\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upfi: %s\n", e.what());
    return 1;
  }
}
