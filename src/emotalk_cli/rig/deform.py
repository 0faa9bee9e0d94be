"""Pose the head template: ARKit blendshapes, eye gaze and head pose -> vertex positions.

    vertices = pose_vertices(template, arkit [T, 52], head_rotation [T, 3], head_translation [T, 3],
                             gaze [T, 2])  # -> [T, V, 3]

In order:
1. blendshapes, linearly: v = v0 + sum_k w_k B_k. The jaw needs nothing more: the jawOpen, jawLeft,
   jawRight and jawForward targets already carry the lower teeth and the tongue (checked when the
   template is built: jawOpen turns the lower teeth 20.7 degrees about x, rigid to 0.5 mm).
2. eyes: each eyeball turns about its centre by yaw (about +y, + = towards the head's left) after
   pitch (about -x, + = up): the gaze angles, the same for both eyes, plus what the eyeLook*
   blendshapes ask for (`template.eye_look`, radians per unit weight, per eye). Only eyeball vertices
   move; the lids follow through the eyeLook* blendshapes.
3. head pose: every vertex turns about `template.neck_pivot` (the base of the neck) by its share
   `template.neck_weight` of the axis-angle `head_rotation` (1 on the whole head, fading to 0 at the
   neck cut), so the face moves rigidly and the neck bends; then `head_translation` is added to all.
   Looked at: clean for nods up to about 0.25 rad down; from 0.3 rad the chin's underside (rigid with
   the head) starts to push the mouth bag through the front of the neck.

Pure torch, batched over frames, differentiable in every input (also at zero rotation).
"""

from __future__ import annotations

import torch
from torch import Tensor

from emotalk_cli.rig.template import NUM_SHAPES, HeadTemplate

_SMALL_ANGLE = 1e-4  # radians: below it, Rodrigues' coefficients come from their Taylor series


def pose_vertices(
    template: HeadTemplate,
    arkit: Tensor,  # [T, 52] blendshape weights (ARKIT_NAMES order), usually in [0, 1]
    head_rotation: Tensor,  # [T, 3] axis-angle, radians, head frame
    head_translation: Tensor,  # [T, 3] metres
    gaze: Tensor,  # [T, 2] eye yaw, pitch in radians, + = left / up
) -> Tensor:
    """Posed vertex positions [T, V, 3] in the head frame (metres)."""
    frames = arkit.shape[0] if arkit.dim() == 2 else -1
    for name, value, width in (
        ("arkit", arkit, NUM_SHAPES),
        ("head_rotation", head_rotation, 3),
        ("head_translation", head_translation, 3),
        ("gaze", gaze, 2),
    ):
        if value.dim() != 2 or value.shape != (frames, width):
            raise ValueError(f"{name} must be [T={frames}, {width}], got {list(value.shape)}")
    ref = template.vertices
    arkit, head_rotation, head_translation, gaze = (
        x.to(device=ref.device, dtype=ref.dtype) for x in (arkit, head_rotation, head_translation, gaze)
    )
    vertices = apply_blendshapes(template, arkit)
    vertices = rotate_eyes(template, vertices, eye_angles(template, arkit, gaze))
    return apply_head_pose(template, vertices, head_rotation, head_translation)


def apply_blendshapes(template: HeadTemplate, arkit: Tensor) -> Tensor:
    """v0 + sum_k w_k B_k: [T, 52] -> [T, V, 3]."""
    num_v = template.num_vertices
    offsets = arkit @ template.blendshapes.reshape(NUM_SHAPES, num_v * 3)
    return template.vertices + offsets.reshape(-1, num_v, 3)


def eye_angles(template: HeadTemplate, arkit: Tensor, gaze: Tensor) -> Tensor:
    """Per-eye (yaw, pitch) [T, 2 (left, right), 2]: gaze plus the eyeLook* blendshapes' share."""
    return gaze[:, None, :] + torch.einsum("tk,kep->tep", arkit, template.eye_look)


def eye_rotation_matrices(angles: Tensor) -> Tensor:
    """(yaw, pitch) [..., 2] -> R = R_y(yaw) @ R_x(-pitch) [..., 3, 3] (pitch first, then yaw)."""
    yaw, pitch = angles.unbind(-1)
    cy, sy, cp, sp = torch.cos(yaw), torch.sin(yaw), torch.cos(pitch), torch.sin(pitch)
    zero = torch.zeros_like(yaw)
    # R_y(yaw) = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]; R_x(-pitch) = [[1, 0, 0], [0, cp, sp], [0, -sp, cp]]
    rows = (
        (cy, -sy * sp, sy * cp),
        (zero, cp, sp),
        (-sy, -cy * sp, cy * cp),
    )
    return torch.stack([torch.stack(row, -1) for row in rows], -2)


def rotate_eyes(template: HeadTemplate, vertices: Tensor, angles: Tensor) -> Tensor:
    """Turn each eyeball's vertices about its centre: vertices [T, V, 3], angles [T, 2, 2]."""
    rotations = eye_rotation_matrices(angles)  # [T, 2, 3, 3]
    for eye, part in enumerate(("eye_left", "eye_right")):
        index = template.part_vertices(part)
        centre = template.eye_centres[eye]
        local = vertices[:, index] - centre
        turned = torch.einsum("tij,tnj->tni", rotations[:, eye], local) + centre
        vertices = vertices.index_copy(1, index, turned)
    return vertices


def rotation_offset(points: Tensor, axis_angle: Tensor) -> Tensor:
    """How far Rodrigues' rotation by axis-angle vectors [..., 3] (broadcast) moves points [..., 3]
    about the origin: R p - p = a (r x p) + b (r x (r x p)), a = sin(t)/t, b = (1 - cos t)/t^2, t = |r|.

    Safe (value and gradient) at zero angle, and exactly zero there.
    """
    theta2 = (axis_angle * axis_angle).sum(-1, keepdim=True)
    small = theta2 < _SMALL_ANGLE**2
    theta = torch.sqrt(torch.where(small, torch.ones_like(theta2), theta2))
    a = torch.where(small, 1 - theta2 / 6, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24, (1 - torch.cos(theta)) / (theta * theta))
    axis_angle = axis_angle.expand_as(points)
    cross = torch.cross(axis_angle, points, dim=-1)
    return a * cross + b * torch.cross(axis_angle, cross, dim=-1)


def apply_head_pose(template: HeadTemplate, vertices: Tensor, rotation: Tensor, translation: Tensor) -> Tensor:
    """Rotate [T, V, 3] about the neck pivot by neck_weight * rotation [T, 3], then add translation [T, 3]."""
    per_vertex = template.neck_weight[None, :, None] * rotation[:, None, :]  # [T, V, 3]
    offset = rotation_offset(vertices - template.neck_pivot, per_vertex)
    return vertices + offset + translation[:, None, :]
