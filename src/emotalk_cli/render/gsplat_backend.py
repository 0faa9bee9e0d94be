"""CUDA rasterization through gsplat 1.5.3, and whether its kernels can run here.

gsplat ships CUDA sources, not binaries: on first use it JIT-compiles them with the CUDA toolkit's
nvcc and a C++ compiler, which a GPU machine with torch from pip often lacks. `gsplat_status()`
finds out once per process, before any frame, what stands in the way (no GPU, gsplat missing, no
toolkit, no compiler, a failed build) and how to fix it; `render.rasterize.resolve_backend` turns
that into gsplat, or our CPU rasterizer with one warning. gsplat's own messages (it prints with
rich on stdout, which may be the user's video stream) are sent to stderr.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from torch import Tensor

KERNELS = "gsplat_cuda"  # the JIT extension's name (gsplat/cuda/_backend.py)
FAST_PATH = ("install the CUDA toolkit that matches torch's CUDA {cuda} (its nvcc) and a C++ compiler, "
             "and set CUDA_HOME to the toolkit's folder; or install a prebuilt gsplat wheel")


@dataclass(frozen=True)
class GsplatStatus:
    usable: bool
    reason: str  # why not ("" when usable)
    fix: str  # how to get the fast path ("" when usable)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _fix() -> str:
    import torch

    return FAST_PATH.format(cuda=torch.version.cuda or "(none: a CPU build of torch)")


def cuda_home() -> Path | None:
    """The CUDA toolkit's folder (the one whose bin/ holds nvcc), as torch's extension builder finds it."""
    from torch.utils.cpp_extension import _find_cuda_home

    home = _find_cuda_home()
    if home and (Path(home) / "bin" / "nvcc").is_file():
        return Path(home)
    nvcc = shutil.which("nvcc")
    return Path(nvcc).resolve().parent.parent if nvcc else None


def cxx_compiler() -> str | None:
    """The C++ compiler torch's extension builder will call ($CXX, else c++), or None."""
    return shutil.which(os.environ.get("CXX", "c++"))


def prebuilt() -> bool:
    """gsplat installed with compiled kernels (a wheel built ahead: `gsplat.csrc`)."""
    try:
        return importlib.util.find_spec("gsplat.csrc") is not None
    except ImportError:
        return False


def build_folder() -> Path:
    """Where torch caches the JIT-built kernels (~/.cache/torch_extensions/<python>_<cuda>/gsplat_cuda)."""
    from torch.utils.cpp_extension import _get_build_directory

    return Path(_get_build_directory(KERNELS, verbose=False))


def kernels_built() -> bool:
    return prebuilt() or (build_folder() / f"{KERNELS}.so").is_file()


def _load_kernels() -> object:
    """Import gsplat's compiled module, building it when needed; its stdout goes to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        backend = importlib.import_module("gsplat.cuda._backend")
    return backend._C


_status: GsplatStatus | None = None  # gsplat_status()'s answer, once per process


def gsplat_status(note: Callable[[str], None] | None = None) -> GsplatStatus:
    """Can gsplat rasterize on this machine? Checked once per process (a build runs at most once).

    `note` receives a progress line before a first build ("building gsplat's CUDA kernels, once, ...")."""
    global _status
    if _status is None:
        _status = _probe(note)
    return _status


def _probe(note: Callable[[str], None] | None) -> GsplatStatus:
    if not _cuda_available():
        return GsplatStatus(False, "no CUDA GPU is visible", "run on a machine with an NVIDIA GPU and its driver")
    if importlib.util.find_spec("gsplat") is None:
        return GsplatStatus(False, "gsplat is not installed", "pip install gsplat==1.5.3 packaging")
    if not prebuilt():
        if cuda_home() is None:
            return GsplatStatus(False, "gsplat must compile its CUDA kernels but no CUDA toolkit (nvcc) was found", _fix())
        if cxx_compiler() is None:
            return GsplatStatus(False, "gsplat must compile its CUDA kernels but no C++ compiler (c++ or $CXX) was found",
                                _fix())
        if not kernels_built() and note is not None:
            note(f"building gsplat's CUDA kernels, once, a few minutes (kept in {build_folder()})")
    try:
        compiled = _load_kernels()
    except Exception as err:  # noqa: BLE001 - a compiler's failure has many types; all of them mean "no fast path"
        first = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
        return GsplatStatus(False, f"building gsplat's CUDA kernels failed ({first[:200]})", _fix())
    if compiled is None:
        return GsplatStatus(False, "gsplat could not load its CUDA kernels", _fix())
    return GsplatStatus(True, "", "")


def rasterize_gsplat(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [N, 3] or [N, K, 3] with sh_degree
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    sh_degree: int | None = None,
    background: Tensor | None = None,  # [3]
) -> tuple[Tensor, Tensor]:
    """gsplat.rasterization with the settings every backend shares: -> rgb [C, H, W, 3], alpha [C, H, W, 1]."""
    import gsplat

    backgrounds = None if background is None else background[None].expand(viewmats.shape[0], -1).contiguous()
    rgb, alpha, _meta = gsplat.rasterization(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height,
        near_plane=0.01, far_plane=1e10, radius_clip=0.0, eps2d=0.3, sh_degree=sh_degree,
        packed=False, tile_size=16, backgrounds=backgrounds, render_mode="RGB",
        rasterize_mode="classic", camera_model="pinhole",
    )  # fmt: skip
    return rgb, alpha
