"""Rasterizer speed on a head-like scene: one JSON object per line on stdout.

    python benchmarks/bench_render.py [--sizes 256 512 1024] [--gaussians 10000 30000 100000]
                                      [--runs 7] [--backward-runs 3] [--backends cpu gsplat]

fps: forward only, the whole `rasterize()` call (projection, binning, compositing), median of
--runs after a warm-up. backward_ms: median of --backward-runs of loss.backward() alone, with
gradients for means, quats, scales, opacities, colours and the viewmat. The gsplat backend runs
when CUDA is available. The scene is `emotalk_cli.render.scenes.head_scene`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from emotalk_cli.render.rasterize import rasterize
from emotalk_cli.render.scenes import head_scene

GRAD_KEYS = ("means", "quats", "scales", "opacities", "colors", "viewmats")


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def bench(backend: str, size: int, n: int, runs: int, backward_runs: int) -> dict:
    device = "cuda" if backend == "gsplat" else "cpu"
    scene = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in head_scene(n, size, size).items()}
    with torch.no_grad():
        rgb, alpha = rasterize(**scene, backend=backend)  # warm-up (compiles / loads kernels)
        times = []
        for _ in range(runs):
            _sync(device)
            t0 = time.perf_counter()
            rgb, alpha = rasterize(**scene, backend=backend)
            _sync(device)
            times.append(time.perf_counter() - t0)
    fwd = statistics.median(times)
    result = {
        "backend": backend, "width": size, "height": size, "gaussians": n,
        "fps": round(1.0 / fwd, 2), "forward_ms": round(1000 * fwd, 2),
        "coverage": round(alpha.mean().item(), 3),
    }  # fmt: skip
    if backward_runs > 0:
        bwd = []
        for _ in range(backward_runs + 1):
            leaves = {k: scene[k].clone().requires_grad_() for k in GRAD_KEYS}
            rgb, alpha = rasterize(**{**scene, **leaves}, backend=backend)
            loss = rgb.square().mean() + alpha.mean()
            _sync(device)
            t0 = time.perf_counter()
            loss.backward()
            _sync(device)
            bwd.append(time.perf_counter() - t0)
        result["backward_ms"] = round(1000 * statistics.median(bwd[1:]), 2)  # first run warms up
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--gaussians", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backward-runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=None, help="default: cpu, plus gsplat with CUDA")
    args = parser.parse_args(argv)
    backends = args.backends or (["cpu", "gsplat"] if torch.cuda.is_available() else ["cpu"])
    print(f"torch threads: {torch.get_num_threads()}", file=sys.stderr)
    for backend in backends:
        for size in args.sizes:
            for n in args.gaussians:
                print(json.dumps(bench(backend, size, n, args.runs, args.backward_runs)), flush=True)


if __name__ == "__main__":
    main()
