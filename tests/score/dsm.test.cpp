// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/core/parallel.hpp>
#include <upfi/score/dsm.hpp>
#include <upfi/score/gaussian.hpp>
#include <upfi/score/kernel_score.hpp>

#include <doctest/doctest.h>

#include "score/support.hpp"
#include "support/seed.hpp"

#include <cmath>
#include <cstring>

using upfi::score::dsm_options;
using upfi::score::dsm_score;
using upfi::score::train_dsm;

namespace {
// smoothing bias of evaluating at noise eta: the score of rho * N(0, eta^2 I) instead of rho (Gaussian: closed form)
double smoothing_bias(const upfi::score::gaussian_score& exact, const upfi::core::snapshot_series<double>& data,
                      double eta) {
  const upfi::score::gaussian_score smoothed(data.dimension(), [&exact, eta](double t) {
    const auto st = exact.moments(t);
    const Eigen::MatrixXd cov =
        st.precision.inverse() + eta * eta * Eigen::MatrixXd::Identity(st.mean.size(), st.mean.size());
    return std::make_pair(st.mean, cov);
  });
  return upfi::test::relative_score_error(smoothed, exact, data);
}

void check_ou_accuracy(Eigen::Index d, long iterations, double tolerance) {
  const auto c = upfi::test::make_ou_case(d, upfi::test::seed());
  const std::vector<double> times = {0.0, 0.25, 0.5, 0.75, 1.0};
  const auto data = upfi::test::ou_snapshots(c, times, 3000, upfi::test::seed());
  const auto exact = upfi::score::ou_marginal_score(c.ou, c.m0, c.s0);
  upfi::score::dsm_report report;
  const dsm_score s = train_dsm(data,
                                {.hidden = {64, 64, 64},
                                 .iterations = iterations,
                                 .learning_rate = 3e-3,
                                 .cosine_decay = true,
                                 .seed = upfi::test::seed()},
                                {}, &report);
  const double err = upfi::test::relative_score_error(s, exact, data);
  const double bias = smoothing_bias(exact, data, s.evaluation_noise());
  const upfi::score::kernel_score k(data);
  const double kernel_err = upfi::test::relative_score_error(k, exact, data);
  MESSAGE("OU d = " << d << ": DSM relative L2 error " << err << " (smoothing bias at eta = " << s.evaluation_noise()
                    << ": " << bias << "), kernel score " << kernel_err << "; " << iterations << " iterations in "
                    << report.seconds << " s, final loss " << report.losses.back());
  CHECK(err <= tolerance);
  CHECK(report.losses.back() < report.losses.front());
}
// two times of a stationary Gaussian with standard deviations 1 and 0.05 (4000 points each)
std::vector<Eigen::MatrixXd> anisotropic_clouds(const upfi::core::counter_rng& rng) {
  std::vector<Eigen::MatrixXd> clouds;
  for (std::uint32_t k = 0; k < 2; ++k) {
    Eigen::MatrixXd x(4000, 2);
    rng.fill_normal(x, 100 * k);
    x.col(1) *= 0.05;
    clouds.push_back(x);
  }
  return clouds;
}
}  // namespace

