#!/usr/bin/python3
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
"""Side by side: Euler-Maruyama on the UPFI bistable system, vectorised NumPy vs upfi (C++), same inputs, one run.

Usage (from the repository root, after building the benchmarks):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/compare/euler_maruyama_numpy.py build-bench/benchmarks/compare_em_upfi

Prints particle-steps per second of both and their ratio for d = 2, 10, 50 and N = 1e5. NumPy uses one thread
(elementwise ops do not use BLAS; OPENBLAS_NUM_THREADS=1 pins it anyway) and its default Generator (PCG64,
ziggurat normals). upfi runs with 1 thread and with all threads; each line states the thread count.
"""
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def drift(x):
    """-grad V of the bistable potential (algorithms.md §5.8.1), x of shape (N, d)."""
    da0, da1 = x[:, 0] - 1.0, x[:, 1] - 1.0
    db0, db1 = x[:, 0] + 1.0, x[:, 1] + 1.0
    rest = np.einsum("ij,ij->i", x[:, 2:], x[:, 2:]) if x.shape[1] > 2 else 0.0
    na = da0 * da0 + da1 * da1 + rest
    nb = db0 * db0 + db1 * db1 + rest
    v = np.empty_like(x)
    v[:, 0] = -1.8 * (da0 * nb + db0 * na)
    v[:, 1] = -1.8 * (da1 * nb + db1 * na)
    if x.shape[1] > 2:
        v[:, 2:] = (-1.8 * (na + nb))[:, None] * x[:, 2:] - 20.0 * x[:, 2:]
    return v


def numpy_rate(d, n, steps, dt=1e-3, sigma=0.5):
    rng = np.random.default_rng(1)
    x = 0.1 * rng.standard_normal((n, d))
    for _ in range(20):  # warm-up
        x += drift(x) * dt + sigma * np.sqrt(dt) * rng.standard_normal((n, d))
    start = time.perf_counter()
    for _ in range(steps):
        x += drift(x) * dt + sigma * np.sqrt(dt) * rng.standard_normal((n, d))
    elapsed = time.perf_counter() - start
    assert np.isfinite(x).all()
    return n * steps / elapsed


def upfi_rate(binary, d, n, steps, threads):
    out = subprocess.run([binary, str(d), str(n), str(steps), str(threads)], check=True, capture_output=True,
                         text=True).stdout
    return float(out.split()[0])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    n = 100_000
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, N = {n}")
    print(f"{'d':>4} {'numpy [steps/s]':>16} {'upfi 1 thr':>14} {'ratio':>7} {'upfi all thr':>14} {'ratio':>7}")
    for d in (2, 10, 50):
        steps = max(5, 200 // d)
        r_np = numpy_rate(d, n, steps)
        r_1 = upfi_rate(binary, d, n, steps * 4, 1)
        r_all = upfi_rate(binary, d, n, steps * 4, 0)
        print(f"{d:>4} {r_np:>16.3e} {r_1:>14.3e} {r_1 / r_np:>7.1f} {r_all:>14.3e} {r_all / r_np:>7.1f}")


if __name__ == "__main__":
    main()
