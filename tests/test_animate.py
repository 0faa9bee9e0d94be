"""`emotalk animate` end to end through Typer's CliRunner, on a tiny random motion model and avatar."""

import numpy as np
import pytest
import soundfile
import torch
from typer.testing import CliRunner

from emotalk_cli import artifacts, facs
from emotalk_cli.audio.features import frame_count
from emotalk_cli.cli.app import app
from emotalk_cli.motion.denoiser import save_model
from emotalk_cli.motion.livelink import HEADER

from conftest import probe
from test_motion_model import tiny_model

runner = CliRunner()


def tiny_animate_files(folder, gaussians: int, seed: int) -> dict:
    """A tiny motion model and a small random-coloured avatar on the real head template, in `folder`."""
    weights = folder / "motion.safetensors"
    save_model(weights, tiny_model(window=16))
    from emotalk_cli.avatar import Avatar, save_avatar
    from emotalk_cli.rig import load_head_template
    from emotalk_cli.splats.binding import init_on_surface

    template = load_head_template()
    bound = init_on_surface(template.vertices, template.faces, total=gaussians, seed=seed)
    avatar = folder / "avatar.safetensors"
    save_avatar(avatar, Avatar(template, bound, torch.full((gaussians,), 0.9), torch.rand(gaussians, 1, 3), meta={}),
                {"command": "test"})
    return {"weights": weights, "avatar": avatar}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tiny_animate_files(tmp_path_factory.mktemp("animate"), 2000, seed=1)


