#!/usr/bin/python3
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
"""Side by side: K log-domain Sinkhorn iterations on identical inputs with POT 0.8.2 `ot.sinkhorn(...,
method="sinkhorn_log")`, a tensorised PyTorch implementation (GeomLoss's "tensorized" backend: full cost matrix +
logsumexp) and upfi's online kernel. Same eps, same iteration count, uniform weights, cost |x - y|^2 / 2.

Usage (repository root, after building the benchmarks):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/compare/sinkhorn_pot_torch.py build-bench/benchmarks/compare_sinkhorn_upfi

UPFI_COMPARE_MAX_N=4000 skips the N = 10000 cases (POT needs minutes there). Settings printed with the results: POT runs on NumPy with OPENBLAS_NUM_THREADS=1 (its log-domain loop uses
elementwise ops and logsumexp, single-threaded); torch uses torch.set_num_threads(T) with T = all cores; upfi uses
all cores, online (costs recomputed) and dense (cost matrices stored first, included in the time). The dual value
<a, f> + <b, g> after K iterations (POT's converted to upfi's reference measure a (x) b) shows they agree.
"""
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import ot  # noqa: E402
import torch  # noqa: E402

THREADS = os.cpu_count()
torch.set_num_threads(THREADS)
torch.set_default_dtype(torch.float64)


def pot(x, y, eps, iters):
    a, b = np.full(len(x), 1 / len(x)), np.full(len(y), 1 / len(y))
    m = 0.5 * ot.dist(x, y)
    start = time.perf_counter()
    _, log = ot.sinkhorn(a, b, m, eps, method="sinkhorn_log", numItermax=iters, stopThr=0.0, log=True)
    elapsed = time.perf_counter() - start
    # POT's potentials use the reference measure 1; upfi's use a (x) b: f_upfi = eps (log u - log a), likewise g.
    f, g = eps * (log["log_u"] - np.log(a)), eps * (log["log_v"] - np.log(b))
    return elapsed, float(a @ f + b @ g)


def torch_tensorised(x, y, eps, iters):
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    la = torch.full((len(x),), -np.log(len(x)))
    lb = torch.full((len(y),), -np.log(len(y)))
    start = time.perf_counter()
    c = 0.5 * torch.cdist(x, y) ** 2
    f, g = torch.zeros(len(x)), torch.zeros(len(y))
    for _ in range(iters):
        f = -eps * torch.logsumexp((lb + g / eps).view(1, -1) - c / eps, dim=1)
        g = -eps * torch.logsumexp((la + f / eps).view(1, -1) - c.T / eps, dim=1)
    elapsed = time.perf_counter() - start
    return elapsed, float(la.exp() @ f + lb.exp() @ g)


def upfi(binary, x, y, eps, iters, mode):
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as fh:
        np.array([len(x), len(y), x.shape[1]], dtype=np.int64).tofile(fh)
        np.ascontiguousarray(x).tofile(fh)
        np.ascontiguousarray(y).tofile(fh)
        path = fh.name
    try:
        out = subprocess.run([binary, path, repr(eps), str(iters), "0", mode], check=True, capture_output=True,
                             text=True)
    finally:
        os.unlink(path)
    seconds, value = out.stdout.split()
    return float(seconds), float(value)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary, eps, iters = sys.argv[1], 0.1, 10
    print(f"POT {ot.__version__} (NumPy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), upfi ({THREADS} threads); "
          f"eps = {eps}, {iters} iterations, float64")
    print(f"{'N':>6} {'d':>3} {'POT [s]':>9} {'torch [s]':>10} {'online [s]':>10} {'dense [s]':>10}"
          f" {'POT/best':>9} {'torch/best':>11} {'dual POT':>12} {'dual upfi':>12}")
    rng = np.random.default_rng(0)
    max_n = int(os.environ.get("UPFI_COMPARE_MAX_N", "10000"))
    for n in (n for n in (1000, 4000, 10000) if n <= max_n):
        for d in (2, 10, 50):
            x = rng.standard_normal((n, d))
            y = rng.standard_normal((n, d)) + 0.5
            t_pot, v_pot = pot(x, y, eps, iters)
            t_torch, _ = torch_tensorised(x, y, eps, iters)
            t_online, v_upfi = upfi(binary, x, y, eps, iters, "online")
            t_dense, _ = upfi(binary, x, y, eps, iters, "dense")
            best = min(t_online, t_dense)
            print(f"{n:>6} {d:>3} {t_pot:>9.3f} {t_torch:>10.3f} {t_online:>10.3f} {t_dense:>10.3f} {t_pot / best:>9.1f} "
                  f"{t_torch / best:>11.1f} {v_pot:>12.6g} {v_upfi:>12.6g}", flush=True)


if __name__ == "__main__":
    main()
