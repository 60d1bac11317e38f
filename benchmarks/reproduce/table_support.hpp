// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// Helpers shared by the paper-table programs: a "--key value" command-line parser, comma lists and "mean ± sd" cells.
#include <upfi/core/detail/parse_finite.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/infer/step_check.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace upfi::reproduce {

inline std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

// Mean and sample standard deviation (0 for one value) with `digits` decimals.
inline std::string mean_sd(const std::vector<double>& v, int digits = 2) {
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) s += (x - m) * (x - m);
  s = v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f ± %.*f", digits, m, digits, s);
  return buf;
}

// One line of a step check for a run's log: the worst gap ratio, then per interval the miss of the training's steps
// and of the fine ones (training / fine).
inline std::string step_check_line(const infer::step_check_result& c) {
  std::ostringstream s;
  s.precision(3);
  s << "step check (" << c.training_steps << " " << c.training_stepper << " / " << c.fine_steps << " " << c.fine_stepper
    << " steps): worst gap " << c.worst_gap_ratio() << ", misses";
  for (Eigen::Index i = 0; i < c.fine.size(); ++i) s << " " << c.training[i] << "/" << c.fine[i];
  return s.str();
}

namespace detail {

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// Parses the whole of `text` as a T, or throws std::invalid_argument saying what was expected.
template <class T>
T parse_value(const std::string& text) {
  if constexpr (std::same_as<T, std::string>) {
    return text;
  } else if constexpr (std::same_as<T, bool>) {
    if (text == "1" || text == "true") return true;
    if (text == "0" || text == "false") return false;
    throw std::invalid_argument("expects 0 or 1, got '" + text + "'");
  } else if constexpr (std::floating_point<T>) {
    const auto v = core::detail::parse_finite(text);
    if (!v) throw std::invalid_argument("expects a finite number, got '" + text + "'");
    return static_cast<T>(*v);
  } else if constexpr (std::integral<T>) {
    T value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || text.empty()) {
      throw std::invalid_argument("expects an integer, got '" + text + "'");
    }
    return value;
  } else if constexpr (is_optional<T>::value) {
    return parse_value<typename T::value_type>(text);
  } else {
    static_assert(is_vector<T>::value, "upfi::reproduce::options: unsupported option type");
    T out;
    for (const auto& item : split(text)) out.push_back(parse_value<typename T::value_type>(item));
    if (out.empty()) throw std::invalid_argument("expects a comma-separated list, got '" + text + "'");
    return out;
  }
}

}  // namespace detail

// "--key value" options for the benchmark programs. Every option takes exactly one value. `parse` reports an unknown
// option, a missing value or a value that does not parse (naming the option), and prints the usage for --help.
class options {
 public:
  options(std::string program, std::string usage) : m_program(std::move(program)), m_usage(std::move(usage)) {}

  // The option sets `target` from its value (numbers, 0/1 flags, strings, optionals and comma lists of them).
  template <class T>
  void add(const std::string& key, T& target) {
    m_setters[key] = [&target](const std::string& value) { target = detail::parse_value<T>(value); };
  }

  // The option calls `set` with its value, which `set` may parse with `value<T>`.
  void add(const std::string& key, std::function<void(const std::string&)> set) { m_setters[key] = std::move(set); }

  template <class T>
  static T value(const std::string& text) {
    return detail::parse_value<T>(text);
  }

  // Empty: parsed, go on. Otherwise the code main should return: 0 after --help, 2 after an error (reported).
  [[nodiscard]] std::optional<int> parse(int argc, char** argv) const {
    for (int i = 1; i < argc; i += 2) {
      const std::string key = argv[i];
      if (key == "--help" || key == "-h") {
        std::cout << m_usage;
        return 0;
      }
      const auto it = m_setters.find(key);
      if (it == m_setters.end()) return error("unknown option " + key + " (--help lists them)");
      if (i + 1 >= argc) return error("option " + key + " needs a value");
      try {
        it->second(argv[i + 1]);
      } catch (const std::exception& e) {
        return error("option " + key + " " + e.what());
      }
    }
    return std::nullopt;
  }

  [[nodiscard]] int error(const std::string& message) const {
    std::cerr << m_program << ": " << message << "\n";
    return 2;
  }

 private:
  std::string m_program, m_usage;
  std::map<std::string, std::function<void(const std::string&)>> m_setters;
};

