"""What the photo's scene costs: render speed per layer, and `emotalk animate` with and without it.

    python benchmarks/bench_portrait.py [--avatar A] [--frames 100] [--runs 3] [--skip animate]   (part of `make bench`)

On the default avatar (the astronaut with her scene) at 512x512, frames of a nodding, turning head
(the layers that move with it are posed every frame):
- head: the head alone (--framing head), the baseline;
- photo: the head, the hair and neck that move with it, over the still torso and background
  (rendered once per clip: `static_ms`), as `render`/`animate` draw a photo avatar;
- transparent: the same without the background layer.
fps is frames per second of the render loop (posing, rasterizing, compositing, to uint8), median of
--runs; `ratio` is photo fps / head fps, measured in the same run. Then the whole command `emotalk
animate` for 10 s of speech at 512 px (goal <= 10 s) with the photo's scene and with --framing head,
after a warm-up of each. One JSON object per line on stdout, a summary on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def head_motion(frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A nod and a turn, radians: head_rotation [T, 3], head_translation [T, 3]."""
    t = torch.arange(frames, dtype=torch.float32) / 25.0
    rotation = torch.stack([0.12 * torch.sin(2.1 * t), 0.25 * torch.sin(0.9 * t), 0.05 * torch.sin(1.3 * t)], -1)
    return rotation, torch.zeros(frames, 3)


def render_fps(avatar, view, frames: int, runs: int, placed: bool) -> tuple[float, float]:
    """(fps of the render loop, ms of the first frame beyond a later one: the per-clip cost)."""
    from emotalk_cli.photo_scene import scene_head_pose
    from emotalk_cli.render.frames import render_avatar

    rotation, translation = head_motion(frames)
    if placed:
        rotation, translation = scene_head_pose(avatar.scene, rotation, translation, "photo")
    arkit, gaze = torch.zeros(frames, 52), torch.zeros(frames, 2)
    arkit[:, 17] = 0.4 * (1 + torch.sin(torch.arange(frames) * 0.7)) / 2  # the jaw moving
    list(render_avatar(avatar, view, arkit[:2], rotation[:2], translation[:2], gaze[:2], backend="cpu"))  # warm-up
    speeds, firsts = [], []
    for _ in range(runs):
        started = time.perf_counter()
        stream = render_avatar(avatar, view, arkit, rotation, translation, gaze, backend="cpu")
        next(stream)
        first = time.perf_counter() - started
        count = 1 + sum(1 for _ in stream)
        total = time.perf_counter() - started
        speeds.append((count - 1) / (total - first))
        firsts.append(first - (total - first) / (count - 1))
    return statistics.median(speeds), 1000 * statistics.median(firsts)


def animate_seconds(extra: list[str], runs: int) -> float:
    from bench_animate import looped_speech

    with tempfile.TemporaryDirectory(prefix="bench-portrait-") as folder:
        speech = looped_speech(Path(folder) / "speech.wav", 10.0)
        command = [sys.executable, "-m", "emotalk_cli", "animate", "--audio", str(speech), "--emotion", "gently amused",
                   "-o", str(Path(folder) / "out.mp4"), "--force", "--quiet", *extra]
        subprocess.run(command, check=True, cwd=ROOT)  # warm-up: numba's cache, the file cache
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    from emotalk_cli.avatar import load_avatar
    from emotalk_cli.render.frames import ViewOptions

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--avatar", type=Path, default=None)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--skip", nargs="*", default=[], choices=("animate",))
    args = parser.parse_args(argv)
    avatar = load_avatar(args.avatar)
    if avatar.scene is None:
        sys.exit(f"{args.avatar}: no photo scene to measure (fit one with emotalk fit-avatar)")
    load = os.getloadavg()[0]
    base = ViewOptions(width=args.size, height=args.size)
    cases = {
        "head": (base, False),
        "photo": (replace(base, photo=True, scene_background=True), True),
        "transparent": (replace(base, photo=True, transparent=True), True),
    }
    from emotalk_cli.avatar import scene_parts

    parts = scene_parts(avatar)
    counts = {"head": len(avatar), "moving": len(parts.movable), "still_person": len(parts.still),
              "background": len(parts.background)}
    results = {}
    for name, (view, placed) in cases.items():
        fps, first_ms = render_fps(avatar, view, args.frames, args.runs, placed)
        results[name] = fps
        print(json.dumps({"bench": "portrait render", "case": name, "size": args.size, "frames": args.frames,
                          "fps": round(fps, 1), "static_ms": round(first_ms, 1), "gaussians": counts,
                          "load": round(load, 2), "cores": os.cpu_count()}), flush=True)
    ratio = results["photo"] / results["head"]
    print(json.dumps({"bench": "portrait render", "ratio_photo_to_head": round(ratio, 3)}), flush=True)
    summary = [f"render {args.size} px: head {results['head']:.1f} fps, photo {results['photo']:.1f} fps "
               f"(x{ratio:.2f} of head; goal >= 30 fps), transparent {results['transparent']:.1f} fps"]
    if "animate" not in args.skip:
        photo = animate_seconds([], args.runs)
        head = animate_seconds(["--framing", "head"], args.runs)
        print(json.dumps({"bench": "portrait animate", "clip_seconds": 10.0, "size": 512, "photo_s": round(photo, 2),
                          "head_s": round(head, 2), "ratio": round(photo / head, 3), "load": round(os.getloadavg()[0], 2)}),
              flush=True)
        summary.append(f"animate 10 s at 512 px: {photo:.1f} s with the photo's scene, {head:.1f} s the head alone "
                       f"(x{photo / head:.2f}; goal <= 10 s)")
    print("\n".join(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
