"""Fit the photo's scene around a fitted head (photo_scene.PhotoScene): person and background layers.

    scene = fit_scene(photo uint8 [H, W, 3], avatar, head_fit)

1. The photo is scaled to at most SCENE_LONG_SIDE; the person is segmented (fit/segment.py) and the
   fitted head is rendered at the photo's pose and expression: its coverage and depth.
2. Background: the photo where neither the person nor the head is, the rest filled in by OpenCV's
   inpainting (Telea) on a coarse copy then refined at full size, on a plane twice the head's distance.
3. Person: the photo's person pixels (soft edges from the segmenter's confidence) on a card through
   the head's middle, and behind the head a backing filled from the nearest person pixels. The
   share of head pose per pixel ramps from 0 a little below the rig's neck pivot to 1 at the chin.
4. The colours of both layers, and of the head outside the face (a hat or hair the face fit did not
   look at), are then fitted through the rasterizer (Adam on L2, all rendered together at the photo's
   pose and expression), so the grid's blur is undone and the photo comes back sharp.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from emotalk_cli.avatar import STILL_WEIGHT, Avatar, pose_gaussians, shown_opacities
from emotalk_cli.device import rasterizer_threads
from emotalk_cli.photo_scene import SCENE_LONG_SIDE, SH_C0, PhotoScene, layer_splats
from emotalk_cli.render.rasterize import rasterize

BACKGROUND_DISTANCE = 2.0  # the background plane's depth, in multiples of the head's distance
NECK_BELOW_PIVOT_M = 0.02  # the torso (weight 0) starts this far below the rig's neck pivot
PERSON_MIN_CONFIDENCE = 0.5  # segmenter confidence above which a pixel is the person's
EDGE_LOW, EDGE_HIGH = 0.35, 0.65  # the person's opacity ramps from 0 to 1 over this band of the segmenter's confidence
BACKING_BAND = 0.2  # the backing reaches this far inside the head's outline, as a fraction of the head's width
HEAD_COVER = 0.5  # head coverage above which the person layer is a backing (filled colour)
FILL_MARGIN_PX = 2  # pixels around person and head that the background fills too (the edge's halo)
NEAR_HEAD, FAR_FROM_HEAD = 0.6, 1.0  # head widths from its outline: all of the head pose within, none beyond
FRONT_CUT = 1.0  # in front of a face seen in profile that reach is cut by this much (less as the face turns to the camera)
EDGE_DEPTH_PX = 24  # beside the head, the person layer's depth fades from the head's outline to the card over this
MOVING_MARGIN_PX = 24  # how far around the head, hair and neck a turn can uncover the background, pixels
FACING_MIN = 0.0  # a head Gaussian takes the photo's colour only facing the camera (cosine above this)
GRAZING = 0.3  # face skin seen more edge-on than this (cosine) in the photo is refitted with the scene
SOLID_ERODE_PX = 2  # the backing and the unseen head take colours from person pixels at least this far inside the soft edge
UNSEEN_FADE_M = 0.05  # the head's unseen sides take the fitted colours around them, fading over this (metres)
COLOUR_STEPS = 40  # Adam steps fitting the layers' colours
COLOUR_LR = 0.03  # per step, in colour units


def scaled_photo(image: np.ndarray, K: Tensor, long_side: int = SCENE_LONG_SIDE) -> tuple[np.ndarray, Tensor]:
    """The photo scaled so its long side is at most `long_side` (area filter) and the intrinsics
    [3, 3] that go with it."""
    import cv2

    height, width = image.shape[:2]
    scale = min(1.0, long_side / max(height, width))
    if scale >= 1.0:
        return image, K.clone().float()
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    K = K.clone().float()
    K[0] *= size[0] / width
    K[1] *= size[1] / height
    return small, K


def head_layers(avatar: Avatar, arkit: Tensor, rotation: Tensor, translation: Tensor, gaze: Tensor,
                K: Tensor, viewmat: Tensor, width: int, height: int) -> tuple[Tensor, Tensor]:
    """The head posed as in the photo, seen through its camera: coverage [H, W] and depth [H, W]
    (camera z, metres, where covered)."""
    means, quats, scales = pose_gaussians(avatar, arkit[None], rotation[None], translation[None], gaze[None])
    means, quats, scales = means[0], quats[0], scales[0]
    opacities = shown_opacities(avatar, with_scene=True)  # as it will be shown: the photo's neck, not the rig's
    z = means @ viewmat[2, :3] + viewmat[2, 3]
    with torch.no_grad(), rasterizer_threads("cpu"):
        zz, alpha = rasterize(means, quats, scales, opacities, z[:, None].expand(-1, 3).contiguous(), viewmat[None],
                              K[None], width, height, backend="cpu")
    coverage = alpha[0, ..., 0]
    depth = zz[0, ..., 0] / coverage.clamp_min(1e-6)
    return coverage, depth


def fill_background(image: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3]: `image` with the `unknown` pixels ([H, W] bool) filled from around them.
    Telea's inpainting on a quarter-size copy (large holes fill smoothly and fast), then again at
    full size with that as the start, so the seam to the known pixels stays sharp."""
    import cv2

    height, width = unknown.shape
    hole = unknown.astype(np.uint8)
    small_size = (max(8, width // 4), max(8, height // 4))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole, small_size, interpolation=cv2.INTER_NEAREST) > 0).astype(np.uint8)
    small_hole = cv2.dilate(small_hole, np.ones((3, 3), np.uint8))
    coarse = cv2.inpaint(small, small_hole, 5, cv2.INPAINT_TELEA)
    start = image.copy()
    start[unknown] = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)[unknown]
    # refine only a band inside the hole's edge at full size; deeper inside the coarse fill stays
    band = unknown & (cv2.distanceTransform(hole, cv2.DIST_L2, 3) <= 8)
    fine = cv2.inpaint(start, band.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    out = start.copy()
    out[band] = fine[band]
    return out


def nearest_fill(image: np.ndarray, known: np.ndarray, blur_px: int = 9) -> np.ndarray:
    """float32 [H, W, 3]: each unknown pixel takes the colour of the nearest known one ([H, W] bool),
    then blurred inside the filled part (a backing nobody looks at closely: no streaks, no seams)."""
    import cv2

    _, labels = cv2.distanceTransformWithLabels((~known).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(known)
    lookup = np.zeros((labels.max() + 1, 3), np.float32)
    lookup[labels[ys, xs]] = image[ys, xs]
    filled = lookup[labels]
    blurred = cv2.GaussianBlur(filled, (0, 0), blur_px)
    return np.where(known[..., None], image, blurred).astype(np.float32)


def head_weights(depth: Tensor, K: Tensor, viewmat: Tensor, avatar: Avatar, rotation: Tensor, translation: Tensor) -> Tensor:
    """[H, W] share of the head pose of the point seen at each pixel at `depth` [H, W]: the height of
    the point in the head's own frame, from NECK_BELOW_PIVOT_M under the neck pivot (0) up to the
    lowest rigid point of the head, the chin (1), smooth (smoothstep) between."""
    from emotalk_cli.photo_scene import rotate_vectors
    from emotalk_cli.splats.gaussians import axis_angle_to_quat

    height, width = depth.shape
    v, u = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    camera = torch.stack([(u - K[0, 2]) / K[0, 0] * depth, (v - K[1, 2]) / K[1, 1] * depth, depth], -1)
    world = (camera - viewmat[:3, 3]) @ viewmat[:3, :3]
    t = avatar.template
    pivot = t.neck_pivot
    head = rotate_vectors(axis_angle_to_quat(-rotation), world - translation - pivot) + pivot  # the photo's pose undone
    chin = float(t.vertices[t.neck_weight > 0.99, 1].min())
    low = float(pivot[1]) - NECK_BELOW_PIVOT_M
    s = ((head[..., 1] - low) / max(chin - low, 1e-3)).clamp(0, 1)
    return s * s * (3 - 2 * s)


def fit_scene(
    image: np.ndarray,  # uint8 [H, W, 3]: the photo the head was fitted to
    avatar: Avatar,  # the fitted avatar (neutral at rest)
    K: Tensor,  # [3, 3] the photo's intrinsics, pixels
    viewmat: Tensor,  # [4, 4] world-to-camera
    rotation: Tensor,  # [3] the photo's head pose
    translation: Tensor,  # [3]
    arkit: Tensor,  # [52] the photo's expression
    gaze: Tensor,  # [2]
    steps: int = COLOUR_STEPS,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[Avatar, dict]:
    """The avatar with the photo's scene (background and person layers) and its scalp's colours refitted
    against the whole photo (refittable_head), and figures about it (sizes, PSNR)."""
    import cv2

    from emotalk_cli.fit.segment import person_mask

    note = on_stage or (lambda message: None)
    photo_height, photo_width = image.shape[:2]
    small, Ks = scaled_photo(image, K)
    height, width = small.shape[:2]
    viewmat = viewmat.float()
    avatar = avatar.to("cpu")
    confidence = person_mask(small)
    coverage, head_depth = head_layers(avatar, arkit.float(), rotation.float(), translation.float(), gaze.float(),
                                                 Ks, viewmat, width, height)
    head = coverage.numpy() > HEAD_COVER
    photo = small.astype(np.float32) / 255.0

    # background: the photo where there is neither person nor head, the rest filled
    person = confidence > EDGE_LOW
    occupied = cv2.dilate((person | (coverage.numpy() > 0.05)).astype(np.uint8), np.ones((3, 3), np.uint8),
                          iterations=FILL_MARGIN_PX) > 0
    background = fill_background(small, occupied).astype(np.float32) / 255.0
    covered_depth = head_depth[coverage > HEAD_COVER]
    head_distance = float(covered_depth.median()) if covered_depth.numel() else float(viewmat[2, 3])
    background_depth = torch.full((height, width), BACKGROUND_DISTANCE * head_distance)

    # person: soft alpha from the segmenter, full behind the head; a card through the head's middle
    ramp = np.clip((confidence - EDGE_LOW) / (EDGE_HIGH - EDGE_LOW), 0.0, 1.0)
    alpha = np.where(head, 1.0, ramp * ramp * (3 - 2 * ramp)).astype(np.float32)  # a soft edge a pixel or two wide
    # the backing is needed only near the head's outline, which a turn moves: deeper inside, the head
    # always covers it, and Gaussians there would only cost render time
    if head.any():
        inside = cv2.distanceTransform(head.astype(np.uint8), cv2.DIST_L2, 5)
        columns = np.nonzero(head.any(axis=0))[0]
        band = BACKING_BAND * (columns[-1] - columns[0] + 1)
        alpha[head & (inside > band)] = 0.0
    mid = head_distance + _head_half_depth(avatar)
    person_depth = torch.from_numpy(person_depths(head_depth.numpy(), head, mid))
    weight = head_weights(person_depth, Ks, viewmat, avatar, rotation.float(), translation.float())
    # someone beside them, a raised hand, a camera held before a turned face: they stay put
    weight = weight * torch.from_numpy(near_head(head, image_facing(rotation, viewmat)))
    # the backing behind the head takes the colour of what turns with the head beside it (hair, hat),
    # not of the face or collar: a turned head shows hair behind it, not skin
    beside = (confidence > PERSON_MIN_CONFIDENCE) & ~head
    solid_beside = cv2.erode(((confidence >= EDGE_HIGH) & ~head).astype(np.uint8), np.ones((3, 3), np.uint8),
                             iterations=SOLID_ERODE_PX) > 0  # not the soft edge, whose colours hold the old background
    turning = solid_beside & (weight.numpy() > 0.5)
    turning = turning if turning.any() else beside & (weight.numpy() > 0.5)
    hair_fill = nearest_fill(photo, turning if turning.any() else beside)
    colours = hair_fill
    # the person's soft edge (hair strands, the segmenter's blur) holds the old background's colour mixed
    # in: it takes the colour of the nearest solid person pixel instead, and keeps it, so the person
    # has no halo over another background (or none); inside, the photo itself
    solid = (alpha >= 0.999) & ~head
    edge = (alpha > 0) & ~head & ~solid
    a = alpha[..., None]
    unmixed = np.clip((photo - (1 - a) * background) / np.maximum(a, 1e-3), 0, 1)  # the matting equation, I = aF + (1 - a)B
    foreground = a * unmixed + (1 - a) * nearest_fill(photo, solid)  # thin edges lean on the nearest solid colour
    colours = np.where(head[..., None], colours, np.where(edge[..., None], foreground, photo))

    scene = PhotoScene(
        K=Ks, viewmat=viewmat, photo_size=torch.tensor([photo_width, photo_height], dtype=torch.float32),
        head_rotation=rotation.float(), head_translation=translation.float(), arkit=arkit.float(), gaze=gaze.float(),
        background_rgb=torch.from_numpy(background), background_depth=background_depth,
        person_rgb=torch.from_numpy(colours), person_alpha=torch.from_numpy(alpha), person_depth=person_depth,
        person_weight=weight,
    ).as_stored()  # fitted as its file will hold it (float16 grids): render then shows what the fit saw
    note(f"scene: {width}x{height} grid, person {int((alpha > 0).sum())} and background {width * height} Gaussians")
    # what a moving head can uncover keeps its fill: around the head and what turns with it (fitted, the
    # background there would learn the person's edge and show it as a ghost outline)
    moving = (weight.numpy() > 0) & (alpha > 0) | head
    near_moving = cv2.dilate(moving.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=MOVING_MARGIN_PX) > 0
    scene, head_sh, figures = fit_scene_colours(scene, avatar, torch.from_numpy(photo), steps,
                                                frozen_background=torch.from_numpy(occupied & near_moving),
                                                frozen_person=torch.from_numpy(edge), unseen_fill=torch.from_numpy(hair_fill))
    figures.update({"grid": [width, height], "person_gaussians": int((alpha > 0).sum()), "background_gaussians": width * height,
                    "background_filled_fraction": round(float(occupied.mean()), 4),
                    "person_fraction": round(float(person.mean()), 4)})
    return replace(avatar, sh=head_sh, scene=scene.as_stored()), figures


def _sample_at(image: Tensor, points: Tensor, K: Tensor, viewmat: Tensor) -> Tensor:
    """[P, 3]: `image` [H, W, 3] at the pixel each world point [P, 3] projects to (clamped to the frame)."""
    height, width = image.shape[:2]
    camera = points @ viewmat[:3, :3].T + viewmat[:3, 3]
    z = camera[:, 2].clamp_min(1e-6)
    u = (K[0, 0] * camera[:, 0] / z + K[0, 2]).floor().long().clamp(0, width - 1)
    v = (K[1, 1] * camera[:, 1] / z + K[1, 2]).floor().long().clamp(0, height - 1)
    return image[v, u].float()


def near_head(head: np.ndarray, facing: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """float32 [H, W]: 1 within NEAR_HEAD head widths of the head's outline, fading (smoothstep) to 0 at
    FAR_FROM_HEAD: only what is near the head turns with it (hair, a hat, ears), not another person in
    a group photo or the background people the segmenter also calls the person. `facing` is the
    face's forward axis seen in the image (camera x, y of the unit vector: (0, 0) facing the camera,
    length 1 in profile): in front of a turned face the reach shrinks by up to FRONT_CUT, since what
    lies there (a hand, a camera, a microphone) is held before the face, not worn on the head."""
    import cv2

    if not head.any():
        return np.zeros(head.shape, np.float32)
    columns = np.nonzero(head.any(axis=0))[0]
    width = float(columns[-1] - columns[0] + 1)
    distance = cv2.distanceTransform((~head).astype(np.uint8), cv2.DIST_L2, 5)
    turned = float(np.hypot(*facing))
    if turned > 1e-3:
        ys, xs = np.nonzero(head)
        v, u = np.mgrid[0:head.shape[0], 0:head.shape[1]].astype(np.float32)
        du, dv = u - xs.mean(), v - ys.mean()
        ahead = (du * facing[0] + dv * facing[1]) / (np.hypot(du, dv) * turned + 1e-6)  # cosine to the facing
        reach = 1.0 - FRONT_CUT * min(turned, 1.0) * np.clip(ahead, 0.0, 1.0)
        distance = distance / np.maximum(reach, 1e-3)
    s = np.clip((FAR_FROM_HEAD * width - distance) / ((FAR_FROM_HEAD - NEAR_HEAD) * width), 0.0, 1.0)
    return (s * s * (3 - 2 * s)).astype(np.float32)


def image_facing(rotation: Tensor, viewmat: Tensor) -> tuple[float, float]:
    """The head's forward axis (the rig's +z) at pose `rotation` [3] seen through `viewmat` [4, 4]:
    its camera x and y (0 when the face looks into the camera, length 1 in profile)."""
    from emotalk_cli.photo_scene import head_forward

    in_camera = viewmat[:3, :3].float() @ head_forward(rotation)
    return float(in_camera[0]), float(in_camera[1])


def person_depths(head_depth: np.ndarray, head: np.ndarray, card: float) -> np.ndarray:
    """float32 [H, W]: the person layer's depth. Next to the head (ears, the jaw's edge, hair at the
    temples) the depth of the nearest point of the head's outline, so what the photo shows beside the
    face turns with the face's edge instead of sliding over it; fading over EDGE_DEPTH_PX to the card
    through the head's middle (`card`, metres), which the rest (hair further out, torso) and the backing
    behind the head lie on."""
    import cv2

    if not head.any():
        return np.full(head.shape, card, np.float32)
    distance, labels = cv2.distanceTransformWithLabels((~head).astype(np.uint8), cv2.DIST_L2, 5,
                                                       labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(head)
    lookup = np.full(labels.max() + 1, card, np.float32)
    lookup[labels[ys, xs]] = head_depth[ys, xs]
    nearest = np.minimum(lookup[labels], card)  # never behind the card
    t = np.clip(distance / EDGE_DEPTH_PX, 0.0, 1.0)
    out = (1 - t) * nearest + t * card
    return np.where(head, card, out).astype(np.float32)


def _head_half_depth(avatar: Avatar) -> float:
    """A quarter of the head's front-to-back extent at rest (metres), the rig's depth from the
    face's median covered depth back to about its middle: the person card sits that far behind it."""
    z = avatar.template.vertices[:, 2]
    return 0.5 * float(z.max() - z.min()) * 0.5


def refittable_head(avatar: Avatar) -> Tensor:
    """[N] bool: the head's Gaussians whose colour the scene fit may change: skin outside the face
    (scalp, sides, back, ears: where a hat or hair sits on the rig), never the face, eyes or mouth,
    whose fit (and its undoing of the photo's expression) stays as it is."""
    from emotalk_cli.fit.photometric import face_region

    t = avatar.template
    zeros = torch.zeros(1, 52)
    rest = pose_gaussians(avatar, zeros, torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 2))[0][0]
    part = t.face_part[avatar.gaussians.parent.long()]
    return (part == t.part("skin")) & ~face_region(rest, part, t)


def head_facing(avatar: Avatar, scene: PhotoScene) -> Tensor:
    """[N] cosine between each head Gaussian's triangle normal and the direction to the photo's camera,
    at the photo's pose and expression."""
    from emotalk_cli.rig.deform import pose_vertices
    from emotalk_cli.splats.binding import triangle_frames

    vertices = pose_vertices(avatar.template, scene.arkit[None], scene.head_rotation[None], scene.head_translation[None],
                             scene.gaze[None])[0]
    origin, rotation, _ = triangle_frames(vertices[None], avatar.template.faces)
    parent = avatar.gaussians.parent.long()
    normal, centre = rotation[0, :, :, 2][parent], origin[0][parent]
    R, t = scene.viewmat[:3, :3], scene.viewmat[:3, 3]
    eye = -(R.T @ t)
    return (normal * torch.nn.functional.normalize(eye - centre, dim=-1)).sum(-1)


def fit_scene_colours(scene: PhotoScene, avatar: Avatar, photo: Tensor, steps: int,
                      frozen_background: Tensor | None = None,
                      frozen_person: Tensor | None = None,
                      unseen_fill: Tensor | None = None) -> tuple[PhotoScene, Tensor, dict]:
    """Fit colours (nothing else) so that the head, the person and the background, rendered as
    render_photo_avatar renders them (what moves with the head over what stays) through the photo's
    camera at its pose and expression, give the photo [H, W, 3] back: both layers' colours and the
    head's outside the face (refittable_head: a hat or hair the face fit did not look at).
    Background pixels in `frozen_background` [H, W] (the filled ones near what moves) keep their fill:
    fitted, they would learn the person's soft edge and show it as a halo once the head moves; person
    pixels in `frozen_person` [H, W] (the soft edge) keep theirs for the same reason. The head's refittable
    Gaussians the photo does not show take, on the scalp, back and sides, the colour of `unseen_fill`
    [H, W, 3] where they project (the hair, hat or ears around the head: the back of a head is its hair);
    the face's own unseen far side takes the fitted colours around it.
    Returns the scene, the head's new SH [N, K, 3] and figures (PSNR before and after)."""
    width, height = scene.size
    person, background = layer_splats(scene, "person"), layer_splats(scene, "background")  # as rendered
    means, quats, scales = (x[0] for x in pose_gaussians(avatar, scene.arkit[None], scene.head_rotation[None],
                                                         scene.head_translation[None], scene.gaze[None]))
    head_rgb = avatar.sh[:, 0] * SH_C0 + 0.5
    cosine = head_facing(avatar, scene)
    refittable = refittable_head(avatar)
    refit = refittable.clone() if avatar.sh_degree == 0 else torch.zeros(len(avatar), dtype=torch.bool)
    # the face's own sides, seen edge-on in the photo, are fitted to what the photo shows there too (hair
    # over the temples and jaw, mostly): left as the face fit coloured them, a turned head shows them
    # as bare skin sticking out beside the hair
    part = avatar.template.face_part[avatar.gaussians.parent.long()]
    refit |= (part == avatar.template.part("skin")) & (cosine < GRAZING) if avatar.sh_degree == 0 else refit
    # only what faces the camera takes the photo's colour: the back of the head gets no say
    facing = cosine > FACING_MIN
    n_head, n_person = len(avatar), len(person)
    all_means = torch.cat([means, person.means, background.means])
    all_quats = torch.cat([quats, person.quats, background.quats])
    all_scales = torch.cat([scales, person.scales, background.scales])
    opacities = torch.cat([shown_opacities(avatar, with_scene=True), person.opacities, background.opacities])
    start = torch.cat([head_rgb, person.sh[:, 0] * SH_C0 + 0.5, background.sh[:, 0] * SH_C0 + 0.5])
    colours = start.clone().requires_grad_(True)
    frozen = torch.zeros(len(start), dtype=torch.bool)
    frozen[:n_head] = ~(refit & facing)
    keep_person = scene.person_alpha.reshape(-1) > 0
    if frozen_person is not None:
        frozen[n_head:n_head + n_person] = frozen_person.reshape(-1)[keep_person]
    if frozen_background is not None:
        frozen[n_head + n_person:] = frozen_background.reshape(-1)
    # drawn as render_photo_avatar draws it: what moves with the head (head, hair, neck) over what stays
    # (torso, background), so the colours fitted are those that render the photo back
    still = torch.zeros(len(start), dtype=torch.bool)
    still[n_head:n_head + n_person] = scene.weights() <= STILL_WEIGHT
    still[n_head + n_person:] = True
    moves = ~still
    optimiser = torch.optim.Adam([colours], lr=COLOUR_LR)
    touched = torch.zeros(len(start), dtype=torch.bool)  # what the photo sees: got a gradient

    def layer(mask: Tensor) -> tuple[Tensor, Tensor]:
        rgb, alpha = rasterize(all_means[mask], all_quats[mask], all_scales[mask], opacities[mask], colours[mask],
                               scene.viewmat[None], scene.K[None], width, height, backend="cpu")
        return rgb[0], alpha[0]

    def draw() -> Tensor:
        front, cover = layer(moves)
        back, _ = layer(still)
        return front + (1 - cover) * back

    def psnr(out: Tensor) -> float:
        return float(-10 * torch.log10(((out.clamp(0, 1) - photo) ** 2).mean().clamp_min(1e-10)))

    with rasterizer_threads("cpu"):
        with torch.no_grad():
            before = psnr(draw())
        for _ in range(steps):
            loss = ((draw() - photo) ** 2).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            touched |= colours.grad.abs().sum(-1) > 0
            colours.grad[frozen] = 0
            optimiser.step()
            with torch.no_grad():  # the renderer clamps SH colour below at 0 (as gsplat): negative ones would not render as fitted
                colours.clamp_(min=0.0)
        with torch.no_grad():
            after = psnr(draw())
    fitted = colours.detach()
    # what no pixel saw (the backing behind the head, the back of the scalp) keeps its colour: zero gradient
    person_rgb = scene.person_rgb.clone().reshape(-1, 3)
    person_rgb[keep_person] = fitted[n_head:n_head + n_person]
    scene.person_rgb = person_rgb.reshape(height, width, 3)
    scene.background_rgb = fitted[n_head + n_person:].reshape(height, width, 3)
    head = fitted[:n_head].clone()
    # the head's sides and back that the photo does not show (an ear under the hair, the far side of the
    # scalp) take the colours fitted around them, fading with distance: hair beside hair, not bare skin
    seen = refit & facing & touched[:n_head]
    unseen = refit & ~seen
    # the scalp, back and sides (not the face's own far side: skin, from the skin around it) take the
    # hair around the head where they project
    scalp = unseen & refittable if unseen_fill is not None else torch.zeros_like(unseen)
    if scalp.any():
        head[scalp] = _sample_at(unseen_fill, means[scalp], scene.K, scene.viewmat)
    rest_unseen = unseen & ~scalp
    if rest_unseen.any() and int(seen.sum()) >= 8:
        from emotalk_cli.fit.photometric import _fade_from_neighbours

        rest = pose_gaussians(avatar, torch.zeros(1, 52), torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 2))[0][0]
        head[rest_unseen] = _fade_from_neighbours(rest[rest_unseen], rest[seen], head[seen], head[rest_unseen], UNSEEN_FADE_M)
    head_sh = avatar.sh.clone()
    head_sh[:, 0] = (head.clamp(0, 1) - 0.5) / SH_C0
    return scene, head_sh, {"psnr_db_before_colour_fit": round(before, 2), "psnr_db": round(after, 2), "colour_steps": steps,
                            "head_gaussians_recoloured": int(refit.sum()),
                            "head_gaussians_unseen_filled": int(unseen.sum())}


__all__ = ["fit_scene", "fit_scene_colours", "refittable_head", "fill_background", "head_weights", "nearest_fill", "scaled_photo"]
