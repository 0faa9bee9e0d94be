"""Rendering a static Gaussian scene (a .ply, or later an avatar at rest) along a camera path,
optionally moved rigidly by a motion file's head pose. Frames come out one by one as uint8 images:
RGB [H, W, 3] on a background colour, or with `ViewOptions(transparent=True)` straight RGBA
[H, W, 4] (colour un-premultiplied, so it composites over anything as the subject would).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

from emotalk_cli.device import rasterizer_threads
from emotalk_cli.errors import RenderError
from emotalk_cli.render import camera as cameras
from emotalk_cli.render.camera_path import CameraPath, sample_camera_path
from emotalk_cli.render.rasterize import rasterize
from emotalk_cli.splats.gaussians import Splats, axis_angle_to_quat, quat_to_matrix


@dataclass(frozen=True)
class ViewOptions:
    """Where the camera is. Defaults frame the subject from the front."""

    width: int = 512  # pixels, even
    height: int = 512  # pixels, even
    fov: float = 25.0  # vertical field of view, degrees (a portrait lens)
    yaw: float = 0.0  # degrees around the up axis at the first frame; + moves the camera to the subject's left
    pitch: float = 0.0  # degrees; + looks from above
    orbit: float = 0.0  # degrees of yaw added over the whole clip (360 = one turn)
    distance: float | None = None  # from the subject's centre, scene units; None frames the subject
    up: str = "+y"  # the scene's up axis: +y (ours), -y (most COLMAP/Inria captures), +z, -z
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)  # RGB in [0, 1] (render.background parses --background)
    transparent: bool = False  # no background: frames are straight RGBA [H, W, 4], alpha the subject's coverage
    path: CameraPath | None = None  # keyframed yaw, pitch and zoom over time; replaces yaw, pitch and orbit
    fps: float = 25.0  # frame rate: when each frame is on the camera path
    photo: bool = False  # an avatar with a photo scene: through the photo's camera, with its person (and background)
    scene_background: bool = False  # with photo: the photo's background layer behind the person (else `background`)


def subject_bounds(means: Tensor) -> tuple[Tensor, float]:
    """Centre [3] and radius of the bulk of the Gaussians (median centre, 95th percentile radius),
    robust to the floaters that captured scenes carry."""
    if means.shape[0] == 0:
        raise RenderError("the scene holds no Gaussians: nothing to render")
    sample = means[torch.randperm(means.shape[0], generator=torch.Generator().manual_seed(0))[:100_000]]
    centre = sample.median(dim=0).values
    radius = torch.quantile((sample - centre).norm(dim=-1).float(), 0.95).item()
    return centre, max(radius, 1e-6)


def view_scale(framing: dict, view: ViewOptions) -> float:
    """Distance factor that keeps a framing made for field of view framing['fov'] at view.fov."""
    import math

    fov = float(framing.get("fov", view.fov))
    return math.tan(math.radians(fov) / 2) / math.tan(math.radians(view.fov) / 2)


def camera_path(splats: Splats, view: ViewOptions, num_frames: int, centre: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Viewmats [F, 4, 4] and Ks [F, 3, 3] for `num_frames` frames, looking at `centre` [3]
    (default: the middle of the bulk of the Gaussians)."""
    bulk_centre, radius = subject_bounds(splats.means.detach().cpu())
    centre = bulk_centre if centre is None else centre
    distance = view.distance if view.distance is not None else cameras.frame_distance(radius, view.fov)
    if distance <= 0:
        raise RenderError(f"camera distance {distance} must be positive")
    if view.path is not None:
        yaws, pitches, zoom = sample_camera_path(view.path, torch.arange(num_frames, dtype=torch.float64) / view.fps)
        viewmats = cameras.orbit(centre, distance / zoom, yaws, pitches, up=view.up)
    else:
        steps = torch.arange(num_frames, dtype=torch.float32) / max(num_frames, 1)
        yaws = view.yaw + view.orbit * steps
        viewmats = cameras.orbit(centre, distance, yaws, view.pitch, up=view.up)
    K = cameras.intrinsics(view.fov, view.width, view.height)
    return viewmats, K.expand(num_frames, 3, 3)


def pose_matrices(head_rotation: Tensor, head_translation: Tensor, pivot: Tensor) -> Tensor:
    """Rigid motions [T, 4, 4] x -> R (x - pivot) + pivot + t from axis-angle [T, 3] and translation [T, 3]."""
    rotation = quat_to_matrix(axis_angle_to_quat(head_rotation))
    matrices = torch.eye(4).repeat(head_rotation.shape[0], 1, 1)
    matrices[:, :3, :3] = rotation
    matrices[:, :3, 3] = pivot + head_translation - (rotation @ pivot)
    return matrices


