// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/flow/probability_flow.hpp>
#include <upfi/infer/calibrate.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/quadratic_field.hpp>

#include <doctest/doctest.h>

#include "support/ou_growth.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace {

// A linear drift with the exact score and D = value * I: only the true D lets an affine drift explain every interval.
auto ou_field_factory(const upfi::test::ou_growth_truth& truth) {
  return [truth](double value, const upfi::core::snapshot_series<double>&) {
    return upfi::flow::probability_flow(upfi::nn::linear_field(2), upfi::test::ou_growth_score(truth),
                                        upfi::flow::isotropic_diffusion{value},
                                        upfi::nn::quadratic_scalar_field(2, false));
  };
}

}  // namespace

TEST_SUITE("infer") {
  TEST_CASE("calibrate_diffusion: the held-out validation curve has its minimum at the true D [slow]") {
    const upfi::test::ou_growth_truth truth;  // D = 0.25 I
    const auto data = upfi::test::ou_growth_snapshots(truth, {0.0, 0.4, 0.8, 1.2, 1.6}, 2000, 300);
    upfi::infer::diffusion_calibration_options o;
    o.training = upfi::test::ou_training(500, 500);
    o.held_out = {2};
    std::vector<double> seen;
    const auto cal = upfi::infer::calibrate_diffusion(
        ou_field_factory(truth), data, {0.02, 0.25, 1.0}, o,
        [&](const upfi::infer::diffusion_calibration_progress& p) { seen.push_back(p.value); });
    REQUIRE(cal.curve.size() == 3);
    CHECK(seen == std::vector<double>{0.02, 0.25, 1.0});
    for (const auto& p : cal.curve) {
      MESSAGE("D = " << p.value << ": validation loss " << p.validation_loss);
      REQUIRE(p.per_snapshot.size() == 1);
      CHECK(p.validation_loss == p.per_snapshot[0]);
    }
    CHECK(cal.best() == 0.25);
    // the wrong values are clearly worse, not within noise: at least twice the minimum
    CHECK(cal.curve[0].validation_loss > 2 * cal.curve[1].validation_loss);
    CHECK(cal.curve[2].validation_loss > 2 * cal.curve[1].validation_loss);
    CHECK(cal.relative_spread() > 1.0);
  }

  TEST_CASE("held_out_loss: the exact model fits the next snapshot, a wrong drift does not") {
    const upfi::test::ou_growth_truth truth;
    // 700 cells: the exact drift scores 0.0024-0.0041 on data seeds 310-315, a wrong one 40-77x that
    const auto data = upfi::test::ou_growth_snapshots(truth, {0.0, 0.4, 0.8}, 700, 310);
    auto o = upfi::test::ou_training(1, 1);
    const auto model = [&](const Eigen::VectorXd& e) {
      return upfi::flow::probability_flow(upfi::nn::linear_field(truth.a, e), upfi::test::ou_growth_score(truth),
                                          upfi::flow::matrix_diffusion{truth.diffusion},
                                          upfi::nn::quadratic_scalar_field(Eigen::MatrixXd(), truth.c, truth.b));
    };
    o.steps = 8;
    const double exact = upfi::infer::held_out_loss(model(truth.e), data, 1, o);
    // an offset that pushes the cloud the wrong way
    const double wrong = upfi::infer::held_out_loss(model(Eigen::Vector2d(-1.0, 1.0)), data, 1, o);
    MESSAGE("validation loss: exact drift " << exact << ", wrong drift " << wrong);
    CHECK(exact < 0.02);
    CHECK(wrong > 10 * exact);
    // deterministic: the same subsets and the same push
    CHECK(upfi::infer::held_out_loss(model(truth.e), data, 1, o) == exact);
  }

  TEST_CASE("calibrate_diffusion: invalid grids and held-out indices raise clear errors") {
    const upfi::test::ou_growth_truth truth;
    const auto data = upfi::test::ou_growth_snapshots(truth, {0.0, 0.4, 0.8}, 200, 320);
    upfi::infer::diffusion_calibration_options o;
    o.training = upfi::test::ou_training(1, 1);
    const auto make = ou_field_factory(truth);
    CHECK_THROWS_WITH_AS((void)upfi::infer::calibrate_diffusion(make, data, {}, o),
                         "upfi::infer::calibrate_diffusion: the grid is empty", std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::calibrate_diffusion(make, data, {0.1, std::nan("")}, o),
                         "upfi::infer::calibrate_diffusion: grid value nan is not finite", std::invalid_argument);
    o.held_out = {2};
    CHECK_THROWS_WITH_AS((void)upfi::infer::calibrate_diffusion(make, data, {0.1}, o),
                         "upfi::infer::calibrate_diffusion: held-out snapshot 2 is not an inner snapshot (1..1)",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::calibrate_diffusion(make, data.select(std::vector<std::size_t>{0, 1}),
                                                                {0.1}, upfi::infer::diffusion_calibration_options{}),
                         "upfi::infer::calibrate_diffusion: need at least 3 snapshots to hold out an inner one, got 2",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)upfi::infer::held_out_loss(make(0.25, data), data, 0, o.training),
                         "upfi::infer::held_out_loss: snapshot 0 has no predecessor among 3 snapshots",
                         std::invalid_argument);
  }
}
