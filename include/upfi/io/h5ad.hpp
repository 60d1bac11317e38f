// SPDX-FileCopyrightText: The upfi authors
// SPDX-License-Identifier: MIT
#pragma once
/// @file
/// @brief Snapshot series from AnnData `.h5ad` files (HDF5): an `obsm` embedding (e.g. `X_pca`) as the coordinates and
/// an `obs` column as the time. Optional: needs the HDF5 C library (Debian `libhdf5-dev`; link `HDF5::HDF5`, or
/// `upfi::hdf5` from the CMake package). Not included by `upfi/io.hpp` or `upfi/upfi.hpp`.
///
/// Supported layouts (anndata 0.7-0.10): the embedding is a 2-D float or integer dataset `/obsm/<key>` (rows = cells);
/// the time column is a numeric dataset `/obs/<key>`, or a categorical column, either a group `/obs/<key>` with
/// `codes` and `categories` (anndata >= 0.8) or a `codes` dataset `/obs/<key>` with the categories in
/// `/obs/__categories/<key>` (anndata 0.7). Categories may be numbers or strings that read as numbers ("2", "4.5").
/// A cell with a missing category (code -1) is an error, not silently dropped.

#if !__has_include(<hdf5.h>)
#error "upfi/io/h5ad.hpp needs the HDF5 C library (Debian: apt-get install libhdf5-dev; CMake: link HDF5::HDF5)"
#endif

#include <upfi/core/error.hpp>
#include <upfi/core/snapshot_series.hpp>
#include <upfi/io/detail/group_by_time.hpp>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <hdf5.h>

namespace upfi::io {

/// @brief Options of read_h5ad.
struct h5ad_read_options {
  std::string embedding = "X_pca";  ///< key in `obsm`
  std::string time_key = "time";    ///< column of `obs`
  Eigen::Index components = 0;      ///< > 0: keep the leading `components` columns of the embedding
  core::mass_convention masses = core::mass_convention::counts;  ///< counts or frequencies_only
  std::size_t min_time_points = 2;
};

namespace detail {

// An HDF5 identifier closed by `close` on scope exit.
class h5_handle {
 public:
  h5_handle(hid_t id, herr_t (*close)(hid_t)) : m_id(id), m_close(close) {}
  ~h5_handle() {
    if (m_id >= 0) m_close(m_id);
  }
  h5_handle(const h5_handle&) = delete;
  h5_handle& operator=(const h5_handle&) = delete;
  [[nodiscard]] hid_t get() const noexcept { return m_id; }
  [[nodiscard]] bool valid() const noexcept { return m_id >= 0; }

 private:
  hid_t m_id;
  herr_t (*m_close)(hid_t);
};

class h5ad_reader {
 public:
  h5ad_reader(const std::filesystem::path& path) : m_path(path.string()), m_file(open(path), H5Fclose) {}

  [[noreturn]] void fail(const std::string& problem) const {
    UPFI_THROW(core::error(core::detail::message(m_path, ": ", problem)));
  }

