// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief BoolODE-style gene regulatory networks: Boolean rules turned into Hill-function production, simulated as a
/// chemical Langevin equation, with the 7-gene bifurcating (BF) and 11-gene haematopoietic (HSC) networks built in.
///
/// For gene i with regulators R_i (the genes named in its rule) and Hill terms h_j = (x_j / k_ji)^n,
///
///     p_i(x) = m * (alpha_{i,0} + sum_{S != 0} alpha_{i,S} prod_{j in S} h_j) / (1 + sum_{S != 0} prod_{j in S} h_j),
///
/// where alpha_{i,S} in {0, 1} is the rule evaluated with exactly the regulators in S ON (Pratapa et al. 2020,
/// BoolODE). Degradation is linear, q_i = lambda x_i. The threshold k_ji is half the maximal level m / lambda, divided
/// by the interaction strength of j -> i when one is given.
///
/// Gene-only calibration [I]: UPFI re-implemented BF and HSC without the protein layer and its rescaling is unknown
/// (algorithms.md §9, item 4). Defaults here: m = lambda = 10 (levels in [0, 1], relaxation time 0.1, so fates resolve
/// within the papers' windows t in [0, 1.25]), n = 10 (BoolODE), V = 4 (UPFI's 1/sqrt(V) = 0.5).

#include <upfi/concepts/sde.hpp>
#include <upfi/core/counter_rng.hpp>
#include <upfi/core/error.hpp>
#include <upfi/sde/chemical_langevin.hpp>
#include <upfi/sde/detail/boolean_rules.hpp>
#include <upfi/sde/detail/generic_math.hpp>
#include <upfi/sde/detail/small_buffer.hpp>
#include <upfi/sde/with_growth.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace upfi::sde {

/// @brief A regulator -> target interaction strength s (the Hill threshold becomes k / s).
struct interaction_strength {
  std::string regulator;
  std::string target;
  double strength;
};

/// @brief Parameters of the Boolean -> Hill conversion and of the chemical Langevin simulation.
struct hill_network_options {
  double max_rate = 10;     ///< m: production rate of a fully ON gene
  double degradation = 10;  ///< lambda: linear degradation rate (max level m / lambda)
  int hill = 10;            ///< Hill coefficient n
  double volume = 4;        ///< system volume V of the chemical Langevin noise
  std::vector<interaction_strength> strengths = {};
};

/// @brief Hill-function production p(x) built from Boolean rules; a pointwise generic function.
class hill_production {
 public:
  /// @brief Parses rules, one per line: `gene = rule`, `gene<TAB>rule` (BoolODE's format, header "Gene Rule"
  /// skipped) or `gene, rule`; `#` starts a comment. Rules use and/or/not (or & | !) and parentheses.
  /// @throws std::invalid_argument naming the line (and column) of a syntax error, a duplicate gene, a regulator
  /// without a rule of its own, an unknown gene in `strengths`, or an invalid option.
  hill_production(std::string_view rules, const hill_network_options& options, std::string source = "<rules>")
      : m_max_rate(options.max_rate), m_hill(options.hill) {
    constexpr const char* who = "upfi::sde::hill_production";
    if (!(options.max_rate > 0) || !(options.degradation > 0) || options.hill < 1) {
      core::detail::throw_invalid_argument(who, ": max_rate (", options.max_rate, ") and degradation (",
                                           options.degradation, ") must be > 0 and hill (", options.hill, ") >= 1");
    }
    std::vector<std::unique_ptr<detail::bool_node>> trees;
    std::vector<std::size_t> lines;
    std::istringstream in{std::string(rules)};
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
      if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      std::size_t split = line.find('=');
      if (split == std::string::npos) split = line.find('\t');
      if (split == std::string::npos) split = line.find(',');
      if (split == std::string::npos) {
        core::detail::throw_invalid_argument(who, ": ", source, " line ", number,
                                             ": expected 'gene = rule' (or gene<TAB>rule)");
      }
      std::string gene = trim(line.substr(0, split));
      const std::size_t rule_start = std::min(line.find_first_not_of(" \t\"", split + 1), line.size());
      const std::string rule = trim(line.substr(split + 1));
      if (m_genes.empty() && trees.empty() && lower(gene) == "gene") continue;  // BoolODE header
      if (gene.empty()) core::detail::throw_invalid_argument(who, ": ", source, " line ", number, ": empty gene name");
      for (const auto& g : m_genes) {
        if (g == gene) {
          core::detail::throw_invalid_argument(who, ": ", source, " line ", number, ": gene '", gene,
                                               "' has a second rule");
        }
      }
      trees.push_back(
          detail::bool_parser(rule, core::detail::message(who, ": ", source, " line ", number), rule_start).parse());
      m_genes.push_back(gene);
      lines.push_back(number);
    }
    if (m_genes.empty()) core::detail::throw_invalid_argument(who, ": ", source, " holds no rule");

