"""EWA projection of 3D Gaussians onto pinhole images, with gsplat 1.5.3's exact rules.

Plain vectorised torch, differentiable w.r.t. means, quats, scales and the world-to-camera
matrices (not the intrinsics, as in gsplat). Shared by the reference and the fast CPU backend.

The rules, from gsplat 1.5.3 `ProjectionEWA3DGSFused.cu` and `Utils.cuh::persp_proj`:
- camera-space depth z outside [near_plane, far_plane] -> culled;
- Jacobian J of the projection at the mean, with x/z and y/z clamped to
  [-(cx/fx + 0.3 tan_fovx), (W - cx)/fx + 0.3 tan_fovx] (same for y), tan_fovx = 0.5 W / fx;
- 2D covariance J Sigma_c J^T + eps2d I; culled when its determinant <= 0;
- conic = inverse 2D covariance as (a, b, c) = (inv00, inv01, inv11);
- culled when opacity < 1/255; box half-widths ceil(extend * sqrt(cov_ii)) with
  extend = min(3.33, sqrt(2 ln(opacity * 255))) (the diagonal, not an eigenvalue);
- culled when the box lies entirely off the image (strict tests, as gsplat).
Culled Gaussians get radii (0, 0); their other outputs are finite but meaningless.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

ALPHA_THRESHOLD = 1.0 / 255.0  # gsplat's ALPHA_THRESHOLD: fainter Gaussians and pixels are skipped
MAX_EXTEND = 3.33  # box half-width in standard deviations for fully opaque Gaussians


class Projected(NamedTuple):
    """Per camera and Gaussian results of `project_gaussians`."""

    means2d: Tensor  # [C, N, 2] pixel coordinates (x right, y down), pixel centres at +0.5
    conics: Tensor  # [C, N, 3] inverse 2D covariance (a, b, c): sigma = 0.5(a dx^2 + c dy^2) + b dx dy
    depths: Tensor  # [C, N] camera-space z
    radii: Tensor  # [C, N, 2] int32 box half-widths in pixels, (0, 0) when culled (no gradient)


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """[..., 4] quaternions (w, x, y, z), any norm -> [..., 3, 3] rotation matrices."""
    w, x, y, z = F.normalize(quats, dim=-1).unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(quats.shape[:-1] + (3, 3))


def project_gaussians(
    means: Tensor,  # [N, 3] world positions
    quats: Tensor,  # [N, 4] (w, x, y, z), any norm
    scales: Tensor,  # [N, 3] standard deviations along the rotated axes
    opacities: Tensor | None,  # [N]; None -> extend 3.33 and no opacity culling (gsplat's default)
    viewmats: Tensor,  # [C, 4, 4] world-to-camera, OpenCV convention
    Ks: Tensor,  # [C, 3, 3] pinhole intrinsics
    width: int,
    height: int,
    eps2d: float = 0.3,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
) -> Projected:
    """Project N Gaussians into C cameras (see the module docstring for the rules)."""
    # Gaussian axes scaled by their standard deviations, in camera space: Sigma_c = Mc Mc^T.
    M = quat_to_rotmat(quats) * scales[:, None, :]  # [N, 3, 3]
    Rc = viewmats[:, :3, :3]  # [C, 3, 3]
    tc = viewmats[:, :3, 3]  # [C, 3]
    means_c = torch.einsum("cij,nj->cni", Rc, means) + tc[:, None, :]  # [C, N, 3]
    Mc = torch.einsum("cij,njk->cnik", Rc, M)  # [C, N, 3, 3]

    x, y, z = means_c.unbind(-1)  # [C, N]
    in_depth = (z >= near_plane) & (z <= far_plane)
    z = torch.where(in_depth, z, torch.ones_like(z))  # keep culled entries finite (no NaN gradients)

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [C, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    lim_x_pos = (width - cx) / fx + 0.3 * tan_fovx
    lim_x_neg = cx / fx + 0.3 * tan_fovx
    lim_y_pos = (height - cy) / fy + 0.3 * tan_fovy
    lim_y_neg = cy / fy + 0.3 * tan_fovy
    tx = z * torch.clamp(x / z, min=-lim_x_neg, max=lim_x_pos)
    ty = z * torch.clamp(y / z, min=-lim_y_neg, max=lim_y_pos)

    # J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]]; cov2d = (J Mc)(J Mc)^T.
    A0 = (fx / z)[..., None] * Mc[:, :, 0, :] - (fx * tx / (z * z))[..., None] * Mc[:, :, 2, :]  # [C, N, 3]
    A1 = (fy / z)[..., None] * Mc[:, :, 1, :] - (fy * ty / (z * z))[..., None] * Mc[:, :, 2, :]
    cov_a = (A0 * A0).sum(-1) + eps2d
    cov_b = (A0 * A1).sum(-1)
    cov_c = (A1 * A1).sum(-1) + eps2d
    det = cov_a * cov_c - cov_b * cov_b
    det_ok = det > 0
    det = torch.where(det_ok, det, torch.ones_like(det))
    conics = torch.stack([cov_c / det, -cov_b / det, cov_a / det], dim=-1)  # [C, N, 3]

    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)  # [C, N, 2]

    with torch.no_grad():
        valid = in_depth & det_ok
        if opacities is None:
            extend = torch.full_like(cov_a, MAX_EXTEND)
        else:
            op = opacities.detach().to(cov_a.dtype).expand_as(cov_a)
            valid &= op >= ALPHA_THRESHOLD
            extend = torch.sqrt(2.0 * torch.log(op.clamp_min(ALPHA_THRESHOLD) / ALPHA_THRESHOLD))
            extend = extend.clamp(max=MAX_EXTEND)
        rx = torch.ceil(extend * torch.sqrt(cov_a.detach()))
        ry = torch.ceil(extend * torch.sqrt(cov_c.detach()))
        valid &= (rx > 0) | (ry > 0)  # radius_clip = 0
        mx, my = means2d.detach().unbind(-1)
        valid &= (mx + rx > 0) & (mx - rx < width) & (my + ry > 0) & (my - ry < height)
        radii = torch.stack([rx, ry], dim=-1) * valid[..., None]
        radii = radii.to(torch.int32)

    return Projected(means2d=means2d, conics=conics, depths=means_c[..., 2], radii=radii)