def to_uint8(rgb: Tensor) -> np.ndarray:
    """[..., C] float in [0, 1] -> uint8 numpy, rounded (RGB or RGBA: every channel alike)."""
    if rgb.device.type == "cpu" and rgb.dtype == torch.float32 and not rgb.requires_grad:
        from emotalk_cli.render.cpu_fast import to_uint8_cpu

        return to_uint8_cpu(rgb)  # one numba pass instead of four torch ones (1.7 ms -> 0.2 ms at 512x512)
    return to_uint8_reference(rgb)


def to_uint8_reference(rgb: Tensor) -> np.ndarray:
    """to_uint8 in torch, on any device: clamp to [0, 1], * 255, + 0.5, truncate."""
    return (rgb.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).cpu().numpy()


def straight_rgba(rgb: Tensor, alpha: Tensor) -> Tensor:
    """Premultiplied colour [..., 3] (rendered with no background, i.e. over black) and alpha [..., 1]
    -> straight RGBA float [..., 4]: colour / alpha where alpha > 0, black where nothing covers the
    pixel. Composited back, straight * alpha + background * (1 - alpha), it gives the render on
    that background exactly (up to rounding), so edges carry no dark or light fringe."""
    covered = alpha > 0
    colour = torch.where(covered, rgb / torch.where(covered, alpha, torch.ones_like(alpha)), torch.zeros_like(rgb))
    return torch.cat([colour, alpha], dim=-1)


def _frames(rgb: Tensor, alpha: Tensor, transparent: bool) -> np.ndarray:
    """The rasterizer's output -> uint8 frames: RGB (background already composited) or straight RGBA."""
    return to_uint8(straight_rgba(rgb, alpha)) if transparent else to_uint8(rgb)


def render_scene(
    splats: Splats,
    view: ViewOptions,
    num_frames: int,
    head_rotation: Tensor | None = None,  # [T, 3] axis-angle per frame (T >= num_frames), radians
    head_translation: Tensor | None = None,  # [T, 3] per frame, scene units
    backend: str = "auto",
    device: torch.device | str = "cpu",
    batch: int = 4,
) -> Iterator[np.ndarray]:
    """Yield `num_frames` frames, uint8 [H, W, 3] ([H, W, 4] straight RGBA when view.transparent). A rigid head pose is applied as the inverse camera
    motion (viewmat @ pose), which moves view-dependent colour with the head, exactly."""
    if num_frames <= 0:
        raise RenderError("nothing to render: the clip has no frames")
    viewmats, Ks = camera_path(splats, view, num_frames)
    if head_rotation is not None:
        centre, _ = subject_bounds(splats.means.detach().cpu())
        translation = head_translation if head_translation is not None else torch.zeros_like(head_rotation)
        viewmats = viewmats @ pose_matrices(head_rotation[:num_frames].float(), translation[:num_frames].float(), centre)
    splats = splats.to(device)
    background = None if view.transparent else torch.tensor(view.background, dtype=torch.float32, device=device)
    with torch.no_grad(), rasterizer_threads(device):
        for start in range(0, num_frames, batch):
            stop = min(num_frames, start + batch)
            rgb, alpha = rasterize(
                splats.means, splats.quats, splats.scales, splats.opacities, splats.sh,
                viewmats[start:stop].to(device), Ks[start:stop].to(device), view.width, view.height,
                sh_degree=splats.sh_degree, background=background, backend=backend,
            )
            for frame in _frames(rgb, alpha, view.transparent):
                yield frame


