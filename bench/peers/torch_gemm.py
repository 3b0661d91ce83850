#!/usr/bin/env python3
"""Single-precision GEMMs of given shapes and transposes in PyTorch (OpenBLAS), the peer of `npm run bench -- cpu`.

Needs Debian's PyTorch:  apt-get install -y python3-torch   (run with /usr/bin/python3)
Usage:
  /usr/bin/python3 torch_gemm.py --threads 2 --shapes name:M,N,K,ta,tb[;name:...]
C[M, N] = op(A) op(B), op(A) [M, K] read as the transpose of a contiguous [K, M] tensor when ta is 1 (a weight
gradient's dY^T), op(B) [K, N] as the transpose of a contiguous [N, K] tensor when tb is 1 (nn.Linear's x W^T): the
layouts the backward passes hand to BLAS, which takes them without copies. Prints one JSON line per shape with the
median GFLOP/s of repeated products, each into a fresh output as `x @ y` makes one (and as ours does).
"""
import argparse, json, os, statistics, time

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--shapes", required=True)
a = p.parse_args()
# torch.set_num_threads does not reach OpenBLAS's own thread pool (measured: a "1-thread" product used more than one
# core's FMA peak of CPU time), so its pool is sized before torch loads it
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(a.threads)
import torch
torch.set_num_threads(a.threads); torch.manual_seed(0)

for spec in a.shapes.split(";"):
    name, dims = spec.split(":")
    M, N, K, ta, tb = map(int, dims.split(","))
    x = torch.randn(K, M).t() if ta else torch.randn(M, K)
    y = torch.randn(N, K).t() if tb else torch.randn(K, N)
    x @ y
    reps = max(5, int(1e10 / (2 * M * N * K))); ts = []
    for _ in range(reps):
        t = time.perf_counter(); x @ y; ts.append(time.perf_counter() - t)
    print(json.dumps({"peer": "torch-cpu", "torch": torch.__version__, "threads": a.threads, "bench": "gemm", "name": name,
                      "config": {"M": M, "N": N, "K": K, "ta": ta, "tb": tb}, "value": round(2 * M * N * K / statistics.median(ts) / 1e9, 3), "unit": "GFLOP/s"}), flush=True)
