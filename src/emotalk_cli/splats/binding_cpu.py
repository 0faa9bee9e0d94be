"""Fast CPU path of `binding.bind_to_world` for inference: one numba pass instead of torch's
gathers and stacks.

Same formulas as `binding.py` (GaussianAvatars' binding: mean = k R mu + T, rotation = R r,
scale = k s, with R from Shepperd's matrix-to-quaternion rule per triangle), so the results agree
with the torch version to float32 rounding; `tests/test_binding.py` checks that on random meshes
and on the default avatar. No gradients: the fit keeps the torch version.

Why: posing 60k Gaussians for 250 frames took ~1.9 s of a 10 s clip's render on 2 cores in torch
(quaternion products and matrix-to-quaternion conversions over [T, N, 4] tensors, each a few
passes over memory); here each Gaussian is read once and written once.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit, prange
from torch import Tensor

from emotalk_cli.splats.binding import _EPS

_F = np.float32


@njit(parallel=True, cache=True, fastmath=False)
def _triangle_frames(vertices, faces, frames):
    """vertices [T, V, 3], faces [F, 3] -> frames [T, F, 17]: origin (3), R row-major (9), k, quat (4)."""
    n_frames, n_faces = vertices.shape[0], faces.shape[0]
    eps = _F(_EPS)
    for job in prange(n_frames * n_faces):
        t, f = job // n_faces, job % n_faces
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        v0x, v0y, v0z = vertices[t, a, 0], vertices[t, a, 1], vertices[t, a, 2]
        ex, ey, ez = vertices[t, b, 0] - v0x, vertices[t, b, 1] - v0y, vertices[t, b, 2] - v0z
        fx, fy, fz = vertices[t, c, 0] - v0x, vertices[t, c, 1] - v0y, vertices[t, c, 2] - v0z
        cx, cy, cz = ey * fz - ez * fy, ez * fx - ex * fz, ex * fy - ey * fx
        edge_len = max(math.sqrt(ex * ex + ey * ey + ez * ez), eps)
        double_area = max(math.sqrt(cx * cx + cy * cy + cz * cz), eps)
        tx, ty, tz = ex / edge_len, ey / edge_len, ez / edge_len
        nx, ny, nz = cx / double_area, cy / double_area, cz / double_area
        bx, by, bz = ny * tz - nz * ty, nz * tx - nx * tz, nx * ty - ny * tx
        out = frames[t, f]
        out[0] = (v0x + vertices[t, b, 0] + vertices[t, c, 0]) / _F(3.0)
        out[1] = (v0y + vertices[t, b, 1] + vertices[t, c, 1]) / _F(3.0)
        out[2] = (v0z + vertices[t, b, 2] + vertices[t, c, 2]) / _F(3.0)
        # R = [t b n] as columns, stored row-major
        m00, m01, m02 = tx, bx, nx
        m10, m11, m12 = ty, by, ny
        m20, m21, m22 = tz, bz, nz
        out[3], out[4], out[5] = m00, m01, m02
        out[6], out[7], out[8] = m10, m11, m12
        out[9], out[10], out[11] = m20, m21, m22
        out[12] = _F(0.5) * (edge_len + double_area / edge_len)
        # Shepperd: the best-conditioned of the four readings (as binding.matrix_to_quat)
        dw = math.sqrt(max(_F(1.0) + m00 + m11 + m22, eps))
        dx = math.sqrt(max(_F(1.0) + m00 - m11 - m22, eps))
        dy = math.sqrt(max(_F(1.0) - m00 + m11 - m22, eps))
        dz = math.sqrt(max(_F(1.0) - m00 - m11 + m22, eps))
        if dw >= dx and dw >= dy and dw >= dz:
            d = _F(2.0) * dw
            qw, qx, qy, qz = dw * dw / d, (m21 - m12) / d, (m02 - m20) / d, (m10 - m01) / d
        elif dx >= dy and dx >= dz:
            d = _F(2.0) * dx
            qw, qx, qy, qz = (m21 - m12) / d, dx * dx / d, (m01 + m10) / d, (m02 + m20) / d
        elif dy >= dz:
            d = _F(2.0) * dy
            qw, qx, qy, qz = (m02 - m20) / d, (m01 + m10) / d, dy * dy / d, (m12 + m21) / d
        else:
            d = _F(2.0) * dz
            qw, qx, qy, qz = (m10 - m01) / d, (m02 + m20) / d, (m12 + m21) / d, dz * dz / d
        norm = max(math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), eps)
        sign = _F(-1.0) if qw < 0 else _F(1.0)
        out[13], out[14], out[15], out[16] = sign * qw / norm, sign * qx / norm, sign * qy / norm, sign * qz / norm


@njit(parallel=True, cache=True, fastmath=False)
def _bind(frames, parent, local_means, local_quats, local_scales, means, quats, scales):
    """frames [T, F, 17], per Gaussian parent [N] and local unit quats / linear scales -> world [T, N, .]."""
    n_frames, n = means.shape[0], parent.shape[0]
    for job in prange(n_frames * n):
        t, g = job // n, job % n
        fr = frames[t, parent[g]]
        k = fr[12]
        lx, ly, lz = local_means[g, 0], local_means[g, 1], local_means[g, 2]
        means[t, g, 0] = k * (fr[3] * lx + fr[4] * ly + fr[5] * lz) + fr[0]
        means[t, g, 1] = k * (fr[6] * lx + fr[7] * ly + fr[8] * lz) + fr[1]
        means[t, g, 2] = k * (fr[9] * lx + fr[10] * ly + fr[11] * lz) + fr[2]
        aw, ax, ay, az = fr[13], fr[14], fr[15], fr[16]
        bw, bx, by, bz = local_quats[g, 0], local_quats[g, 1], local_quats[g, 2], local_quats[g, 3]
        quats[t, g, 0] = aw * bw - ax * bx - ay * by - az * bz
        quats[t, g, 1] = aw * bx + ax * bw + ay * bz - az * by
        quats[t, g, 2] = aw * by - ax * bz + ay * bw + az * bx
        quats[t, g, 3] = aw * bz + ax * by - ay * bx + az * bw
        scales[t, g, 0] = k * local_scales[g, 0]
        scales[t, g, 1] = k * local_scales[g, 1]
        scales[t, g, 2] = k * local_scales[g, 2]


def bind_to_world_cpu(
    vertices: Tensor,  # [T, V, 3] float32 on the CPU
    faces: Tensor,  # [F, 3]
    parent: Tensor,  # [N] triangle index per Gaussian
    local_means: Tensor,  # [N, 3]
    local_quats: Tensor,  # [N, 4] (w, x, y, z), any norm
    local_log_scales: Tensor,  # [N, 3]
) -> tuple[Tensor, Tensor, Tensor]:
    """`binding.bind_to_world` for float32 CPU tensors without gradients: means [T, N, 3], unit
    quats [T, N, 4] and scales [T, N, 3]."""
    if vertices.dim() != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be [T, V, 3], got {list(vertices.shape)}")
    n = parent.shape[0]
    v = np.ascontiguousarray(vertices.detach().cpu().numpy(), dtype=_F)
    f = np.ascontiguousarray(faces.detach().cpu().numpy(), dtype=np.int64)
    p = np.ascontiguousarray(parent.detach().cpu().numpy(), dtype=np.int64)
    q = local_quats.detach().cpu().float()
    q = (q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)).numpy()
    s = torch.exp(local_log_scales.detach().cpu().float()).numpy()
    m = np.ascontiguousarray(local_means.detach().cpu().numpy(), dtype=_F)
    frames = np.empty((v.shape[0], f.shape[0], 17), dtype=_F)
    _triangle_frames(v, f, frames)
    means = np.empty((v.shape[0], n, 3), dtype=_F)
    quats = np.empty((v.shape[0], n, 4), dtype=_F)
    scales = np.empty((v.shape[0], n, 3), dtype=_F)
    _bind(frames, p, m, np.ascontiguousarray(q), np.ascontiguousarray(s), means, quats, scales)
    return torch.from_numpy(means), torch.from_numpy(quats), torch.from_numpy(scales)
