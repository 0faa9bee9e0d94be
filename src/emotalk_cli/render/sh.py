"""Real spherical harmonics (degrees 0..3) to RGB, as gsplat 1.5.3 and the original 3DGS.

Coefficient k of a colour multiplies the real SH basis function k in the usual 3DGS order
(l = 0; l = 1: y, z, x; l = 2 ...). gsplat turns the SH sum into a colour with
`clamp_min(sum + 0.5, 0)`; `sh_colors` does the same.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from emotalk_cli.splats.gaussians import SH_C0

MAX_SH_DEGREE = 3

# Normalisation constants of the real SH basis, band by band.
_C0 = SH_C0
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
_C3 = (
    -0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
    -0.4570457994644658, 1.445305721320277, -0.5900435899266435,
)  # fmt: skip


def sh_basis(degree: int, dirs: Tensor) -> Tensor:
    """[..., 3] directions (any length) -> [..., (degree + 1)^2] basis values."""
    if not 0 <= degree <= MAX_SH_DEGREE:
        raise ValueError(f"sh_degree must be in 0..{MAX_SH_DEGREE}, got {degree}")
    x, y, z = F.normalize(dirs, dim=-1).unbind(-1)
    out = [torch.full_like(x, _C0)]
    if degree >= 1:
        out += [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            _C2[0] * x * y,
            _C2[1] * y * z,
            _C2[2] * (2 * zz - xx - yy),
            _C2[3] * x * z,
            _C2[4] * (xx - yy),
        ]
    if degree >= 3:
        out += [
            _C3[0] * y * (3 * xx - yy),
            _C3[1] * x * y * z,
            _C3[2] * y * (4 * zz - xx - yy),
            _C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            _C3[4] * x * (4 * zz - xx - yy),
            _C3[5] * z * (xx - yy),
            _C3[6] * x * (xx - 3 * yy),
        ]
    return torch.stack(out, dim=-1)


def eval_sh(degree: int, dirs: Tensor, coeffs: Tensor) -> Tensor:
    """Sum of the first (degree + 1)^2 SH terms: dirs [..., 3], coeffs [..., K, 3] -> [..., 3]."""
    n = (degree + 1) ** 2
    if coeffs.shape[-2] < n or coeffs.shape[-1] != 3:
        raise ValueError(f"SH degree {degree} needs coeffs [..., >={n}, 3], got {tuple(coeffs.shape)}")
    basis = sh_basis(degree, dirs)  # [..., n]
    return (basis[..., None] * coeffs[..., :n, :]).sum(-2)


def sh_colors(degree: int, means: Tensor, coeffs: Tensor, viewmats: Tensor) -> Tensor:
    """View-dependent colours as gsplat.rasterization: means [N, 3], coeffs [N, K, 3],
    viewmats [C, 4, 4] -> [C, N, 3] = clamp_min(SH(means - camera centre) + 0.5, 0)."""
    if degree == 0:  # no view dependence: skip the directions
        rgb = torch.clamp_min(_C0 * coeffs[:, 0, :] + 0.5, 0.0)
        return rgb[None].expand(viewmats.shape[0], -1, -1)
    campos = torch.linalg.inv(viewmats)[:, :3, 3]  # [C, 3]
    dirs = means[None, :, :] - campos[:, None, :]  # [C, N, 3]
    return torch.clamp_min(eval_sh(degree, dirs, coeffs[None]) + 0.5, 0.0)
