import json

import pytest
import torch
from safetensors.torch import save_file

from emotalk_cli import artifacts, facs
from emotalk_cli.errors import ArtifactError


def motion_tensors(frames: int = 10) -> dict[str, torch.Tensor]:
    return {
        "arkit": torch.rand(frames, 52),
        "head_rotation": torch.zeros(frames, 3),
        "head_translation": torch.zeros(frames, 3),
        "gaze": torch.zeros(frames, 2),
    }


def test_round_trip_keeps_tensors_and_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    tensors = motion_tensors()
    artifacts.save_artifact(path, artifacts.MOTION, tensors, {"command": "test", "fps": 25.0})
    loaded = artifacts.load_artifact(path, artifacts.MOTION)
    for name, tensor in tensors.items():
        assert torch.equal(loaded.tensors[name], tensor)
    assert loaded.meta["fps"] == 25.0
    assert loaded.meta["command"] == "test"
    assert "emotalk_version" in loaded.meta


def test_existing_file_is_kept_without_overwrite(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"precious")
    with pytest.raises(ArtifactError, match="already exists: pass --force"):
        artifacts.save_artifact(path, artifacts.MOTION, motion_tensors(), {})
    assert path.read_bytes() == b"precious"
    artifacts.save_artifact(path, artifacts.MOTION, motion_tensors(), {}, overwrite=True)
    assert artifacts.load_artifact(path, artifacts.MOTION).tensors["arkit"].shape == (10, 52)


def test_failed_write_leaves_nothing(tmp_path):
    bad = motion_tensors()
    bad["arkit"][3, 4] = float("nan")
    with pytest.raises(ArtifactError, match="NaN"):
        artifacts.save_artifact(tmp_path / "m.safetensors", artifacts.MOTION, bad, {})
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_removes_temp_on_error(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with artifacts.atomic_output(target) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_one_line_error(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        artifacts.save_artifact(tmp_path / "no" / "m.safetensors", artifacts.MOTION, motion_tensors(), {})


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.pop("gaze"), "missing tensor"),
        (lambda t: t.__setitem__("arkit", torch.rand(10, 51)), "expected \\[.T., 52\\]"),
        (lambda t: t.__setitem__("gaze", torch.zeros(9, 2)), "size T is 9 here"),
        (lambda t: t.__setitem__("arkit", torch.full((10, 52), 2.0)), "expected \\[0.0, 1.0\\]"),
        (lambda t: t.__setitem__("extra", torch.zeros(1)), "unexpected tensor"),
    ],
)
def test_validation_names_the_problem(tmp_path, mutate, message):
    tensors = motion_tensors()
    mutate(tensors)
    path = tmp_path / "m.safetensors"
    metadata = {"format": "emotalk.motion", "version": "1", "meta": json.dumps({})}
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ArtifactError, match=message) as caught:
        artifacts.load_artifact(path, artifacts.MOTION)
    assert "\n" not in str(caught.value)
    assert "emotalk animate" in str(caught.value)  # names the command that makes a right file


def test_wrong_format_and_version_and_garbage(tmp_path):
    path = tmp_path / "a.safetensors"
    artifacts.save_artifact(path, artifacts.AU_TRACK, {"times": torch.zeros(1), "au": torch.zeros(1, facs.NUM_AUS)}, {})
    with pytest.raises(ArtifactError, match="expected a emotalk.motion file but it is a emotalk.au_track file"):
        artifacts.load_artifact(path, artifacts.MOTION)
    save_file(motion_tensors(), str(path), metadata={"format": "emotalk.motion", "version": "99"})
    with pytest.raises(ArtifactError, match="version 99 is not supported"):
        artifacts.load_artifact(path, artifacts.MOTION)
    path.write_bytes(b"this is not safetensors")
    with pytest.raises(ArtifactError, match="not a readable safetensors file"):
        artifacts.load_artifact(path, artifacts.MOTION)
    with pytest.raises(ArtifactError, match="no such file"):
        artifacts.load_artifact(tmp_path / "missing.safetensors", artifacts.MOTION)


def test_empty_track_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="empty"):
        artifacts.save_artifact(tmp_path / "m.safetensors", artifacts.MOTION, motion_tensors(0), {})
