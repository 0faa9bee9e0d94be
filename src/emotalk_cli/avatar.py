"""An avatar: a rigged head (mesh, ARKit blendshapes, eyes, neck) with Gaussians bound to its
triangles, so expression, gaze and head pose move them (GaussianAvatars, Qian et al. CVPR 2024).

    avatar = load_avatar("weights/default_avatar.safetensors")
    means, quats, scales = pose_gaussians(avatar, arkit [T, 52], head_rotation [T, 3],
                                          head_translation [T, 3], gaze [T, 2])  # each [T, N, .]

The file (format emotalk.avatar, see artifacts.AVATAR) holds the avatar's own rig, so it renders
on its own; the rig convention is that of `rig.deform.pose_vertices`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from emotalk_cli import artifacts, facs
from emotalk_cli.errors import ArtifactError
from emotalk_cli.photo_scene import PhotoScene
from emotalk_cli.resources import weights_path
from emotalk_cli.rig.deform import pose_vertices
from emotalk_cli.rig.template import PART_NAMES, HeadTemplate, template_from_tensors
from emotalk_cli.splats.binding import BoundGaussians, bind_to_world
from emotalk_cli.splats.binding_cpu import bind_to_world_cpu
from emotalk_cli.splats.gaussians import Splats

DEFAULT_AVATAR = weights_path("default_avatar.safetensors")


@dataclass
class Avatar:
    template: HeadTemplate  # the rig, with this person's identity shape in its rest vertices
    gaussians: BoundGaussians  # [N] bound to template.faces
    opacities: Tensor  # [N] in [0, 1]
    sh: Tensor  # [N, K, 3] spherical-harmonic colour coefficients
    meta: dict  # provenance: how it was made, from what
    scene: PhotoScene | None = None  # the photo's background, hair, neck and clothes; None: a head alone
    rest_arkit: Tensor | None = None  # [52] counter-expression held at rest (fit.rest; expression_at_rest), None: none

    def __len__(self) -> int:
        return len(self.gaussians)

    @property
    def sh_degree(self) -> int:
        return int(round(self.sh.shape[1] ** 0.5)) - 1

    def to(self, device: torch.device | str) -> "Avatar":
        g = self.gaussians
        return Avatar(
            self.template.to(device),
            BoundGaussians(g.parent.to(device), g.local_means.to(device), g.local_quats.to(device),
                           g.local_log_scales.to(device)),
            self.opacities.to(device),
            self.sh.to(device),
            self.meta,
            None if self.scene is None else self.scene.to(device),
            None if self.rest_arkit is None else self.rest_arkit.to(device),
        )


def pose_gaussians(
    avatar: Avatar,
    arkit: Tensor,  # [T, 52] blendshape weights
    head_rotation: Tensor,  # [T, 3] axis-angle radians about the neck pivot
    head_translation: Tensor,  # [T, 3] metres
    gaze: Tensor,  # [T, 2] yaw, pitch radians
) -> tuple[Tensor, Tensor, Tensor]:
    """World means [T, N, 3], quats [T, N, 4] (w, x, y, z) and scales [T, N, 3] of the posed avatar
    (its rest counter-expression included: expression_at_rest)."""
    vertices = pose_vertices(avatar.template, expression_at_rest(avatar, arkit), head_rotation, head_translation, gaze)
    g = avatar.gaussians
    args = (avatar.template.faces, g.parent, g.local_means, g.local_quats, g.local_log_scales)
    differentiable = torch.is_grad_enabled() and any(t.requires_grad for t in (vertices, *args[2:]))
    if vertices.device.type == "cpu" and vertices.dtype == torch.float32 and not differentiable:
        return bind_to_world_cpu(vertices, *args)  # same numbers, one numba pass (splats/binding_cpu.py)
    return bind_to_world(vertices, *args)


#: The channels an avatar may hold at rest to counter what its texture still says (fit.rest), each
#: with the expressions it counters: it fades out as they are asked for, so a blink still closes the
#: eye and a smile is a whole smile.
REST_COUNTERS: dict[str, tuple[str, ...]] = {
    "eyeWideLeft": ("eyeSquintLeft", "eyeBlinkLeft"),
    "eyeWideRight": ("eyeSquintRight", "eyeBlinkRight"),
    "mouthFrownLeft": ("mouthSmileLeft",),
    "mouthFrownRight": ("mouthSmileRight",),
}


def expression_at_rest(avatar: Avatar, arkit: Tensor) -> Tensor:
    """The blendshape weights [T, 52] the rig is posed with: `arkit` [T, 52] plus the avatar's rest
    counter-expression, each counter faded by the largest of the expressions it counters and the sum
    held to 1 (a weight asked above 1 stays)."""
    if avatar.rest_arkit is None:
        return arkit
    rest = avatar.rest_arkit.to(arkit)
    fade = torch.ones_like(arkit)
    for counter, countered in REST_COUNTERS.items():
        asked = arkit[:, [facs.ARKIT_INDEX[c] for c in countered]].amax(dim=-1)
        fade[:, facs.ARKIT_INDEX[counter]] = 1 - asked.clamp(0, 1)
    return torch.maximum(arkit, (arkit + rest * fade).clamp(max=1.0))


#: The neck fades out below this neck weight (rig: 0 at the mesh's cut, 1 on the head; harmonic between).
NECK_FADE = 0.6
#: With a photo scene the photo's own neck (the person layer) shows below the chin: the rig's neck is gone below this.
NECK_FADE_SCENE = 0.97


def shown_opacities(avatar: Avatar, with_scene: bool | None = None) -> Tensor:
    """Opacities [N] as rendered and exported: the fitted ones, with the neck fading to transparent over
    its lower part (parent triangle's mean neck weight below NECK_FADE, quadratically to 0 at the cut),
    so the head ends softly instead of at the jagged cut edge of the mesh; with a photo scene the rig's
    neck is hidden (weight below NECK_FADE_SCENE) and the photo's neck shows. Fitting uses the raw ones."""
    t = avatar.template
    weight = t.neck_weight[t.faces.long()].mean(dim=1)[avatar.gaussians.parent.long()]
    if (avatar.scene is not None) if with_scene is None else with_scene:
        return avatar.opacities * ((weight - NECK_FADE_SCENE) / (1 - NECK_FADE_SCENE)).clamp(0.0, 1.0)
    return avatar.opacities * (weight / NECK_FADE).clamp(0.0, 1.0) ** 2


def neutral_splats(avatar: Avatar) -> Splats:
    """The avatar at rest (neutral expression, no pose) as plain world-space Splats (e.g. for .ply export)."""
    zeros = torch.zeros(1, len(facs.ARKIT_NAMES))
    means, quats, scales = pose_gaussians(avatar, zeros, torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 2))
    return Splats(means[0], quats[0], scales[0], shown_opacities(avatar), avatar.sh)


