"""`emotalk animate` on bad audio (issue #5): a sane video or a one-line error, never a crash or a partial file.

tests/test_animate.py already covers, with --motion-only: silence, clipped, NaN samples, 8 kHz, 96 kHz and
stereo animate; 0.1 s, a text file and a missing file give a one-line error and no motion file. Here:
the same awkward inputs through the whole video path (mp4 with sound, the audio's length), more
awkward inputs (all-NaN, inf, far beyond full scale, 11.025 kHz, 6 channels, 24-bit, flac, ogg, just
over the 0.2 s minimum), more unusable ones (just under 0.2 s, random bytes, an empty file, a wav
header with no samples, a folder), and that an error leaves no output and no temporary file behind.
CPU, a tiny random motion model and avatar, 32x32 frames.
"""

import numpy as np
import pytest
import soundfile
import torch
from typer.testing import CliRunner

from emotalk_cli import artifacts
from emotalk_cli.audio.features import frame_count
from emotalk_cli.cli.app import app

from conftest import probe
from test_animate import tiny_animate_files

runner = CliRunner()
SECONDS = 0.72


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tiny_animate_files(tmp_path_factory.mktemp("bad_audio"), 1000, seed=2)


def speech_like(seconds=SECONDS, rate=16_000, channels=1):
    """Noise bursts at a syllable rate: loud and quiet stretches, as speech has."""
    rng = np.random.default_rng(0)
    t = np.arange(int(round(seconds * rate))) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    return (0.3 * envelope[:, None] * rng.standard_normal((len(t), channels))).astype(np.float32)


def _every(n, value):
    return lambda x: np.where(np.arange(len(x))[:, None] % n == 0, value, x)


AWKWARD = {  # name -> (sample rate, channels, change to the samples, soundfile.write options)
    "silence": (16_000, 1, lambda x: x * 0, {}),
    "clipped": (16_000, 1, lambda x: np.clip(x * 40, -1, 1), {}),
    "nan": (16_000, 1, _every(5, np.nan), {"subtype": "FLOAT"}),
    "all_nan": (16_000, 1, lambda x: np.full_like(x, np.nan), {"subtype": "FLOAT"}),
    "inf": (16_000, 1, _every(7, np.inf), {"subtype": "FLOAT"}),
    "beyond_full_scale": (16_000, 1, lambda x: x * 40, {"subtype": "FLOAT"}),  # float wav, unclipped
    "8k": (8_000, 1, None, {}),
    "11k": (11_025, 1, None, {}),
    "96k": (96_000, 1, None, {}),
    "stereo": (16_000, 2, None, {}),
    "6ch": (48_000, 6, None, {}),
    "pcm24": (44_100, 1, None, {"subtype": "PCM_24"}),
    "flac": (22_050, 1, None, {"format": "FLAC"}),
    "ogg": (16_000, 1, None, {"format": "OGG", "subtype": "VORBIS"}),
}
VIDEO_CASES = ("silence", "clipped", "nan", "all_nan", "8k", "96k", "stereo", "ogg")


def write_audio(folder, case, seconds=SECONDS):
    rate, channels, change, kwargs = AWKWARD[case]
    samples = speech_like(seconds, rate, channels)
    if change is not None:
        samples = change(samples)
    path = folder / (case + {"FLAC": ".flac", "OGG": ".ogg"}.get(kwargs.get("format"), ".wav"))
    soundfile.write(str(path), samples, rate, **kwargs)
    return path


def animate(files, *args):
    return runner.invoke(app, ["animate", "--weights", str(files["weights"]), "--steps", "2", "--quiet", *args])


def one_line_error(result, message):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:"), result.output
    assert message in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(AWKWARD))
def test_awkward_audio_gives_finite_motion_of_the_audio_length(tmp_path, files, case):
    audio = write_audio(tmp_path, case)
    result = animate(files, "--audio", str(audio), "--motion-only", "--motion-out", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 0, result.output
    motion = artifacts.load_artifact(tmp_path / "m.safetensors", artifacts.MOTION).tensors
    assert motion["arkit"].shape == (frame_count(SECONDS, 25), 52)
    assert all(torch.isfinite(v).all() for v in motion.values())
    assert 0.0 <= motion["arkit"].min() and motion["arkit"].max() <= 1.0


@pytest.mark.parametrize("case", VIDEO_CASES)
def test_awkward_audio_gives_a_sane_video(tmp_path, files, case):
    audio = write_audio(tmp_path, case)
    out = tmp_path / "out.mp4"
    result = animate(files, "--audio", str(audio), "--avatar", str(files["avatar"]), "--size", "32", "-o", str(out))
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert info["video"] and info["audio"] and info["size"] == (32, 32)
    assert info["frames"] == frame_count(SECONDS, 25)
    assert abs(info["seconds"] - SECONDS) <= 1 / 25 + 0.03
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([audio.name, out.name])  # no temporary left


def test_just_over_the_minimum_length_animates(tmp_path, files):
    audio = tmp_path / "short.wav"
    soundfile.write(str(audio), speech_like(0.21), 16_000)
    result = animate(files, "--audio", str(audio), "--avatar", str(files["avatar"]), "--size", "32", "-o", str(tmp_path / "o.mp4"))
    assert result.exit_code == 0, result.output
    info = probe(tmp_path / "o.mp4")
    assert info["audio"] and info["frames"] in (5, 6) and abs(info["seconds"] - 0.21) <= 1 / 25 + 0.01


@pytest.mark.parametrize("seconds", [0.21, 0.73])
def test_video_keeps_every_motion_frame(tmp_path, files, seconds):
    audio = tmp_path / "a.wav"
    soundfile.write(str(audio), speech_like(seconds), 16_000)
    result = animate(files, "--audio", str(audio), "--avatar", str(files["avatar"]), "--size", "32", "-o", str(tmp_path / "o.mp4"))
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "o.mp4")["frames"] == frame_count(seconds, 25)


def _unusable(folder, case):
    path = folder / f"{case}.wav"
    if case == "too_short":
        soundfile.write(str(path), speech_like(0.19), 16_000)
    elif case == "too_short_96k":
        soundfile.write(str(path), speech_like(0.1, 96_000), 96_000)
    elif case == "random_bytes":
        path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif case == "empty_file":
        path.write_bytes(b"")
    elif case == "header_only":
        soundfile.write(str(path), np.zeros((0, 1), np.float32), 16_000)
    elif case == "png":
        from PIL import Image

        path = folder / "picture.png"
        Image.new("RGB", (8, 8)).save(path)
    elif case == "folder":
        path = folder / "folder.wav"
        path.mkdir()
    return path


UNUSABLE = {  # case -> words the one-line error must contain
    "too_short": "at least 0.2 s", "too_short_96k": "at least 0.2 s", "random_bytes": "not a readable audio file",
    "empty_file": "not a readable audio file", "header_only": "empty", "png": "no audio stream",  # ffmpeg reads it: a picture
    "folder": "no such audio file",
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
@pytest.mark.parametrize("mode", ["video", "motion"])
def test_unusable_audio_is_one_line_error_and_writes_nothing(tmp_path, files, case, mode):
    audio = _unusable(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    outputs = ["-o", str(tmp_path / "out.mp4"), "--avatar", str(files["avatar"]), "--size", "32"] if mode == "video" else []
    result = animate(files, "--audio", str(audio), *outputs, "--motion-out", str(tmp_path / "m.safetensors"),
                     "--csv", str(tmp_path / "m.csv"), *(["--motion-only"] if mode == "motion" else []))
    one_line_error(result, UNUSABLE[case])
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no partial or temporary file
