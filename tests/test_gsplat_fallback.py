"""A GPU machine where gsplat's kernels cannot be built still renders: one warning and CPU frames.

Each failure is simulated on this CPU machine by replacing one probe of render/gsplat_backend.py
(the GPU itself, the toolkit, the compiler, the build) and running the real resolution and, through
the CLI, a real render whose frames must equal the plain CPU render's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from emotalk_cli.cli.app import app
from emotalk_cli.errors import RenderError
from emotalk_cli.render import gsplat_backend as gb
from emotalk_cli.render.rasterize import resolve_backend


def _build_fails():
    raise RuntimeError("Error building extension 'gsplat_cuda': nvcc fatal : Unsupported gpu architecture 'compute_90'")


FAILURES = {  # name -> (probe to replace, its stand-in, words the warning must say)
    "no toolkit": ("cuda_home", lambda: None, "no CUDA toolkit (nvcc)"),
    "no compiler": ("cxx_compiler", lambda: None, "no C++ compiler"),
    "build error": ("_load_kernels", _build_fails, "Unsupported gpu architecture"),
    "no kernels": ("_load_kernels", lambda: None, "could not load its CUDA kernels"),
}


@pytest.fixture
def gpu_machine(monkeypatch):
    """A machine that claims a CUDA GPU, with the toolkit and a compiler, and kernels not built yet."""
    monkeypatch.setattr(gb, "_status", None)
    monkeypatch.setattr(gb, "_cuda_available", lambda: True)
    monkeypatch.setattr(gb, "prebuilt", lambda: False)
    monkeypatch.setattr(gb, "cuda_home", lambda: Path("/usr/local/cuda"))
    monkeypatch.setattr(gb, "cxx_compiler", lambda: "/usr/bin/c++")
    monkeypatch.setattr(gb, "kernels_built", lambda: False)
    return monkeypatch


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_each_failure_falls_back_to_the_cpu_with_the_reason_and_the_fix(gpu_machine, failure):
    probe, stand_in, words = FAILURES[failure]
    gpu_machine.setattr(gb, probe, stand_in)
    backend, warning = resolve_backend("auto", "cuda")
    assert backend == "cpu"
    assert words in warning and "CPU rasterizer" in warning and "CUDA_HOME" in warning
    with pytest.raises(RenderError, match="--backend gsplat: .*--backend cpu"):
        resolve_backend("gsplat", "cuda")


def test_a_first_build_is_announced_once_and_the_answer_kept(gpu_machine):
    built = []
    gpu_machine.setattr(gb, "_load_kernels", lambda: built.append(1) or object())
    notes = []
    assert resolve_backend("auto", "cuda", note=notes.append) == ("gsplat", None)
    assert resolve_backend("gsplat", "cuda", note=notes.append) == ("gsplat", None)
    assert len(built) == 1 and len(notes) == 1 and "building gsplat's CUDA kernels, once" in notes[0]


def test_cpu_devices_and_explicit_cpu_backends_never_probe(monkeypatch):
    def boom():
        raise AssertionError("probed")

    monkeypatch.setattr(gb, "_status", None)
    monkeypatch.setattr(gb, "_cuda_available", boom)
    assert resolve_backend("auto", "cpu") == ("cpu", None)
    assert resolve_backend("cpu", "cuda") == ("cpu", None)
    assert resolve_backend("reference", "cuda") == ("reference", None)
    with pytest.raises(RenderError, match="needs a CUDA GPU"):
        resolve_backend("gsplat", "cpu")


def test_gsplat_stdout_goes_to_stderr(gpu_machine, capsys):
    """gsplat prints its build messages with rich on stdout, which may be the user's video stream."""
    import sys
    import types

    fake = types.ModuleType("gsplat.cuda._backend")
    gpu_machine.setitem(sys.modules, "gsplat.cuda._backend", fake)

    def noisy_import(name):
        print("gsplat: Setting up CUDA (This may take a few minutes the first time)")
        fake._C = object()
        return fake

    gpu_machine.setattr(gb.importlib, "import_module", noisy_import)
    assert gb._load_kernels() is fake._C
    out, err = capsys.readouterr()
    assert out == "" and "Setting up CUDA" in err


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_render_on_a_broken_gpu_machine_warns_once_and_matches_the_cpu_frames(gpu_machine, failure, tmp_path):
    probe, stand_in, words = FAILURES[failure]
    gpu_machine.setattr(gb, probe, stand_in)
    gpu_machine.setattr(torch.cuda, "is_available", lambda: True)  # --device auto picks cuda
    runner = CliRunner()
    result = runner.invoke(app, ["render", "--au", "AU12=0.8", "--size", "64", "-o", str(tmp_path / "gpu.png")])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("emotalk: warning:")]
    assert len(warnings) == 1 and words in warnings[0], result.stderr
    result = runner.invoke(app, ["render", "--au", "AU12=0.8", "--size", "64", "--backend", "gsplat", "--device", "cuda",
                                 "-o", str(tmp_path / "no.png")])
    assert result.exit_code == 1 and not (tmp_path / "no.png").exists()
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("emotalk: error: --backend gsplat: ") and words in line and "--backend cpu" in line
    gpu_machine.setattr(torch.cuda, "is_available", lambda: False)
    plain = runner.invoke(app, ["render", "--au", "AU12=0.8", "--size", "64", "--device", "cpu", "-o", str(tmp_path / "cpu.png")])
    assert plain.exit_code == 0 and "warning" not in plain.stderr
    assert (tmp_path / "gpu.png").read_bytes() == (tmp_path / "cpu.png").read_bytes()
