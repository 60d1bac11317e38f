#!/usr/bin/python3
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
"""Side by side: the probability-flow ODE u = v - D s with v = A x + e (OU drift), s = -P x (constant Gaussian score)
and a matrix D, for an N x d cloud and its log-masses (growth 0), integrated over [0, 1] with
scipy.integrate.solve_ivp (RK45 = Dormand-Prince 5(4), vectorised NumPy right-hand side doing the same work as upfi's
composed field: drift, score and correction products, atol = rtol = 1e-6) and with upfi's DOPRI5 at the same
tolerances, same inputs, one run. Prints seconds (best of 5), steps and the ratio; checks both final means agree.
A second column times a folded right-hand side u = x M^T + e (one product) to show the cost of the composition.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/compare/flow_scipy.py build-bench/benchmarks/compare_flow_upfi
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.integrate import solve_ivp


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"{'N':>6} {'d':>3} {'scipy [s]':>10} {'folded [s]':>10} {'upfi [s]':>10} {'ratio':>7} "
          f"{'steps scipy/upfi':>17} {'|mean diff|':>12}")
    for n, d in ((2000, 2), (2000, 10), (20000, 10), (2000, 50)):
        rng = np.random.default_rng(0)
        k = rng.standard_normal((d, d))
        x0 = rng.standard_normal((n, d))
        a = -np.eye(d) - 0.3 * (k - k.T)
        e = np.full(d, 0.1)
        p = np.eye(d) / 1.5
        dm = 0.5 * np.eye(d)
        m = a + dm @ p  # u = A x + e - D s = A x + e + D P x

        def rhs(t, y):
            x = y[: n * d].reshape(d, n).T  # column-major flat layout, like upfi; then N log-masses
            v = x @ a.T + e
            score = -(x @ p)
            u = v - score @ dm.T
            return np.concatenate([u.T.ravel(), np.zeros(n)])

        def folded(t, y):
            x = y[: n * d].reshape(d, n).T
            return np.concatenate([(x @ m.T + e).T.ravel(), np.zeros(n)])

        y0 = np.concatenate([x0.T.ravel(), np.zeros(n)])

        def best_of(f):
            best, sol = 1e300, None
            for _ in range(5):
                start = time.perf_counter()
                sol = solve_ivp(f, (0.0, 1.0), y0, method="RK45", atol=1e-6, rtol=1e-6)
                best = min(best, time.perf_counter() - start)
            return best, sol

        best, sol = best_of(rhs)
        best_folded, _ = best_of(folded)
        with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
            np.vstack([k, x0]).T.astype(np.float64).tofile(f)  # column-major (d + N) x d
            path = f.name
        out = subprocess.run([binary, path, str(n), str(d)], check=True, capture_output=True, text=True).stdout.split()
        os.unlink(path)
        t_upfi, steps_upfi, mean_upfi = float(out[0]), int(out[1]), float(out[2])
        mean_scipy = sol.y[: n * d, -1].mean()
        print(f"{n:>6} {d:>3} {best:>10.4f} {best_folded:>10.4f} {t_upfi:>10.4f} {best / t_upfi:>7.1f} "
              f"{sol.t.size - 1:>8}/{steps_upfi:<8} {abs(mean_scipy - mean_upfi):>12.2e}", flush=True)


if __name__ == "__main__":
    main()
