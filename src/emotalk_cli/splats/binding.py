"""Gaussians bound to mesh triangles, as in GaussianAvatars (Qian et al., "GaussianAvatars:
Photorealistic Head Avatars with Rigged 3D Gaussians", CVPR 2024, Sec. 3.2).

Each Gaussian belongs to one parent triangle and keeps its position, rotation and scale in that
triangle's frame, so whatever moves the mesh (blendshapes, jaw, eyes, head pose) moves the Gaussians:

    mean  = k R mu + T        rotation = R r        scale = k s

with, per triangle (vertices v0, v1, v2):
- T, the origin: the centroid (v0 + v1 + v2) / 3;
- R, the rotation, columns (t, b, n): t the unit direction of the edge v0 -> v1, n the unit normal
  (counter-clockwise winding: n ~ (v1 - v0) x (v2 - v0)), b = n x t. The paper builds R from "the
  direction vector of one of the edges, the normal vector of the triangle, and their cross product";
  the column order here puts the normal on the local z axis, so a flat disc tangent to the surface
  is local scale (s, s, thin);
- k, the scale: the mean of the length of the edge v0 -> v1 and the triangle's height over it, as the
  paper does, so a Gaussian grows and shrinks with its triangle.

Stored per Gaussian: `parent` [N] (triangle index), `local_means` [N, 3], `local_quats` [N, 4] (w, x,
y, z; any norm), `local_log_scales` [N, 3] (log of the scale in units of k). World scales come out
linear (standard deviations), as the rasterizer and the emotalk.splats format take them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

_EPS = 1e-12


@dataclass
class BoundGaussians:
    """Gaussians in their parent triangles' frames."""

    parent: Tensor  # [N] int64 triangle index
    local_means: Tensor  # [N, 3] in units of the triangle scale k
    local_quats: Tensor  # [N, 4] (w, x, y, z)
    local_log_scales: Tensor  # [N, 3] log(scale / k)

    def __len__(self) -> int:
        return self.parent.shape[0]


