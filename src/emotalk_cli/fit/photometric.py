"""The photometric stage of fit-avatar: Gaussians bound to the fitted head, coloured from the photo(s)
and optimised against them (L1 + 0.2 D-SSIM, as 3D Gaussian Splatting and GaussianAvatars train).

    avatar = fit_gaussians(images [F, H, W, 3], head_fit, template, PhotometricConfig(), callback)

- Gaussians are spread over the fitted template (identity applied) and bound to its triangles
  (GaussianAvatars), so the avatar's rest pose is neutral: the photo's expression, head pose and
  gaze live in `head_fit` and are applied only while fitting (a smile in the photo is undone).
- Each frame is cropped to a square around the posed head and resized to `resolution` pixels; the
  camera intrinsics follow the crop.
- Initial colours: a Gaussian in the face region that faces the camera and passes a depth test
  against a rendered depth map takes the photo's colour at its projection; the others get a colour
  by part: skin the median sampled skin, scalp and back of the head the colour sampled on the front
  of the scalp (hair, or skin when bald), neck a shaded skin, mouth, teeth, tongue, eyes and
  lashes from a palette.
- Optimised (Adam, cosine-decayed): SH degree-0 colour, opacity, local offsets, scales and
  rotations of the Gaussians that face the camera in some frame, rendered at each frame's tracked
  pose and expression. The loss counts only the face region (the face-region Gaussians' rendered
  silhouette, eroded), so neither the photo's background nor its clothes or hair volume is baked
  into the head; a random background colour each step keeps the face opaque. Local offsets and
  scale growth are penalised, so Gaussians stay on their triangles.
- The mouth's opening (with `tracks`): the photo's is the tracked inner-lip outline, the posed head's
  is where teeth, tongue or the mouth's inside are seen. Where the two disagree (a toothy smile that
  the rig's lips, posed at the tracked expression, do not open as far) the pixels are left out of the
  loss (with a 3 px margin), skin takes no initial colour from inside the outline (grown by 3 px) nor
  is optimised where it is seen there, and teeth / tongue take colour only from inside it. Otherwise the photo's teeth are painted onto the lips and stay there when the
  expression is undone: the neutral avatar smiled with its teeth (MediaPipe read the astronaut
  avatar's neutral face as smile 0.37-0.46).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from emotalk_cli.avatar import Avatar
from emotalk_cli.device import rasterizer_threads
from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.photometric_config import PhotometricConfig
from emotalk_cli.fit.solve import HeadFit, fitted_template
from emotalk_cli.fit.ssim import ssim, ssim_map
from emotalk_cli.render.rasterize import rasterize
from emotalk_cli.rig.deform import pose_vertices
from emotalk_cli.rig.template import HeadTemplate
from emotalk_cli.splats.gaussians import SH_C0
from emotalk_cli.splats.binding import (BoundGaussians, bind_to_world, init_on_surface, matrix_to_quat, normalize_quat,
                                        quat_multiply, triangle_frames)

PALETTE = {  # sRGB in [0, 1], for what a photo does not show
    "mouth": (0.28, 0.07, 0.08),  # the mouth's inside: shadow, never background
    "eye_socket": (0.45, 0.30, 0.26),  # seen only at the lid edges
    "eye": (0.93, 0.92, 0.90),  # sclera
    "iris": (0.30, 0.22, 0.14),
    "pupil": (0.03, 0.03, 0.03),
    "teeth": (0.93, 0.91, 0.84),
    "tongue": (0.62, 0.30, 0.31),
    "eyelashes": (0.20, 0.13, 0.10),
}
#: What is seen through the mouth's opening (between the lips), as opposed to skin. Only the mouth is
#: kept apart this way: the lid outlines MediaPipe gives run along the lash line, so a ring of dark
#: lashes and lid shadow would fall "inside the eye" and the lids would lose it (tried: washed-out eyes).
OPENING_PARTS = ("upper_teeth", "lower_teeth", "tongue", "mouth")
OPENING_GROW_PX = 3  # crop pixels (of 256) the tracked inner-lip outline is trusted to: kept clear around it
LIGHT = (0.25, 0.6, 1.0)  # soft shading direction for the colours the photo does not give


Callback = Callable[[int, int, float], None]  # (step, total steps, loss)


@dataclass
class FitView:
    """One frame prepared for fitting: the face crop and its camera, the head posed as tracked."""

    image: Tensor  # [S, S, 3] the photo's crop in [0, 1]
    valid: Tensor  # [S, S, 1] 1 inside the photo (a crop may reach past its border)
    K: Tensor  # [3, 3] intrinsics of the crop
    viewmat: Tensor  # [4, 4] world-to-camera (OpenCV)
    vertices: Tensor  # [V, 3] the fitted template posed at this frame's expression, pose and gaze
    box: tuple[float, float, float]  # (x0, y0, side) of the crop in the photo, pixels
    opening: Tensor | None = None  # [S, S, 1] 1 inside the tracked mouth opening (inner lips; None: not tracked)


# ---------------------------------------------------------------------------------------------
# Regions of the head, from rest positions (template frame: +x left, +y up, +z forward, metres)


def hair_region(rest: Tensor, part: Tensor, template: HeadTemplate) -> Tensor:
    """[N] bool: scalp and back of the head (the interim painted avatar's hair line)."""
    x, y, z = rest.unbind(-1)
    skin = part == template.part("skin")
    return skin & ((y > 0.098) | ((z < 0.035) & (y > -0.01) & (x.abs() < 0.075)) | ((z < 0.06) & (y > 0.06)))


def _in_parts(part: Tensor, template: HeadTemplate, names) -> Tensor:
    """[N] bool: the part label is one of `names`."""
    return sum((part == template.part(name)).long() for name in names).bool()


def face_region(rest: Tensor, part: Tensor, template: HeadTemplate) -> Tensor:
    """[N] bool: where a frontal photo is trusted: face skin below the hair line in front of the
    ears, eyes, lids, lips, teeth and tongue (not neck, ears, scalp or lashes)."""
    z = rest[:, 2]
    skin = (part == template.part("skin")) & (z > 0.06) & ~hair_region(rest, part, template)
    inner = sum((part == template.part(name)).long() for name in
                ("eye_left", "eye_right", "upper_teeth", "lower_teeth", "tongue", "mouth")).bool()
    return skin | inner


# ---------------------------------------------------------------------------------------------
# Frames: crop, camera


def _as_float_image(image) -> Tensor:
    image = torch.as_tensor(np.asarray(image))
    if image.dim() != 3 or image.shape[-1] != 3:
        raise EmotalkError(f"each image must be [H, W, 3] RGB, got {list(image.shape)}")
    return image.float() / 255.0 if image.dtype == torch.uint8 else image.float()


def crop_image(image: Tensor, box: tuple[float, float, float], size: int) -> tuple[Tensor, Tensor]:
    """Square crop (x0, y0, side) of an [H, W, 3] image resized to [size, size, 3] (antialiased),
    with a validity mask [size, size, 1] (0 where the crop reaches past the image)."""
    x0, y0, side = box
    scale = size / side
    h, w = image.shape[:2]
    chw = image.permute(2, 0, 1)[None]
    if scale < 1:  # shrink the whole photo first so the crop does not alias
        chw = F.interpolate(chw, size=(max(1, round(h * scale)), max(1, round(w * scale))), mode="bilinear",
                            antialias=True, align_corners=False)
    hs, ws = chw.shape[-2:]
    sx, sy = ws / w, hs / h
    pixel = (torch.arange(size, dtype=torch.float32) + 0.5) / scale  # crop pixel centres in photo pixels
    gx = (x0 + pixel) * sx / ws * 2 - 1
    gy = (y0 + pixel) * sy / hs * 2 - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing="xy"), -1)[None]
    rgba = torch.cat([chw, torch.ones_like(chw[:, :1])], 1)
    out = F.grid_sample(rgba, grid.to(chw), mode="bilinear", padding_mode="zeros", align_corners=False)[0]
    valid = (out[3:] > 0.99).float()
    return out[:3].permute(1, 2, 0).clamp(0, 1), valid.permute(1, 2, 0)