@dataclass
class SceneParts:
    """An avatar's photo scene split by motion, world space at the photo's head pose (SH degree 0)."""

    still: Splats  # the person's Gaussians that do not move with the head (torso, clothes)
    movable: Splats  # those that do (hair, hat, ears, neck), by their share `weight` [M] of the head pose
    weight: Tensor  # [M]
    background: Splats

    def widened(self, factor: float) -> "SceneParts":
        """The grid Gaussians `factor` times wider (render.frames.grid_widening: for frames larger than
        the photo's scene grid, so the layers stay opaque and seamless instead of showing the grid)."""
        def wide(splats: Splats) -> Splats:
            return Splats(splats.means, splats.quats, splats.scales * factor, splats.opacities, splats.sh)

        return SceneParts(wide(self.still), wide(self.movable), self.weight, wide(self.background))


def scene_parts(avatar: Avatar) -> SceneParts:
    """The avatar's photo scene as Gaussians; raises ValueError on a head-only avatar."""
    from emotalk_cli.photo_scene import layer_splats

    if avatar.scene is None:
        raise ValueError("the avatar has no photo scene")
    person, weight = layer_splats(avatar.scene, "person"), avatar.scene.weights().to(avatar.sh.device)
    still = weight <= STILL_WEIGHT

    def subset(mask: Tensor) -> Splats:
        return Splats(person.means[mask], person.quats[mask], person.scales[mask], person.opacities[mask], person.sh[mask])

    return SceneParts(subset(still), subset(~still), weight[~still], layer_splats(avatar.scene, "background"))


def pose_movable(avatar: Avatar, parts: SceneParts, head_rotation: Tensor, head_translation: Tensor) -> "MovingSplats":
    """The movable part of the scene at head poses (axis-angle [T, 3], translation [T, 3])."""
    from emotalk_cli.photo_scene import pose_layer

    scene, movable = avatar.scene, parts.movable
    means, quats = pose_layer(movable.means, movable.quats, parts.weight, avatar.template.neck_pivot,
                              scene.head_rotation, scene.head_translation, head_rotation, head_translation)
    return MovingSplats(means, quats, movable.scales, movable.opacities, movable.sh)


@dataclass
class MovingSplats:
    """Gaussians posed per frame: means [T, M, 3] and quats [T, M, 4]; the rest [M, .] as in Splats."""

    means: Tensor
    quats: Tensor
    scales: Tensor
    opacities: Tensor
    sh: Tensor

    def frame(self, t: int) -> Splats:
        return Splats(self.means[t], self.quats[t], self.scales, self.opacities, self.sh)


#: The person layer's Gaussians with at most this share of the head pose do not move (the torso).
STILL_WEIGHT = 1e-3


def photo_splats(avatar: Avatar, arkit: Tensor, head_rotation: Tensor, head_translation: Tensor, gaze: Tensor) -> Splats:
    """The whole photo avatar at one expression and head pose (arkit [52], axis-angle [3], translation
    [3], gaze [2]; the whole pose, as render_photo_avatar takes it) as plain world-space Splats: head,
    person and background (e.g. for .ply export)."""
    means, quats, scales = pose_gaussians(avatar, arkit[None], head_rotation[None], head_translation[None], gaze[None])
    scene = scene_parts(avatar)
    moving = pose_movable(avatar, scene, head_rotation[None], head_translation[None])
    k = avatar.sh.shape[1]
    parts = [Splats(means[0], quats[0], scales[0], shown_opacities(avatar), avatar.sh), moving.frame(0),
             scene.still, scene.background]
    return Splats(*(torch.cat([pad_sh(p.sh, k) if name == "sh" else getattr(p, name) for p in parts])
                    for name in ("means", "quats", "scales", "opacities", "sh")))


