// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/ad/gradient_check.hpp>
#include <upfi/core/parallel.hpp>
#include <upfi/flow/probability_flow.hpp>
#include <upfi/flow/transport_flow.hpp>
#include <upfi/infer/flow_trainer.hpp>
#include <upfi/nn/linear_field.hpp>
#include <upfi/nn/mlp.hpp>
#include <upfi/nn/optimizer.hpp>
#include <upfi/nn/quadratic_field.hpp>
#include <upfi/problems/ou_growth_moments.hpp>
#include <upfi/score/gaussian.hpp>

#include <Eigen/Cholesky>
#include <doctest/doctest.h>

#include "support/ou_growth.hpp"
#include "support/random_matrix.hpp"

#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

using upfi::test::random_matrix;

namespace {
// The parameters after training a copy of `field` with `threads` threads.
template <class Field>
Eigen::VectorXd trained_parameters(const Field& field, const upfi::core::snapshot_series<double>& data,
                                   const upfi::infer::flow_training_options& o, int threads) {
  const upfi::core::thread_limit limit(threads);
  upfi::infer::flow_trainer t(field, data, o);
  (void)t.train();
  return t.field().parameters();
}
// Largest relative error of the trainer's loss gradient `grad` at iteration `iteration` against central differences
// along `directions` random directions (a fraction of the cost of every coordinate: these tests run under sanitizers).
template <class Field>
double loss_gradient_error(const Field& field, const upfi::core::snapshot_series<double>& data,
                           const upfi::infer::flow_training_options& o, long iteration, const Eigen::VectorXd& grad,
                           int directions, std::uint64_t seed) {
  const auto loss = [&](const Eigen::VectorXd& q) {
    auto copy = field;
    copy.set_parameters(q);
    return upfi::infer::flow_trainer(copy, data, o).loss(iteration).total();
  };
  const auto r = upfi::ad::check_directional_derivatives(loss, field.parameters(), grad, directions, seed);
  MESSAGE("max relative error " << r.max_rel_error);
  return r.max_rel_error;
}
// Three random 2-D snapshots (two intervals) and a small UPFI field on them (MLP drift, quadratic growth).
upfi::core::snapshot_series<double> three_snapshots() {
  return upfi::core::snapshot_series<double>(
      {0.0, 0.5, 1.0}, {random_matrix(200, 2, 1), 0.8 * random_matrix(220, 2, 2), 0.6 * random_matrix(260, 2, 3)});
}
auto small_upfi_field() {
  return upfi::flow::probability_flow(
      upfi::nn::mlp<double>({.inputs = 2, .outputs = 2, .hidden = {16}}, 11),
      upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
      upfi::flow::isotropic_diffusion{0.2}, upfi::nn::quadratic_scalar_field(2));
}
// A small balanced (PFI) field: MLP drift, no growth.
auto small_pfi_field() {
  return upfi::flow::probability_flow(
      upfi::nn::mlp<double>({.inputs = 2, .outputs = 2, .hidden = {8}}, 3),
      upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2)),
      upfi::flow::isotropic_diffusion{0.1});
}
}  // namespace

