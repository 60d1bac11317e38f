// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
// Helpers shared by the paper-table programs: comma lists and "mean ± sd" cells.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
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

}  // namespace upfi::reproduce
