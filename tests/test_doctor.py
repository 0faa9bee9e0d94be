"""`emotalk doctor`: every check printed, exit 0 here; a broken installation exits 1 with the reason."""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from emotalk_cli.cli.app import app
from emotalk_cli.doctor import WEIGHTS, diagnose, problems
from emotalk_cli.resources import ENV_WEIGHTS, weights_dir


def test_doctor_passes_on_this_installation():
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    for name in [*WEIGHTS, "torch", "gsplat", "numba", "mediapipe", "libx264", "libvpx-vp9", "prores_ks"]:
        assert name in result.stdout, name
    assert "[  ok] cpu" in result.stdout  # our rasterizer drew a Gaussian
    assert "gsplat" in result.stdout and "threads" in result.stdout


def test_doctor_json_lists_every_check():
    result = CliRunner().invoke(app, ["doctor", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["ok"] is True
    names = {c["name"] for c in report["checks"]}
    assert set(WEIGHTS) <= names and {"cpu", "reference", "gsplat", "mp4", "webm", "mov"} <= names


def test_doctor_fails_with_the_reason_when_weights_are_missing(tmp_path, monkeypatch):
    for name in WEIGHTS:  # all but the motion model
        if name != "motion.safetensors":
            shutil.copyfile(weights_dir() / name, tmp_path / name)
    (tmp_path / "lexicon.safetensors").write_bytes(b"not a safetensors file")
    monkeypatch.setenv(ENV_WEIGHTS, str(tmp_path))
    failed = {c.name: c.detail for c in problems(diagnose())}
    assert set(failed) == {"motion.safetensors", "lexicon.safetensors"}
    assert "make weights-motion" in failed["motion.safetensors"] and "unreadable" in failed["lexicon.safetensors"]
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("emotalk: error:")]
    assert "motion.safetensors: missing" in line
