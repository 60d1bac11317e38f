// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
//
// The module pages in docs/ quote compiled examples: a line `<!-- snippet: examples/docs/ot_tour.cpp#plan -->` must be
// followed by a ```cpp block equal to the lines between the two `// [plan]` markers of that file (common indentation
// removed). The examples are built and run as tests, so every quoted line compiles and works.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// The lines between the two `// [name]` markers, dedented; empty with an error message if not exactly two markers.
std::vector<std::string> snippet(const std::vector<std::string>& source, const std::string& name, std::string& error) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < source.size(); ++i)
    if (trim(source[i]) == "// [" + name + "]") at.push_back(i);
  if (at.size() != 2) {
    error = "marker // [" + name + "] appears " + std::to_string(at.size()) + " times, need 2";
    return {};
  }
  std::vector<std::string> body(source.begin() + static_cast<std::ptrdiff_t>(at[0]) + 1,
                                source.begin() + static_cast<std::ptrdiff_t>(at[1]));
  std::size_t indent = std::string::npos;
  for (const auto& l : body)
    if (!trim(l).empty()) indent = std::min(indent, l.find_first_not_of(' '));
  for (auto& l : body) l = trim(l).empty() ? std::string{} : l.substr(indent);
  return body;
}

std::set<std::string> markers(const std::vector<std::string>& source) {
  std::set<std::string> names;
  for (const auto& l : source) {
    const std::string t = trim(l);
    if (t.size() > 5 && t.rfind("// [", 0) == 0 && t.back() == ']') names.insert(t.substr(4, t.size() - 5));
  }
  return names;
}
}  // namespace

TEST_SUITE("docs") {
  TEST_CASE("every snippet quoted in docs/ equals its compiled example, and every example region is quoted") {
    const fs::path root = UPFI_SOURCE_DIR;
    std::map<std::string, std::set<std::string>> quoted;  // file -> names
    int blocks = 0;
    for (const auto& entry : fs::recursive_directory_iterator(root / "docs")) {
      if (entry.path().extension() != ".md") continue;
      const auto doc = read_lines(entry.path());
      for (std::size_t i = 0; i < doc.size(); ++i) {
        const std::string t = trim(doc[i]);
        const std::string open = "<!-- snippet: ", close = " -->";
        if (t.rfind(open, 0) != 0) continue;
        const std::string where = entry.path().lexically_relative(root).string() + ":" + std::to_string(i + 1);
        CAPTURE(where);
        const std::string ref = t.substr(open.size(), t.size() - open.size() - close.size());
        const auto hash = ref.find('#');
        REQUIRE_MESSAGE(hash != std::string::npos, "snippet reference '" << ref << "' lacks #name");
        const std::string file = ref.substr(0, hash), name = ref.substr(hash + 1);
        REQUIRE_MESSAGE(i + 1 < doc.size(), "snippet reference at the end of the file");
        REQUIRE_MESSAGE(doc[i + 1] == "```cpp", "a ```cpp block must follow the snippet reference");
        std::vector<std::string> block;
        std::size_t j = i + 2;
        for (; j < doc.size() && doc[j] != "```"; ++j) block.push_back(doc[j]);
        REQUIRE_MESSAGE(j < doc.size(), "unterminated ```cpp block");
        std::string error;
        const auto expected = snippet(read_lines(root / file), name, error);
        REQUIRE_MESSAGE(error.empty(), file << ": " << error);
        for (std::size_t k = 0; k < std::max(block.size(), expected.size()); ++k) {
          const std::string got = k < block.size() ? block[k] : "<missing>";
          const std::string want = k < expected.size() ? expected[k] : "<missing>";
          REQUIRE_MESSAGE(got == want, "line " << k + 1 << " of the block differs from " << file << "#" << name
                                               << ":\n  docs:    " << got << "\n  example: " << want);
        }
        quoted[file].insert(name);
        ++blocks;
      }
    }
    CHECK(blocks >= 10);
    // no example region left unquoted (it would be dead documentation)
    for (const auto& entry : fs::directory_iterator(root / "examples" / "docs")) {
      if (entry.path().extension() != ".cpp") continue;
      const std::string file = "examples/docs/" + entry.path().filename().string();
      for (const auto& name : markers(read_lines(entry.path()))) {
        CAPTURE(file);
        CHECK_MESSAGE(quoted[file].count(name) == 1, "region " << name << " is not quoted by any page in docs/");
      }
    }
  }
}
