"""A set of 3D Gaussians in world space, in the activated form the renderer takes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from emotalk_cli.errors import ArtifactError
from emotalk_cli.splats.binding import quat_multiply, quat_to_matrix  # noqa: F401 (re-exported)

SH_C0 = 0.28209479177387814  # degree-0 spherical harmonic, 1 / (2 sqrt(pi)): colour = SH_C0 * sh[0] + 0.5


@dataclass
class Splats:
    means: Tensor  # [N, 3] world positions
    quats: Tensor  # [N, 4] rotations (w, x, y, z), any norm
    scales: Tensor  # [N, 3] standard deviations (linear)
    opacities: Tensor  # [N] in [0, 1]
    sh: Tensor  # [N, K, 3] spherical-harmonic colour coefficients, K = (degree + 1)^2

    def __post_init__(self) -> None:
        n = self.means.shape[0]
        expected = {"means": (n, 3), "quats": (n, 4), "scales": (n, 3), "opacities": (n,)}
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(f"Splats.{name} has shape {tuple(getattr(self, name).shape)}, expected {shape}")
        if self.sh.dim() != 3 or self.sh.shape[0] != n or self.sh.shape[2] != 3:
            raise ValueError(f"Splats.sh has shape {tuple(self.sh.shape)}, expected ({n}, K, 3)")
        degree = math.isqrt(self.sh.shape[1]) - 1
        if (degree + 1) ** 2 != self.sh.shape[1] or degree > 3:
            raise ValueError(f"Splats.sh has K={self.sh.shape[1]} coefficients: K must be 1, 4, 9 or 16")

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def sh_degree(self) -> int:
        return math.isqrt(self.sh.shape[1]) - 1

    def to(self, device: torch.device | str) -> "Splats":
        return Splats(*(t.to(device) for t in (self.means, self.quats, self.scales, self.opacities, self.sh)))

    def check_finite(self, source: str) -> None:
        for name in ("means", "quats", "scales", "opacities", "sh"):
            if not torch.isfinite(getattr(self, name)).all():
                raise ArtifactError(f"{source}: {name} hold NaN or infinite values; re-export the scene")


def axis_angle_to_quat(rotvec: Tensor) -> Tensor:
    """Axis-angle vectors [..., 3] (radians) -> unit quaternions [..., 4] (w, x, y, z)."""
    angle = rotvec.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    # sin(half)/angle -> 0.5 as angle -> 0
    factor = torch.where(angle > 1e-8, torch.sin(half) / angle.clamp_min(1e-8), 0.5 - angle**2 / 48)
    return torch.cat([torch.cos(half), rotvec * factor], dim=-1)


def rigid_transform(splats: Splats, rotvec: Tensor, translation: Tensor, pivot: Tensor) -> Splats:
    """Rotate the splats by axis-angle `rotvec` [3] about `pivot` [3], then shift by `translation` [3].

    View-dependent colour (SH degree > 0) is left in world orientation: for a rigid head the error is
    small and this keeps the transform cheap.
    """
    q = axis_angle_to_quat(rotvec)
    rotation = quat_to_matrix(q)
    means = (splats.means - pivot) @ rotation.T + pivot + translation
    quats = quat_multiply(q.expand_as(splats.quats), splats.quats)
    return Splats(means, quats, splats.scales, splats.opacities, splats.sh)