TEST_SUITE("infer") {
  TEST_CASE("UPFI training loss: gradient of the full minibatch loss matches finite differences") {
    const Eigen::Index d = 2;
    const auto data = upfi::core::snapshot_series<double>(
        {0.0, 0.5, 1.0}, {random_matrix(40, d, 1), 0.8 * random_matrix(50, d, 2), 0.6 * random_matrix(45, d, 3)});
    auto field = upfi::flow::probability_flow(
        upfi::nn::mlp<double>(
            {.inputs = d, .outputs = d, .hidden = {5}, .hidden_activation = upfi::nn::activation::tanh}, 11),
        upfi::score::gaussian_score(Eigen::VectorXd::Zero(d), Eigen::MatrixXd::Identity(d, d)),
        upfi::flow::isotropic_diffusion{0.2}, upfi::nn::quadratic_scalar_field(d));
    Eigen::VectorXd p = field.parameters();
    p.tail(d * d + d + 1) = 0.3 * random_matrix(d * d + d + 1, 1, 4).col(0);
    field.set_parameters(p);
    for (const bool unbalanced : {true, false}) {
      CAPTURE(unbalanced);
      upfi::infer::flow_training_options o{.batch = 16, .steps = 2, .lambda = 0.3, .alpha = 0.5, .blur = 0.4};
      o.sinkhorn_tolerance = 1e-13;
      o.sinkhorn_max_iterations = 5000;
      o.stepper = upfi::flow::heun();
      if (!unbalanced) o.reach.reset();
      // the balanced case needs a field without growth
      auto check = [&](auto f) {
        const upfi::infer::flow_trainer trainer(f, data, o);
        Eigen::VectorXd grad;
        const auto terms = trainer.loss(3, &grad);
        CHECK(terms.divergence > 0);
        CHECK(terms.regulariser > 0);
        // without the networks' activations on the tape the VJPs evaluate them again: the same gradient, bit for bit
        auto without = o;
        without.keep_activations = false;
        Eigen::VectorXd grad_without;
        CHECK(upfi::infer::flow_trainer(f, data, without).loss(3, &grad_without).total() == terms.total());
        CHECK(grad_without == grad);
        CHECK(loss_gradient_error(f, data, o, 3, grad, 8, 17) < 1e-5);
      };
      if (unbalanced) {
        check(field);
      } else {
        check(upfi::flow::probability_flow(field.drift(), field.score(), field.diffusion()));
      }
    }
  }

  TEST_CASE("full roll-out (TIGON++, fitness-ODE): gradient of the loss matches finite differences") {
    const Eigen::Index d = 2;
    const auto data = upfi::core::snapshot_series<double>(
        {0.0, 0.4, 0.7, 1.0},
        {random_matrix(30, d, 5), 0.8 * random_matrix(40, d, 6),
         0.7 * random_matrix(45, d, 7) + Eigen::MatrixXd::Constant(45, d, 0.3), 0.6 * random_matrix(50, d, 8)});
    upfi::infer::flow_training_options o{.batch = 12, .steps = 2, .lambda = 0.2, .alpha = 0.5, .blur = 0.4};
    o.sinkhorn_tolerance = 1e-13;
    o.sinkhorn_max_iterations = 5000;
    o.stepper = upfi::flow::heun();
    o.scheme = upfi::infer::training_scheme::full_rollout;
    const upfi::nn::mlp_options net{
        .inputs = d, .outputs = d, .hidden = {5}, .hidden_activation = upfi::nn::activation::tanh, .time_input = true};
    auto growth_net = net;
    growth_net.outputs = 1;
    auto check = [&](auto f) {
      const upfi::infer::flow_trainer trainer(f, data, o);
      Eigen::VectorXd grad;
      const auto terms = trainer.loss(2, &grad);
      CHECK(terms.divergence > 0);
      CHECK(terms.regulariser > 0);
      auto without = o;
      without.keep_activations = false;
      Eigen::VectorXd grad_without;
      CHECK(upfi::infer::flow_trainer(f, data, without).loss(2, &grad_without).total() == terms.total());
      CHECK(grad_without == grad);
      CHECK(loss_gradient_error(f, data, o, 2, grad, 8, 23) < 1e-5);
    };
    SUBCASE("TIGON++: drift and growth networks") {
      check(upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 3), upfi::nn::mlp<double>(growth_net, 4)));
    }
    SUBCASE("fitness-ODE: v = grad U, g = U") { check(upfi::flow::fitness_flow(upfi::nn::mlp<double>(growth_net, 5))); }
  }

  TEST_CASE("full roll-out differs from teacher forcing after the first interval, and equals it with one interval") {
    const Eigen::Index d = 2;
    const upfi::nn::mlp_options net{.inputs = d, .outputs = d, .hidden = {4}};
    const auto field = upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 9));
    upfi::infer::flow_training_options o{.batch = 10, .lambda = 0.1};
    o.reach.reset();
    const auto two =
        upfi::core::snapshot_series<double>({0.0, 1.0}, {random_matrix(20, d, 1), random_matrix(20, d, 2)});
    const double forced = upfi::infer::flow_trainer(field, two, o).loss(0).total();
    o.scheme = upfi::infer::training_scheme::full_rollout;
    CHECK(upfi::infer::flow_trainer(field, two, o).loss(0).total() == doctest::Approx(forced).epsilon(1e-12));
    const auto three = upfi::core::snapshot_series<double>(
        {0.0, 1.0, 2.0}, {random_matrix(20, d, 1), random_matrix(20, d, 2), random_matrix(20, d, 3)});
    const double rolled = upfi::infer::flow_trainer(field, three, o).loss(0).total();
    o.scheme = upfi::infer::training_scheme::teacher_forcing;
    CHECK(std::abs(upfi::infer::flow_trainer(field, three, o).loss(0).total() - rolled) > 1e-6);
  }

  TEST_CASE("UPFI recovers an OU drift and an affine growth from exact Gaussian snapshots [slow]") {
    const upfi::test::ou_growth_truth truth;
    const std::vector<double> times{0.0, 0.4, 0.8, 1.2, 1.6};
    const auto data = upfi::test::ou_growth_snapshots(truth, times, 2000, 100);
    auto field = upfi::flow::probability_flow(upfi::nn::linear_field(2), upfi::test::ou_growth_score(truth),
                                              upfi::flow::matrix_diffusion{truth.diffusion},
                                              upfi::nn::quadratic_scalar_field(2, false));
    const auto o = upfi::test::ou_training(800, 200);
    upfi::infer::flow_trainer trainer(field, data, o);
    std::vector<double> losses;
    const auto report = trainer.train([&](const upfi::infer::flow_progress& p) { losses.push_back(p.loss.total()); });
    REQUIRE(report.history.size() == 4);
    const auto& f = trainer.field();
    const Eigen::MatrixXd a = f.drift().matrix();
    const Eigen::VectorXd e = f.drift().offset();
    const auto& g = f.growth();
    MESSAGE("A = " << a.reshaped().transpose() << ", e = " << e.transpose() << ", c = " << g.linear().transpose()
                   << ", b = " << g.constant() << "; losses " << losses.front() << " -> " << losses.back() << " in "
                   << report.seconds << " s");
    CHECK(losses.back() < 0.5 * losses.front());  // means over 200-iteration periods
    CHECK((a - truth.a).cwiseAbs().maxCoeff() < 0.15);
    CHECK((e - truth.e).cwiseAbs().maxCoeff() < 0.15);
    CHECK((g.linear() - truth.c).cwiseAbs().maxCoeff() < 0.15);
    CHECK(std::abs(g.constant() - truth.b) < 0.15);
  }

  TEST_CASE("UPFI recovers an OU drift and a quadratic growth from exact Gaussian snapshots [slow]") {
    // UPFI Proposition 2.1: an OU population with quadratic fitness stays Gaussian, so the snapshots are exact
    upfi::test::ou_growth_truth truth;
    truth.gamma = (Eigen::MatrixXd(2, 2) << -0.4, 0.1, 0.1, -0.2).finished();
    truth.b = 0.3;
    const std::vector<double> times{0.0, 0.4, 0.8, 1.2, 1.6};
    const auto data = upfi::test::ou_growth_snapshots(truth, times, 3000, 200);
    auto field = upfi::flow::probability_flow(upfi::nn::linear_field(2), upfi::test::ou_growth_score(truth),
                                              upfi::flow::matrix_diffusion{truth.diffusion},
                                              upfi::nn::quadratic_scalar_field(2, true));
    const auto o = upfi::test::ou_training(1000, 250);
    upfi::infer::flow_trainer trainer(field, data, o);
    const auto report = trainer.train();
    const auto& f = trainer.field();
    const Eigen::MatrixXd a = f.drift().matrix();
    const Eigen::VectorXd e = f.drift().offset();
    const auto& g = f.growth();
    std::ostringstream masses;
    for (std::size_t k = 0; k < data.size(); ++k) masses << " " << data.relative_mass(k);
    MESSAGE("masses" << masses.str() << "; A = " << a.reshaped().transpose() << ", e = " << e.transpose()
                     << ", Gamma = " << g.quadratic_matrix().reshaped().transpose() << ", c = "
                     << g.linear().transpose() << ", b = " << g.constant() << " in " << report.seconds << " s");
    CHECK((a - truth.a).cwiseAbs().maxCoeff() < 0.2);
    CHECK((e - truth.e).cwiseAbs().maxCoeff() < 0.2);
    CHECK((g.linear() - truth.c).cwiseAbs().maxCoeff() < 0.2);
    CHECK(std::abs(g.constant() - truth.b) < 0.2);
    // Gamma is weakly identified along the narrow direction of the clouds; the growth rate where the cells are is not
    CHECK((g.quadratic_matrix() - truth.gamma).cwiseAbs().maxCoeff() < 0.4);
    double err2 = 0, ref2 = 0;
    Eigen::Index n = 0;
    for (std::size_t k = 0; k < data.size(); ++k) {
      const Eigen::MatrixXd& x = data.cloud(k);
      Eigen::MatrixXd g_hat;
      g.evaluate(0.0, x, g_hat);
      const Eigen::VectorXd g_true = 0.5 * (x * truth.gamma).cwiseProduct(x).rowwise().sum() + x * truth.c +
                                     Eigen::VectorXd::Constant(x.rows(), truth.b);
      err2 += (g_hat.col(0) - g_true).squaredNorm();
      ref2 += (g_true.array() - g_true.mean()).square().sum();
      n += x.rows();
    }
    const double relative = std::sqrt(err2 / ref2);
    MESSAGE("growth at the cells: RMS error " << std::sqrt(err2 / static_cast<double>(n)) << ", relative to its spread "
                                              << relative);
    // with nearly constant covariances, Sigma Gamma mu trades against A mu in the mean equation (UPFI Prop. 2.1), so
    // the split between drift and growth is only loosely pinned down; the fitted dynamics are: the mass of snapshot 0
    // pushed through the fitted flow follows the data's masses
    CHECK(relative < 0.4);
    const Eigen::Index n0 = data.count(0);
    for (std::size_t k = 1; k < data.size(); ++k) {
      const auto end = upfi::flow::integrate(f, upfi::flow::rk4(), times[0], times[k],
                                             {data.cloud(0), Eigen::VectorXd::Constant(n0, -std::log(double(n0))), 0.0},
                                             {.steps = 20});
      const double mass = end.log_m.array().exp().sum();
      CAPTURE(k);
      CHECK(mass == doctest::Approx(data.relative_mass(k)).epsilon(0.05));
    }
  }

  TEST_CASE("split_divergence: the loss is the split-sample divergence, its gradient matches finite differences") {
    const auto data = upfi::core::snapshot_series<double>(
        {0.0, 0.5, 1.0}, {random_matrix(40, 2, 1), 0.8 * random_matrix(50, 2, 2), 0.6 * random_matrix(45, 2, 3)});
    auto field = small_upfi_field();
    Eigen::VectorXd p = field.parameters();
    p.tail(7) = 0.3 * random_matrix(7, 1, 4).col(0);  // a growth that varies between cells: unequal weights
    field.set_parameters(p);
    upfi::infer::flow_training_options o{.batch = 16, .lambda = 0.3, .blur = 0.4};
    o.sinkhorn_tolerance = 1e-13;
    o.sinkhorn_max_iterations = 5000;
    const auto plain = upfi::infer::flow_trainer(field, data, o).loss(3);
    o.split_divergence = upfi::ot::split_pairing::all;
    const upfi::infer::flow_trainer trainer(field, data, o);
    Eigen::VectorXd grad;
    const auto terms = trainer.loss(3, &grad);
    CHECK(terms.regulariser == plain.regulariser);  // same minibatches, same push
    CHECK(terms.divergence < plain.divergence);     // the minibatch bias is gone
    CHECK(loss_gradient_error(field, data, o, 3, grad, 6, 19) < 1e-5);
  }

  TEST_CASE("float_sinkhorn: single-precision kernels give the double loss and gradient to float accuracy") {
    const auto data = three_snapshots();
    const auto field = small_upfi_field();
    upfi::infer::flow_training_options o{.batch = 128, .lambda = 0.01};
    Eigen::VectorXd g64, g32;
    const auto t64 = upfi::infer::flow_trainer(field, data, o).loss(4, &g64);
    o.float_sinkhorn = true;
    const auto t32 = upfi::infer::flow_trainer(field, data, o).loss(4, &g32);
    MESSAGE("divergence " << t64.divergence << " (double) vs " << t32.divergence << " (float); gradient difference "
                          << (g64 - g32).norm() / g64.norm());
    CHECK(t32.divergence != t64.divergence);  // the float path really ran
    CHECK(t32.divergence == doctest::Approx(t64.divergence).epsilon(1e-4));
    CHECK(t32.regulariser == t64.regulariser);
    CHECK((g64 - g32).norm() < 1e-3 * g64.norm());
  }

  TEST_CASE("sinkhorn_warm_start: the first iteration is cold, later ones differ, any thread count, bad sweeps") {
    const auto data = three_snapshots();
    const auto field = small_upfi_field();
    const upfi::infer::flow_training_options cold{.iterations = 4, .batch = 64, .lambda = 0.01};
    upfi::infer::flow_training_options warm = cold;
    warm.sinkhorn_warm_start = true;
    // GeomLoss's schedule: the first iteration has nothing to start from (cold), later ones differ
    upfi::infer::flow_trainer tc(field, data, cold), tw(field, data, warm);
    CHECK(tw.step().divergence == tc.step().divergence);
    CHECK(tw.field().parameters() == tc.field().parameters());
    const auto dc = tc.step().divergence, dw = tw.step().divergence;
    MESSAGE("iteration 1 divergence: cold " << dc << ", warm " << dw);
    CHECK(dw != dc);
    // the warm state is per interval: the same parameters for 1 and 2 threads
    CHECK(trained_parameters(field, data, warm, 1) == trained_parameters(field, data, warm, 2));
    warm.sinkhorn_warm_sweeps = -1;
    CHECK_THROWS_AS(upfi::infer::flow_trainer(field, data, warm), std::invalid_argument);
  }

  // 14 s in Release, several minutes under the sanitizers: [slow]
  TEST_CASE("sinkhorn_warm_start: converged warm solves equal cold ones over three iterations [slow]") {
    const auto data = three_snapshots();
    const auto field = small_upfi_field();
    upfi::infer::flow_training_options cold{.iterations = 4, .batch = 64, .lambda = 0.01};
    cold.sinkhorn_max_iterations = 5000;
    cold.sinkhorn_tolerance = 1e-10;
    upfi::infer::flow_training_options warm = cold;
    warm.sinkhorn_warm_start = true;
    // the warm start reaches the cold result (the extension and the state are right)
    upfi::infer::flow_trainer cc(field, data, cold), cw(field, data, warm);
    for (int it = 0; it < 3; ++it) {
      const auto a = cc.step(), b = cw.step();
      CHECK(b.divergence == doctest::Approx(a.divergence).epsilon(1e-8));
      CHECK(b.regulariser == doctest::Approx(a.regulariser).epsilon(1e-8));
    }
    CHECK((cc.field().parameters() - cw.field().parameters()).cwiseAbs().maxCoeff() < 1e-7);
  }

  TEST_CASE("flow_trainer: reproducible for a seed and any thread count") {
    const auto data =
        upfi::core::snapshot_series<double>({0.0, 1.0}, {random_matrix(300, 2, 5), random_matrix(300, 2, 6)});
    auto field = small_pfi_field();
    upfi::infer::flow_training_options o{.iterations = 3, .batch = 600};
    o.reach.reset();
    const Eigen::VectorXd one = trained_parameters(field, data, o, 1);
    CHECK(one == trained_parameters(field, data, o, 2));
    CHECK(one != field.parameters());
    o.seed = 1;
    upfi::infer::flow_trainer other(field, data, o);
    (void)other.train();
    CHECK(other.field().parameters() != one);
  }

  TEST_CASE("flow_trainer: cosine decay steps AdamW with the scheduled rate of every iteration") {
    const auto data =
        upfi::core::snapshot_series<double>({0.0, 1.0}, {random_matrix(200, 2, 5), random_matrix(200, 2, 6)});
    const auto field = small_pfi_field();
    upfi::infer::flow_training_options o{.iterations = 4, .batch = 64, .cosine_decay = true};
    o.final_learning_rate = 1e-4;
    o.reach.reset();
    upfi::infer::flow_trainer t(field, data, o);
    // the schedule: lr at 0, the midpoint, the end (and after it)
    CHECK(t.learning_rate(0) == doctest::Approx(o.learning_rate));
    CHECK(t.learning_rate(2) == doctest::Approx(0.5 * (o.learning_rate + o.final_learning_rate)));
    CHECK(t.learning_rate(4) == doctest::Approx(o.final_learning_rate));
    CHECK(t.learning_rate(9) == doctest::Approx(o.final_learning_rate));
    (void)t.train();
    // the same iterations by hand: loss gradients of the same minibatches, AdamW at the scheduled rates
    upfi::infer::flow_trainer probe(field, data, o);
    upfi::nn::adam opt(field.parameter_count(),
                       {.learning_rate = o.learning_rate, .weight_decay = o.weight_decay, .decoupled = true});
    Eigen::VectorXd p = field.parameters(), g;
    for (long it = 0; it < o.iterations; ++it) {
      probe.field().set_parameters(p);
      (void)probe.loss(it, &g);
      opt.step(p, g, t.learning_rate(it));
    }
    CHECK(p == t.field().parameters());
    // a constant rate gives a different result
    o.cosine_decay = false;
    upfi::infer::flow_trainer constant(field, data, o);
    (void)constant.train();
    CHECK((constant.field().parameters() - p).norm() > 1e-6);
    CHECK(constant.learning_rate(3) == o.learning_rate);
    o.cosine_decay = true;
    o.final_learning_rate = 2 * o.learning_rate;
    CHECK_THROWS_WITH_AS(upfi::infer::flow_trainer(field, data, o), doctest::Contains("final_learning_rate"),
                         std::invalid_argument);
  }

  TEST_CASE("flow_trainer: tail averaging installs the mean of the last iterates and steps the raw one") {
    const auto data =
        upfi::core::snapshot_series<double>({0.0, 1.0}, {random_matrix(200, 2, 5), random_matrix(200, 2, 6)});
    const auto field = small_pfi_field();
    upfi::infer::flow_training_options o{.iterations = 6, .batch = 64};
    o.reach.reset();
    // the raw iterates after steps 1 ... 7, by a trainer without averaging
    upfi::infer::flow_trainer plain(field, data, o);
    std::vector<Eigen::VectorXd> iterates;
    for (int k = 0; k < 7; ++k) {
      (void)plain.step();
      iterates.push_back(plain.field().parameters());
    }
    o.average_tail = 0.5;  // the last 3 of 6 iterations: the iterates after steps 4, 5 and 6
    upfi::infer::flow_trainer averaged(field, data, o);
    CHECK(averaged.first_averaged() == 4);
    (void)averaged.train();
    const Eigen::VectorXd mean3 = (iterates[3] + iterates[4] + iterates[5]) / 3.0;
    CHECK((averaged.field().parameters() - mean3).norm() <= 1e-13 * mean3.norm());
    CHECK(averaged.iterate_parameters() == iterates[5]);  // the optimiser's iterate is unchanged by averaging
    CHECK((averaged.field().parameters() - iterates[5]).norm() > 1e-6);
    // a further step moves the raw iterate (not the average) and extends the average
    (void)averaged.step();
    CHECK(averaged.iterate_parameters() == iterates[6]);
    const Eigen::VectorXd mean4 = (iterates[3] + iterates[4] + iterates[5] + iterates[6]) / 4.0;
    CHECK((averaged.field().parameters() - mean4).norm() <= 1e-13 * mean4.norm());
    // a tail shorter than one iteration is the last iterate
    o.average_tail = 0.01;
    upfi::infer::flow_trainer last(field, data, o);
    CHECK(last.first_averaged() == 6);
    (void)last.train();
    CHECK(last.field().parameters() == iterates[5]);
    o.average_tail = 1.0;
    CHECK_THROWS_WITH_AS(upfi::infer::flow_trainer(field, data, o), doctest::Contains("0 <= average_tail < 1"),
                         std::invalid_argument);
  }

  TEST_CASE("mean_minibatch_loss: the objective on draws fixed by the seed ranks a trained field below its start") {
    const auto data = three_snapshots();
    const auto start = small_upfi_field();
    upfi::infer::flow_training_options o{.iterations = 40, .batch = 64, .learning_rate = 1e-2, .seed = 3};
    upfi::infer::flow_trainer trainer(start, data, o);
    (void)trainer.train();
    // evaluated on other draws than the training ones (another seed), the same for both fields
    upfi::infer::flow_training_options eval = o;
    eval.seed = 77;
    const auto trained = upfi::infer::mean_minibatch_loss(trainer.field(), data, eval, 6);
    const auto untrained = upfi::infer::mean_minibatch_loss(start, data, eval, 6);
    MESSAGE("mean loss on 6 held-aside minibatches: start " << untrained.total() << ", trained " << trained.total());
    CHECK(trained.total() < untrained.total());
    // the mean of the losses of minibatches 0 ... 5 of a trainer with these options, whatever its training state
    const upfi::infer::flow_trainer fresh(trainer.field(), data, eval);
    double divergence = 0, regulariser = 0;
    for (long b = 0; b < 6; ++b) {
      const auto t = fresh.loss(b);
      divergence += t.divergence / 6;
      regulariser += t.regulariser / 6;
    }
    CHECK(trained.divergence == doctest::Approx(divergence).epsilon(1e-12));
    CHECK(trained.regulariser == doctest::Approx(regulariser).epsilon(1e-12));
    CHECK(trained.regulariser > 0);
    // the draws depend on the seed, not on the iteration count the options name, nor on the thread count
    eval.iterations = 1;
    CHECK(upfi::infer::mean_minibatch_loss(trainer.field(), data, eval, 6).total() == trained.total());
    {
      const upfi::core::thread_limit one(1);
      CHECK(upfi::infer::mean_minibatch_loss(trainer.field(), data, eval, 6).total() == trained.total());
    }
    eval.seed = 78;
    CHECK(upfi::infer::mean_minibatch_loss(trainer.field(), data, eval, 6).total() != trained.total());
    CHECK_THROWS_WITH_AS((void)upfi::infer::mean_minibatch_loss(start, data, eval, 0),
                         doctest::Contains("batches = 0; need at least 1"), std::invalid_argument);
    eval.batch = 0;
    CHECK_THROWS_WITH_AS((void)upfi::infer::mean_minibatch_loss(start, data, eval), doctest::Contains("batch >= 1"),
                         std::invalid_argument);
  }

  TEST_CASE("flow_trainer: invalid configurations and non-finite losses raise clear errors") {
    const auto data =
        upfi::core::snapshot_series<double>({0.0, 1.0}, {random_matrix(30, 2, 5), random_matrix(30, 2, 6)});
    const auto score = upfi::score::gaussian_score(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2));
    const auto with_growth = upfi::flow::probability_flow(
        upfi::nn::linear_field(2), score, upfi::flow::isotropic_diffusion{0.1}, upfi::nn::quadratic_scalar_field(2));
    upfi::infer::flow_training_options balanced;
    balanced.reach.reset();
    CHECK_THROWS_WITH_AS(upfi::infer::flow_trainer(with_growth, data, balanced),
                         doctest::Contains("use an unbalanced divergence"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(upfi::infer::flow_trainer(with_growth, data, {.batch = 0}), doctest::Contains("batch >= 1"),
                         std::invalid_argument);
    CHECK_THROWS_AS(upfi::infer::flow_trainer(with_growth, data, {.steps = 0}), std::invalid_argument);
    upfi::infer::flow_training_options split{.batch = 3};
    split.split_divergence = upfi::ot::split_pairing::matched;
    CHECK_THROWS_WITH_AS(
        upfi::infer::flow_trainer(with_growth, data, split),
        doctest::Contains("split_divergence needs batch >= 4 and no Sinkhorn warm start; got batch = 3"),
        std::invalid_argument);
    split.batch = 8;
    split.sinkhorn_warm_start = true;
    CHECK_THROWS_WITH_AS(upfi::infer::flow_trainer(with_growth, data, split), doctest::Contains("with a warm start"),
                         std::invalid_argument);
    CHECK_THROWS_AS(upfi::infer::flow_trainer(with_growth, data, {.blur = -1.0}), std::invalid_argument);
    CHECK_THROWS_WITH_AS(upfi::infer::flow_trainer(
                             with_growth, upfi::core::snapshot_series<double>({0.0}, {random_matrix(5, 2, 1)}), {}),
                         doctest::Contains("at least two snapshots"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        upfi::infer::flow_trainer(
            with_growth,
            upfi::core::snapshot_series<double>({0.0, 1.0}, {random_matrix(5, 3, 1), random_matrix(5, 3, 2)}), {}),
        doctest::Contains("dimension 3"), std::invalid_argument);
    // an exploding drift: the error names the iteration and the interval
    auto exploding = with_growth;
    Eigen::VectorXd p = exploding.parameters();
    p.head(4) = Eigen::Vector4d(1e308, 0.0, 0.0, 1e308);  // overflows to inf in the first step
    exploding.set_parameters(p);
    upfi::infer::flow_trainer bad(exploding, data, {.iterations = 1, .steps = 1});
    CHECK_THROWS_WITH_AS(bad.step(), doctest::Contains("iteration 0, interval 0"), upfi::core::error);
  }
}
