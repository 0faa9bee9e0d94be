"""render.camera_path and `emotalk render --camera`: keyframes sampled as a per-frame loop would,
a one-keyframe path is exactly --yaw/--pitch, zoom brings the camera closer, the path sets a clip's
length, and a bad file is a one-line error with nothing written."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from emotalk_cli.cli.app import app
from emotalk_cli.errors import EmotalkError
from emotalk_cli.render.camera_path import camera_path_from_keyframes, load_camera_path, sample_camera_path

from conftest import EXAMPLES, probe

runner = CliRunner()


def sample_slow(keyframes: list[dict], t: float) -> tuple[float, float, float]:
    """One time: fill left-out fields from the previous keyframe, find the segment by walking, interpolate."""
    filled, current = [], {"yaw": 0.0, "pitch": 0.0, "zoom": 1.0}
    for key in keyframes:
        current = {**current, **key}
        filled.append(dict(current))
    if t <= filled[0]["time"]:
        a = b = filled[0]
    elif t >= filled[-1]["time"]:
        a = b = filled[-1]
    else:
        i = 0
        while filled[i + 1]["time"] <= t:
            i += 1
        a, b = filled[i], filled[i + 1]
    w = 0.0 if a is b else (t - a["time"]) / (b["time"] - a["time"])
    return tuple(a[name] + w * (b[name] - a[name]) for name in ("yaw", "pitch", "zoom"))


def test_sampling_matches_a_per_frame_walk():
    keyframes = [{"time": 0.5, "yaw": -30, "zoom": 0.8}, {"time": 1.0, "pitch": 12}, {"time": 2.25, "yaw": 40},
                 {"time": 4.0, "zoom": 1.6, "pitch": -5}]
    path = camera_path_from_keyframes(keyframes)
    times = torch.linspace(0, 5, 101)
    yaw, pitch, zoom = sample_camera_path(path, times)
    slow = torch.tensor([sample_slow(keyframes, float(t)) for t in times])
    assert torch.allclose(torch.stack([yaw, pitch, zoom], -1), slow.float(), atol=1e-5)
    assert yaw[0] == -30 and yaw[-1] == 40 and pitch[10] == 0  # held before the first keyframe, carried pitch 0


def test_a_single_keyframe_holds_still():
    path = camera_path_from_keyframes([{"time": 0, "yaw": 15, "pitch": -4, "zoom": 1.2}])
    yaw, pitch, zoom = sample_camera_path(path, torch.arange(5) / 25)
    assert (yaw == 15).all() and (pitch == -4).all() and torch.allclose(zoom, torch.full((5,), 1.2))


@pytest.mark.parametrize(
    "keyframes, message",
    [
        ([], "give a list of keyframes"),
        ({"time": 0}, "give a list of keyframes"),
        ([{"yaw": 10}], 'has no "time"'),
        ([{"time": 0, "roll": 3}], "unknown field(s) roll"),
        ([{"time": 0, "yaw": "left"}], "is not a finite number"),
        ([{"time": 0, "zoom": 0}], "must be positive"),
        ([{"time": 0, "pitch": 95}], "outside +-89"),
        ([{"time": -1}], "is negative"),
        ([{"time": 1}, {"time": 1}], "is not after the previous"),
    ],
)
def test_bad_keyframes_are_refused_with_the_fix(keyframes, message):
    with pytest.raises(EmotalkError) as error:
        camera_path_from_keyframes(keyframes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_file_may_be_a_bare_list(tmp_path):
    listed, wrapped = tmp_path / "a.json", tmp_path / "b.json"
    keyframes = [{"time": 0, "yaw": -10}, {"time": 1, "yaw": 10}]
    listed.write_text(json.dumps(keyframes))
    wrapped.write_text(json.dumps({"keyframes": keyframes}))
    a, b = load_camera_path(listed), load_camera_path(wrapped)
    assert torch.equal(a.yaw, b.yaw) and torch.equal(a.times, b.times)
    assert len(load_camera_path(EXAMPLES / "camera_path.json")) == 3  # the shipped example reads


def run(*args: str):
    return runner.invoke(app, ["render", *args, "--size", "64", "--quiet"])


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_one_keyframe_renders_exactly_as_yaw_and_pitch(tmp_path):
    camera = tmp_path / "still.json"
    camera.write_text(json.dumps({"keyframes": [{"time": 0, "yaw": 20, "pitch": 6}]}))
    by_path, by_options = tmp_path / "a.png", tmp_path / "b.png"
    assert run("--camera", str(camera), "-o", str(by_path)).exit_code == 0
    assert run("--yaw", "20", "--pitch", "6", "-o", str(by_options)).exit_code == 0
    assert np.array_equal(pixels(by_path), pixels(by_options))
    frontal = tmp_path / "c.png"
    assert run("-o", str(frontal)).exit_code == 0
    assert not np.array_equal(pixels(by_path), pixels(frontal))


def test_zoom_brings_the_camera_closer(tmp_path):
    areas = []
    for zoom in (1.0, 2.0):
        camera, out = tmp_path / f"z{zoom}.json", tmp_path / f"z{zoom}.png"
        camera.write_text(json.dumps([{"time": 0, "zoom": zoom}]))
        assert run("--camera", str(camera), "-o", str(out)).exit_code == 0
        areas.append(int((pixels(out).min(-1) < 240).sum()))  # non-white: the head
    assert areas[1] > 2.5 * areas[0]  # twice as close: about four times the area, less what leaves the frame


def test_the_path_sets_the_clip_length_and_moves_the_view(tmp_path):
    out = tmp_path / "turn.mp4"
    result = run("--camera", str(EXAMPLES / "camera_path.json"), "--fps", "10", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert probe(out)["frames"] == 30  # the example's last keyframe is at 3 s


@pytest.mark.parametrize(
    "content, extra, message",
    [
        ("{not json", [], "is not valid JSON"),
        ('{"frames": []}', [], "unknown field(s) frames"),
        ('[{"time": 0, "zoom": -1}]', [], "must be positive"),
        ('[{"time": 0}]', ["--yaw", "10"], "leave out --yaw"),
    ],
)
def test_a_bad_camera_path_is_one_line_and_writes_nothing(tmp_path, content, extra, message):
    camera = tmp_path / "path.json"
    camera.write_text(content)
    out = tmp_path / "out.mp4"
    result = run("--camera", str(camera), *extra, "-o", str(out))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:") and message in lines[0], result.output
    assert not out.exists()


def test_a_missing_camera_path_is_one_line(tmp_path):
    result = run("--camera", str(tmp_path / "nowhere.json"), "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1 and "not found" in result.output and len(result.output.strip().splitlines()) == 1