    const double half_max = 0.5 * options.max_rate / options.degradation;
    m_entries.resize(m_genes.size());
    for (std::size_t i = 0; i < m_genes.size(); ++i) {
      std::vector<std::string> names;
      trees[i]->variables(names);
      if (names.size() > 16) {
        core::detail::throw_invalid_argument(who, ": gene '", m_genes[i], "' has ", names.size(),
                                             " regulators; at most 16 are supported");
      }
      gene_entry& e = m_entries[i];
      for (const auto& name : names) {
        const std::size_t j = index_of(name);
        if (j == m_genes.size()) {
          core::detail::throw_invalid_argument(who, ": ", source, " line ", lines[i], ": regulator '", name,
                                               "' of gene '", m_genes[i], "' has no rule of its own");
        }
        e.regulators.push_back(static_cast<Eigen::Index>(j));
        e.thresholds.push_back(half_max);
      }
      // alpha_S for every subset S of the regulators (bit j of the mask: regulator j ON).
      const std::size_t subsets = std::size_t{1} << names.size();
      e.alpha.resize(subsets);
      for (std::size_t mask = 0; mask < subsets; ++mask) {
        e.alpha[mask] = trees[i]->eval([&](const std::string& name) {
          for (std::size_t j = 0; j < names.size(); ++j) {
            if (names[j] == name) return ((mask >> j) & 1u) != 0;
          }
          return false;
        });
      }
    }
    for (const auto& s : options.strengths) {
      const std::size_t target = index_of(s.target), regulator = index_of(s.regulator);
      if (target == m_genes.size() || regulator == m_genes.size()) {
        core::detail::throw_invalid_argument(who, ": interaction strength ", s.regulator, " -> ", s.target,
                                             " names an unknown gene");
      }
      if (!(s.strength > 0)) {
        core::detail::throw_invalid_argument(who, ": interaction strength ", s.regulator, " -> ", s.target, " = ",
                                             s.strength, " must be > 0");
      }
      gene_entry& e = m_entries[target];
      bool found = false;
      for (std::size_t j = 0; j < e.regulators.size(); ++j) {
        if (e.regulators[j] == static_cast<Eigen::Index>(regulator)) {
          e.thresholds[j] = half_max / s.strength;
          found = true;
        }
      }
      if (!found) {
        core::detail::throw_invalid_argument(who, ": interaction strength ", s.regulator, " -> ", s.target, ": '",
                                             s.regulator, "' does not appear in the rule of '", s.target, "'");
      }
    }
  }

  [[nodiscard]] Eigen::Index dimension() const noexcept { return static_cast<Eigen::Index>(m_genes.size()); }
  /// @brief Gene names, in rule order (= coordinate order).
  [[nodiscard]] const std::vector<std::string>& genes() const noexcept { return m_genes; }
  /// @brief Coordinate of a gene. @throws std::invalid_argument if unknown.
  [[nodiscard]] Eigen::Index gene(std::string_view name) const {
    const std::size_t j = index_of(name);
    if (j == m_genes.size()) core::detail::throw_invalid_argument("upfi::sde::hill_production: no gene '", name, "'");
    return static_cast<Eigen::Index>(j);
  }
  /// @brief Regulators (coordinates) of gene i, in order of first appearance in its rule.
  [[nodiscard]] const std::vector<Eigen::Index>& regulators(Eigen::Index i) const {
    return m_entries.at(static_cast<std::size_t>(i)).regulators;
  }
  /// @brief alpha_{i,S}: the rule of gene i with the regulators in bit mask S ON.
  [[nodiscard]] bool alpha(Eigen::Index i, std::size_t mask) const {
    return m_entries.at(static_cast<std::size_t>(i)).alpha.at(mask) != 0;
  }
  /// @brief Hill threshold k_ji of the j-th regulator of gene i.
  [[nodiscard]] double threshold(Eigen::Index i, std::size_t j) const {
    return m_entries.at(static_cast<std::size_t>(i)).thresholds.at(j);
  }
  /// @brief The network's adjacency: entry (target, regulator) = 1 when the regulator appears in the target's rule.
  [[nodiscard]] Eigen::MatrixXi adjacency() const {
    Eigen::MatrixXi a = Eigen::MatrixXi::Zero(dimension(), dimension());
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
      for (auto j : m_entries[i].regulators) a(static_cast<Eigen::Index>(i), j) = 1;
    }
    return a;
  }

  /// @brief p(x).
  template <class T>
  void operator()(scalar_of_t<T>, const T* x, T* out) const {
    using S = scalar_of_t<T>;
    detail::small_buffer<T, 16> h(16);
    for (std::size_t i = 0; i < m_entries.size(); ++i) {
      const gene_entry& e = m_entries[i];
      const std::size_t r = e.regulators.size();
      for (std::size_t j = 0; j < r; ++j) {
        h[j] = detail::ipow(x[e.regulators[j]] * static_cast<S>(1.0 / e.thresholds[j]), m_hill);
      }
      T numerator(e.alpha[0] ? S(1) : S(0));
      T denominator(S(1));
      for (std::size_t mask = 1; mask < e.alpha.size(); ++mask) {
        T term(S(1));
        for (std::size_t j = 0; j < r; ++j) {
          if ((mask >> j) & 1u) term = term * h[j];
        }
        denominator = denominator + term;
        if (e.alpha[mask]) numerator = numerator + term;
      }
      out[i] = static_cast<S>(m_max_rate) * numerator / denominator;
    }
  }

 private:
  struct gene_entry {
    std::vector<Eigen::Index> regulators;
    std::vector<double> thresholds;
    std::vector<char> alpha;
  };
  [[nodiscard]] std::size_t index_of(std::string_view name) const {
    for (std::size_t j = 0; j < m_genes.size(); ++j) {
      if (m_genes[j] == name) return j;
    }
    return m_genes.size();
  }
  static std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\"");
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\"") - b + 1);
  }
  static std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  std::vector<std::string> m_genes;
  std::vector<gene_entry> m_entries;
  double m_max_rate;
  int m_hill;
};

