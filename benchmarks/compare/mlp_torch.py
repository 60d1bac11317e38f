#!/usr/bin/python3
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
"""Side by side: forward + backward (gradients w.r.t. inputs and parameters) of a 3-hidden-layer SiLU MLP
(inputs = outputs = d), float64, in PyTorch CPU (Debian python3-torch, torch.set_num_threads(T)) and upfi, same
shapes, one run. Prints milliseconds per step and the ratio.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 benchmarks/compare/mlp_torch.py build-bench/benchmarks/compare_mlp_upfi
"""
import os
import subprocess
import sys
import time

import torch

THREADS = os.cpu_count()
torch.set_num_threads(THREADS)
torch.set_default_dtype(torch.float64)


def torch_step_seconds(d, width, batch, iters):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(d, width), torch.nn.SiLU(), torch.nn.Linear(width, width),
                              torch.nn.SiLU(), torch.nn.Linear(width, width), torch.nn.SiLU(),
                              torch.nn.Linear(width, d))
    x = torch.randn(batch, d, requires_grad=True)
    cot = torch.randn(batch, d)
    for _ in range(5):
        net.zero_grad()
        x.grad = None
        net(x).backward(cot)
    start = time.perf_counter()
    for _ in range(iters):
        net.zero_grad()
        x.grad = None
        net(x).backward(cot)
    return (time.perf_counter() - start) / iters


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), upfi ({THREADS} threads), float64")
    print(f"{'width':>5} {'batch':>6} {'d':>3} {'torch [ms]':>11} {'upfi [ms]':>10} {'ratio':>6}")
    for width in (64, 128, 256):
        for batch in (256, 4096):
            for d in (2, 10, 50):
                iters = 1000 if batch == 256 else 50
                t_torch = torch_step_seconds(d, width, batch, iters)
                out = subprocess.run([binary, str(d), str(width), str(batch), str(iters), "0"], check=True,
                                     capture_output=True, text=True).stdout
                t_upfi = float(out.split()[0])
                print(f"{width:>5} {batch:>6} {d:>3} {1e3 * t_torch:>11.3f} {1e3 * t_upfi:>10.3f} "
                      f"{t_torch / t_upfi:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
