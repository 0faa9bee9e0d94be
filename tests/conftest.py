"""Shared fixtures: small scenes and files made on the fly, so tests need no shipped weights."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from emotalk_cli.splats.gaussians import Splats

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def small_splats(n: int = 200, seed: int = 0, sh_degree: int = 0) -> Splats:
    """A random blob of Gaussians around the origin, about 0.1 across."""
    g = torch.Generator().manual_seed(seed)
    return Splats(
        means=torch.randn(n, 3, generator=g) * 0.05,
        quats=torch.randn(n, 4, generator=g),
        scales=torch.rand(n, 3, generator=g) * 0.01 + 0.002,
        opacities=torch.rand(n, generator=g) * 0.8 + 0.1,
        sh=torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g) * 0.5,
    )


@pytest.fixture
def tone_wav(tmp_path: Path) -> Path:
    """1.3 s of a 220 Hz tone at 16 kHz, mono."""
    rate = 16_000
    t = np.arange(int(1.3 * rate)) / rate
    path = tmp_path / "tone.wav"
    soundfile.write(str(path), 0.3 * np.sin(2 * np.pi * 220 * t), rate)
    return path


def probe(path: Path) -> dict:
    """What ffmpeg says of a media file: duration (s), video size, fps, whether it has audio, frame count."""
    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    text = subprocess.run([ffmpeg, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    info: dict = {"audio": "Audio:" in text, "video": "Video:" in text}
    if match := re.search(r"Video:.*?(\d{2,5})x(\d{2,5})", text):
        info["size"] = (int(match.group(1)), int(match.group(2)))
    if match := re.search(r"([\d.]+) fps", text):
        info["fps"] = float(match.group(1))
    if match := re.search(r"Video: (\w+)", text):
        info["codec"] = match.group(1)
    info["frames"], info["seconds"] = imageio_ffmpeg.count_frames_and_secs(str(path))
    return info
