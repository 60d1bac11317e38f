// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Saving and loading trained models: a small self-describing text format holding ordered metadata (key,
/// value) and named arrays of doubles written in their shortest round-trip form (bit-exact reload).
///
///     upfi-model 1
///     meta method upfi
///     meta hidden 64,64,64
///     array parameters 1234
///     0.1234
///     ...
///     end
///
/// The architecture is the caller's: it builds the same field (the metadata can record how), then load_parameters()
/// checks the count and sets the values. Networks with input standardisation also store it (add_network /
/// load_network). Writes are atomic.

#include <upfi/core/error.hpp>
#include <upfi/io/detail/atomic_write.hpp>
#include <upfi/nn/mlp.hpp>

#include <Eigen/Core>

#include <charconv>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace upfi::infer {

/// @brief Contents of a model file: metadata and named arrays, both in insertion order.
class model_file {
 public:
  /// @brief Sets (or replaces) a metadata entry. Keys are single words; values one line.
  /// @throws std::invalid_argument on an empty key, a key with white space or a value with a line break.
  void set_meta(const std::string& key, const std::string& value) {
    check_name(key, "metadata key");
    if (value.find_first_of("\r\n") != std::string::npos) {
      core::detail::throw_invalid_argument("upfi::infer::model_file: the value of '", key, "' has a line break");
    }
    for (auto& [k, v] : m_meta) {
      if (k == key) {
        v = value;
        return;
      }
    }
    m_meta.emplace_back(key, value);
  }
  /// @brief Sets (or replaces) a named array. @throws std::invalid_argument on a bad name or non-finite values.
  void set_array(const std::string& name, Eigen::VectorXd values) {
    check_name(name, "array name");
    if (!values.allFinite()) {
      core::detail::throw_invalid_argument("upfi::infer::model_file: array '", name, "' has non-finite values");
    }
    for (auto& [k, v] : m_arrays) {
      if (k == name) {
        v = std::move(values);
        return;
      }
    }
    m_arrays.emplace_back(name, std::move(values));
  }
  [[nodiscard]] bool has_meta(std::string_view key) const noexcept { return find(m_meta, key) != nullptr; }
  [[nodiscard]] bool has_array(std::string_view name) const noexcept { return find(m_arrays, name) != nullptr; }
  /// @throws std::invalid_argument naming the key if it is absent.
  [[nodiscard]] const std::string& meta(std::string_view key) const { return get(m_meta, key, "metadata entry"); }
  /// @throws std::invalid_argument naming the array if it is absent.
  [[nodiscard]] const Eigen::VectorXd& array(std::string_view name) const { return get(m_arrays, name, "array"); }
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& metadata() const noexcept { return m_meta; }
  [[nodiscard]] const std::vector<std::pair<std::string, Eigen::VectorXd>>& arrays() const noexcept { return m_arrays; }

  /// @brief The file's text.
  [[nodiscard]] std::string format() const {
    std::string out = "upfi-model 1\n";
    for (const auto& [k, v] : m_meta) out += "meta " + k + " " + v + "\n";
    char buffer[64];
    for (const auto& [name, values] : m_arrays) {
      out += "array " + name + " " + std::to_string(values.size()) + "\n";
      for (Eigen::Index i = 0; i < values.size(); ++i) {
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, values[i]);  // shortest round trip
        out.append(buffer, end);
        out += '\n';
      }
    }
    return out + "end\n";
  }

  /// @brief Parses a file's text; `source` names it in errors ("source:line: problem").
  /// @throws upfi::core::error on malformed text.
  [[nodiscard]] static model_file parse(std::string_view text, const std::string& source = "<model>") {
    model_file f;
    std::size_t pos = 0, line_no = 0;
    bool ended = false;
    const auto fail = [&](const std::string& what) {
      UPFI_THROW(core::error(core::detail::message(source, ":", line_no, ": ", what)));
    };
    const auto next_line = [&](std::string_view& line) {
      if (pos >= text.size()) return false;
      const std::size_t nl = text.find('\n', pos);
      line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line_no;
      return true;
    };
    std::string_view line;
    if (!next_line(line) || line != "upfi-model 1") fail("not an upfi model file (expected 'upfi-model 1')");
    while (next_line(line)) {
      if (line == "end") {
        ended = true;
        break;
      }
      if (line.starts_with("meta ")) {
        const std::string_view rest = line.substr(5);
        const std::size_t sp = rest.find(' ');
        if (sp == 0 || sp == std::string_view::npos) fail("metadata line needs 'meta <key> <value>'");
        f.m_meta.emplace_back(std::string(rest.substr(0, sp)), std::string(rest.substr(sp + 1)));
      } else if (line.starts_with("array ")) {
        const std::string_view rest = line.substr(6);
        const std::size_t sp = rest.find(' ');
        long long count = -1;
        if (sp == 0 || sp == std::string_view::npos) fail("array line needs 'array <name> <count>'");
        const std::string_view n = rest.substr(sp + 1);
        const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
        if (ec != std::errc{} || ptr != n.data() + n.size() || count < 0)
          fail("bad array size '" + std::string(n) + "'");
        Eigen::VectorXd values(count);
        for (long long i = 0; i < count; ++i) {
          if (!next_line(line)) fail("file ends inside array '" + std::string(rest.substr(0, sp)) + "'");
          double v = 0;
          const auto [p2, e2] = std::from_chars(line.data(), line.data() + line.size(), v);
          if (e2 != std::errc{} || p2 != line.data() + line.size() || !std::isfinite(v)) {
            fail("'" + std::string(line) + "' is not a finite number");
          }
          values[static_cast<Eigen::Index>(i)] = v;
        }
        f.m_arrays.emplace_back(std::string(rest.substr(0, sp)), std::move(values));
      } else {
        fail("unexpected line '" + std::string(line.substr(0, 40)) + "'");
      }
    }
    if (!ended) fail("missing 'end' line (the file is truncated)");
    return f;
  }

 private:
  template <class V>
  static const V* find(const std::vector<std::pair<std::string, V>>& items, std::string_view key) noexcept {
    for (const auto& [k, v] : items) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  template <class V>
  static const V& get(const std::vector<std::pair<std::string, V>>& items, std::string_view key, const char* what) {
    const V* v = find(items, key);
    if (v == nullptr) core::detail::throw_invalid_argument("upfi::infer::model_file: no ", what, " '", key, "'");
    return *v;
  }
  static void check_name(const std::string& name, const char* what) {
    if (name.empty() || name.find_first_of(" \t\r\n") != std::string::npos) {
      core::detail::throw_invalid_argument("upfi::infer::model_file: ", what, " '", name,
                                           "' must be one non-empty word");
    }
  }

  std::vector<std::pair<std::string, std::string>> m_meta;
  std::vector<std::pair<std::string, Eigen::VectorXd>> m_arrays;
};

