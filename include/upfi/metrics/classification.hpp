// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Ranking metrics for network recovery (algorithms.md §8.7): AUROC and AUPR (average precision) of edge
/// scores against true edges, with ties handled exactly (tied scores form one threshold).

#include <upfi/core/error.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <numeric>
#include <vector>

namespace upfi::metrics {

namespace detail {
// Indices sorted by decreasing score; validates the inputs.
inline std::vector<Eigen::Index> ranking(const Eigen::VectorXd& scores, const std::vector<bool>& labels,
                                         const char* who) {
  if (static_cast<std::size_t>(scores.size()) != labels.size() || scores.size() == 0) {
    core::detail::throw_invalid_argument(who, ": ", scores.size(), " scores for ", labels.size(), " labels");
  }
  if (!scores.allFinite()) core::detail::throw_invalid_argument(who, ": non-finite scores");
  const auto positives = std::count(labels.begin(), labels.end(), true);
  if (positives == 0 || positives == static_cast<std::ptrdiff_t>(labels.size())) {
    core::detail::throw_invalid_argument(who, ": need at least one positive and one negative label");
  }
  std::vector<Eigen::Index> order(labels.size());
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index i, Eigen::Index j) { return scores[i] > scores[j]; });
  return order;
}
}  // namespace detail

/// @brief Area under the ROC curve: P(score of a random positive > score of a random negative) + 1/2 P(tie).
/// @throws std::invalid_argument on size mismatch, non-finite scores, or labels of one class only.
[[nodiscard]] inline double auroc(const Eigen::VectorXd& scores, const std::vector<bool>& labels) {
  const auto order = detail::ranking(scores, labels, "upfi::metrics::auroc");
  double positives = 0, negatives = 0, area = 0;
  std::size_t k = 0;
  while (k < order.size()) {  // one group of tied scores at a time
    double p = 0, n = 0;
    const double s = scores[order[k]];
    for (; k < order.size() && scores[order[k]] == s; ++k) (labels[static_cast<std::size_t>(order[k])] ? p : n) += 1;
    area += n * (positives + 0.5 * p);  // each negative here is beaten by every earlier positive, ties count half
    positives += p;
    negatives += n;
  }
  return area / (positives * negatives);
}

/// @brief Average precision (area under the precision-recall curve, step interpolation): sum over thresholds of
/// precision x recall increment, tied scores forming one threshold.
/// @throws std::invalid_argument like auroc.
[[nodiscard]] inline double aupr(const Eigen::VectorXd& scores, const std::vector<bool>& labels) {
  const auto order = detail::ranking(scores, labels, "upfi::metrics::aupr");
  const auto total = static_cast<double>(std::count(labels.begin(), labels.end(), true));
  double tp = 0, seen = 0, ap = 0;
  std::size_t k = 0;
  while (k < order.size()) {
    double p = 0, n = 0;
    const double s = scores[order[k]];
    for (; k < order.size() && scores[order[k]] == s; ++k) (labels[static_cast<std::size_t>(order[k])] ? p : n) += 1;
    tp += p;
    seen += p + n;
    ap += (p / total) * (tp / seen);
  }
  return ap;
}

}  // namespace upfi::metrics