def crop_intrinsics(K: Tensor, box: tuple[float, float, float], size: int) -> Tensor:
    x0, y0, side = box
    s = size / side
    return torch.tensor([[s, 0, -x0 * s], [0, s, -y0 * s], [0, 0, 1.0]]).to(K) @ K


def head_box(vertices: Tensor, template: HeadTemplate, viewmat: Tensor, K: Tensor, margin: float) -> tuple[float, float, float]:
    """Square (x0, y0, side) around the projection of the posed head's skin, times `margin`."""
    skin = vertices[template.part_vertices("skin")]
    cam = skin @ viewmat[:3, :3].T + viewmat[:3, 3]
    uv = cam[:, :2] / cam[:, 2:3].clamp_min(1e-6) * K.diagonal()[:2] + K[:2, 2]
    lo, hi = uv.min(0).values, uv.max(0).values
    centre = (lo + hi) / 2
    side = float((hi - lo).max()) * margin
    return float(centre[0]) - side / 2, float(centre[1]) - side / 2, side


def opening_mask(polygons: dict[str, np.ndarray], box: tuple[float, float, float], size: int) -> Tensor:
    """[size, size, 1] in {0, 1}: crop pixels whose centre lies inside any of the polygons ([n, 2]
    photo pixels, as `tracking.opening_polygons` gives them)."""
    x0, y0, side = box
    scale = size / side
    mask = np.zeros((size, size), dtype=bool)
    for polygon in polygons.values():
        mask |= inside_polygon((polygon - np.array([x0, y0])) * scale, size, size)
    return torch.from_numpy(mask.astype(np.float32))[..., None]


