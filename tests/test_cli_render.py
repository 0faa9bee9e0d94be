"""`emotalk render` end to end through Typer's CliRunner: outputs, exit codes and one-line errors."""

import numpy as np
import pytest
import soundfile
import torch
from typer.testing import CliRunner

from emotalk_cli import artifacts
from emotalk_cli.cli.app import app
from emotalk_cli.splats.ply import save_ply

from conftest import EXAMPLES, probe, small_splats

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def scene(tmp_path):
    path = tmp_path / "scene.ply"
    save_ply(path, small_splats(300))
    return path


def test_still_png(tmp_path, scene):
    out = tmp_path / "still.png"
    result = run("render", "--avatar", str(scene), "-o", str(out), "--size", "64", "--quiet")
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")


def test_video_with_audio_lasts_as_long_as_the_audio(tmp_path, scene, tone_wav):
    out = tmp_path / "v.mp4"
    result = run("render", "--avatar", str(scene), "--audio", str(tone_wav), "-o", str(out), "--size", "64",
                 "--fps", "20", "--orbit", "90", "--quiet")
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert info["audio"] and info["size"] == (64, 64)
    assert info["seconds"] == pytest.approx(1.3, abs=1 / 20 + 0.03)


def test_motion_sets_length_and_moves_the_head(tmp_path, scene):
    out = tmp_path / "v.mp4"
    result = run("render", "--avatar", str(scene), "--motion", str(EXAMPLES / "nod.safetensors"), "-o", str(out),
                 "--size", "64", "--quiet")
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert info["frames"] == 100 and not info["audio"]


def test_head_pose_changes_the_picture(tmp_path, scene):
    from emotalk_cli.render.frames import ViewOptions, render_scene
    from emotalk_cli.splats.ply import load_ply

    splats = load_ply(scene)
    view = ViewOptions(width=64, height=64)
    still = next(render_scene(splats, view, 1))
    turned = next(render_scene(splats, view, 1, torch.tensor([[0.0, 0.8, 0.0]]), torch.zeros(1, 3)))
    same = next(render_scene(splats, view, 1, torch.zeros(1, 3), torch.zeros(1, 3)))
    assert np.array_equal(still, same)
    assert np.abs(still.astype(int) - turned.astype(int)).mean() > 1.0


def test_existing_output_needs_force(tmp_path, scene):
    out = tmp_path / "still.png"
    out.write_bytes(b"keep me")
    result = run("render", "--avatar", str(scene), "-o", str(out), "--size", "64")
    assert result.exit_code == 1
    assert "already exists: pass --force" in result.output
    assert out.read_bytes() == b"keep me"
    result = run("render", "--avatar", str(scene), "-o", str(out), "--size", "64", "--force", "--quiet")
    assert result.exit_code == 0 and out.read_bytes().startswith(b"\x89PNG")


def bad_inputs(tmp_path, scene):
    nan_scene = tmp_path / "nan.ply"
    splats = small_splats(10)
    splats.scales[0, 0] = float("nan")
    save_ply(nan_scene, splats)
    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    wrong_file = tmp_path / "au.safetensors"
    artifacts.save_artifact(wrong_file, artifacts.AU_TRACK, {"times": torch.zeros(1), "au": torch.zeros(1, 24)}, {})
    silent = tmp_path / "empty.wav"
    soundfile.write(str(silent), np.zeros(0), 16000)
    return [
        (["--avatar", str(tmp_path / "missing.ply")], "no such file"),
        (["--avatar", str(nan_scene)], "NaN"),
        (["--avatar", str(text)], "unknown scene type"),
        (["--audio", str(text)], "not a readable audio file"),
        (["--audio", str(silent)], "empty"),
        (["--motion", str(wrong_file)], "expected a emotalk.motion file"),
        (["--size", "63"], "odd"),
        (["--size", "0"], "empty"),
        (["--fps", "0"], "out of range"),
        (["--background", "purple"], "--background"),
        (["--backend", "opengl"], "unknown --backend"),
        (["--up", "x"], "unknown up axis"),
        (["--fov", "200"], "field of view"),
        (["-o", str(tmp_path / "out.gif")], "unknown output type"),
        (["-o", str(tmp_path / "no_such_dir" / "out.mp4")], "does not exist"),
    ]


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, scene):
    for extra, message in bad_inputs(tmp_path, scene):
        before = sorted(p.name for p in tmp_path.rglob("*"))
        args = ["render", "--avatar", str(scene), "-o", str(tmp_path / "out.mp4"), "--quiet"]
        # later options override earlier ones in click, so the bad value wins
        result = run(*args, *extra)
        assert result.exit_code == 1, (extra, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("emotalk: error:"), (extra, result.output)
        assert message in lines[0], (extra, lines[0])
        assert sorted(p.name for p in tmp_path.rglob("*")) == before, extra


def test_every_command_has_help_with_examples():
    result = run("--help")
    assert result.exit_code == 0
    commands = [c.name for c in app.registered_commands]
    assert "render" in commands
    for name in commands:
        result = run(name, "--help")
        assert result.exit_code == 0, name
        assert "Examples" in result.output and "emotalk " + name in result.output, name


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and result.output.startswith("emotalk ")


def test_default_avatar_with_expression(tmp_path):
    out = tmp_path / "smile.png"
    result = run("render", "--au", "AU12=0.8,AU6=0.6", "-o", str(out), "--size", "64", "--quiet")
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "option, message",
    [
        (["--au", "AU99=1"], "unknown action unit"),
        (["--au", "AU12"], "write NAME=VALUE pairs"),
        (["--au", "AU12=1.5"], "intensities go from 0 to 1"),
        (["--arkit", "smile=1"], "unknown ARKit blendshape"),
    ],
)
def test_bad_expression_is_one_line(tmp_path, option, message):
    result = run("render", *option, "-o", str(tmp_path / "x.png"), "--quiet")
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_expression_on_a_static_scene_is_refused(tmp_path, scene):
    result = run("render", "--avatar", str(scene), "--au", "AU12=1", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1 and "not a rigged avatar" in result.output


def test_ply_export_of_the_avatar_opens_as_a_scene(tmp_path):
    from emotalk_cli.splats.ply import load_ply

    out = tmp_path / "avatar.ply"
    result = run("render", "--arkit", "jawOpen=1", "-o", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    splats = load_ply(out)
    assert len(splats) > 1000
    still = tmp_path / "still.png"
    assert run("render", "--avatar", str(out), "-o", str(still), "--size", "64", "--quiet").exit_code == 0
