"""Make the small inputs in examples/: a head-like Gaussian scene (.ply), a spoken sentence
(.wav, flite's slt voice), a nodding head motion (.safetensors) and prompt lists.

Run: .venv/bin/python scripts/make_examples.py   (or `make examples`). Deterministic.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import torch

from emotalk_cli import artifacts, facs
from emotalk_cli.splats.gaussians import Splats
from emotalk_cli.splats.ply import save_ply

SH_C0 = 0.28209479177387814  # the degree-0 spherical-harmonic constant, 1 / (2 sqrt(pi))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SENTENCE = "Hello! I am a talking head, made of thousands of tiny Gaussians."


def _discs(points: np.ndarray, normals: np.ndarray, radius: float, rgb, rng) -> dict:
    """Flat Gaussians tangent to the surface at `points` [n, 3] with unit `normals` [n, 3]."""
    n = len(points)
    w = 1.0 + normals[:, 2]
    quats = np.stack([w, -normals[:, 1], normals[:, 0], np.zeros(n)], axis=1)
    flipped = w < 1e-6  # normal along -z: rotate half a turn about x
    quats[flipped] = [0.0, 1.0, 0.0, 0.0]
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    scale = radius * rng.uniform(0.8, 1.2, size=(n, 1))
    colour = np.clip(np.asarray(rgb, dtype=np.float64) + rng.normal(0, 0.02, size=(n, 3)), 0, 1)
    return {"means": points, "quats": quats, "scales": np.concatenate([scale, scale, 0.25 * scale], axis=1), "rgb": colour}


def head_scene(count: int = 12_000, seed: int = 0) -> Splats:
    """A stylised head, in metres, y up, z forward out of the face: skin, hair, eyes, brows, lips."""
    rng = np.random.default_rng(seed)
    radii = np.array([0.075, 0.10, 0.09])
    parts = []
    # skin and hair on an ellipsoid; spacing so discs overlap into a closed surface
    direction = rng.normal(size=(count, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    points = direction * radii
    normals = points / radii**2
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    area = 4 * math.pi * (np.prod(radii) ** (2 / 3))
    spacing = math.sqrt(area / count)
    # nose: push the middle of the face forward
    nose = np.exp(-((points[:, 0] / 0.012) ** 2 + ((points[:, 1] + 0.005) / 0.03) ** 2)) * (points[:, 2] > 0)
    points[:, 2] += 0.022 * nose
    hair = (points[:, 1] > 0.045 - 0.06 * (points[:, 2] < 0)) & ~((points[:, 2] > 0.055) & (points[:, 1] < 0.075))
    skin = ~hair
    parts.append(_discs(points[skin], normals[skin], 0.9 * spacing, (0.87, 0.68, 0.58), rng))
    parts.append(_discs(points[hair], normals[hair], 0.9 * spacing, (0.25, 0.16, 0.10), rng))

    def on_face(x: float, y: float, lift: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
        z = radii[2] * math.sqrt(max(1 - (x / radii[0]) ** 2 - (y / radii[1]) ** 2, 0.0))
        normal = np.array([x / radii[0] ** 2, y / radii[1] ** 2, z / radii[2] ** 2])
        return np.array([x, y, z]) + lift * normal / np.linalg.norm(normal), normal / np.linalg.norm(normal)

    def patch(cx: float, cy: float, rx: float, ry: float, n: int, rgb, size: float, lift: float = 0.002) -> None:
        u = rng.uniform(0, 2 * math.pi, n)
        r = np.sqrt(rng.uniform(0, 1, n))
        pts, nrm = zip(*(on_face(cx + rx * ri * math.cos(ui), cy + ry * ri * math.sin(ui), lift) for ui, ri in zip(u, r)))
        parts.append(_discs(np.array(pts), np.array(nrm), size, rgb, rng))

    for side in (-1, 1):
        patch(0.030 * side, 0.018, 0.012, 0.006, 300, (0.96, 0.96, 0.94), 0.0015)  # eye white
        patch(0.030 * side, 0.018, 0.0045, 0.0045, 120, (0.18, 0.28, 0.40), 0.0009, lift=0.0035)  # iris
        patch(0.030 * side, 0.034, 0.014, 0.0025, 160, (0.22, 0.14, 0.09), 0.0012)  # brow
    patch(0.0, -0.048, 0.020, 0.005, 400, (0.70, 0.30, 0.30), 0.0013)  # lips
    patch(0.0, -0.048, 0.016, 0.0012, 150, (0.25, 0.08, 0.08), 0.0008, lift=0.0035)  # mouth line

    cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    sh = ((cat["rgb"] - 0.5) / SH_C0)[:, None, :]
    return Splats(
        means=torch.tensor(cat["means"], dtype=torch.float32),
        quats=torch.tensor(cat["quats"], dtype=torch.float32),
        scales=torch.tensor(cat["scales"], dtype=torch.float32),
        opacities=torch.full((len(cat["means"]),), 0.95),
        sh=torch.tensor(sh, dtype=torch.float32),
    )


def nod_motion(seconds: float = 4.0, fps: float = 25.0) -> dict[str, torch.Tensor]:
    """A head that nods twice and turns a little; the face channels stay at rest."""
    t = torch.arange(round(seconds * fps)) / fps
    rotation = torch.stack([0.15 * torch.sin(2 * math.pi * 0.5 * t), 0.25 * torch.sin(2 * math.pi * 0.25 * t),
                            torch.zeros_like(t)], dim=1)
    return {
        "arkit": torch.zeros(len(t), len(facs.ARKIT_NAMES)),
        "head_rotation": rotation,
        "head_translation": torch.zeros(len(t), 3),
        "gaze": torch.zeros(len(t), 2),
    }


def speak(text: str, target: Path, voice: str = "slt") -> None:
    """Speak `text` with flite into a 16 kHz mono wav."""
    flite = shutil.which("flite")
    if flite is None:
        sys.exit("flite is not installed: run `make setup` (it installs flite with apt-get)")
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "speech.wav"
        subprocess.run([flite, "-voice", voice, "-t", text, "-o", str(raw)], check=True)
        samples, rate = soundfile.read(str(raw), dtype="float32")
        soundfile.write(str(target), samples, rate, subtype="PCM_16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=EXAMPLES)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    save_ply(args.out / "scene.ply", head_scene(), overwrite=True)
    artifacts.save_artifact(args.out / "nod.safetensors", artifacts.MOTION, nod_motion(),
                            {"command": "scripts/make_examples.py", "fps": 25.0,
                             "arkit_names": list(facs.ARKIT_NAMES)}, overwrite=True)
    speak(SENTENCE, args.out / "hello.wav")
    (args.out / "hello.txt").write_text(SENTENCE + "\n")
    print(f"wrote examples to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