def triangle_frames(vertices: Tensor, faces: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-triangle frames of vertices [..., V, 3] and faces [F, 3].

    Returns origins [..., F, 3] (centroids), rotations [..., F, 3, 3] (columns t, b, n) and
    scales [..., F] (mean of the first edge's length and the height over it).
    """
    if vertices.shape[-1] != 3 or faces.dim() != 2 or faces.shape[-1] != 3:
        raise ValueError(
            f"expected vertices [..., V, 3] and faces [F, 3], got {list(vertices.shape)}, {list(faces.shape)}"
        )
    faces = faces.long()
    v0, v1, v2 = (vertices[..., faces[:, i], :] for i in range(3))
    origin = (v0 + v1 + v2) / 3
    edge = v1 - v0
    cross = torch.cross(edge, v2 - v0, dim=-1)
    edge_len = edge.norm(dim=-1).clamp_min(_EPS)
    double_area = cross.norm(dim=-1).clamp_min(_EPS)
    t = edge / edge_len[..., None]
    n = cross / double_area[..., None]
    b = torch.cross(n, t, dim=-1)
    rotation = torch.stack([t, b, n], dim=-1)
    scale = 0.5 * (edge_len + double_area / edge_len)  # height over the edge = 2 area / |edge|
    return origin, rotation, scale


def bind_to_world(
    vertices: Tensor,  # [..., V, 3] (e.g. [T, V, 3] posed frames)
    faces: Tensor,  # [F, 3]
    parent: Tensor,  # [N] triangle index per Gaussian
    local_means: Tensor,  # [N, 3]
    local_quats: Tensor,  # [N, 4] (w, x, y, z)
    local_log_scales: Tensor,  # [N, 3]
) -> tuple[Tensor, Tensor, Tensor]:
    """World means [..., N, 3], unit quaternions [..., N, 4] (w, x, y, z) and scales [..., N, 3]."""
    n = parent.shape[0]
    for name, value, width in (
        ("local_means", local_means, 3),
        ("local_quats", local_quats, 4),
        ("local_log_scales", local_log_scales, 3),
    ):
        if value.shape != (n, width):
            raise ValueError(f"{name} must be [N={n}, {width}], got {list(value.shape)}")
    origin, rotation, scale = triangle_frames(vertices, faces)
    triangle_quats = matrix_to_quat(rotation)  # per triangle (F), not per Gaussian (N >> F): cheaper
    parent = parent.long()
    origin, rotation, scale = origin[..., parent, :], rotation[..., parent, :, :], scale[..., parent]
    means = scale[..., None] * torch.einsum("...ij,...j->...i", rotation, local_means) + origin
    quats = quat_multiply(triangle_quats[..., parent, :], normalize_quat(local_quats))
    scales = scale[..., None] * torch.exp(local_log_scales)
    return means, quats, scales


def init_on_surface(
    vertices: Tensor,  # [V, 3]
    faces: Tensor,  # [F, 3]
    per_triangle: int | None = None,
    total: int | None = None,
    seed: int = 0,
    thickness: float = 0.1,
    overlap: float = 1.0,
) -> BoundGaussians:
    """Spread Gaussians over the surface as flat discs tangent to it.

    Give `per_triangle` (that many on every triangle) or `total` (about that many, each triangle
    getting its share of the area; the count is exact). Positions are uniform over each triangle;
    the disc's standard deviation is `overlap` times the spacing 1 / sqrt(density) (Gaussians per
    unit area: of the whole surface for `total`, of the triangle for `per_triangle`), its thickness
    along the normal `thickness` times that; local rotations are the identity.
    """
    if (per_triangle is None) == (total is None):
        raise ValueError("give exactly one of per_triangle and total")
    if vertices.dim() != 2:
        raise ValueError(f"vertices must be [V, 3] (one rest shape), got {list(vertices.shape)}")
    faces = faces.long()
    generator = torch.Generator().manual_seed(seed)
    origin, rotation, scale = triangle_frames(vertices, faces)
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    area = 0.5 * torch.cross(v1 - v0, v2 - v0, dim=-1).norm(dim=-1)
    if per_triangle is not None:
        if per_triangle < 1:
            raise ValueError(f"per_triangle must be >= 1, got {per_triangle}")
        counts = torch.full((faces.shape[0],), per_triangle, dtype=torch.long)
        density = per_triangle / area.clamp_min(_EPS)  # Gaussians per unit area, per triangle
    else:
        if total < 1:
            raise ValueError(f"total must be >= 1, got {total}")
        counts = _apportion(area.double().cpu(), total)
        density = torch.full_like(area, total / float(area.sum()))  # the same everywhere
    counts = counts.to(vertices.device)
    parent = torch.repeat_interleave(torch.arange(faces.shape[0], device=vertices.device), counts)
    n = parent.shape[0]

    # uniform barycentric samples: (1 - sqrt(r1), sqrt(r1) (1 - r2), sqrt(r1) r2)
    r = torch.rand(n, 2, generator=generator, dtype=torch.float64).to(vertices)
    s = r[:, 0].sqrt()
    bary = torch.stack([1 - s, s * (1 - r[:, 1]), s * r[:, 1]], dim=1)
    points = bary[:, 0:1] * v0[parent] + bary[:, 1:2] * v1[parent] + bary[:, 2:3] * v2[parent]
    k = scale[parent]
    local_means = torch.einsum("nji,nj->ni", rotation[parent], points - origin[parent]) / k[:, None]

    spacing = density[parent].rsqrt()  # mean distance between neighbouring Gaussians
    sigma = (overlap * spacing / k).clamp_min(_EPS)
    local_log_scales = torch.stack([sigma, sigma, thickness * sigma], dim=1).log()
    local_quats = torch.zeros(n, 4, dtype=vertices.dtype, device=vertices.device)
    local_quats[:, 0] = 1.0
    return BoundGaussians(parent, local_means, local_quats, local_log_scales)


def _apportion(weights: Tensor, total: int) -> Tensor:
    """Integer counts summing to `total`, proportional to `weights` (largest remainders)."""
    share = weights / weights.sum() * total
    counts = share.floor().long()
    left = total - int(counts.sum())
    if left > 0:
        counts[torch.argsort(share - counts, descending=True)[:left]] += 1
    return counts


# ---------------------------------------------------------------------------------------------
# Quaternions, (w, x, y, z)


def normalize_quat(q: Tensor) -> Tensor:
    return q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def quat_multiply(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product a * b of quaternions [..., 4] (w, x, y, z): rotate by b, then by a."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def quat_to_matrix(q: Tensor) -> Tensor:
    """Quaternions [..., 4] (w, x, y, z), any norm -> rotation matrices [..., 3, 3]."""
    w, x, y, z = normalize_quat(q).unbind(-1)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return torch.stack([torch.stack(row, -1) for row in rows], -2)


def matrix_to_quat(m: Tensor) -> Tensor:
    """Rotation matrices [..., 3, 3] -> unit quaternions [..., 4] (w, x, y, z) with w >= 0.

    Shepperd's method: of the four ways to read the quaternion off the matrix, use the one whose
    divisor (2|w|, 2|x|, 2|y| or 2|z|) is largest, so it is well conditioned everywhere.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    two = torch.stack(  # 2|w|, 2|x|, 2|y|, 2|z|
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    ).clamp_min(_EPS).sqrt()
    qw, qx, qy, qz = two.unbind(-1)
    candidates = torch.stack(
        [
            torch.stack([qw * qw, m21 - m12, m02 - m20, m10 - m01], -1) / (2 * qw[..., None]),
            torch.stack([m21 - m12, qx * qx, m01 + m10, m02 + m20], -1) / (2 * qx[..., None]),
            torch.stack([m02 - m20, m01 + m10, qy * qy, m12 + m21], -1) / (2 * qy[..., None]),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, qz * qz], -1) / (2 * qz[..., None]),
        ],
        dim=-2,
    )  # [..., 4 candidates, 4]
    best = two.argmax(dim=-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = normalize_quat(q)
    return torch.where(q[..., :1] < 0, -q, q)
