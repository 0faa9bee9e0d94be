"""`rasterize()`: render 3D Gaussians into pinhole cameras with one of three interchangeable backends.

Every backend follows `gsplat.rasterization(..., packed=False, near_plane=0.01, far_plane=1e10,
eps2d=0.3, radius_clip=0, rasterize_mode="classic", camera_model="pinhole")` of gsplat 1.5.3:

- "gsplat": gsplat's CUDA kernels (CUDA tensors only);
- "cpu": our numba rasterizer (`cpu_fast.py`), differentiable, matches the reference to ~1e-5;
- "reference": plain torch (`reference.py`), slow, differentiable by autograd: the yardstick;
- "auto": "gsplat" for CUDA tensors where its kernels build (gsplat_backend.gsplat_status), else "cpu".

Commands choose their backend up front with `resolve_backend`, so a machine where gsplat cannot
compile gets one warning and CPU frames, never a compiler traceback.
"""

from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import Tensor

from emotalk_cli.errors import RenderError
from emotalk_cli.render.sh import MAX_SH_DEGREE

BACKENDS = ("auto", "gsplat", "cpu", "reference")


class RasterizeInputError(RenderError, ValueError):
    """Bad arguments to `rasterize` (a ValueError for library callers, a RenderError for the CLI)."""


def resolve_backend(backend: str, device: torch.device | str,
                    note: Callable[[str], None] | None = None) -> tuple[str, str | None]:
    """The backend frames rendered on `device` will use, and a warning when gsplat's fast path is lost.

    auto: gsplat on a CUDA device when its kernels load or build (`note` hears of a first build), else
    "cpu" with a warning that says why and how to get the fast path; cpu and reference as asked.
    gsplat asked for explicitly where it cannot run raises RenderError with the fix."""
    if backend not in BACKENDS:
        raise RasterizeInputError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend in ("cpu", "reference"):
        return backend, None
    if torch.device(device).type != "cuda":
        if backend == "gsplat":
            raise RenderError("--backend gsplat needs a CUDA GPU (--device cuda): use --backend cpu, or auto")
        return "cpu", None
    from emotalk_cli.render.gsplat_backend import gsplat_status

    status = gsplat_status(note)
    if status.usable:
        return "gsplat", None
    if backend == "gsplat":
        raise RenderError(f"--backend gsplat: {status.reason}; to use it, {status.fix}; or pass --backend cpu")
    return "cpu", (f"{status.reason}, so frames come from the CPU rasterizer (slower); "
                   f"for gsplat's fast path, {status.fix}")


def _check_shape(name: str, t: Tensor, expected: tuple[int | None, ...], hint: str) -> None:
    if not isinstance(t, Tensor):
        raise RasterizeInputError(f"{name} must be a torch.Tensor {hint}, got {type(t).__name__}")
    ok = t.dim() == len(expected) and all(e is None or e == s for e, s in zip(expected, t.shape))
    if not ok:
        raise RasterizeInputError(f"{name} must have shape {hint}, got {list(t.shape)}")