/// @brief Birth rate on a marker gene: b(x) = rate * h / (1 + h), h = (x_g / k)^n; the branch where the marker is ON
/// divides faster. Used for the BF and HSC benchmarks, whose growth formulas are not published [I].
struct marker_birth {
  Eigen::Index gene = 0;
  double rate = 0;
  double threshold = 0.5;
  int hill = 4;
  template <class T>
  [[nodiscard]] T birth_rate(scalar_of_t<T>, const T* x) const {
    using S = scalar_of_t<T>;
    const T h = detail::ipow(x[gene] * static_cast<S>(1.0 / threshold), hill);
    return static_cast<S>(rate) * h / (S(1) + h);
  }
};

/// @brief A Boolean network simulated as a chemical Langevin equation with growth on a marker gene.
using hill_network_model = with_growth<chemical_langevin<hill_production>, marker_birth>;

/// @brief Builds a network from rules (see hill_production). Growth: `marker` gene divides at up to `birth_rate`.
[[nodiscard]] inline hill_network_model hill_network(std::string_view rules, const hill_network_options& options = {},
                                                     std::string_view marker = {}, double birth_rate = 0) {
  hill_production p(rules, options);
  const Eigen::Index n = p.dimension();
  const Eigen::Index marker_gene = marker.empty() ? 0 : p.gene(marker);
  if (!(birth_rate >= 0)) {
    core::detail::throw_invalid_argument("upfi::sde::hill_network: birth_rate = ", birth_rate, " must be >= 0");
  }
  const double half_max = 0.5 * options.max_rate / options.degradation;
  return hill_network_model(
      chemical_langevin<hill_production>(
          std::move(p), linear_degradation(Eigen::VectorXd::Constant(n, options.degradation)), options.volume),
      marker_birth{marker_gene, birth_rate, half_max, 4});
}

