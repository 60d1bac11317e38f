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
}  // namespace