def pad_sh(sh: Tensor, k: int) -> Tensor:
    """SH coefficients [N, K0, 3] padded with zeros to [N, k, 3] (view-independent colour stays)."""
    if sh.shape[1] >= k:
        return sh
    return torch.cat([sh, sh.new_zeros(sh.shape[0], k - sh.shape[1], 3)], dim=1)


def save_avatar(path: str | os.PathLike, avatar: Avatar, meta: dict, overwrite: bool = False) -> None:
    """Write an avatar file atomically; `meta` records how it was made (command, options, sources)."""
    t, g = avatar.template, avatar.gaussians
    tensors = {
        "vertices": t.vertices,
        "faces": t.faces.int(),
        "vertex_part": t.vertex_part.int(),
        "face_part": t.face_part.int(),
        "blendshapes": t.blendshapes.half(),
        "eye_centres": t.eye_centres,
        "eye_look": t.eye_look,
        "neck_pivot": t.neck_pivot,
        "neck_weight": t.neck_weight,
        "gaussian_parent": g.parent.int(),
        "gaussian_means": g.local_means,
        "gaussian_quats": g.local_quats,
        "gaussian_log_scales": g.local_log_scales,
        "gaussian_opacities": avatar.opacities,
        "gaussian_sh": avatar.sh,
        **({} if avatar.scene is None else avatar.scene.tensors()),
        **({} if avatar.rest_arkit is None else {"rest_arkit": avatar.rest_arkit.float()}),
    }
    rig_meta = {
        "part_names": list(t.part_names),
        "blendshape_names": list(facs.ARKIT_NAMES),
        "landmarks": t.landmarks,
        "units": "metres",
        "axes": "+x head's left, +y up, +z out of the face",
    }
    artifacts.save_artifact(path, artifacts.AVATAR, tensors, {**rig_meta, **meta}, overwrite=overwrite)


def load_avatar(path: str | os.PathLike | None = None) -> Avatar:
    """Read and validate an avatar file (default: the shipped one); one Avatar is shared while
    emotalk_cli.cache is on (batch workers: render and animate only read it)."""
    from emotalk_cli.cache import cached

    source = Path(path) if path is not None else DEFAULT_AVATAR
    return cached("avatar", (source,), None, lambda: _read_avatar(source))


def _read_avatar(source: Path) -> Avatar:
    loaded = artifacts.load_artifact(source, artifacts.AVATAR)
    t = loaded.tensors
    template = template_from_tensors(t, loaded.meta, source, artifacts.AVATAR.made_by)
    parent = t["gaussian_parent"].long()
    if parent.min() < 0 or parent.max() >= template.faces.shape[0]:
        raise ArtifactError(f"{source}: gaussian_parent indexes triangles outside [0, {template.faces.shape[0]}); "
                            f"remake it: {artifacts.AVATAR.made_by}")
    k = t["gaussian_sh"].shape[1]
    if k not in (1, 4, 9, 16):
        raise ArtifactError(f"{source}: gaussian_sh has K={k} coefficients, expected 1, 4, 9 or 16")
    gaussians = BoundGaussians(parent, t["gaussian_means"], t["gaussian_quats"], t["gaussian_log_scales"])
    try:
        scene = PhotoScene.from_tensors(t)
    except ValueError as err:
        raise ArtifactError(f"{source}: {err}; remake it: {artifacts.AVATAR.made_by}") from None
    rest = t.get("rest_arkit")  # shape, finiteness and [0, 1] checked by the format (artifacts.AVATAR)
    if rest is not None:
        allowed = torch.zeros(len(facs.ARKIT_NAMES), dtype=torch.bool)
        allowed[[facs.ARKIT_INDEX[c] for c in REST_COUNTERS]] = True
        if bool((rest[~allowed] != 0).any()):
            raise ArtifactError(f"{source}: rest_arkit holds weights on channels other than {', '.join(REST_COUNTERS)}; "
                                f"remake it: {artifacts.AVATAR.made_by}")
        rest = rest.float()
    return Avatar(template, gaussians, t["gaussian_opacities"], t["gaussian_sh"], loaded.meta, scene, rest)


def is_avatar_file(path: str | os.PathLike) -> bool:
    """True when `path` is a safetensors file whose metadata says emotalk.avatar."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            return (handle.metadata() or {}).get("format") == artifacts.AVATAR.name
    except Exception:  # unreadable files are reported by the loader that is tried next
        return False


__all__ = ["Avatar", "DEFAULT_AVATAR", "MovingSplats", "PART_NAMES", "REST_COUNTERS", "expression_at_rest", "is_avatar_file",
           "load_avatar", "neutral_splats", "pad_sh", "photo_splats", "pose_gaussians", "pose_movable", "scene_parts", "SceneParts", "save_avatar", "shown_opacities"]
