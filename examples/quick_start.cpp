// NOTE: README.md quotes this file verbatim (checked by the test readme/quick_start); keep them in sync.
#include <upfi/upfi.hpp>

#include <cstdio>

int main() {
  // Snapshots of a 2-gene network whose cells divide, shipped in data/ (CSV: time,x0,x1).
  const auto data = upfi::io::read_snapshot_csv(UPFI_DATA_DIR "/synthetic_grn/grn2_deepruot.csv");
  // UPFI: a score, then drift and growth through the probability flow (short run; the default is 2000).
  const auto fit = upfi::infer::fit_snapshots(data, {.iterations = 200});
  // Drift and growth rate of the first cell, in the data's units.
  Eigen::MatrixXd v;
  Eigen::VectorXd g;
  fit.model.drift(data.time(0), data.cloud(0), v);
  fit.model.growth(data.time(0), data.cloud(0), g);
  std::printf("cell 0: drift (%.3f, %.3f), growth %.3f per unit time\n", v(0, 0), v(0, 1), g[0]);
  // Push the first snapshot to the last time: the mean weight is the predicted relative mass.
  const double t_end = data.time(data.size() - 1);
  const auto paths = fit.model.simulate(data.cloud(0), {data.time(0), t_end}, {.seed = 1});
  std::printf("relative mass at t = %g: model %.2f, data %.2f\n", t_end, paths.log_masses.back().array().exp().mean(),
              data.relative_mass(data.size() - 1));
  upfi::infer::write_model_file("grn2.upfi", fit.model.to_file());  // reload: fitted_model::from_file
}
