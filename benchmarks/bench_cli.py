"""End-to-end timing of `emotalk render`: a 10 s clip at 512x512, 25 fps, with audio, from a fresh
process (includes start-up, loading, rendering, encoding). Prints one JSON object per line.

Run: .venv/bin/python benchmarks/bench_cli.py   (part of `make bench`)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
EMOTALK = Path(sys.executable).parent / "emotalk"


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        audio = Path(scratch) / "ten_seconds.wav"
        speech, rate = soundfile.read(str(ROOT / "examples" / "hello.wav"), dtype="float32")
        reps = int(np.ceil(10 * rate / len(speech)))
        soundfile.write(str(audio), np.tile(speech, reps)[: 10 * rate], rate)
        for size in (256, 512):
            out = Path(scratch) / f"out{size}.mp4"
            command = [str(EMOTALK), "render", "--avatar", str(ROOT / "examples" / "scene.ply"), "--audio", str(audio),
                       "--orbit", "30", "--size", str(size), "-o", str(out), "--force", "--quiet"]
            subprocess.run(command, check=True)  # warm-up: numba's compile cache, ffmpeg on disk
            start = time.perf_counter()
            subprocess.run(command, check=True)
            seconds = time.perf_counter() - start
            print(json.dumps({"bench": "emotalk render", "clip_seconds": 10.0, "fps_out": 25, "width": size,
                              "height": size, "gaussians": 13710, "wall_seconds": round(seconds, 2),
                              "realtime_factor": round(10.0 / seconds, 2)}), flush=True)


if __name__ == "__main__":
    main()
