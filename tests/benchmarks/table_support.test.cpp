// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// The command-line parser of the paper-table programs (benchmarks/reproduce/table_support.hpp): those programs are
// not built in CI, so their option handling is tested here.
#include "../../benchmarks/reproduce/table_support.hpp"

#include <upfi/problems/bistable_benchmark.hpp>
#include <upfi/problems/network_benchmark.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct parsed {
  std::optional<int> code;
  std::string err, out;
};

// Runs the parser on `words` (argv[0] added), capturing what it prints.
parsed run(const upfi::reproduce::options& args, std::vector<std::string> words) {
  words.insert(words.begin(), "prog");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  std::ostringstream err, out;
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  const auto code = args.parse(static_cast<int>(argv.size()), argv.data());
  std::cerr.rdbuf(old_err);
  std::cout.rdbuf(old_out);
  return {code, err.str(), out.str()};
}

}  // namespace

TEST_SUITE("benchmarks") {
  TEST_CASE("table options: values of every kind reach their targets") {
    long iterations = 5;
    int seeds = 1;
    double lr = 0;
    bool flag = false;
    std::optional<double> volume;
    std::vector<long> hidden;
    std::vector<std::string> methods;
    std::string mode;
    upfi::reproduce::options args("prog", "usage text\n");
    args.add("--iterations", iterations);
    args.add("--seeds", seeds);
    args.add("--lr", lr);
    args.add("--float", flag);
    args.add("--volume", volume);
    args.add("--hidden", hidden);
    args.add("--methods", methods);
    args.add("--mode", [&](const std::string& v) { mode = "mode:" + v; });
    const auto r = run(args, {"--iterations", "12000", "--seeds", "-3", "--lr", "1e-3", "--float", "1", "--volume",
                              "4.5", "--hidden", "128,64", "--methods", "upfi,pfi", "--mode", "x"});
    CHECK_FALSE(r.code.has_value());
    CHECK(r.err.empty());
    CHECK(iterations == 12000);
    CHECK(seeds == -3);
    CHECK(lr == 1e-3);
    CHECK(flag);
    REQUIRE(volume.has_value());
    CHECK(*volume == 4.5);
    CHECK(hidden == std::vector<long>{128, 64});
    CHECK(methods == std::vector<std::string>{"upfi", "pfi"});
    CHECK(mode == "mode:x");
    CHECK_FALSE(run(args, {}).code.has_value());  // no options: defaults stay
  }

  TEST_CASE("table options: --help prints the usage; bad input is an error naming the option") {
    long iterations = 7;
    double lr = 0.5;
    bool flag = false;
    std::vector<long> hidden{64};
    upfi::reproduce::options args("prog", "usage text\n");
    args.add("--iterations", iterations);
    args.add("--lr", lr);
    args.add("--float", flag);
    args.add("--hidden", hidden);
    const auto help = run(args, {"--help"});
    CHECK(help.code == 0);
    CHECK(help.out == "usage text\n");
    const auto expect_error = [&](std::vector<std::string> words, const std::string& message) {
      const auto r = run(args, std::move(words));
      CHECK(r.code == 2);
      CHECK(r.err == "prog: " + message + "\n");
    };
    expect_error({"--iterations"}, "option --iterations needs a value");
    expect_error({"--bogus", "1"}, "unknown option --bogus (--help lists them)");
    expect_error({"--iterations", "12abc"}, "option --iterations expects an integer, got '12abc'");
    expect_error({"--iterations", "1.5"}, "option --iterations expects an integer, got '1.5'");
    expect_error({"--iterations", ""}, "option --iterations expects an integer, got ''");
    expect_error({"--iterations", "99999999999999999999"},
                 "option --iterations expects an integer, got '99999999999999999999'");
    expect_error({"--lr", "1e-3x"}, "option --lr expects a finite number, got '1e-3x'");
    expect_error({"--lr", "nan"}, "option --lr expects a finite number, got 'nan'");
    expect_error({"--float", "2"}, "option --float expects 0 or 1, got '2'");
    expect_error({"--hidden", "64,a"}, "option --hidden expects an integer, got 'a'");
    expect_error({"--hidden", ""}, "option --hidden expects a comma-separated list, got ''");
    CHECK(iterations == 7);  // failed parses leave the targets alone
    CHECK(lr == 0.5);
    CHECK(hidden == std::vector<long>{64});
  }
}

