// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// IWYU pragma: private, include <upfi/sde/hill_network.hpp>
/// @file
/// @brief Parser and evaluator for Boolean update rules ("g4 = (g3 or g4) and not g6").

#include <upfi/core/error.hpp>

#include <cctype>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace upfi::sde::detail {

/// Expression tree node: a variable, NOT, AND or OR.
struct bool_node {
  enum class kind { variable, negation, conjunction, disjunction } type;
  std::string name;                 // variable name
  std::unique_ptr<bool_node> left;  // operand(s)
  std::unique_ptr<bool_node> right;

  /// Evaluates with `value(name)` giving each variable.
  template <class Lookup>
  [[nodiscard]] bool eval(const Lookup& value) const {
    switch (type) {
      case kind::variable:
        return value(name);
      case kind::negation:
        return !left->eval(value);
      case kind::conjunction:
        return left->eval(value) && right->eval(value);
      case kind::disjunction:
        return left->eval(value) || right->eval(value);
    }
    return false;
  }
  /// Appends the variable names in order of first appearance.
  void variables(std::vector<std::string>& out) const {
    if (type == kind::variable) {
      for (const auto& n : out) {
        if (n == name) return;
      }
      out.push_back(name);
      return;
    }
    if (left) left->variables(out);
    if (right) right->variables(out);
  }
};

/// Recursive-descent parser: expr := term (or term)*; term := factor (and factor)*;
/// factor := not factor | '(' expr ')' | identifier. Keywords are case-insensitive; '&', '|', '!' and '~' work too.
class bool_parser {
 public:
  /// @param column_offset position of `text` within its line (for 1-based columns in messages)
  bool_parser(std::string_view text, std::string context, std::size_t column_offset = 0)
      : m_text(text), m_context(std::move(context)), m_offset(column_offset) {}

  std::unique_ptr<bool_node> parse() {
    auto e = expression();
    skip_space();
    if (m_pos != m_text.size()) fail("unexpected '" + std::string(1, m_text[m_pos]) + "'");
    return e;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    core::detail::throw_invalid_argument(m_context, ", column ", m_offset + m_pos + 1, ": ", what);
  }
  void skip_space() {
    while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) ++m_pos;
  }
  // Reads a keyword or identifier without consuming it.
  std::string peek_word() {
    skip_space();
    std::size_t end = m_pos;
    while (end < m_text.size() && (std::isalnum(static_cast<unsigned char>(m_text[end])) || m_text[end] == '_' ||
                                   m_text[end] == '.' || m_text[end] == '-')) {
      ++end;
    }
    std::string w(m_text.substr(m_pos, end - m_pos));
    for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return w;
  }
  bool accept(std::string_view keyword, char symbol) {
    skip_space();
    if (m_pos < m_text.size() && m_text[m_pos] == symbol) {
      ++m_pos;
      return true;
    }
    if (peek_word() == keyword) {
      m_pos += keyword.size();
      return true;
    }
    return false;
  }
  std::unique_ptr<bool_node> binary(bool_node::kind k, std::unique_ptr<bool_node> a, std::unique_ptr<bool_node> b) {
    auto n = std::make_unique<bool_node>();
    n->type = k;
    n->left = std::move(a);
    n->right = std::move(b);
    return n;
  }
  std::unique_ptr<bool_node> expression() {
    auto e = term();
    while (accept("or", '|')) e = binary(bool_node::kind::disjunction, std::move(e), term());
    return e;
  }
  std::unique_ptr<bool_node> term() {
    auto e = factor();
    while (accept("and", '&')) e = binary(bool_node::kind::conjunction, std::move(e), factor());
    return e;
  }
  std::unique_ptr<bool_node> factor() {
    skip_space();
    if (m_pos < m_text.size() && (m_text[m_pos] == '!' || m_text[m_pos] == '~')) {
      ++m_pos;
      return negate(factor());
    }
    if (peek_word() == "not") {
      m_pos += 3;
      return negate(factor());
    }
    if (m_pos < m_text.size() && m_text[m_pos] == '(') {
      ++m_pos;
      auto e = expression();
      skip_space();
      if (m_pos >= m_text.size() || m_text[m_pos] != ')') fail("missing ')'");
      ++m_pos;
      return e;
    }
    const std::size_t start = m_pos;
    while (m_pos < m_text.size() && (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_' ||
                                     m_text[m_pos] == '.' || m_text[m_pos] == '-')) {
      ++m_pos;
    }
    if (start == m_pos)
      fail(m_pos < m_text.size() ? "expected a gene name, found '" + std::string(1, m_text[m_pos]) + "'"
                                 : "expected a gene name at the end of the rule");
    auto n = std::make_unique<bool_node>();
    n->type = bool_node::kind::variable;
    n->name = std::string(m_text.substr(start, m_pos - start));
    const std::string lower = peek_lower(n->name);
    if (lower == "and" || lower == "or" || lower == "not") fail("'" + n->name + "' is a keyword, not a gene name");
    return n;
  }
  static std::string peek_lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::unique_ptr<bool_node> negate(std::unique_ptr<bool_node> a) {
    auto n = std::make_unique<bool_node>();
    n->type = bool_node::kind::negation;
    n->left = std::move(a);
    return n;
  }

  std::string_view m_text;
  std::string m_context;
  std::size_t m_offset;
  std::size_t m_pos = 0;
};

}  // namespace upfi::sde::detail