def inside_polygon(polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    """bool [height, width]: pixels whose centre (x + 0.5, y + 0.5) lies inside the closed polygon
    [n, 2] (pixels), by the even-odd crossing rule."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros((height, width), dtype=bool)
    a = polygon
    b = np.roll(polygon, -1, axis=0)
    for (ax, ay), (bx, by) in zip(a, b):
        if ay == by:
            continue
        crosses = (ay > ys) != (by > ys)
        x_at = ax + (ys - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (xs < x_at)
    return inside


def prepare_views(images, head_fit: HeadFit, template: HeadTemplate, config: PhotometricConfig,
                  device: torch.device | str = "cpu", tracks: list | None = None) -> tuple[HeadTemplate, list[FitView]]:
    """The fitted template and one FitView per frame (images: [F, H, W, 3] uint8 or float in [0, 1];
    tracks: the frames' FaceTracks, for the mouth's opening, or None)."""
    from emotalk_cli.fit.tracking import opening_polygons

    frames = head_fit.arkit.shape[0]
    if len(images) != frames:
        raise EmotalkError(f"{len(images)} images but the head fit has {frames} frames: fit the same frames")
    shaped = fitted_template(template.to("cpu", torch.float32), head_fit.identity_offsets.cpu().float())
    posed = pose_vertices(shaped, head_fit.arkit.cpu(), head_fit.head_rotation.cpu(),
                          head_fit.head_translation.cpu(), head_fit.gaze.cpu())
    views = []
    for t in range(frames):
        image = _as_float_image(images[t])
        if head_fit.image_size != (0, 0) and tuple(head_fit.image_size) != (image.shape[1], image.shape[0]):
            raise EmotalkError(f"image {t} is {image.shape[1]}x{image.shape[0]} but the fit was made on "
                               f"{head_fit.image_size[0]}x{head_fit.image_size[1]}: pass the tracked images")
        box = head_box(posed[t], shaped, head_fit.viewmat.cpu(), head_fit.K.cpu(), config.margin)
        crop, valid = crop_image(image, box, config.resolution)
        K = crop_intrinsics(head_fit.K.cpu().float(), box, config.resolution)
        opening = None if tracks is None else opening_mask({"mouth": opening_polygons(tracks[t])["mouth"]}, box,
                                                           config.resolution).to(device)
        views.append(FitView(crop.to(device), valid.to(device), K.to(device), head_fit.viewmat.float().to(device),
                             posed[t].to(device), box, opening))
    return shaped.to(device), views


# ---------------------------------------------------------------------------------------------
# Rendering helpers


@dataclass
class TriangleFrames:
    """The parent triangles' frames of some bound Gaussians in one posed mesh, so that binding them
    again (as `bind_to_world` does) costs a few multiplications."""

    origin: Tensor  # [n, 3]
    rotation: Tensor  # [n, 3, 3]
    quat: Tensor  # [n, 4] the rotation as a quaternion (w, x, y, z)
    scale: Tensor  # [n]

    @staticmethod
    def of(vertices: Tensor, faces: Tensor, parent: Tensor) -> "TriangleFrames":
        origin, rotation, scale = (x[parent] for x in triangle_frames(vertices, faces))
        return TriangleFrames(origin, rotation, matrix_to_quat(rotation), scale)

    def bind(self, local_means: Tensor, local_quats: Tensor, local_log_scales: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """World means, unit quats and scales [n, .] (bind_to_world's formulas)."""
        means = self.scale[:, None] * torch.einsum("nij,nj->ni", self.rotation, local_means) + self.origin
        quats = quat_multiply(self.quat, normalize_quat(local_quats))
        return means, quats, self.scale[:, None] * torch.exp(local_log_scales)


def render_view(means, quats, scales, opacities, colours, view: FitView, size: int, background: Tensor,
                backend: str, sh_degree: int | None = 0) -> tuple[Tensor, Tensor]:
    """rgb [S, S, 3] and alpha [S, S, 1] of Gaussians in one view."""
    rgb, alpha = rasterize(means, quats, scales, opacities, colours, view.viewmat[None], view.K[None],
                           size, size, sh_degree=sh_degree, background=background, backend=backend)
    return rgb[0], alpha[0]


def _sample(image: Tensor, uv: Tensor) -> Tensor:
    """Bilinear samples [N, C] of an [S, S, C] image at pixel positions uv [N, 2] (centres at +0.5)."""
    size = image.shape[0]
    grid = (uv / size * 2 - 1)[None, None]
    return F.grid_sample(image.permute(2, 0, 1)[None], grid, align_corners=False, padding_mode="border")[0, :, 0].T


def _dilate(mask: Tensor, pixels: int) -> Tensor:
    """Binary dilation of [S, S, 1] by a (2p+1)^2 square."""
    m = mask.permute(2, 0, 1)[None]
    return F.max_pool2d(m, 2 * pixels + 1, stride=1, padding=pixels)[0].permute(1, 2, 0)


def _erode(mask: Tensor, pixels: int) -> Tensor:
    """Binary erosion of [S, S, 1] by a (2p+1)^2 square."""
    if pixels <= 0:
        return mask
    m = mask.permute(2, 0, 1)[None]
    return (-F.max_pool2d(-m, 2 * pixels + 1, stride=1, padding=pixels))[0].permute(1, 2, 0)


# ---------------------------------------------------------------------------------------------
# Initial colours


def _palette_colours(template: HeadTemplate, rest: Tensor, part: Tensor) -> Tensor:
    """RGB [N, 3] for the parts the photo does not show (eyes with iris and pupil)."""
    rgb = torch.full((len(part), 3), 0.5)
    for name in ("mouth", "eye_socket", "tongue", "eyelashes"):
        rgb[part == template.part(name)] = torch.tensor(PALETTE[name])
    for name in ("upper_teeth", "lower_teeth"):
        rgb[part == template.part(name)] = torch.tensor(PALETTE["teeth"])
    for eye, name in enumerate(("eye_left", "eye_right")):
        on_eye = part == template.part(name)
        direction = F.normalize(rest - template.eye_centres[eye], dim=-1)
        rgb[on_eye] = torch.tensor(PALETTE["eye"])
        rgb[on_eye & (direction[:, 2] > 0.92)] = torch.tensor(PALETTE["iris"])
        rgb[on_eye & (direction[:, 2] > 0.985)] = torch.tensor(PALETTE["pupil"])
    return rgb


def initial_colours(shaped: HeadTemplate, bound: BoundGaussians, opacities: Tensor, views: list[FitView],
                    config: PhotometricConfig) -> tuple[Tensor, dict]:
    """RGB [N, 3] from the photos where seen, else by part; per view the Gaussians in sight ([N] bool:
    inside the crop, facing the camera, passing the depth test); and what was sampled (for the metadata)."""
    cpu = shaped.to("cpu")
    g = BoundGaussians(*(t.cpu() for t in (bound.parent, bound.local_means, bound.local_quats, bound.local_log_scales)))
    part = cpu.face_part[g.parent]
    rest = bind_to_world(cpu.vertices, cpu.faces, g.parent, g.local_means, g.local_quats, g.local_log_scales)[0]
    rest_normal = triangle_frames(cpu.vertices, cpu.faces)[1][g.parent][:, :, 2]
    hair = hair_region(rest, part, cpu)
    trusted = face_region(rest, part, cpu) | hair  # the scalp's front shows hair (or a bald scalp)
    opening_part = _in_parts(part, cpu, OPENING_PARTS)
    total = torch.zeros(len(part), 3)
    weight = torch.zeros(len(part))
    hair_samples, in_sight = [], []
    for view in views:
        v = view.vertices.cpu()
        means, quats, scales = bind_to_world(v, cpu.faces, g.parent, g.local_means, g.local_quats, g.local_log_scales)
        normal = triangle_frames(v, cpu.faces)[1][g.parent][:, :, 2]
        R, t = view.viewmat[:3, :3].cpu(), view.viewmat[:3, 3].cpu()
        cam = means @ R.T + t
        eye = -(R.T @ t)
        facing = (normal * F.normalize(eye - means, dim=-1)).sum(-1)
        K = view.K.cpu()
        uv = cam[:, :2] / cam[:, 2:3].clamp_min(1e-6) * K.diagonal()[:2] + K[:2, 2]
        with torch.no_grad():
            depth_rgb, alpha = render_view(means, quats, scales, opacities.cpu(), cam[:, 2:3].expand(-1, 3).contiguous(),
                                           _cpu_view(view), config.resolution, torch.zeros(3), "cpu", sh_degree=None)
        depth = depth_rgb[..., :1] / alpha.clamp_min(1e-6)
        size = config.resolution
        inside = (uv >= 1).all(-1) & (uv <= size - 1).all(-1)
        at_depth = _sample(depth, uv)[:, 0]
        at_alpha = _sample(alpha, uv)[:, 0]
        at_valid = _sample(view.valid.cpu(), uv)[:, 0]
        visible = inside & (facing > 0) & (cam[:, 2] < at_depth + config.visibility_tolerance_m) & (at_valid > 0.99)
        in_sight.append(visible)
        seen = visible & (facing > config.facing_min) & (at_alpha > 0.5)
        colour = _sample(view.image.cpu(), uv)
        use = seen & trusted
        if view.opening is not None:  # skin takes no colour from inside the tracked inner lips, teeth and tongue only from there
            # (skin: against the outline grown by OPENING_GROW_PX, so the lips' edge takes no teeth either)
            at_open = _sample(view.opening.cpu(), uv)[:, 0]
            near_open = _sample(_dilate(view.opening.cpu(), OPENING_GROW_PX), uv)[:, 0]
            use &= torch.where(opening_part, at_open > 0.5, near_open < 0.5)
        total[use] += colour[use] * facing[use, None]
        weight[use] += facing[use]
        hair_samples.append(colour[seen & hair])
    seen = weight > 0
    sampled = total / weight.clamp_min(1e-6)[:, None]
    skin_seen = seen & (part == shaped.part("skin")) & ~hair
    if skin_seen.sum() < 20:
        raise EmotalkError("too little of the face could be sampled from the photo: use a frontal, unobstructed portrait")
    skin = sampled[skin_seen].median(0).values
    hair_pixels = torch.cat(hair_samples)
    hair_colour = hair_pixels.median(0).values if len(hair_pixels) >= 20 else skin

    rgb = _palette_colours(cpu, rest, part)
    shade = 0.8 + 0.2 * (rest_normal @ F.normalize(torch.tensor(LIGHT), dim=0)).clamp(0, 1)
    on_skin = part == shaped.part("skin")
    rgb[on_skin] = skin * shade[on_skin, None]
    rgb[hair] = hair_colour * shade[hair, None]
    on_neck = part == shaped.part("neck")
    rgb[on_neck] = skin * 0.85 * shade[on_neck, None]
    # the far side of a turned face, unseen: the face is nearly symmetric, so it takes the colours seen
    # at its mirror image (x -> -x in the head's frame), kind for kind (skin from skin, hair from hair)
    # (only what no photo shows at all: hidden or facing away; what a photo shows edge-on keeps its own)
    mirrored = torch.zeros_like(seen)
    hidden = ~torch.stack(in_sight).any(0)
    for kind in (on_skin & ~hair, on_neck, hair):
        filled, colours = mirror_fill(rest, kind & hidden & ~seen, kind & seen, sampled, MIRROR_M)
        sampled[filled] = colours
        mirrored |= filled
    seen = seen | mirrored
    # unseen skin, neck and hair: fade from the nearest sampled colours of their kind to the fallback
    for fill, source in ((~seen & (on_skin | on_neck) & ~hair, seen & on_skin & ~hair), (~seen & hair, seen & hair)):
        rgb[fill] = _fade_from_neighbours(rest[fill], rest[source], sampled[source], rgb[fill], config.fade_m)
    rgb[seen] = sampled[seen]
    info = {"sampled_gaussians": int(seen.sum()), "mirrored_gaussians": int(mirrored.sum()), "skin_rgb": [round(float(c), 3) for c in skin],
            "hair_rgb": [round(float(c), 3) for c in hair_colour]}
    return rgb, in_sight, info


MIRROR_M = 0.004  # a Gaussian takes its mirror image's colour when a seen one lies this close to it (metres)


def mirror_fill(points: Tensor, fill: Tensor, known: Tensor, known_rgb: Tensor, radius: float, k: int = 4,
                chunk: int = 4096) -> tuple[Tensor, Tensor]:
    """The `fill` points ([N] bool of points [N, 3] in the head's frame, +x its left) whose mirror image
    (-x, y, z) has `known` points within `radius` (mean distance of the k nearest): [N] bool, and their
    colours [M, 3], the mean of those k known points' colours (`known_rgb` [N, 3], read where `known`)."""
    out = torch.zeros_like(fill)
    index = torch.nonzero(fill).squeeze(1)
    if len(index) == 0 or int(known.sum()) < k:
        return out, known_rgb.new_zeros(0, 3)
    sources, colours = points[known], known_rgb[known]
    flip = torch.tensor([-1.0, 1.0, 1.0], dtype=points.dtype)
    close, picked = [], []
    for start in range(0, len(index), chunk):
        d, j = torch.cdist(points[index[start:start + chunk]] * flip, sources).topk(k, dim=1, largest=False)
        near = d.mean(1) < radius
        close.append(near)
        picked.append(colours[j[near]].mean(1))
    close = torch.cat(close)
    out[index[close]] = True
    return out, torch.cat(picked)


def _fade_from_neighbours(points: Tensor, known: Tensor, known_rgb: Tensor, fallback: Tensor, length: float,
                          k: int = 8, chunk: int = 4096) -> Tensor:
    """Colours [n, 3] for points [n, 3]: the mean colour of their k nearest known points, fading into
    `fallback` [n, 3] with distance (Gaussian falloff, `length` metres), so fills meet samples without a seam."""
    if len(points) == 0 or len(known) < k:
        return fallback
    out = []
    for start in range(0, len(points), chunk):
        d, j = torch.cdist(points[start:start + chunk], known).topk(k, dim=1, largest=False)
        w = torch.exp(-(d.mean(1, keepdim=True) / length) ** 2)
        out.append(w * known_rgb[j].mean(1) + (1 - w) * fallback[start:start + chunk])
    return torch.cat(out)


def _cpu_view(view: FitView) -> FitView:
    return FitView(view.image.cpu(), view.valid.cpu(), view.K.cpu(), view.viewmat.cpu(), view.vertices.cpu(), view.box,
                   None if view.opening is None else view.opening.cpu())


# ---------------------------------------------------------------------------------------------
# The fit


def face_masks(shaped: HeadTemplate, bound: BoundGaussians, opacities: Tensor, views: list[FitView],
               config: PhotometricConfig) -> list[Tensor]:
    """Per view [S, S, 1] in {0, 1}: the face-region Gaussians' silhouette, eroded, inside the photo."""
    g = bound
    part = shaped.face_part[g.parent]
    rest = bind_to_world(shaped.vertices, shaped.faces, g.parent, g.local_means, g.local_quats, g.local_log_scales)[0]
    keep = face_region(rest, part, shaped)
    masks = []
    for view in views:
        means, quats, scales = bind_to_world(view.vertices, shaped.faces, g.parent[keep], g.local_means[keep],
                                             g.local_quats[keep], g.local_log_scales[keep])
        white = torch.ones(int(keep.sum()), 3, device=means.device)
        with torch.no_grad():
            _, alpha = render_view(means, quats, scales, opacities[keep], white, view, config.resolution,
                                   torch.zeros(3, device=means.device), config.backend, sh_degree=None)
        mask = _erode((alpha > 0.5).float(), config.erode_px) * view.valid
        if view.opening is not None:
            mask = mask * _erode(opening_agreement(shaped, bound, opacities, view, config), OPENING_GROW_PX)
        masks.append(mask)
    return masks


def opening_agreement(shaped: HeadTemplate, bound: BoundGaussians, opacities: Tensor, view: FitView,
                      config: PhotometricConfig) -> Tensor:
    """[S, S, 1] in {0, 1}: 1 where the posed head and the photo agree on skin versus opening.

    The photo's opening is the tracked inner-lip outline (`view.opening`); the head's is where
    teeth, tongue or the mouth's inside are what is seen. Where they
    disagree (the photo shows teeth where the head's lips are closed: a toothy smile the rig's
    shapes do not open as far), the photo cannot colour what the head shows there, so the loss
    leaves those pixels out: otherwise the teeth would be painted onto the lips, and stay there in
    the neutral avatar."""
    g = bound
    label = _in_parts(shaped.face_part[g.parent], shaped, OPENING_PARTS).float()[:, None].expand(-1, 3).contiguous()
    means, quats, scales = bind_to_world(view.vertices, shaped.faces, g.parent, g.local_means, g.local_quats,
                                         g.local_log_scales)
    with torch.no_grad():
        rgb, alpha = render_view(means, quats, scales, opacities, label, view, config.resolution,
                                 torch.zeros(3, device=means.device), config.backend, sh_degree=None)
    head_open = (rgb[..., :1] > 0.5 * alpha.clamp_min(1e-6)) & (alpha > 0.5)
    return (head_open == (view.opening > 0.5)).float()


def photometric_loss(rgb: Tensor, target: Tensor, mask: Tensor, ssim_weight: float) -> Tensor:
    """(1 - w) masked L1 + w masked D-SSIM of [S, S, 3] images; SSIM sees the target outside the mask."""
    area = mask.sum().clamp_min(1.0)
    l1 = ((rgb - target).abs() * mask).sum() / (3 * area)
    composite = rgb * mask + target * (1 - mask)
    s = ssim(composite.permute(2, 0, 1)[None], target.permute(2, 0, 1)[None], mask.permute(2, 0, 1)[None])
    return (1 - ssim_weight) * l1 + ssim_weight * (1 - s)


def fit_quality(rgb: Tensor, target: Tensor, mask: Tensor) -> tuple[float, float]:
    """PSNR (dB) and SSIM of [S, S, 3] images over the mask [S, S, 1]."""
    mse = (((rgb - target) ** 2) * mask).sum() / (3 * mask.sum().clamp_min(1.0))
    s = ssim_map(rgb.permute(2, 0, 1)[None], target.permute(2, 0, 1)[None])
    s = (s * mask.permute(2, 0, 1)[None]).sum() / (3 * mask.sum().clamp_min(1.0))
    return float(-10 * torch.log10(mse.clamp_min(1e-10))), float(s)


def fit_gaussians(
    images,  # [F, H, W, 3] uint8 or float in [0, 1]: the tracked frames
    head_fit: HeadFit,  # from solve_head on the same frames
    template: HeadTemplate,  # the template the head fit was solved with (identity not applied)
    config: PhotometricConfig = PhotometricConfig(),
    callback: Callback | None = None,
    device: torch.device | str = "cpu",
    tracks: list | None = None,  # the frames' FaceTracks: their inner-lip outlines keep lips and the mouth's inside apart
) -> Avatar:
    """An avatar (neutral rest pose) whose Gaussians reproduce the photo(s) at the tracked pose and
    expression. `avatar.meta["fit"]` holds PSNR / SSIM on the face region before and after.

    On the CPU torch runs single-threaded here (the rasterizer has its own threads): on a busy 2-core
    machine torch's thread pool fighting numba's made the fit about twice as slow."""
    device = torch.device(device)
    with rasterizer_threads(device):
        return _fit_gaussians(images, head_fit, template, config, callback, device, tracks)


def _fit_gaussians(images, head_fit, template, config, callback, device, tracks=None) -> Avatar:
    shaped, views = prepare_views(images, head_fit, template, config, device, tracks)
    bound = init_on_surface(shaped.vertices.cpu(), shaped.faces.cpu(), total=config.gaussians, seed=config.seed)
    part = shaped.face_part.cpu()[bound.parent]
    lashes = part == shaped.part("eyelashes")
    bound.local_log_scales[lashes] += math.log(0.5)  # fine lashes, not a smudge
    opacities = torch.full((len(part),), 0.95)
    opacities[lashes] = 0.35
    rgb, in_sight, info = initial_colours(shaped, bound, opacities, views, config)
    bound = BoundGaussians(*(t.to(device) for t in (bound.parent, bound.local_means, bound.local_quats,
                                                    bound.local_log_scales)))
    opacities = opacities.to(device)
    masks = face_masks(shaped, bound, opacities, views, config)

    # optimise only the Gaussians in sight over the loss mask: the rest get no gradient worth the name,
    # and Adam would turn the faint gradients of hidden ones (through transmittance) into full steps: noise
    active = torch.zeros(len(part), dtype=torch.bool, device=device)
    # ... nor the skin seen inside the photo's mouth opening (lips the rig closes over the photo's teeth):
    # they keep their initial colour (the lips' nearest samples), as the loss cannot see them there
    blocked = torch.zeros_like(active)
    opening_part = _in_parts(part, shaped, OPENING_PARTS).to(device)
    for view, mask, visible in zip(views, masks, in_sight):
        means = bind_to_world(view.vertices, shaped.faces, bound.parent, bound.local_means, bound.local_quats,
                              bound.local_log_scales)[0]
        cam = means @ view.viewmat[:3, :3].T + view.viewmat[:3, 3]
        uv = cam[:, :2] / cam[:, 2:3].clamp_min(1e-6) * view.K.diagonal()[:2] + view.K[:2, 2]
        near = _sample(_dilate(mask, 3), uv)[:, 0] > 0.5
        active |= near & visible.to(device)
        if view.opening is not None:
            blocked |= visible.to(device) & ~opening_part & (_sample(_dilate(view.opening, OPENING_GROW_PX), uv)[:, 0] > 0.5)
    active &= ~blocked
    # rendered: what faces some camera, and the insides (mouth, teeth, eyes, lashes); the rest is hidden
    drawn = _front_facing(shaped, bound, views) | ((part != shaped.part("skin")) & (part != shaped.part("neck"))).to(device)
    drawn |= active
    shown = torch.nonzero(drawn).squeeze(1)
    idx = torch.nonzero(active).squeeze(1)
    slot = torch.nonzero(active[shown]).squeeze(1)  # where the trained ones sit among the rendered
    parent = bound.parent[shown]
    base = {"means": bound.local_means[shown], "quats": bound.local_quats[shown], "scales": bound.local_log_scales[shown],
            "logit": torch.logit(opacities[shown].clamp(1e-4, 1 - 1e-4)), "colour": (rgb.to(device)[shown] - 0.5) / SH_C0}
    start_means = bound.local_means[idx].clone()
    start_scales = bound.local_log_scales[idx].clone()
    colour = base["colour"][slot].clone().requires_grad_(True)
    logit = base["logit"][slot].clone().requires_grad_(True)
    means_p = start_means.clone().requires_grad_(True)
    scales_p = start_scales.clone().requires_grad_(True)
    quats_p = bound.local_quats[idx].clone().requires_grad_(True)
    optimiser = torch.optim.Adam([
        {"params": [colour], "lr": config.lr_colour},
        {"params": [logit], "lr": config.lr_opacity},
        {"params": [means_p], "lr": config.lr_means},
        {"params": [scales_p], "lr": config.lr_scales},
        {"params": [quats_p], "lr": config.lr_quats},
    ])
    steps = max(config.iterations, 0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * i / max(steps, 1))))
    generator = torch.Generator().manual_seed(config.seed)

    # the posed triangles are fixed per view: the untrained Gaussians' world values and the trained
    # ones' triangle frames are computed once
    frozen = [bind_to_world(v.vertices, shaped.faces, parent, base["means"], base["quats"], base["scales"]) for v in views]
    frames = [TriangleFrames.of(v.vertices, shaped.faces, parent[slot]) for v in views]
    opacity_base, colour_base = torch.sigmoid(base["logit"]), base["colour"]

    def draw(t: int, background: Tensor) -> Tensor:
        means, quats, scales = frames[t].bind(means_p, quats_p, scales_p)
        means, quats, scales = (f.index_put((slot,), x) for f, x in zip(frozen[t], (means, quats, scales)))
        opacity = opacity_base.index_put((slot,), torch.sigmoid(logit))
        rgb = colour_base.index_put((slot,), colour)
        return render_view(means, quats, scales, opacity, rgb[:, None, :], views[t], config.resolution, background,
                           config.backend)[0]

    def quality() -> tuple[float, float]:
        with torch.no_grad():
            scores = [fit_quality(draw(t, torch.ones(3, device=device)), v.image, m) for t, (v, m) in enumerate(zip(views, masks))]
        return float(np.mean([s[0] for s in scores])), float(np.mean([s[1] for s in scores]))

    psnr0, ssim0 = quality()
    for step in range(steps):
        t = step % len(views)
        background = torch.rand(3, generator=generator).to(device)
        rgb_t = draw(t, background)
        loss = photometric_loss(rgb_t, views[t].image, masks[t], config.ssim_weight)
        regular = config.w_position * (means_p - start_means).pow(2).sum(-1).mean() \
            + config.w_scale * F.relu(scales_p - start_scales - math.log(2.0)).pow(2).sum(-1).mean()
        optimiser.zero_grad(set_to_none=True)
        (loss + regular).backward()
        optimiser.step()
        schedule.step()
        if callback is not None:
            callback(step + 1, steps, float(loss.detach()))
    psnr1, ssim1 = quality()

    with torch.no_grad():
        local_means, local_quats, local_scales = (x.clone() for x in (bound.local_means, bound.local_quats, bound.local_log_scales))
        local_means[idx], local_quats[idx], local_scales[idx] = means_p, quats_p, scales_p
        opacities = opacities.clone()
        opacities[idx] = torch.sigmoid(logit)
        sh = ((rgb.to(device) - 0.5) / SH_C0).clone()
        sh[idx] = colour
    gaussians = BoundGaussians(bound.parent, local_means, local_quats, local_scales)
    fit = {"psnr_db": round(psnr1, 2), "ssim": round(ssim1, 4), "initial_psnr_db": round(psnr0, 2),
           "initial_ssim": round(ssim0, 4), "iterations": steps, "optimised_gaussians": int(len(idx)), "rendered_gaussians": int(len(shown)),
           "resolution": config.resolution, **info}
    return Avatar(shaped, gaussians, opacities.detach(), sh.detach()[:, None, :], meta={"fit": fit})