// The stage-2 training options every table program takes, registered on `args` to set `t`. Their usage lines, with
// the program's own defaults for the iterations and the batch, are training_usage(t).
inline void add_training_options(options& args, infer::flow_training_options& t) {
  args.add("--iterations", t.iterations);
  args.add("--batch", t.batch);
  args.add("--steps", t.steps);
  args.add("--stepper", [&t](const std::string& v) { t.stepper = flow::tableau_named(v); });
  args.add("--lr", t.learning_rate);
  args.add("--final-lr", [&t](const std::string& v) {
    t.cosine_decay = true;
    t.final_learning_rate = options::value<double>(v);
  });
  args.add("--clip", t.clip_norm);
  args.add("--average-tail", t.average_tail);
  args.add("--lambda", t.lambda);
  args.add("--alpha", t.alpha);
  args.add("--reach", t.reach);
  args.add("--blur", t.blur);
  args.add("--float-sinkhorn", t.float_sinkhorn);
  args.add("--sinkhorn-extra", t.sinkhorn_max_iterations);
  args.add("--split-divergence", [&t](const std::string& v) {
    if (v == "off") {
      t.split_divergence.reset();
    } else if (v == "matched" || v == "all") {
      t.split_divergence = v == "all" ? ot::split_pairing::all : ot::split_pairing::matched;
    } else {
      throw std::invalid_argument("expects off, matched or all, got '" + v + "'");
    }
  });
  args.add("--warm-sinkhorn", [&t](const std::string& v) {
    const int sweeps = options::value<int>(v);
    t.sinkhorn_warm_start = sweeps >= 0;
    t.sinkhorn_warm_sweeps = sweeps >= 0 ? sweeps : 0;
  });
}

// The options both paper tables take: seeds and methods, the score, the networks, the fate queries, and stage 2.
template <class BenchmarkOptions>
void add_table_options(options& args, int& seeds, int& first_seed, std::vector<std::string>& methods,
                       BenchmarkOptions& o) {
  args.add("--seeds", seeds);
  args.add("--first-seed", first_seed);
  args.add("--methods", methods);
  args.add("--dsm", o.dsm_iterations);
  args.add("--dsm-per-dim", o.dsm_per_dimension_noise);
  args.add("--dsm-ensemble", o.dsm_ensemble);
  args.add("--mass-smoothing", o.mass_smoothing);
  args.add("--hidden", o.hidden);
  args.add("--score-hidden", o.score_hidden);
  args.add("--score-lr", o.score_learning_rate);
  args.add("--fate-queries", o.fate_queries);
  add_training_options(args, o.training);
}

// One usage line: "  --flag default" padded to a column, then the help.
inline std::string usage_line(const std::string& flag, const std::string& help) {
  std::string left = "  " + flag;
  left.resize(std::max<std::size_t>(left.size() + 1, 31), ' ');
  return left + help + "\n";
}

inline std::string training_usage(const infer::flow_training_options& t) {
  const auto str = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  return "training (stage 2):\n" + usage_line("--iterations " + std::to_string(t.iterations), "training iterations") +
         usage_line("--batch " + std::to_string(t.batch), "cells per snapshot and interval") +
         usage_line("--steps " + std::to_string(t.steps), "steps per interval") +
         usage_line("--stepper " + t.stepper.name, "their tableau: " + flow::stepper_names()) +
         usage_line("--lr " + str(t.learning_rate), "AdamW learning rate") +
         usage_line("--final-lr L", "cosine learning-rate decay to L (default: constant rate)") +
         usage_line("--clip " + str(t.clip_norm), "clip the gradient's global norm to it (0: off)") +
         usage_line("--average-tail " + str(t.average_tail),
                    "average the iterates of the last fraction F of the iterations (0: last iterate)") +
         usage_line("--lambda " + str(t.lambda), "weight of the regulariser lambda (|v|^2 / d + alpha g^2)") +
         usage_line("--alpha " + str(t.alpha), "its growth weight") +
         usage_line("--reach " + str(t.reach.value_or(5.0)), "unbalanced Sinkhorn reach (UPFI)") +
         usage_line("--blur " + str(t.blur), "Sinkhorn blur (eps = blur^2), a length in data units") +
         usage_line("--float-sinkhorn " + std::string(t.float_sinkhorn ? "1" : "0"),
                    "single-precision Sinkhorn kernels (0|1)") +
         usage_line("--sinkhorn-extra " + std::to_string(t.sinkhorn_max_iterations),
                    "up to N extra sweeps at the final eps (0: GeomLoss's fixed schedule)") +
         usage_line("--split-divergence off", "split-sample divergence between minibatch halves (off|matched|all)") +
         usage_line("--warm-sinkhorn -1", "warm-start the Sinkhorn problems with K sweeps (-1: cold; not recommended)");
}

}  // namespace upfi::reproduce
