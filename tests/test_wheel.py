"""The wheel works alone: built from this checkout, installed into a fresh venv, run where the
checkout cannot be reached, every command finds its weights and models inside the package.

The fresh venv borrows the project venv's third-party packages through a .pth line (installing torch
again would take minutes and gigabytes); a plain path line does not run the .pth files of that folder,
so the checkout's editable install stays out. The test asserts that emotalk_cli is imported from the
new venv and that weights come from its package folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT, probe

pytestmark = pytest.mark.slow


def _run(args, cwd, env, timeout=600):
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """(emotalk script, python, env, a working folder outside the checkout)."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = dist.glob("emotalk-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=600)
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "zz_project_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")  # third-party packages only
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "EMOTALK_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    work = base / "elsewhere"
    work.mkdir()
    return venv / "bin" / "emotalk", python, env, work


def test_the_package_and_its_weights_come_from_the_wheel(wheel_venv):
    emotalk, python, env, work = wheel_venv
    where = _run([str(python), "-c", "import emotalk_cli, emotalk_cli.resources as r; print(emotalk_cli.__file__); print(r.weights_dir())"],
                 work, env).stdout.split()
    venv = python.parent.parent
    assert Path(where[0]).is_relative_to(venv) and not Path(where[0]).is_relative_to(ROOT / "src")
    assert Path(where[1]) == Path(where[0]).parent / "weights"
    for name in ("default_avatar.safetensors", "motion.safetensors", "text2au.safetensors", "lexicon.safetensors",
                 "head_template.safetensors", "landmark_map.safetensors", "face_landmarker.task", "NOTICE",
                 "lexicon.LICENSE", "face_landmarker.LICENSE"):
        assert (Path(where[1]) / name).is_file(), name
    report = json.loads(_run([str(emotalk), "doctor", "--json"], work, env).stdout)
    assert report["ok"] is True


def test_all_four_commands_run_from_the_wheel(wheel_venv, tone_wav):
    emotalk, _python, env, work = wheel_venv
    au = json.loads(_run([str(emotalk), "text2au", "gently amused", "--json", "--quiet"], work, env).stdout)
    assert len(au["keyframes"][0]["au"]) == 24 and au["keyframes"][0]["au"]["AU12"] > 0.1
    _run([str(emotalk), "render", "--au", "AU12=0.8", "--size", "64", "-o", "smile.png", "--quiet"], work, env)
    assert (work / "smile.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _run([str(emotalk), "animate", "--audio", str(tone_wav), "--emotion", "happy", "--size", "64", "--steps", "2",
          "--lip-samples", "1", "-o", "talk.mp4", "--quiet"], work, env)
    info = probe(work / "talk.mp4")
    assert info["audio"] and info["size"] == (64, 64) and info["frames"] >= 30
    import skimage

    portrait = Path(skimage.__file__).parent / "data" / "astronaut.png"
    _run([str(emotalk), "fit-avatar", "--image", str(portrait), "--iterations", "5", "--gaussians", "2000",
          "-o", "me.safetensors", "--quiet"], work, env)
    _run([str(emotalk), "render", "--avatar", "me.safetensors", "--size", "64", "-o", "me.png", "--quiet"], work, env)
    assert (work / "me.png").stat().st_size > 100
