#!/usr/bin/python3
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
"""Side by side: one denoising-score-matching training iteration (batch draw from 5 snapshots of 2000 cells, noise
from 5 log-spaced levels in [e^-2, 1], forward of an MLP (d + 2 -> width x 3 -> d), eta^2-weighted loss, backward,
AdamW step) in PyTorch CPU (Debian python3-torch, torch.set_num_threads(T)) and upfi, same shapes, one run. PyTorch
runs in float32 (the papers' setting) and float64; upfi in float64. Prints milliseconds per iteration and ratios.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/compare/dsm_torch.py build-bench/benchmarks/compare_dsm_upfi
"""
import math
import os
import subprocess
import sys
import time

import torch

THREADS = os.cpu_count()
torch.set_num_threads(THREADS)


def torch_iteration_seconds(d, width, act, dtype, iters):
    torch.manual_seed(0)
    snaps = [torch.randn(2000, d, dtype=dtype) + 0.5 * i for i in range(5)]
    times = torch.tensor([0.25 * i for i in range(5)], dtype=dtype)
    levels = torch.exp(torch.linspace(-2.0, 0.0, 5, dtype=dtype))
    a = torch.nn.ReLU if act == "relu" else torch.nn.SiLU
    net = torch.nn.Sequential(torch.nn.Linear(d + 2, width), a(), torch.nn.Linear(width, width), a(),
                              torch.nn.Linear(width, width), a(), torch.nn.Linear(width, d)).to(dtype)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    data = torch.stack(snaps)  # 5 x 2000 x d
    batch = 256

    def step():
        k = torch.arange(batch) % 5
        rows = torch.randint(0, 2000, (batch,))
        x = data[k, rows]
        eta = levels[torch.randint(0, 5, (batch,))].unsqueeze(1)
        z = torch.randn(batch, d, dtype=dtype)
        xt = x + eta * z
        inp = torch.cat([xt, eta, times[k].unsqueeze(1)], dim=1)
        s = net(inp)
        loss = 0.5 * ((eta * s + z) ** 2).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(20):
        step()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    return (time.perf_counter() - start) / iters


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), upfi ({THREADS} threads)")
    print(f"{'d':>3} {'width':>5} {'act':>5} {'torch f32 [ms]':>15} {'torch f64 [ms]':>15} {'upfi f64 [ms]':>14} "
          f"{'ratio f32':>9} {'ratio f64':>9}")
    for d, width in ((2, 64), (10, 64), (50, 256)):
        for act in ("relu", "silu"):
            iters = 500 if width == 64 else 100
            t32 = torch_iteration_seconds(d, width, act, torch.float32, iters)
            t64 = torch_iteration_seconds(d, width, act, torch.float64, iters)
            out = subprocess.run([binary, str(d), str(width), act, str(iters * 4)], check=True, capture_output=True,
                                 text=True).stdout
            tu = float(out.split()[0])
            print(f"{d:>3} {width:>5} {act:>5} {1e3 * t32:>15.3f} {1e3 * t64:>15.3f} {1e3 * tu:>14.3f} "
                  f"{t32 / tu:>9.1f} {t64 / tu:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