TEST_SUITE("benchmarks") {
  TEST_CASE("table options: the shared training options set flow_training_options; the usage shows the defaults") {
    upfi::infer::flow_training_options t;
    t.iterations = 3000;
    t.batch = 128;
    const std::string usage = upfi::reproduce::training_usage(t);
    CHECK(usage.find("  --iterations 3000") != std::string::npos);
    CHECK(usage.find("  --batch 128     ") != std::string::npos);
    CHECK(usage.find("  --lr 0.003 ") != std::string::npos);
    upfi::reproduce::options args("prog", usage);
    upfi::reproduce::add_training_options(args, t);
    const auto r = run(args, {"--iterations",
                              "10",
                              "--batch",
                              "64",
                              "--steps",
                              "3",
                              "--lr",
                              "1e-2",
                              "--final-lr",
                              "1e-4",
                              "--clip",
                              "2.5",
                              "--average-tail",
                              "0.25",
                              "--lambda",
                              "0.01",
                              "--alpha",
                              "1",
                              "--reach",
                              "2",
                              "--blur",
                              "0.025",
                              "--float-sinkhorn",
                              "1",
                              "--sinkhorn-extra",
                              "4",
                              "--warm-sinkhorn",
                              "3"});
    CHECK_FALSE(r.code.has_value());
    CHECK(t.iterations == 10);
    CHECK(t.batch == 64);
    CHECK(t.steps == 3);
    CHECK(t.learning_rate == 1e-2);
    CHECK(t.cosine_decay);
    CHECK(t.final_learning_rate == 1e-4);
    CHECK(t.clip_norm == 2.5);
    CHECK(t.average_tail == 0.25);
    CHECK(t.lambda == 0.01);
    CHECK(t.alpha == 1.0);
    CHECK(t.reach == 2.0);
    CHECK(t.blur == 0.025);
    CHECK(t.float_sinkhorn);
    CHECK(t.sinkhorn_max_iterations == 4);
    CHECK(t.sinkhorn_warm_start);
    CHECK(t.sinkhorn_warm_sweeps == 3);
    CHECK_FALSE(run(args, {"--warm-sinkhorn", "-1"}).code.has_value());
    CHECK_FALSE(t.sinkhorn_warm_start);
    CHECK(t.sinkhorn_warm_sweeps == 0);
    CHECK(run(args, {"--warm-sinkhorn", "x"}).err == "prog: option --warm-sinkhorn expects an integer, got 'x'\n");
    CHECK_FALSE(t.split_divergence.has_value());
    CHECK_FALSE(run(args, {"--split-divergence", "all"}).code.has_value());
    CHECK(t.split_divergence == upfi::ot::split_pairing::all);
    CHECK_FALSE(run(args, {"--split-divergence", "matched"}).code.has_value());
    CHECK(t.split_divergence == upfi::ot::split_pairing::matched);
    CHECK_FALSE(run(args, {"--split-divergence", "off"}).code.has_value());
    CHECK_FALSE(t.split_divergence.has_value());
    CHECK(run(args, {"--split-divergence", "half"}).err ==
          "prog: option --split-divergence expects off, matched or all, got 'half'\n");
    CHECK(usage.find("  --split-divergence off ") != std::string::npos);
    CHECK(usage.find("  --stepper euler ") != std::string::npos);
    CHECK(t.stepper.name == "euler");
    CHECK_FALSE(run(args, {"--stepper", "heun"}).code.has_value());
    CHECK(t.stepper.name == "heun");
    CHECK(t.stepper.order == 2);
    CHECK(run(args, {"--stepper", "rk2"}).err ==
          "prog: option --stepper upfi::flow::tableau_named: unknown stepper 'rk2' (expects euler, midpoint, heun, "
          "ralston, rk4, dopri5, two_stage:C or two_stage:C,B,BM (C > 0))\n");
    CHECK(t.stepper.name == "heun");
    CHECK_FALSE(run(args, {"--stepper", "two_stage:0.25"}).code.has_value());
    CHECK(t.stepper.name == "two_stage:0.25");
    CHECK(t.stepper.b(1) == 2.0);
  }

  TEST_CASE_TEMPLATE("table options: both tables' shared options set the score, the networks and stage 2", O,
                     upfi::problems::bistable_benchmark_options, upfi::problems::network_benchmark_options) {
    O o;
    int seeds = 0, first_seed = 0;
    std::vector<std::string> methods;
    upfi::reproduce::options args("prog", "");
    upfi::reproduce::add_table_options(args, seeds, first_seed, methods, o);
    const auto r = run(
        args, {"--seeds",        "4",    "--first-seed",     "2", "--methods", "upfi",  "--dsm",          "300",
               "--dsm-ensemble", "2",    "--mass-smoothing", "2", "--hidden",  "32,32", "--score-hidden", "256,256,256",
               "--score-lr",     "1e-3", "--fate-queries",   "7", "--blur",    "0.05",  "--iterations",   "9"});
    CHECK_FALSE(r.code.has_value());
    CHECK(r.err.empty());
    CHECK(seeds == 4);
    CHECK(first_seed == 2);
    CHECK(methods == std::vector<std::string>{"upfi"});
    CHECK(o.dsm_iterations == 300);
    CHECK(o.dsm_ensemble == 2);
    CHECK(o.mass_smoothing == 2);
    CHECK(o.hidden == std::vector<Eigen::Index>{32, 32});
    CHECK(o.score_hidden == std::vector<Eigen::Index>{256, 256, 256});
    CHECK(o.score_learning_rate == 1e-3);
    CHECK(o.fate_queries == 7);
    CHECK(o.training.blur == 0.05);
    CHECK(o.training.iterations == 9);
  }
}