def _validate(means, quats, scales, opacities, colors, viewmats, Ks, width, height, sh_degree, background, backend):
    if backend not in BACKENDS:
        raise RasterizeInputError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise RasterizeInputError(f"{name} must be a positive int, got {v!r}")
    _check_shape("means", means, (None, 3), "[N, 3]")
    n = means.shape[0]
    _check_shape("quats", quats, (n, 4), f"[N={n}, 4]")
    _check_shape("scales", scales, (n, 3), f"[N={n}, 3]")
    _check_shape("opacities", opacities, (n,), f"[N={n}]")
    if sh_degree is None:
        _check_shape("colors", colors, (n, 3), f"[N={n}, 3] (RGB; pass sh_degree for SH coefficients)")
    else:
        if isinstance(sh_degree, bool) or not isinstance(sh_degree, int) or not 0 <= sh_degree <= MAX_SH_DEGREE:
            raise RasterizeInputError(f"sh_degree must be an int in 0..{MAX_SH_DEGREE} or None, got {sh_degree!r}")
        k = (sh_degree + 1) ** 2
        _check_shape("colors", colors, (n, None, 3), f"[N={n}, K>={k}, 3] (SH coefficients)")
        if colors.shape[1] < k:
            raise RasterizeInputError(f"colors must have shape [N={n}, K>={k}, 3] for sh_degree {sh_degree}, got {list(colors.shape)}")
    _check_shape("viewmats", viewmats, (None, 4, 4), "[C, 4, 4]")
    c = viewmats.shape[0]
    if c == 0:
        raise RasterizeInputError("viewmats must hold at least one camera, got shape [0, 4, 4]")
    _check_shape("Ks", Ks, (c, 3, 3), f"[C={c}, 3, 3]")
    if background is not None:
        _check_shape("background", background, (3,), "[3]")
    tensors = [means, quats, scales, opacities, colors, viewmats, Ks] + ([] if background is None else [background])
    if len({t.device for t in tensors}) != 1:
        raise RasterizeInputError(f"all tensors must be on one device, got {sorted({str(t.device) for t in tensors})}")
    if any(not t.is_floating_point() for t in tensors):
        raise RasterizeInputError("all tensors must be floating point")


def rasterize(
    means: Tensor,  # [N, 3] world positions
    quats: Tensor,  # [N, 4] rotations (w, x, y, z), any norm (normalised inside)
    scales: Tensor,  # [N, 3] linear standard deviations
    opacities: Tensor,  # [N] in [0, 1]
    colors: Tensor,  # [N, 3] RGB, or [N, K, 3] SH coefficients when sh_degree is given
    viewmats: Tensor,  # [C, 4, 4] world-to-camera, OpenCV convention (x right, y down, z forward)
    Ks: Tensor,  # [C, 3, 3] pinhole intrinsics
    width: int,
    height: int,
    sh_degree: int | None = None,  # as gsplat: colours = clamp_min(SH(dirs) + 0.5, 0)
    background: Tensor | None = None,  # [3], added as T * background
    backend: str = "auto",  # "auto" (gsplat on CUDA tensors, else "cpu"), "gsplat", "cpu", "reference"
) -> tuple[Tensor, Tensor]:  # rgb [C, H, W, 3], alpha [C, H, W, 1]
    """Render N Gaussians into C cameras; differentiable w.r.t. the Gaussians and viewmats.

    Raises RasterizeInputError (a ValueError) on bad shapes, devices or options.
    """
    _validate(means, quats, scales, opacities, colors, viewmats, Ks, width, height, sh_degree, background, backend)
    if backend == "auto":
        backend, warning = resolve_backend("auto", means.device)
        if warning:
            warnings.warn(warning, RuntimeWarning, stacklevel=2)
    args = (means, quats, scales, opacities, colors, viewmats, Ks, width, height)

    if backend == "gsplat":
        if not means.is_cuda:
            raise RasterizeInputError(f"backend 'gsplat' needs CUDA tensors, got {means.device}: use backend 'cpu'")
        from emotalk_cli.render.gsplat_backend import rasterize_gsplat

        return rasterize_gsplat(*args, sh_degree=sh_degree, background=background)

    # CPU backends: compute on the CPU, hand results back on the inputs' device (autograd-friendly).
    device = means.device
    if device.type != "cpu":
        args = tuple(a.cpu() if isinstance(a, Tensor) else a for a in args)
        background = None if background is None else background.cpu()
    if backend == "cpu":
        from emotalk_cli.render.cpu_fast import rasterize_cpu as impl
    else:
        from emotalk_cli.render.reference import rasterize_reference as impl
    rgb, alpha = impl(*args, sh_degree=sh_degree, background=background)
    return rgb.to(device), alpha.to(device)


__all__ = ["BACKENDS", "RasterizeInputError", "rasterize", "resolve_backend"]