def wav(path, seconds=0.72, rate=16_000, channels=1, fill=None, subtype=None):
    rng = np.random.default_rng(0)
    x = (0.2 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    if fill is not None:
        x = fill(x)
    soundfile.write(str(path), x, rate, subtype=subtype)
    return path


def animate(files, *args, input=None):
    return runner.invoke(app, ["animate", "--weights", str(files["weights"]), "--steps", "3", "--quiet", *args], input=input)


def test_help_has_examples():
    result = runner.invoke(app, ["animate", "--help"])
    assert result.exit_code == 0 and "Examples" in result.output and "emotalk animate" in result.output


def test_video_lasts_as_long_as_the_audio(tmp_path, files):
    audio = wav(tmp_path / "a.wav", seconds=0.72)
    result = animate(files, "--audio", str(audio), "--avatar", str(files["avatar"]), "--size", "32", "--au", "AU12=0.6")
    assert result.exit_code == 0, result.output
    info = probe(tmp_path / "a.mp4")  # default: next to the audio
    assert info["audio"] and info["size"] == (32, 32)
    assert abs(info["seconds"] - 0.72) <= 1 / 25 + 0.03


def test_motion_only_writes_motion_and_csv_but_no_video(tmp_path, files):
    audio = wav(tmp_path / "a.wav", seconds=1.3)
    result = animate(files, "--audio", str(audio), "--motion-only", "--motion-out", str(tmp_path / "m.safetensors"),
                     "--csv", str(tmp_path / "m.csv"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "a.mp4").exists()
    motion = artifacts.load_artifact(tmp_path / "m.safetensors", artifacts.MOTION)
    T = frame_count(1.3, 25)
    assert motion.tensors["arkit"].shape == (T, 52) and motion.meta["fps"] == 25
    lines = (tmp_path / "m.csv").read_text().splitlines()
    assert lines[0] == ",".join(HEADER) and len(lines) == T + 1


def test_silence_pad_zero_holds_the_mouth_at_rest_on_the_first_frame(tmp_path, files):
    audio = wav(tmp_path / "a.wav")  # noise from the first sample: "speech" at frame 0
    mouths = {}
    for pad in ("0", "2"):
        out = tmp_path / f"m{pad}.safetensors"
        result = animate(files, "--audio", str(audio), "--silence-pad", pad, "--motion-only", "--motion-out", str(out))
        assert result.exit_code == 0, result.output
        motion = artifacts.load_artifact(out, artifacts.MOTION)
        assert motion.meta["silence_pad"] == int(pad)
        mouths[pad] = motion.tensors["arkit"][:, facs.SPEECH_CHANNELS]
    assert mouths["0"][[0, -1]].abs().max() == 0
    assert mouths["2"][0].abs().max() > 0  # the default lets it move


def test_same_seed_same_motion(tmp_path, files):
    audio = wav(tmp_path / "a.wav")
    outs = []
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = animate(files, "--audio", str(audio), "--seed", seed, "--motion-only", "--motion-out", str(tmp_path / f"{name}.safetensors"))
        assert result.exit_code == 0, result.output
        outs.append(artifacts.load_artifact(tmp_path / f"{name}.safetensors", artifacts.MOTION).tensors)
    assert all(torch.equal(outs[0][k], outs[1][k]) for k in outs[0])
    assert not torch.equal(outs[0]["arkit"], outs[2]["arkit"])


def test_au_track_from_stdin(tmp_path, files):
    track = tmp_path / "au.safetensors"
    au = torch.zeros(2, facs.NUM_AUS)
    au[1, facs.AU_INDEX["AU12"]] = 0.8
    artifacts.save_artifact(track, artifacts.AU_TRACK, {"times": torch.tensor([0.0, 0.5]), "au": au}, {"command": "test"})
    audio = wav(tmp_path / "a.wav")
    result = animate(files, "--audio", str(audio), "--au-track", "-", "--motion-only", "--motion-out",
                     str(tmp_path / "m.safetensors"), input=track.read_bytes())
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.safetensors").is_file()


@pytest.mark.parametrize("case", ["silence", "clipped", "nan", "8k", "96k", "stereo"])
def test_awkward_audio_still_animates(tmp_path, files, case):
    kwargs = {
        "silence": dict(fill=lambda x: x * 0),
        "clipped": dict(fill=lambda x: np.clip(x * 40, -1, 1)),
        "nan": dict(fill=lambda x: np.where(np.arange(len(x))[:, None] % 5 == 0, np.nan, x), subtype="FLOAT"),
        "8k": dict(rate=8000),
        "96k": dict(rate=96000),
        "stereo": dict(channels=2),
    }[case]
    audio = wav(tmp_path / "a.wav", **kwargs)
    result = animate(files, "--audio", str(audio), "--motion-only", "--motion-out", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 0, result.output
    motion = artifacts.load_artifact(tmp_path / "m.safetensors", artifacts.MOTION)
    assert motion.tensors["arkit"].shape[0] == frame_count(0.72, 25)


def test_unusable_audio_is_one_line_error(tmp_path, files):
    short = wav(tmp_path / "short.wav", seconds=0.1)
    text = tmp_path / "text.wav"
    text.write_text("not audio")
    for path, message in ((short, "at least 0.2 s"), (text, "not a readable audio file"),
                          (tmp_path / "missing.wav", "no such audio file")):
        result = animate(files, "--audio", str(path), "--motion-only", "--motion-out", str(tmp_path / "m.safetensors"))
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("emotalk: error:") and message in lines[0]
        assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("args, message", [
    (["--steps", "30"], "--steps"),
    (["--au", "AU12=1", "--emotion", "happy"], "only one"),
    (["--motion-only"], "--motion-out"),
    (["--strength", "-1"], "--strength"),
    (["--lip-strength", "9"], "--lip-strength"),
    (["--lip-samples", "0"], "--lip-samples"),
    (["--silence-pad", "-1"], "--silence-pad"),
])
def test_usage_errors(tmp_path, files, args, message):
    audio = wav(tmp_path / "a.wav")
    result = animate(files, "--audio", str(audio), *args)
    assert result.exit_code == 2 and message in result.output


def test_existing_output_is_kept(tmp_path, files):
    audio = wav(tmp_path / "a.wav")
    (tmp_path / "m.safetensors").write_text("keep")
    result = animate(files, "--audio", str(audio), "--motion-only", "--motion-out", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 1 and "--force" in result.output
    assert (tmp_path / "m.safetensors").read_text() == "keep"


def test_bad_au_value(tmp_path, files):
    audio = wav(tmp_path / "a.wav")
    result = animate(files, "--audio", str(audio), "--au", "AU99=0.5", "--motion-only", "--motion-out", str(tmp_path / "m.safetensors"))
    assert result.exit_code == 1 and "unknown action unit" in result.output


@pytest.mark.skipif(not (artifacts.Path(__file__).resolve().parents[1] / "weights" / "text2au.safetensors").is_file(),
                    reason="needs weights/text2au.safetensors (make weights-text2au)")
def test_emotion_text_goes_through_text2au(tmp_path, files):
    audio = wav(tmp_path / "a.wav")
    result = animate(files, "--audio", str(audio), "--emotion", "furious", "--motion-only", "--motion-out",
                     str(tmp_path / "m.safetensors"))
    assert result.exit_code == 0, result.output
    meta = artifacts.load_artifact(tmp_path / "m.safetensors", artifacts.MOTION).meta
    assert meta["emotion"] == "furious" and meta["command"] == "animate"


def test_cli_defaults_are_the_library_defaults():
    """animate keeps copies of the sampler's defaults (so --help needs no torch import): they must agree."""
    from emotalk_cli.cli import animate as cli
    from emotalk_cli.motion import generate

    d = generate.GenerateOptions()
    assert (cli.LIP_SAMPLES, cli.SILENCE_PAD, cli.MAX_STEPS) == (d.lip_samples, d.silence_pad, generate.MAX_STEPS)