  [[nodiscard]] bool exists(const std::string& name) const {
    // walk the path: H5Lexists needs every intermediate link to exist
    std::size_t pos = 0;
    while ((pos = name.find('/', pos + 1)) != std::string::npos) {
      if (H5Lexists(m_file.get(), name.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
    }
    return H5Lexists(m_file.get(), name.c_str(), H5P_DEFAULT) > 0;
  }

  [[nodiscard]] bool is_group(const std::string& name) const {
    const h5_handle g(H5Gopen2(m_file.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
    return g.valid();
  }

  // A numeric dataset as doubles with its dimensions (row-major).
  [[nodiscard]] std::vector<double> numbers(const std::string& name, std::vector<hsize_t>& dims) const {
    const h5_handle d(H5Dopen2(m_file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) fail("cannot open dataset '" + name + "'");
    const h5_handle type(H5Dget_type(d.get()), H5Tclose);
    const H5T_class_t c = H5Tget_class(type.get());
    if (c != H5T_INTEGER && c != H5T_FLOAT) fail("dataset '" + name + "' is not numeric");
    const h5_handle space(H5Dget_space(d.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 1 || rank > 2) fail("dataset '" + name + "' has rank " + std::to_string(rank) + ", expected 1 or 2");
    dims.assign(static_cast<std::size_t>(rank), 0);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    std::size_t n = 1;
    for (const auto v : dims) n *= static_cast<std::size_t>(v);
    std::vector<double> out(n);
    if (n > 0 && H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
      fail("cannot read dataset '" + name + "'");
    }
    return out;
  }

  // A 1-D dataset of strings (variable or fixed length).
  [[nodiscard]] std::vector<std::string> strings(const std::string& name) const {
    const h5_handle d(H5Dopen2(m_file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) fail("cannot open dataset '" + name + "'");
    const h5_handle type(H5Dget_type(d.get()), H5Tclose);
    const h5_handle space(H5Dget_space(d.get()), H5Sclose);
    hsize_t n = 0;
    if (H5Sget_simple_extent_ndims(space.get()) != 1) fail("dataset '" + name + "' is not one-dimensional");
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    std::vector<std::string> out;
    if (H5Tis_variable_str(type.get()) > 0) {
      const h5_handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mem.get(), H5T_VARIABLE);
      H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
      std::vector<char*> raw(static_cast<std::size_t>(n), nullptr);
      if (H5Dread(d.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) {
        fail("cannot read strings '" + name + "'");
      }
      for (char* p : raw) out.emplace_back(p != nullptr ? p : "");
      H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, raw.data());
    } else {
      const std::size_t size = H5Tget_size(type.get());
      std::vector<char> raw(static_cast<std::size_t>(n) * size);
      if (H5Dread(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0) {
        fail("cannot read strings '" + name + "'");
      }
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        std::string s(raw.data() + i * size, size);
        s.erase(s.find_last_not_of('\0') + 1);
        out.push_back(s);
      }
    }
    return out;
  }

  [[nodiscard]] bool is_string_dataset(const std::string& name) const {
    const h5_handle d(H5Dopen2(m_file.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) return false;
    const h5_handle type(H5Dget_type(d.get()), H5Tclose);
    return H5Tget_class(type.get()) == H5T_STRING;
  }

 private:
  hid_t open(const std::filesystem::path& path) const {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions, not printed by HDF5
    if (!std::filesystem::exists(path)) fail("no such file");
    const hid_t f = H5Fopen(path.string().c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) fail("not an HDF5 file (or unreadable)");
    return f;
  }

  std::string m_path;
  h5_handle m_file;
};

}  // namespace detail

/// @brief Reads cells of an AnnData file as a snapshot series: coordinates from `obsm/<embedding>`, times from
/// `obs/<time_key>` (numeric or categorical). Rows with equal time form one snapshot (ascending time).
/// @throws upfi::core::error naming the file and the problem (missing key, non-numeric time category, missing
/// category code, size mismatch, non-finite value, too few time points).
[[nodiscard]] inline core::snapshot_series<double> read_h5ad(const std::filesystem::path& path,
                                                             const h5ad_read_options& o = {}) {
  const detail::h5ad_reader r(path);
  const std::string emb = "/obsm/" + o.embedding;
  if (!r.exists(emb)) r.fail("no embedding '" + o.embedding + "' in obsm");
  std::vector<hsize_t> dims;
  const std::vector<double> x = r.numbers(emb, dims);
  if (dims.size() != 2) r.fail("obsm/" + o.embedding + " is not a matrix");
  const auto n = static_cast<std::size_t>(dims[0]);
  const auto cols = static_cast<std::size_t>(dims[1]);
  if (o.components < 0 || static_cast<std::size_t>(o.components) > cols) {
    r.fail("asked for " + std::to_string(o.components) + " components of obsm/" + o.embedding + ", which has " +
           std::to_string(cols));
  }
  const std::size_t d = o.components > 0 ? static_cast<std::size_t>(o.components) : cols;

  // times per cell
  const std::string col = "/obs/" + o.time_key;
  if (!r.exists(col)) r.fail("no column '" + o.time_key + "' in obs");
  std::vector<double> times;
  const auto category_values = [&](const std::string& name) {
    std::vector<double> values;
    if (r.is_string_dataset(name)) {
      for (const auto& s : r.strings(name)) {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
          r.fail("time category '" + s + "' of obs/" + o.time_key + " is not a number");
        }
        values.push_back(v);
      }
    } else {
      std::vector<hsize_t> cd;
      values = r.numbers(name, cd);
    }
    return values;
  };
  const auto decode = [&](const std::vector<double>& codes, const std::vector<double>& categories) {
    for (std::size_t i = 0; i < codes.size(); ++i) {
      const double c = codes[i];
      if (c < 0 || c >= static_cast<double>(categories.size()) || c != std::floor(c)) {
        r.fail("cell " + std::to_string(i) + " has no time (category code " + std::to_string(static_cast<long>(c)) +
               " in obs/" + o.time_key + ")");
      }
      times.push_back(categories[static_cast<std::size_t>(c)]);
    }
  };
  std::vector<hsize_t> td;
  if (r.is_group(col)) {  // anndata >= 0.8 categorical
    if (!r.exists(col + "/codes") || !r.exists(col + "/categories")) {
      r.fail("obs/" + o.time_key + " is a group without codes and categories");
    }
    decode(r.numbers(col + "/codes", td), category_values(col + "/categories"));
  } else if (r.exists("/obs/__categories/" + o.time_key)) {  // anndata 0.7 categorical
    decode(r.numbers(col, td), category_values("/obs/__categories/" + o.time_key));
  } else if (r.is_string_dataset(col)) {  // plain strings: each must read as a number
    times = category_values(col);
  } else {
    times = r.numbers(col, td);
    if (td.size() != 1) r.fail("obs/" + o.time_key + " is not a column");
  }
  if (times.size() != n) {
    r.fail("obs/" + o.time_key + " has " + std::to_string(times.size()) + " entries but obsm/" + o.embedding + " has " +
           std::to_string(n) + " rows");
  }
  std::vector<double> values;
  values.reserve(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(times[i])) r.fail("cell " + std::to_string(i) + " has a non-finite time");
    for (std::size_t j = 0; j < d; ++j) {
      const double v = x[i * cols + j];
      if (!std::isfinite(v)) {
        r.fail("obsm/" + o.embedding + "[" + std::to_string(i) + ", " + std::to_string(j) + "] is not finite");
      }
      values.push_back(v);
    }
  }
  if (n == 0) r.fail("no cells");
  auto [t, clouds] = detail::group_rows_by_time<double>(times, values, d);
  if (t.size() < o.min_time_points) {
    r.fail("only " + std::to_string(t.size()) + " distinct time point(s) in obs/" + o.time_key + "; at least " +
           std::to_string(o.min_time_points) + " are needed");
  }
  if (o.masses == core::mass_convention::frequencies_only) {
    return core::snapshot_series<double>::frequencies_only(std::move(t), std::move(clouds));
  }
  if (o.masses != core::mass_convention::counts) {
    core::detail::throw_invalid_argument("upfi::io::read_h5ad: masses must be counts or frequencies_only");
  }
  return {std::move(t), std::move(clouds)};
}

}  // namespace upfi::io
