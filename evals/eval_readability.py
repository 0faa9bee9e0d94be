"""Can a face tracker read the avatar's expressions? (issue: the rigged head, "Readability")

Renders an avatar (default: the shipped one) neutral and with single expression channels at 1.0,
frontal and at +-20 degrees yaw, reads every frame back with MediaPipe FaceLandmarker, and checks
that a face is found in every frame and that each driven channel's read-out exceeds the neutral
frame's by at least 0.3 (read-out: the mean of MediaPipe's scores for the driven shapes).

Run: .venv/bin/python evals/eval_readability.py [--avatar A] [--size 512]   (part of `make eval`)
Prints a table on stderr and one JSON object per (expression, view) on stdout, then a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.avatar import load_avatar
from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.tracking import track_image
from emotalk_cli.render.frames import ViewOptions, render_avatar

EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "jawOpen": ("jawOpen",),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "browInnerUp": ("browInnerUp",),
    "browDown": ("browDownLeft", "browDownRight"),
    "blink": ("eyeBlinkLeft", "eyeBlinkRight"),
    "mouthPucker": ("mouthPucker",),
}
YAWS = (0.0, -20.0, 20.0)
MARGIN = 0.3  # required rise of the read-out over neutral


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--avatar", type=Path, default=None)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--dump", type=Path, default=None, help="folder to write the rendered frames to (PNG)")
    args = parser.parse_args()
    avatar = load_avatar(args.avatar)
    names = ["neutral", *EXPRESSIONS]
    arkit = torch.zeros(len(names), 52)
    for row, name in enumerate(names[1:], start=1):
        for shape in EXPRESSIONS[name]:
            arkit[row, facs.ARKIT_INDEX[shape]] = 1.0
    zeros = torch.zeros(len(names), 3)
    results, passed, total = [], 0, 0
    print(f"{'expression':<12} {'yaw':>5} {'face':>5} {'read':>6} {'neutral':>8} {'rise':>6}  ok", file=sys.stderr)
    for yaw in YAWS:
        view = ViewOptions(width=args.size, height=args.size, yaw=yaw)
        frames = list(render_avatar(avatar, view, arkit, zeros, zeros, torch.zeros(len(names), 2)))
        reads: dict[str, np.ndarray | None] = {}
        for name, frame in zip(names, frames):
            if args.dump:
                from emotalk_cli.render.video import write_png

                args.dump.mkdir(parents=True, exist_ok=True)
                write_png(args.dump / f"{name}_{int(yaw):+d}.png", frame, overwrite=True)
            try:
                reads[name] = track_image(frame).blendshapes
            except EmotalkError:
                reads[name] = None
        neutral = reads["neutral"]
        total += 1
        passed += neutral is not None
        results.append({"expression": "neutral", "yaw": yaw, "face_found": neutral is not None})
        for name in names[1:]:
            read = reads[name]
            total += 1
            entry = {"expression": name, "yaw": yaw, "face_found": read is not None}
            if read is not None and neutral is not None:
                index = [facs.ARKIT_INDEX[s] for s in EXPRESSIONS[name]]
                value, base = float(read[index].mean()), float(neutral[index].mean())
                entry.update(readout=round(value, 3), neutral=round(base, 3), rise=round(value - base, 3),
                             ok=value - base >= MARGIN)
                passed += entry["ok"]
                print(f"{name:<12} {yaw:>5.0f} {'yes':>5} {value:>6.2f} {base:>8.2f} {value - base:>6.2f}  "
                      f"{'yes' if entry['ok'] else 'NO'}", file=sys.stderr)
            else:
                entry["ok"] = False
                print(f"{name:<12} {yaw:>5.0f} {'NO':>5}", file=sys.stderr)
            results.append(entry)
    for entry in results:
        print(json.dumps(entry))
    summary = {"eval": "readability", "avatar": str(args.avatar or "default"), "passed": passed, "checks": total,
               "faces_found": sum(r["face_found"] for r in results), "frames": len(results)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