def render_avatar(
    avatar,  # emotalk_cli.avatar.Avatar
    view: ViewOptions,
    arkit: Tensor,  # [T, 52] blendshape weights per frame
    head_rotation: Tensor,  # [T, 3] axis-angle radians
    head_translation: Tensor,  # [T, 3] metres
    gaze: Tensor,  # [T, 2] yaw, pitch radians
    backend: str = "auto",
    device: torch.device | str = "cpu",
    batch: int = 8,
) -> Iterator[np.ndarray]:
    """Yield T frames, uint8 [H, W, 3] ([H, W, 4] straight RGBA when view.transparent), of the rigged
    avatar posed per frame.

    The camera is framed on the avatar at rest, so head motion moves the head within the frame; with
    view.photo, it is the photo's camera and the photo's scene is drawn too (render_photo_avatar)."""
    from emotalk_cli.avatar import neutral_splats, pose_gaussians, shown_opacities

    num_frames = arkit.shape[0]
    if num_frames <= 0:
        raise RenderError("nothing to render: the clip has no frames")
    if view.photo:
        yield from render_photo_avatar(avatar, view, arkit, head_rotation, head_translation, gaze, backend, device, batch)
        return
    framing = avatar.meta.get("default_view", {})
    if view.distance is None and "distance" in framing:  # the avatar's own portrait framing
        view = replace(view, distance=float(framing["distance"]) * view_scale(framing, view))
    centre = torch.tensor(framing["target"]) if "target" in framing else None
    viewmats, Ks = camera_path(neutral_splats(avatar), view, num_frames, centre=centre)
    avatar = avatar.to(device)
    opacities = shown_opacities(avatar)
    background = None if view.transparent else torch.tensor(view.background, dtype=torch.float32, device=device)
    with torch.no_grad(), rasterizer_threads(device):
        for start in range(0, num_frames, batch):
            stop = min(num_frames, start + batch)
            means, quats, scales = pose_gaussians(
                avatar, *(x[start:stop].to(device).float() for x in (arkit, head_rotation, head_translation, gaze))
            )
            for i in range(stop - start):
                rgb, alpha = rasterize(
                    means[i], quats[i], scales[i], opacities, avatar.sh,
                    viewmats[start + i : start + i + 1].to(device), Ks[start + i : start + i + 1].to(device),
                    view.width, view.height, sh_degree=avatar.sh_degree, background=background, backend=backend,
                )
                yield _frames(rgb[0], alpha[0], view.transparent)


def photo_camera(scene, width: int, height: int) -> tuple[Tensor, Tensor]:
    """The photo's camera for a width x height frame: viewmat [4, 4] and K [3, 3], the photo scaled to
    cover the frame and centred (a frame of another aspect crops the photo's long side)."""
    grid_width, grid_height = scene.size
    scale = max(width / grid_width, height / grid_height)
    K = scene.K.clone().float()
    K[:2] *= scale
    K[2] = torch.tensor([0.0, 0.0, 1.0])
    K[0, 2] -= (grid_width * scale - width) / 2
    K[1, 2] -= (grid_height * scale - height) / 2
    return scene.viewmat.float(), K


EPS2D = 0.3  # px^2 the rasterizer adds to every projected covariance (gsplat's eps2d; render/projection.py)


TILE = 16  # the rasterizers' tile side: a box on the frame's tile grid bins every Gaussian as the frame does


def moving_box(means: Tensor, scales: Tensor, viewmat: Tensor, K: Tensor, width: int, height: int) -> tuple | None:
    """(x0, y0, x1, y1): the part of a width x height frame that Gaussians (means [N, 3], scales [N, 3])
    can touch, on the TILE grid, or None when none is in view. Conservative: each Gaussian's reach is
    the rasterizer's (3.33 sigma of its projected covariance, plus its 0.3 px^2 blur) bounded from its
    largest scale and the projection's stretch off-axis, so drawing only this box (K's centre shifted by
    x0, y0) gives the frame's pixels exactly: the same Gaussians land in the same tiles."""
    camera = means @ viewmat[:3, :3].T + viewmat[:3, 3]
    z = camera[:, 2]
    front = z > 0.01
    if not bool(front.any()):
        return None
    camera, z, largest = camera[front], z[front], scales[front].max(dim=-1).values
    slope = (camera[:, :2] / z[:, None]).pow(2).sum(-1)
    sigma = largest * float(max(K[0, 0], K[1, 1])) / z * torch.sqrt(1 + slope)
    reach = 3.33 * torch.sqrt(sigma * sigma + EPS2D) + 2.0
    u = camera[:, 0] / z * K[0, 0] + K[0, 2]
    v = camera[:, 1] / z * K[1, 1] + K[1, 2]
    x0, x1 = float((u - reach).min()), float((u + reach).max())
    y0, y1 = float((v - reach).min()), float((v + reach).max())
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        return None
    x0, y0 = max(0, int(math.floor(x0 / TILE)) * TILE), max(0, int(math.floor(y0 / TILE)) * TILE)
    x1, y1 = min(width, int(math.ceil(x1 / TILE)) * TILE), min(height, int(math.ceil(y1 / TILE)) * TILE)
    return x0, y0, x1, y1


def grid_widening(magnified: float) -> float:
    """How much wider the photo scene's grid Gaussians are drawn in a frame `magnified` times the grid's
    resolution, so they overlap their neighbours as at the grid's own size: there the rasterizer's
    fixed blur (EPS2D px^2, as gsplat) adds to SIGMA_PX; magnified, it adds relatively less, and coverage
    between centres would drop (the layers would show the grid and let the background through)."""
    from emotalk_cli.photo_scene import SIGMA_PX

    if magnified <= 1.0:
        return 1.0
    return math.sqrt((SIGMA_PX**2 + EPS2D) * magnified**2 - EPS2D) / (SIGMA_PX * magnified)