/// @brief Reads a rules file (see hill_production). @throws std::invalid_argument if it cannot be read.
[[nodiscard]] inline std::string read_rules_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) core::detail::throw_invalid_argument("upfi::sde::read_rules_file: cannot open '", path.string(), "'");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// @brief Rules of BoolODE's 7-gene bifurcating network "BF" (dyn-bifurcating).
inline constexpr std::string_view bf_rules =
    "g1 = not (g4 or g6)\n"
    "g2 = g1\n"
    "g3 = g2\n"
    "g4 = (g3 or g4) and not g6\n"
    "g6 = (g6 or g3) and not g4\n"
    "g7 = g4\n"
    "g8 = not g4\n";

/// @brief Rules of the 11-gene haematopoietic stem cell network "HSC" (Krumsiek et al. 2011, BoolODE HSC.txt).
inline constexpr std::string_view hsc_rules =
    "Gata2 = Gata2 and not (Pu1 or (Gata1 and Fog1))\n"
    "Gata1 = (Gata1 or Gata2 or Fli1) and not Pu1\n"
    "Fog1 = Gata1\n"
    "Eklf = Gata1 and not Fli1\n"
    "Fli1 = Gata1 and not Eklf\n"
    "Scl = Gata1 and not Pu1\n"
    "Cebpa = Cebpa and not (Scl or (Fog1 and Gata1))\n"
    "Pu1 = (Cebpa or Pu1) and not (Gata1 or Gata2)\n"
    "cJun = Pu1 and not Gfi1\n"
    "EgrNab = (Pu1 and cJun) and not Gfi1\n"
    "Gfi1 = Cebpa and not EgrNab\n";

/// @brief BF with BoolODE's interaction strengths; growth: the g7 (g4-high) branch divides at up to `birth_rate`.
[[nodiscard]] inline hill_network_model bf_network(double birth_rate = 2.0, hill_network_options options = {}) {
  for (const char* target : {"g4", "g6", "g1"}) {
    for (const char* regulator : {"g4", "g6"}) options.strengths.push_back({regulator, target, 10.0});
  }
  options.strengths.push_back({"g4", "g8", 10.0});
  options.strengths.push_back({"g2", "g3", 0.2});
  return hill_network(bf_rules, options, "g7", birth_rate);
}

/// @brief HSC; growth: the erythrocyte branch (marker Eklf) divides at up to `birth_rate`.
[[nodiscard]] inline hill_network_model hsc_network(double birth_rate = 2.0, const hill_network_options& options = {}) {
  return hill_network(hsc_rules, options, "Eklf", birth_rate);
}

/// @brief n initial cells: the genes named in `on` at the maximal level m / lambda, others at 0, plus `jitter` times
/// |N(0, 1)| (non-negative), from `rng` (index = cell, counter 0 ...).
[[nodiscard]] inline Eigen::MatrixXd network_initial_cells(const hill_production& p,
                                                           const hill_network_options& options,
                                                           const std::vector<std::string>& on, Eigen::Index n,
                                                           const core::counter_rng& rng, double jitter = 0.05) {
  Eigen::RowVectorXd level = Eigen::RowVectorXd::Zero(p.dimension());
  for (const auto& g : on) level[p.gene(g)] = options.max_rate / options.degradation;
  Eigen::MatrixXd z(n, p.dimension());
  rng.fill_normal(z, 0);
  return (jitter * z.cwiseAbs()).rowwise() + level;
}

}  // namespace upfi::sde