TEST_SUITE("score/dsm") {
  TEST_CASE("DSM on OU snapshots, d = 2: relative L2 error against the analytic score <= 10% [slow]") {
    check_ou_accuracy(2, 6000, 0.10);
  }

  TEST_CASE("DSM on OU snapshots, d = 10: relative L2 error <= 20% [slow]") { check_ou_accuracy(10, 6000, 0.20); }

  TEST_CASE("the input VJP of a score network matches finite differences") {
    const auto c = upfi::test::make_ou_case(3, upfi::test::seed());
    const auto data = upfi::test::ou_snapshots(c, {0.0, 1.0}, 200, upfi::test::seed());
    const dsm_score s =
        train_dsm(data, {.hidden = {16, 16}, .activation = upfi::nn::activation::silu, .iterations = 20, .batch = 32});
    const Eigen::MatrixXd x = data.cloud(1).topRows(7);
    Eigen::MatrixXd cot(7, 3);
    upfi::core::counter_rng(upfi::test::seed(), 3).fill_normal(cot, 0);
    CHECK(upfi::test::vjp_vs_fd(s, 0.4, x, cot) < 1e-6);
    // the VJP from a recorded evaluation is the same computation without the forward pass
    static_assert(upfi::RecordingScoreModel<dsm_score> && !upfi::RecordingScoreModel<upfi::score::gaussian_score>);
    dsm_score::record_type record;
    Eigen::MatrixXd plain, recorded, g_plain, g_recorded;
    s.evaluate(0.4, x, plain);
    s.evaluate(0.4, x, recorded, record);
    CHECK(recorded == plain);
    s.vjp_x(0.4, x, cot, g_plain);
    s.vjp_x(record, cot, g_recorded);
    CHECK(g_recorded == g_plain);
    CHECK_THROWS_WITH_AS(s.vjp_x(record, cot.topRows(3), g_recorded),
                         "upfi::score::dsm_score::vjp_x: cotangent is 3 x 3, the recorded evaluation 7 x 3",
                         std::invalid_argument);
  }

  TEST_CASE("training is deterministic for a seed and any thread count, with progress reports") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto data = upfi::test::ou_snapshots(c, {0.0, 0.5, 1.0}, 500, upfi::test::seed());
    const dsm_options o{.hidden = {32, 32}, .iterations = 60, .seed = 5, .report_every = 25};
    std::vector<upfi::score::dsm_progress> seen;
    Eigen::VectorXd p1, p2;
    {
      const upfi::core::thread_limit one(1);
      p1 = train_dsm(data, o, [&](const upfi::score::dsm_progress& p) { seen.push_back(p); }).network().parameters();
    }
    {
      const upfi::core::thread_limit two(2);
      p2 = train_dsm(data, o).network().parameters();
    }
    REQUIRE(p1.size() == p2.size());
    CHECK(std::memcmp(p1.data(), p2.data(), sizeof(double) * static_cast<std::size_t>(p1.size())) == 0);
    REQUIRE(seen.size() == 3);  // 25, 50, 60
    CHECK(seen[0].iteration == 25);
    CHECK(seen[2].iteration == 60);
    CHECK(std::isfinite(seen[2].loss));
    CHECK(seen[2].seconds >= seen[0].seconds);
    dsm_options other = o;
    other.seed = 6;
    CHECK(train_dsm(data, other).network().parameters() != p1);
  }

  TEST_CASE("validation: held-out denoising loss and annealed Langevin samples against the data [slow]") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto data = upfi::test::ou_snapshots(c, {0.0, 0.5, 1.0}, 2000, upfi::test::seed());
    const auto held_out = upfi::test::ou_snapshots(c, {0.0, 0.5, 1.0}, 2000, upfi::test::seed() + 1);
    const dsm_score untrained = train_dsm(data, {.iterations = 0});
    const dsm_score trained = train_dsm(data, {.iterations = 2000, .cosine_decay = true});
    const double l0 = upfi::score::denoising_loss(untrained, held_out, 1);
    const double l1 = upfi::score::denoising_loss(trained, held_out, 1);
    // for Gaussian data the optimum of |eta s + z|^2 / 2 per dimension is (1 - eta^2 / (sigma^2 + eta^2)) / 2 < 0.5
    MESSAGE("held-out denoising loss: untrained " << l0 << ", trained " << l1);
    CHECK(l1 < 0.8 * l0);
    CHECK(l1 < 0.5 * 2);
    const auto e_trained = upfi::score::langevin_energy_distances(trained, data, {.steps_per_level = 50});
    const auto e_untrained = upfi::score::langevin_energy_distances(untrained, data, {.steps_per_level = 50});
    for (std::size_t i = 0; i < data.size(); ++i) {
      MESSAGE("t = " << data.time(i) << ": energy distance of Langevin samples " << e_trained[i] << " (untrained "
                     << e_untrained[i] << ")");
      CHECK(e_trained[i] < 0.02);
      CHECK(e_trained[i] < e_untrained[i]);
    }
  }

  TEST_CASE("per-dimension noise: a coordinate 20x narrower than the other gets its own smoothing [slow]") {
    // stationary Gaussian with standard deviations 1 and 0.05 at two times; the score of the data smoothed at level
    // eta with factors c is -x_j / (sd_j^2 + eta^2 c_j^2) (closed form)
    const upfi::core::counter_rng rng(upfi::test::seed());
    const upfi::core::snapshot_series<double> data({0.0, 1.0}, anisotropic_clouds(rng));
    Eigen::MatrixXd q(400, 2);
    rng.fill_normal(q, 999);
    q.col(1) *= 0.05;
    const Eigen::Vector2d sd(1.0, 0.05);
    // rms error of the narrow coordinate's score against a reference score, relative to the true score's rms
    const auto narrow_error = [&](const dsm_score& m, double smoothing) {
      Eigen::MatrixXd s;
      m.evaluate(0.5, q, s);
      const Eigen::ArrayXd ref = -q.col(1).array() / (sd[1] * sd[1] + smoothing);
      return std::sqrt((s.col(1).array() - ref).square().mean() / (q.col(1).array() / (sd[1] * sd[1])).square().mean());
    };
    for (const auto param : {upfi::score::dsm_parametrisation::score, upfi::score::dsm_parametrisation::noise_scaled}) {
      CAPTURE(static_cast<int>(param));
      dsm_options o{.hidden = {32, 32}, .iterations = 3000, .seed = upfi::test::seed(), .parametrisation = param};
      const dsm_score iso = train_dsm(data, o);
      o.per_dimension_noise = true;
      const dsm_score aniso = train_dsm(data, o);
      const double eta = aniso.evaluation_noise();
      const Eigen::VectorXd& c = aniso.noise_scale();
      CHECK(iso.noise_scale() == Eigen::Vector2d::Ones());
      CHECK(c[0] == 1.0);
      CHECK(c[1] == doctest::Approx(0.05).epsilon(0.05));  // the sample's width ratio
      // isotropic noise smooths the narrow coordinate by eta^2 = 0.018 >> 0.0025: its score is 8x too weak
      const double iso_true = narrow_error(iso, 0.0), aniso_true = narrow_error(aniso, 0.0);
      const double aniso_model = narrow_error(aniso, eta * eta * c[1] * c[1]);
      MESSAGE("narrow coordinate, error against the true score: isotropic "
              << iso_true << ", per-dimension " << aniso_true << " (against its own "
              << "smoothed target " << aniso_model << ")");
      CHECK(iso_true > 0.8);
      CHECK(aniso_true < 0.35);
      CHECK(aniso_model < 0.35);
      // preconditioned annealed Langevin samples the narrow coordinate at its width (sd 0.05), not eta's
      const Eigen::MatrixXd x = upfi::score::annealed_langevin(aniso, 0.5, Eigen::MatrixXd::Zero(500, 2),
                                                               {.steps_per_level = 200, .step_scale = 1e-2});
      const double narrow_sd = std::sqrt(x.col(1).array().square().mean());
      CHECK(narrow_sd == doctest::Approx(0.05).epsilon(0.25));
    }
  }

  TEST_CASE("per-dimension noise: the factors, the noise-scaled output, and bad input") {
    const auto clouds = anisotropic_clouds(upfi::core::counter_rng(upfi::test::seed()));
    const upfi::core::snapshot_series<double> data({0.0, 1.0}, clouds);
    const dsm_score a = train_dsm(data, {.hidden = {8}, .iterations = 2, .per_dimension_noise = true});
    CHECK(a.noise_scale()[0] == 1.0);
    CHECK(a.noise_scale()[1] == doctest::Approx(0.05).epsilon(0.05));
    // noise_scaled: the score is the network's output divided by eta c_j, column by column (and so is its VJP)
    const dsm_score b(a.network(), a.noise_levels(), 0.0, upfi::score::dsm_parametrisation::noise_scaled,
                      a.noise_scale());
    const Eigen::MatrixXd x = clouds[0].topRows(5);
    Eigen::MatrixXd sa, sb, va, vb;
    a.evaluate(0.5, x, sa);
    b.evaluate(0.5, x, sb);
    const double eta = a.evaluation_noise();
    CHECK((sb.col(0) - sa.col(0) / eta).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((sb.col(1) - sa.col(1) / (eta * a.noise_scale()[1])).cwiseAbs().maxCoeff() < 1e-9);
    const Eigen::MatrixXd cot = Eigen::MatrixXd::Ones(5, 2);
    a.vjp_x(0.5, x, cot.array().rowwise() / (eta * a.noise_scale().transpose().array()), va);
    b.vjp_x(0.5, x, cot, vb);
    CHECK((va - vb).cwiseAbs().maxCoeff() < 1e-9);
    std::vector<Eigen::MatrixXd> flat = clouds;
    for (auto& cloud : flat) cloud.col(1).setConstant(3.0);
    CHECK_THROWS_WITH_AS((void)train_dsm(upfi::core::snapshot_series<double>({0.0, 1.0}, flat),
                                         {.iterations = 1, .per_dimension_noise = true}),
                         "upfi::score::dsm_trainer: coordinate 1 does not vary within any snapshot; "
                         "per_dimension_noise needs every coordinate to vary",
                         std::invalid_argument);
    CHECK_THROWS_AS(dsm_score(upfi::nn::mlp<double>({.inputs = 4, .outputs = 2}), {0.1}, 0.0,
                              upfi::score::dsm_parametrisation::score, Eigen::Vector2d(1.0, -1.0)),
                    std::invalid_argument);
  }

  TEST_CASE("bad options and divergence are reported") {
    const auto c = upfi::test::make_ou_case(2, upfi::test::seed());
    const auto data = upfi::test::ou_snapshots(c, {0.0, 1.0}, 100, upfi::test::seed());
    CHECK_THROWS_AS((void)train_dsm(data, {.batch = 0}), std::invalid_argument);
    CHECK_THROWS_AS((void)train_dsm(data, {.noise_levels = {}}), std::invalid_argument);
    CHECK_THROWS_AS((void)train_dsm(data, {.noise_levels = {0.1, -1.0}}), std::invalid_argument);
    CHECK_THROWS_AS((void)upfi::score::log_spaced_noise_levels(0, 0.1, 1.0), std::invalid_argument);
    CHECK_THROWS_WITH_AS((void)train_dsm(data, {.iterations = 50, .learning_rate = 1e300}),
                         doctest::Contains("not finite at iteration"), upfi::core::error);
    const dsm_score s = train_dsm(data, {.hidden = {8}, .iterations = 1});
    Eigen::MatrixXd out;
    CHECK_THROWS_AS(s.evaluate(0.0, Eigen::MatrixXd::Zero(2, 3), out), std::invalid_argument);
    CHECK_THROWS_AS(dsm_score(upfi::nn::mlp<double>({.inputs = 3, .outputs = 2}), {0.1}), std::invalid_argument);
    const auto levels = upfi::score::log_spaced_noise_levels(5, std::exp(-2.0), 1.0);
    CHECK(levels.front() == doctest::Approx(std::exp(-2.0)));
    CHECK(levels[1] == doctest::Approx(std::exp(-1.5)));
    CHECK(levels.back() == doctest::Approx(1.0));
  }
}
