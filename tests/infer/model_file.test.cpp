// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#include <upfi/flow/transport_flow.hpp>
#include <upfi/infer/model_file.hpp>
#include <upfi/nn/mlp.hpp>

#include <doctest/doctest.h>

#include "support/random_matrix.hpp"

#include <filesystem>
#include <stdexcept>
#include <string>

using upfi::test::random_matrix;

TEST_SUITE("infer") {
  TEST_CASE("model_file: a saved model reloads bit for bit and evaluates identically") {
    const upfi::nn::mlp_options net{.inputs = 3, .outputs = 3, .hidden = {7, 5}, .time_input = true};
    auto growth_net = net;
    growth_net.outputs = 1;
    auto field = upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 1), upfi::nn::mlp<double>(growth_net, 2));
    Eigen::VectorXd p = field.parameters();
    p *= 1.0 / 3.0;  // values without short decimal forms
    p[0] = 1e-310;   // a subnormal survives too
    field.set_parameters(p);
    upfi::infer::model_file file;
    file.set_meta("method", "tigon++");
    file.set_meta("note", "two words");
    upfi::infer::add_parameters(file, field);
    upfi::nn::mlp<double> scored({.inputs = 2, .outputs = 2, .hidden = {4}}, 3);
    scored.set_standardisation(Eigen::RowVector2d(0.5, -1.0), Eigen::RowVector2d(2.0, 0.25));
    upfi::infer::add_network(file, "score", scored);
    const auto path = std::filesystem::temp_directory_path() / "upfi_model_file_test.upfi";
    upfi::infer::write_model_file(path, file);
    CHECK_FALSE(std::filesystem::exists(path.string() + ".tmp"));
    const auto back = upfi::infer::read_model_file(path);
    CHECK(back.meta("method") == "tigon++");
    CHECK(back.meta("note") == "two words");
    auto fresh = upfi::flow::transport_flow(upfi::nn::mlp<double>(net, 7), upfi::nn::mlp<double>(growth_net, 8));
    upfi::infer::load_parameters(back, fresh);
    CHECK(fresh.parameters() == field.parameters());
    const Eigen::MatrixXd x = random_matrix(9, 3, 4);
    upfi::flow::flow_values a, b;
    field.evaluate(0.3, x, a);
    fresh.evaluate(0.3, x, b);
    CHECK(a.u == b.u);
    CHECK(a.g == b.g);
    upfi::nn::mlp<double> other({.inputs = 2, .outputs = 2, .hidden = {4}}, 9);
    upfi::infer::load_network(back, "score", other);
    CHECK(other.parameters() == scored.parameters());
    CHECK(other.input_mean() == scored.input_mean());
    CHECK(other.input_std() == scored.input_std());
    std::filesystem::remove(path);
  }

  TEST_CASE("model_file: malformed files and mismatched architectures raise clear errors") {
    using upfi::infer::model_file;
    CHECK_THROWS_WITH_AS((void)model_file::parse("hello\n", "m.upfi"),
                         "m.upfi:1: not an upfi model file (expected 'upfi-model 1')", upfi::core::error);
    CHECK_THROWS_WITH_AS((void)model_file::parse("upfi-model 1\narray p 3\n1\n2\n", "m.upfi"),
                         "m.upfi:4: file ends inside array 'p'", upfi::core::error);
    CHECK_THROWS_WITH_AS((void)model_file::parse("upfi-model 1\narray p 2\n1\nnan\nend\n", "m.upfi"),
                         "m.upfi:4: 'nan' is not a finite number", upfi::core::error);
    CHECK_THROWS_WITH_AS((void)model_file::parse("upfi-model 1\narray p 1\n1\n", "m.upfi"),
                         "m.upfi:3: missing 'end' line (the file is truncated)", upfi::core::error);
    CHECK_THROWS_WITH_AS((void)model_file::parse("upfi-model 1\nweights 1\nend\n", "m.upfi"),
                         "m.upfi:2: unexpected line 'weights 1'", upfi::core::error);
    CHECK_THROWS_WITH_AS((void)upfi::infer::read_model_file("/nonexistent/m.upfi"),
                         "/nonexistent/m.upfi: cannot open the model file for reading", upfi::core::error);
    const auto ok = model_file::parse("upfi-model 1\r\nmeta k v\r\narray parameters 2\r\n0.5\r\n-1e-3\r\nend\r\n");
    CHECK(ok.array("parameters") == Eigen::Vector2d(0.5, -1e-3));
    CHECK_THROWS_WITH_AS((void)ok.array("missing"), "upfi::infer::model_file: no array 'missing'",
                         std::invalid_argument);
    auto field = upfi::flow::transport_flow(upfi::nn::mlp<double>({.inputs = 2, .outputs = 2, .hidden = {3}}, 1));
    CHECK_THROWS_WITH_AS(upfi::infer::load_parameters(ok, field),
                         doctest::Contains("has 2 values but the field has 17 parameters"), std::invalid_argument);
    model_file f;
    CHECK_THROWS_AS(f.set_meta("two words", "x"), std::invalid_argument);
    CHECK_THROWS_AS(f.set_meta("k", "line\nbreak"), std::invalid_argument);
    CHECK_THROWS_AS(f.set_array("p", Eigen::Vector2d(1.0, std::nan(""))), std::invalid_argument);
    upfi::nn::mlp<double> a({.inputs = 2, .outputs = 2, .hidden = {4}}, 1),
        b({.inputs = 2, .outputs = 2, .hidden = {5}}, 1);
    upfi::infer::add_network(f, "net", a);
    CHECK_THROWS_WITH_AS(upfi::infer::load_network(f, "net", b),
                         doctest::Contains("has widths 2,4,2 in the file but 2,5,2"), std::invalid_argument);
  }
}