/// @brief Writes `file` to `path` atomically. @throws upfi::core::error if it cannot be written.
inline void write_model_file(const std::filesystem::path& path, const model_file& file) {
  io::detail::write_file_atomically(path, file.format(), "upfi::infer::write_model_file");
}

/// @brief Reads a model file. @throws upfi::core::error naming the file (and line) on failure.
[[nodiscard]] inline model_file read_model_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) UPFI_THROW(core::error(core::detail::message(path.string(), ": cannot open the model file for reading")));
  std::ostringstream text;
  text << in.rdbuf();
  return model_file::parse(text.str(), path.string());
}

/// @brief Hidden-layer widths from text such as "64,64,64" (the `hidden` metadata of model files, the `--hidden`
/// option of the `upfi` program). @throws std::invalid_argument on an empty list, a non-integer or a width < 1.
[[nodiscard]] inline std::vector<Eigen::Index> parse_layer_widths(const std::string& text) {
  std::vector<Eigen::Index> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 1) break;
    out.push_back(v);
  }
  if (out.empty() || in || text.back() == ',') {  // stopped early at a bad item, or a trailing comma
    core::detail::throw_invalid_argument("upfi::infer::parse_layer_widths: bad widths '", text,
                                         "' (expected positive integers separated by commas, e.g. 64,64,64)");
  }
  return out;
}

/// @brief "64,64,64" from hidden-layer widths: the `hidden` metadata of model files (parse_layer_widths reads it).
[[nodiscard]] inline std::string format_layer_widths(const std::vector<Eigen::Index>& hidden) {
  std::ostringstream s;  // a stream: GCC 12's -Wrestrict misfires on string concatenation
  for (std::size_t i = 0; i < hidden.size(); ++i) s << (i > 0 ? "," : "") << hidden[i];
  return s.str();
}

/// @brief Stores a field's trainable parameters as array `name` (default "parameters").
template <class Field>
void add_parameters(model_file& file, const Field& field, const std::string& name = "parameters") {
  file.set_array(name, field.parameters());
}

/// @brief Sets a field's parameters from array `name`.
/// @throws std::invalid_argument if the array is missing or its size differs from the field's parameter count.
template <class Field>
void load_parameters(const model_file& file, Field& field, const std::string& name = "parameters") {
  const Eigen::VectorXd& p = file.array(name);
  if (p.size() != field.parameter_count()) {
    core::detail::throw_invalid_argument("upfi::infer::load_parameters: array '", name, "' has ", p.size(),
                                         " values but the field has ", field.parameter_count(),
                                         " parameters (a different architecture?)");
  }
  field.set_parameters(p);
}

/// @brief Stores an MLP's parameters and input standardisation as arrays `<name>.parameters`, `<name>.mean`,
/// `<name>.std`, and its layer widths as metadata `<name>.widths`.
template <class S>
void add_network(model_file& file, const std::string& name, const nn::mlp<S>& net) {
  file.set_array(name + ".parameters", net.parameters().template cast<double>());
  file.set_array(name + ".mean", net.input_mean().transpose().template cast<double>());
  file.set_array(name + ".std", net.input_std().transpose().template cast<double>());
  std::ostringstream widths;  // (string concatenation here trips GCC 12's -Wrestrict false positive)
  widths << net.inputs() << (net.options().time_input ? "+t" : "");
  for (const auto h : net.options().hidden) widths << ',' << h;
  widths << ',' << net.outputs();
  file.set_meta(name + ".widths", widths.str());
}

/// @brief Loads what add_network stored into `net`, built with the same options.
/// @throws std::invalid_argument if an array is missing or the widths differ.
template <class S>
void load_network(const model_file& file, const std::string& name, nn::mlp<S>& net) {
  model_file expected;
  add_network(expected, name, net);
  if (file.meta(name + ".widths") != expected.meta(name + ".widths")) {
    core::detail::throw_invalid_argument("upfi::infer::load_network: '", name, "' has widths ",
                                         file.meta(name + ".widths"), " in the file but ",
                                         expected.meta(name + ".widths"), " here");
  }
  net.parameters() = file.array(name + ".parameters").template cast<S>();
  net.set_standardisation(file.array(name + ".mean").transpose().template cast<S>(),
                          file.array(name + ".std").transpose().template cast<S>());
}

}  // namespace upfi::infer
