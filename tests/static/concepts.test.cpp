// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
// Compile-time tests of the concept vocabulary: compiled as an OBJECT library, never run.
#include <upfi/concepts.hpp>
#include <upfi/core/cloud.hpp>

#include <Eigen/Core>

#include <complex>

namespace {
using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

static_assert(upfi::RealScalar<float> && upfi::RealScalar<double> && upfi::RealScalar<long double>);
static_assert(!upfi::RealScalar<int> && !upfi::RealScalar<std::complex<double>>);

static_assert(upfi::CloudMatrix<Eigen::MatrixXd>);
static_assert(upfi::CloudMatrix<const Eigen::MatrixXf&>);
static_assert(upfi::CloudMatrix<upfi::core::cloud_matrix<double>>);
static_assert(upfi::CloudMatrix<Eigen::VectorXd>);
static_assert(upfi::CloudMatrix<Eigen::Block<Eigen::MatrixXd>>);
static_assert(upfi::CloudMatrix<Eigen::Map<const Eigen::MatrixXd>>);
// Counter-examples: integer scalars, row-major storage, non-Eigen types.
static_assert(upfi::HasRealEigenScalar<row_major> && !upfi::IsColumnMajor<row_major>);
static_assert(!upfi::CloudMatrix<row_major>);
static_assert(!upfi::CloudMatrix<Eigen::MatrixXi>);
static_assert(!upfi::CloudMatrix<Eigen::MatrixXcd>);
static_assert(!upfi::CloudMatrix<double>);

// Score models: a user type with dimension() and evaluate() models ScoreModel; vjp_x adds ScoreModelWithVjp.
struct user_score {
  [[nodiscard]] Eigen::Index dimension() const { return 2; }
  void evaluate(double, const Eigen::MatrixXd& x, Eigen::MatrixXd& s) const { s = -x; }
};
struct user_score_vjp : user_score {
  void vjp_x(double, const Eigen::MatrixXd&, const Eigen::MatrixXd& c, Eigen::MatrixXd& dx) const { dx = -c; }
};
struct no_dimension {
  void evaluate(double, const Eigen::MatrixXd& x, Eigen::MatrixXd& s) const { s = -x; }
};
static_assert(upfi::ScoreModel<user_score> && !upfi::ScoreModelWithVjp<user_score>);
static_assert(upfi::ScoreModelWithVjp<user_score_vjp>);
static_assert(!upfi::ScoreModel<no_dimension>);
// A score that keeps its evaluation for the VJP models RecordingScoreModel.
struct user_score_record : user_score_vjp {
  using record_type = Eigen::MatrixXd;
  using user_score::evaluate;
  using user_score_vjp::vjp_x;
  void evaluate(double, const Eigen::MatrixXd& x, Eigen::MatrixXd& s, record_type& r) const {
    s = -x;
    r = x;
  }
  void vjp_x(const record_type&, const Eigen::MatrixXd& c, Eigen::MatrixXd& dx) const { dx = -c; }
};
static_assert(upfi::RecordingScoreModel<user_score_record> && !upfi::RecordingScoreModel<user_score_vjp>);

// Fields: evaluate, vjp and parameters model DifferentiableField; a record type with the recording overloads adds
// RecordingField.
struct user_field {
  Eigen::VectorXd p = Eigen::VectorXd::Zero(1);
  [[nodiscard]] Eigen::Index inputs() const { return 2; }
  [[nodiscard]] Eigen::Index outputs() const { return 2; }
  [[nodiscard]] Eigen::Index parameter_count() const { return 1; }
  Eigen::VectorXd& parameters() { return p; }
  void evaluate(double, const Eigen::MatrixXd& x, Eigen::MatrixXd& y) const { y = p[0] * x; }
  void vjp(double, const Eigen::MatrixXd& x, const Eigen::MatrixXd& c, Eigen::MatrixXd* dx, Eigen::VectorXd* dp) const {
    if (dx != nullptr) *dx = p[0] * c;
    if (dp != nullptr) (*dp)[0] += (c.array() * x.array()).sum();
  }
};
struct user_recording_field : user_field {
  using record_type = Eigen::MatrixXd;
  using user_field::evaluate;
  using user_field::vjp;
  void evaluate(double t, const Eigen::MatrixXd& x, Eigen::MatrixXd& y, record_type& r) const {
    evaluate(t, x, y);
    r = x;
  }
  void vjp(const record_type& r, const Eigen::MatrixXd& c, Eigen::MatrixXd* dx, Eigen::VectorXd* dp) const {
    vjp(0.0, r, c, dx, dp);
  }
};
static_assert(upfi::DifferentiableField<user_field> && !upfi::RecordingField<user_field>);
static_assert(upfi::RecordingField<user_recording_field>);
}  // namespace
