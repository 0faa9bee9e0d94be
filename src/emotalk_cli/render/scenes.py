"""Synthetic Gaussian scenes for tests and benchmarks."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def head_scene(n: int, width: int = 512, height: int = 512, seed: int = 0, fov_deg: float = 28.0) -> dict[str, Tensor | int]:
    """A head-like cloud of n Gaussians and one camera, as `rasterize(**scene)` keyword arguments.

    Gaussians sit in a 1 cm shell (85%) and inside (15%) an ellipsoid of radii 8 x 11 x 9.5 cm
    (x, y, z) at the origin; scales 2-6 mm (log-uniform), random rotations, opacities 0.3-1,
    skin-like colours. The camera looks along +z from 0.55 m with a `fov_deg` horizontal field of
    view, so the head fills about 60% of a square frame.
    """
    g = torch.Generator().manual_seed(seed)
    radii = torch.tensor([0.08, 0.11, 0.095])
    dirs = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    depth = torch.rand(n, generator=g)
    inner = torch.rand(n, generator=g) < 0.15
    shell = 1.0 - 0.1 * depth  # within ~1 cm of the surface
    r = torch.where(inner, depth.pow(1 / 3), shell)
    means = dirs * r[:, None] * radii
    scales = torch.exp(torch.empty(n, 3).uniform_(math.log(0.002), math.log(0.006), generator=g))
    quats = torch.randn(n, 4, generator=g)
    opacities = 0.3 + 0.7 * torch.rand(n, generator=g)
    skin = torch.tensor([0.85, 0.62, 0.5])
    colors = (skin + 0.12 * torch.randn(n, 3, generator=g)).clamp(0, 1)
    fx = 0.5 * width / math.tan(math.radians(fov_deg) / 2)
    Ks = torch.tensor([[[fx, 0.0, width / 2], [0.0, fx, height / 2], [0.0, 0.0, 1.0]]])
    viewmats = torch.eye(4)[None].clone()
    viewmats[0, 2, 3] = 0.55
    return dict(
        means=means, quats=quats, scales=scales, opacities=opacities, colors=colors,
        viewmats=viewmats, Ks=Ks, width=width, height=height,
    )  # fmt: skip
