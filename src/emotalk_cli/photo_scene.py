"""The photo's scene around a fitted head: what the photo shows besides the face, as Gaussians.

An avatar fitted from a photo keeps the whole picture in two layers, each a grid of small flat
Gaussians, one per pixel of the photo (scaled to at most SCENE_LONG_SIDE), facing the photo's camera:

- background: the photo with the person removed and what they hid filled in, on a plane far behind
  the head; it never moves, so a clip seen from the photo's camera renders it once;
- person: hair, hat, ears, neck, clothes (everything the segmenter calls the person), on a card
  through the head's middle, plus a backing behind the head (filled from the person's colours) so
  a turning head uncovers no hole. Each Gaussian carries a share of the head pose (`weight`): 1 above
  the chin (hair, hat and ears turn and nod with the head), 0 on the torso, smooth across the neck,
  as the rig's own neck bends (rig/deform.py).

It also records the photo's camera, size, head pose and tracked expression, so the photo can be
rendered again (`render --as-photo`) and animation can move the head around the photo's own pose.

    scene = avatar.scene                                   # PhotoScene or None (head-only avatar)
    bg = layer_splats(scene, "background")               # Splats in world space, static
    person, weight = layer_splats(scene, "person"), scene.weights()
    means, quats = pose_layer(person.means, person.quats, weight, pivot, scene.head_rotation,
                              scene.head_translation, rotation [T, 3], translation [T, 3])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import Tensor

from emotalk_cli.splats.binding import matrix_to_quat, quat_multiply
from emotalk_cli.splats.gaussians import SH_C0, Splats, axis_angle_to_quat

SCENE_LONG_SIDE = 640  # the scene grids' long side, pixels: detail for 512-1024 px renders, ~0.7 M Gaussians at most
SIGMA_PX = 0.6  # each grid Gaussian's standard deviation across the view, in grid pixels (the rasterizer adds its 0.3 px^2):
#                enough overlap that rows bent apart by the neck leave no seams; the colour fit undoes the blur
THICKNESS = 0.5  # its depth extent, as a fraction of its width: discs facing the photo's camera, still round turned 20 degrees
NECK_WIDEN = 0.5  # the person layer's Gaussians are up to 1.5x wider where they take half the head pose
LAYERS = ("background", "person")


@dataclass
class PhotoScene:
    """Everything but the head, and the photo's camera and pose. Grids are [H, W] at the scene's size."""

    K: Tensor  # [3, 3] the photo's intrinsics, in pixels of the scene grid (OpenCV pinhole)
    viewmat: Tensor  # [4, 4] world-to-camera (OpenCV: x right, y down, z forward)
    photo_size: Tensor  # [2] the photo's (width, height) in pixels, as given to fit-avatar
    head_rotation: Tensor  # [3] the photo's head pose, axis-angle radians about the rig's neck pivot
    head_translation: Tensor  # [3] metres
    arkit: Tensor  # [52] the photo's tracked expression
    gaze: Tensor  # [2] yaw, pitch radians
    background_rgb: Tensor  # [H, W, 3] colour (may leave [0, 1] slightly: fitted through the rasterizer's blur)
    background_depth: Tensor  # [H, W] camera z, metres
    person_rgb: Tensor  # [H, W, 3]
    person_alpha: Tensor  # [H, W] opacity in [0, 1]; 0: no Gaussian there
    person_depth: Tensor  # [H, W] camera z, metres
    person_weight: Tensor  # [H, W] share of the head pose in [0, 1]

    @property
    def size(self) -> tuple[int, int]:
        """The grids' (width, height)."""
        return int(self.background_depth.shape[1]), int(self.background_depth.shape[0])

    @property
    def aspect(self) -> float:
        width, height = self.size
        return width / height

    def to(self, device: torch.device | str) -> "PhotoScene":
        return PhotoScene(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def tensors(self) -> dict[str, Tensor]:
        """The avatar file's `scene_*` tensors (grids in float16: colour to 1e-3, depth to 1 mm in 2 m)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            grid = value.dim() >= 2 and f.name not in ("K", "viewmat")
            out[f"scene_{f.name}"] = value.half() if grid else value.float()
        return out

    def as_stored(self) -> "PhotoScene":
        """The scene exactly as its avatar file keeps it (grids through float16): what render will see."""
        return PhotoScene.from_tensors({name: value.cpu() for name, value in self.tensors().items()}).to(self.K.device)

    @classmethod
    def from_tensors(cls, tensors: dict[str, Tensor]) -> "PhotoScene | None":
        names = [f"scene_{f.name}" for f in fields(cls)]
        present = [name for name in names if name in tensors]
        if not present:
            return None
        if len(present) != len(names):
            missing = ", ".join(name for name in names if name not in tensors)
            raise ValueError(f"the photo scene is incomplete: {missing} missing")
        return cls(**{f.name: tensors[f"scene_{f.name}"].float() for f in fields(cls)})

    def weights(self) -> Tensor:
        """[M] the person layer's share of the head pose, in layer_splats' order."""
        keep = self.person_alpha.reshape(-1) > 0
        return self.person_weight.reshape(-1)[keep]


def grid_splats(rgb: Tensor, depth: Tensor, alpha: Tensor, K: Tensor, viewmat: Tensor) -> Splats:
    """One flat Gaussian per pixel with alpha > 0 of grids rgb [H, W, 3], depth [H, W], alpha [H, W],
    at the pixel's centre and depth seen through K [3, 3] and viewmat [4, 4]; world space, SH degree 0.
    Each is SIGMA_PX pixels wide at its depth, so neighbours overlap a little and leave no gaps."""
    height, width = depth.shape
    keep = alpha.reshape(-1) > 0
    v, u = torch.meshgrid(torch.arange(height, dtype=torch.float32, device=depth.device) + 0.5,
                          torch.arange(width, dtype=torch.float32, device=depth.device) + 0.5, indexing="ij")
    z = depth.reshape(-1)[keep].float()
    u, v = u.reshape(-1)[keep], v.reshape(-1)[keep]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    camera = torch.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], dim=-1)  # [M, 3]
    R, t = viewmat[:3, :3].float(), viewmat[:3, 3].float()
    means = (camera - t) @ R  # R^T (x - t), row vectors
    sigma = SIGMA_PX * z / fx
    scales = torch.stack([sigma, sigma, sigma * THICKNESS], dim=-1)
    quats = matrix_to_quat(R.T).expand(len(z), 4).contiguous()  # the disc's normal along the view ray
    colour = rgb.reshape(-1, 3)[keep].float()
    opacities = alpha.reshape(-1)[keep].float().clamp(0.0, 0.999)
    return Splats(means, quats, scales, opacities, ((colour - 0.5) / SH_C0)[:, None, :])


def layer_splats(scene: PhotoScene, layer: str) -> Splats:
    """The background or person layer as world-space Splats at the photo's pose (SH degree 0)."""
    if layer == "background":
        return grid_splats(scene.background_rgb, scene.background_depth, torch.ones_like(scene.background_depth),
                           scene.K, scene.viewmat)
    if layer == "person":
        splats = grid_splats(scene.person_rgb, scene.person_depth, scene.person_alpha, scene.K, scene.viewmat)
        # across the neck, rows of Gaussians move by different shares of the head pose and draw apart when
        # the head nods: there they are wider (most at half a share), so the neck stretches without seams
        w = scene.weights().to(splats.scales.dtype)
        splats.scales = splats.scales * (1 + NECK_WIDEN * 4 * w * (1 - w))[:, None]
        return splats
    raise ValueError(f"unknown scene layer {layer!r}: one of {', '.join(LAYERS)}")


def rotate_vectors(q: Tensor, v: Tensor) -> Tensor:
    """Rotate vectors v [..., 3] by unit quaternions q [..., 4] (w, x, y, z), broadcast."""
    w, axis = q[..., :1], q[..., 1:]
    cross = torch.cross(axis.expand_as(v), v, dim=-1)
    return v + 2 * w * cross + 2 * torch.cross(axis.expand_as(v), cross, dim=-1)


def pose_layer(
    means: Tensor,  # [M, 3] world positions at the photo's pose
    quats: Tensor,  # [M, 4]
    weight: Tensor,  # [M] share of the head pose
    pivot: Tensor,  # [3] the rig's neck pivot (rest)
    base_rotation: Tensor,  # [3] the photo's head pose (axis-angle)
    base_translation: Tensor,  # [3]
    rotation: Tensor,  # [T, 3] the wanted head poses
    translation: Tensor,  # [T, 3]
) -> tuple[Tensor, Tensor]:
    """Means [T, M, 3] and quats [T, M, 4] of a layer moved from the photo's head pose to each wanted
    one, each Gaussian by its share w of the pose as the rig's neck does (rig/deform.apply_head_pose):
    x -> R(w r) R(w r0)^T (x - pivot - w t0) + pivot + w t. Exact for w = 1 (rigid with the head)."""
    w = weight[None, :, None]
    undo = axis_angle_to_quat(-weight[:, None] * base_rotation[None, :])  # [M, 4]: R(w r0)^T
    redo = axis_angle_to_quat(w * rotation[:, None, :])  # [T, M, 4]
    relative = quat_multiply(redo, undo.expand_as(redo))
    local = means - pivot - weight[:, None] * base_translation
    moved = rotate_vectors(relative, local.expand(rotation.shape[0], *local.shape)) + pivot + w * translation[:, None, :]
    return moved, quat_multiply(relative, quats.expand_as(relative))


def compose_rotations(delta: Tensor, base: Tensor) -> Tensor:
    """Axis-angle [T, 3] of R(delta_t) R(base): a head pose `delta` [T, 3] applied on top of `base` [3]."""
    q = quat_multiply(axis_angle_to_quat(delta), axis_angle_to_quat(base).expand(delta.shape[0], 4))
    return quat_to_axis_angle(q)


def head_turn(yaw_deg: Tensor, pitch_deg: Tensor) -> Tensor:
    """Axis-angle [T, 3] of a head turn from degrees [T] each: yaw about +y (+ = towards the head's
    own left), after pitch about -x (+ = chin up, looking up)."""
    yaw, pitch = torch.deg2rad(yaw_deg.float()), torch.deg2rad(pitch_deg.float())
    zero = torch.zeros_like(yaw)
    return quat_to_axis_angle(quat_multiply(axis_angle_to_quat(torch.stack([zero, yaw, zero], -1)),
                                            axis_angle_to_quat(torch.stack([-pitch, zero, zero], -1))))


def scene_head_pose(scene: PhotoScene, rotation: Tensor, translation: Tensor, around: str,
                    turn: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """A clip's head pose (axis-angle [T, 3], translation [T, 3], as motion files hold it: about the
    head at rest) placed in the photo: around="photo" moves it about the photo's own head pose (animate:
    the body stays natural), around="rest" about the head facing the camera where the photo has it.
    `turn` [T, 3] (head_turn) is applied last, on top. Returns the whole pose for render_photo_avatar."""
    if around == "photo":
        rotation = compose_rotations(rotation, scene.head_rotation)
    elif around != "rest":
        raise ValueError(f"around must be 'photo' or 'rest', got {around!r}")
    if turn is not None:
        rotation = quat_to_axis_angle(quat_multiply(axis_angle_to_quat(turn), axis_angle_to_quat(rotation)))
    return rotation, translation + scene.head_translation


def head_forward(rotation: Tensor) -> Tensor:
    """[3] the head's forward axis (the rig's +z, out of the face) in world axes at pose `rotation` [3]."""
    return rotate_vectors(axis_angle_to_quat(rotation[None].float()), torch.tensor([[0.0, 0.0, 1.0]]))[0]


def photo_head_turn_deg(scene: PhotoScene, pivot: Tensor) -> float:
    """How far (degrees) the photo's head is turned from facing its camera: the angle between the head's
    forward axis at the photo's pose and the direction from the head (the rig's neck pivot [3], placed
    by the photo's head translation) to the camera's centre."""
    R, t = scene.viewmat[:3, :3].float(), scene.viewmat[:3, 3].float()
    head = pivot.float() + scene.head_translation.float()
    towards_camera = torch.nn.functional.normalize(-(R.T @ t) - head, dim=0)
    cosine = float(torch.dot(head_forward(scene.head_rotation), towards_camera).clamp(-1, 1))
    return math.degrees(math.acos(cosine))


def quat_to_axis_angle(q: Tensor) -> Tensor:
    """Unit quaternions [T, 4] (w, x, y, z) -> axis-angle [T, 3], the short way round."""
    q = torch.where(q[:, :1] < 0, -q, q)
    sin_half = q[:, 1:].norm(dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, q[:, :1])
    return torch.where(sin_half > 1e-12, q[:, 1:] / sin_half.clamp_min(1e-12) * angle, 2 * q[:, 1:])


__all__ = ["LAYERS", "PhotoScene", "SCENE_LONG_SIDE", "compose_rotations", "grid_splats", "head_forward", "head_turn",
           "layer_splats", "photo_head_turn_deg", "pose_layer", "quat_to_axis_angle",
           "scene_head_pose"]
