"""Pinhole cameras in OpenCV convention (x right, y down, z forward), as gsplat expects.

A camera is a world-to-camera matrix `viewmat` [4, 4] and intrinsics `K` [3, 3]; batches stack
them as [C, 4, 4] and [C, 3, 3].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from emotalk_cli.errors import RenderError

UP_AXES = {"+y": (0.0, 1.0, 0.0), "-y": (0.0, -1.0, 0.0), "+z": (0.0, 0.0, 1.0), "-z": (0.0, 0.0, -1.0)}


def intrinsics(fov_y_degrees: float, width: int, height: int) -> Tensor:
    """K [3, 3] with square pixels, the principal point at the image centre and vertical field of view fov_y."""
    if not 1.0 <= fov_y_degrees <= 170.0:
        raise RenderError(f"field of view {fov_y_degrees} degrees is out of range: use 1 to 170")
    focal = 0.5 * height / math.tan(math.radians(fov_y_degrees) / 2)
    return torch.tensor([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])


def look_at(eye: Tensor, target: Tensor, up: Tensor) -> Tensor:
    """World-to-camera viewmats [C, 4, 4] for eyes [C, 3] looking at targets [C, 3] with `up` [3] up on screen."""
    forward = torch.nn.functional.normalize(target - eye, dim=-1)  # camera +z
    right = torch.nn.functional.normalize(torch.cross(-up.expand_as(forward), forward, dim=-1), dim=-1)  # camera +x = y cross z
    down = torch.cross(forward, right, dim=-1)  # camera +y (image down)
    rotation = torch.stack([right, down, forward], dim=-2)  # rows: camera axes in world
    viewmat = torch.eye(4).repeat(eye.shape[0], 1, 1)
    viewmat[:, :3, :3] = rotation
    viewmat[:, :3, 3] = -(rotation @ eye.unsqueeze(-1)).squeeze(-1)
    return viewmat


def orbit(
    center: Tensor,  # [3] point the camera looks at
    distance: float | Tensor,  # [C] or scalar: from the centre, in scene units
    yaw_degrees: Tensor,  # [C] around the up axis; 0 looks along -forward (from +forward toward the centre)
    pitch_degrees: float | Tensor,  # [C] or scalar: + looks from above
    up: str = "+y",
    forward: Tensor | None = None,  # [3] the direction the subject faces; default: +z for +y/-y up, -y for +z/-z up
) -> Tensor:
    """Viewmats [C, 4, 4] on a sphere around `center`, looking at it."""
    if up not in UP_AXES:
        raise RenderError(f"unknown up axis {up!r}: use one of {', '.join(UP_AXES)}")
    up_vec = torch.tensor(UP_AXES[up])
    if forward is None:
        forward = torch.tensor([0.0, 0.0, 1.0]) if up in ("+y", "-y") else torch.tensor([0.0, -1.0, 0.0])
    side = torch.cross(up_vec, forward, dim=0)
    yaw = torch.deg2rad(torch.as_tensor(yaw_degrees, dtype=torch.float32)).reshape(-1)
    pitch = torch.deg2rad(torch.as_tensor(pitch_degrees, dtype=torch.float32)).expand_as(yaw)
    direction = (
        torch.cos(pitch)[:, None] * (torch.cos(yaw)[:, None] * forward + torch.sin(yaw)[:, None] * side)
        + torch.sin(pitch)[:, None] * up_vec
    )
    eye = center + torch.as_tensor(distance, dtype=torch.float32).reshape(-1, 1) * direction
    return look_at(eye, center.expand_as(eye), up_vec)


def frame_distance(radius: float, fov_y_degrees: float, margin: float = 1.15) -> float:
    """Distance at which a sphere of `radius` fills the vertical field of view, with a margin."""
    return margin * radius / math.sin(math.radians(fov_y_degrees) / 2)