def _front_facing(shaped: HeadTemplate, bound: BoundGaussians, views: list[FitView]) -> Tensor:
    """[N] bool: the Gaussian's triangle faces the camera (cosine > -0.1) in some view."""
    out = torch.zeros(len(bound), dtype=torch.bool, device=bound.parent.device)
    for view in views:
        origin, rotation, _ = triangle_frames(view.vertices, shaped.faces)
        R, t = view.viewmat[:3, :3], view.viewmat[:3, 3]
        towards = F.normalize(-(R.T @ t) - origin, dim=-1)
        out |= ((rotation[:, :, 2] * towards).sum(-1) > -0.1)[bound.parent]
    return out


def preview_image(avatar: Avatar, images, head_fit: HeadFit, config: PhotometricConfig = PhotometricConfig(),
                  frame: int = 0, device: torch.device | str = "cpu") -> np.ndarray:
    """uint8 [S, 3S, 3]: the photo's crop | the avatar at the tracked pose and expression | the avatar
    neutral (no expression, same pose), all through the fitted camera."""
    one = _frame_of(head_fit, frame)
    one.identity_offsets = torch.zeros_like(avatar.template.vertices).cpu()  # the avatar's rig has its identity
    _, views = prepare_views(images[frame:frame + 1], one, avatar.template, config, device)
    view = views[0]
    a = avatar.to(device)
    g = a.gaussians
    neutral = pose_vertices(a.template, torch.zeros(1, 52, device=device), head_fit.head_rotation[frame:frame + 1].to(device),
                            head_fit.head_translation[frame:frame + 1].to(device), torch.zeros(1, 2, device=device))[0]
    panels = [view.image]
    white = torch.ones(3, device=device)
    with torch.no_grad():
        for vertices in (view.vertices, neutral):
            means, quats, scales = bind_to_world(vertices, a.template.faces, g.parent, g.local_means, g.local_quats,
                                                 g.local_log_scales)
            rgb, _ = render_view(means, quats, scales, a.opacities, a.sh, view, config.resolution, white,
                                 config.backend, sh_degree=a.sh_degree)
            panels.append(rgb)
    return (torch.cat(panels, 1).clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()


def _frame_of(fit: HeadFit, t: int) -> HeadFit:
    return HeadFit(fit.identity_offsets, fit.K, fit.viewmat, fit.head_rotation[t:t + 1], fit.head_translation[t:t + 1],
                   fit.arkit[t:t + 1], fit.gaze[t:t + 1], fit.reprojection_error_px[t:t + 1], fit.image_size)


# ---------------------------------------------------------------------------------------------
# The whole fit: track, solve, optimise


DEFAULT_VIEW = {"fov": 25.0, "distance": 0.72, "target": [0.0, 0.025, 0.03]}  # portrait framing of the template head


@dataclass
class AvatarFit:
    avatar: Avatar  # neutral at rest; meta["fit"] holds the fit's figures
    head_fit: HeadFit  # camera, per-frame pose / expression / gaze, identity
    tracks: list  # list[FaceTrack] of the frames used
    images: list  # list[np.ndarray] uint8 [H, W, 3]: the frames used


def fit_avatar(
    images: list,  # uint8 [H, W, 3] frames: one portrait, or frames sampled from a video
    fps: float | None = None,  # None: independent photos (tracked one by one); else video frames at this rate
    config: PhotometricConfig = PhotometricConfig(),
    model_path=None,  # face_landmarker.task; None: $EMOTALK_LANDMARKER, else the shipped weights'
    callback: Callback | None = None,  # (step, total, loss) during the photometric fit
    device: torch.device | str = "cpu",
    on_stage: Callable[[str], None] | None = None,  # one-line notes between stages (tracking, solve)
) -> AvatarFit:
    """Track the face in each image, solve identity / camera / pose / expression, fit the Gaussians."""
    from emotalk_cli.fit.correspondence import load_landmark_map
    from emotalk_cli.fit.solve import solve_head
    from emotalk_cli.fit.tracking import track_frames, track_image
    from emotalk_cli.rig import load_head_template

    note = on_stage or (lambda message: None)
    if not images:
        raise EmotalkError("no images to fit: give a portrait or a video with frames")
    if fps is None:
        tracks = []
        for index, image in enumerate(images):
            track = track_image(image, model_path=model_path)
            track.frame_index = index
            tracks.append(track)
    else:
        tracks = track_frames(images, fps, model_path=model_path, missing="skip")
    images = [images[t.frame_index] for t in tracks]
    crowded = max(t.faces_found for t in tracks)
    if crowded > 1:
        note(f"warning: {crowded} faces found; fitting the largest")
    note(f"tracked {len(tracks)} frame{'s' * (len(tracks) != 1)}, face {np.median([t.face_size for t in tracks]):.0f} px")
    template = load_head_template()
    head_fit = solve_head(tracks, template, load_landmark_map(num_faces=template.faces.shape[0]))
    note(f"solved head and camera: landmark error {float(head_fit.reprojection_error_px.mean()):.2f} px")
    avatar = fit_gaussians(images, head_fit, template, config, callback, device, tracks)
    avatar.meta["fit"]["reprojection_error_px"] = round(float(head_fit.reprojection_error_px.mean()), 3)
    avatar.meta["fit"]["frames"] = len(images)
    # the fitted camera (OpenCV pinhole, principal point at the image centre): a later solve of more
    # frames of the same footage (solve.SolveConfig(focal_px=..., fit_identity=False)) can reuse it
    avatar.meta["fit"]["camera"] = {"focal_px": round(float(head_fit.K[0, 0]), 3), "image_size": list(head_fit.image_size)}
    avatar.meta["default_view"] = dict(DEFAULT_VIEW)
    return AvatarFit(avatar, head_fit, tracks, images)


__all__ = ["AvatarFit", "mirror_fill", "PhotometricConfig", "FitView", "fit_avatar", "fit_gaussians", "preview_image", "photometric_loss", "fit_quality",
           "face_region", "hair_region", "crop_image", "crop_intrinsics"]