def render_photo_avatar(
    avatar,  # emotalk_cli.avatar.Avatar with a scene
    view: ViewOptions,
    arkit: Tensor,  # [T, 52]
    head_rotation: Tensor,  # [T, 3] axis-angle radians: the head's whole pose (the photo's is scene.head_rotation)
    head_translation: Tensor,  # [T, 3] metres
    gaze: Tensor,  # [T, 2]
    backend: str = "auto",
    device: torch.device | str = "cpu",
    batch: int = 8,
    crop: bool = True,  # draw what moves only over the box it covers (exact; False: the whole frame, the check)
) -> Iterator[np.ndarray]:
    """Frames of a photo avatar through the photo's camera: the head and what moves with it (hair,
    ears, neck) drawn per frame, over the still layers (the torso, then the background: the photo's,
    a colour, or none) drawn once, since the camera holds still. Exact for the background (always
    behind); the torso is put behind the moving head as a layer. uint8 [H, W, 3], or straight RGBA
    [H, W, 4] when view.transparent."""
    from emotalk_cli.avatar import pad_sh, pose_gaussians, pose_movable, scene_parts, shown_opacities

    if avatar.scene is None:
        raise RenderError("this avatar has no photo scene (it is a head alone): refit it from a photo with emotalk fit-avatar")
    num_frames = arkit.shape[0]
    viewmat, K = photo_camera(avatar.scene, view.width, view.height)
    viewmat, K = viewmat[None].to(device), K[None].to(device)
    avatar = avatar.to(device)
    opacities = shown_opacities(avatar)
    k = avatar.sh.shape[1]
    with torch.no_grad(), rasterizer_threads(device):
        parts = scene_parts(avatar)
        magnified = float(K[0, 0, 0]) / float(avatar.scene.K[0, 0])  # frame pixels per grid pixel
        if magnified > 1.0:
            parts = parts.widened(grid_widening(magnified))
        static, background = parts.still, parts.background
        rgb, alpha = rasterize(static.means, static.quats, static.scales, static.opacities, static.sh, viewmat, K,
                               view.width, view.height, sh_degree=0, backend=backend)
        still_rgb, still_alpha = rgb[0], alpha[0]
        if view.scene_background and not view.transparent:
            rgb, _ = rasterize(background.means, background.quats, background.scales, background.opacities, background.sh,
                               viewmat, K, view.width, view.height, sh_degree=0, backend=backend)
            still_rgb, still_alpha = still_rgb + (1 - still_alpha) * rgb[0], torch.ones_like(still_alpha)
        elif not view.transparent:
            colour = torch.tensor(view.background, dtype=torch.float32, device=device)
            still_rgb, still_alpha = still_rgb + (1 - still_alpha) * colour, torch.ones_like(still_alpha)
        sh = torch.cat([avatar.sh, pad_sh(parts.movable.sh, k)])  # the head, then what moves with it: fixed per clip
        all_opacities = torch.cat([opacities, parts.movable.opacities])
        for start in range(0, num_frames, batch):
            stop = min(num_frames, start + batch)
            rotation, translation = (x[start:stop].to(device).float() for x in (head_rotation, head_translation))
            means, quats, scales = pose_gaussians(avatar, arkit[start:stop].to(device).float(), rotation, translation,
                                                  gaze[start:stop].to(device).float())
            moving = pose_movable(avatar, parts, rotation, translation)
            for i in range(stop - start):
                frame_means, frame_scales = torch.cat([means[i], moving.means[i]]), torch.cat([scales[i], moving.scales])
                box = moving_box(frame_means, frame_scales, viewmat[0], K[0], view.width, view.height) if crop else \
                    (0, 0, view.width, view.height)
                out_rgb, out_alpha = still_rgb.clone(), still_alpha.clone()
                if box is not None:
                    x0, y0, x1, y1 = box
                    shifted = K.clone()
                    shifted[:, 0, 2] -= x0
                    shifted[:, 1, 2] -= y0
                    rgb, alpha = rasterize(frame_means, torch.cat([quats[i], moving.quats[i]]), frame_scales, all_opacities,
                                           sh, viewmat, shifted, x1 - x0, y1 - y0, sh_degree=avatar.sh_degree, backend=backend)
                    front = 1 - alpha[0]
                    out_rgb[y0:y1, x0:x1] = rgb[0] + front * still_rgb[y0:y1, x0:x1]
                    out_alpha[y0:y1, x0:x1] = alpha[0] + front * still_alpha[y0:y1, x0:x1]
                yield _frames(out_rgb, out_alpha, view.transparent)
