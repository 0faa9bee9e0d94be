"""Solve camera, head pose, expression and identity shape from tracked landmarks.

    fit = solve_head(tracks, template, landmark_map)   # tracks: list[FaceTrack], one per frame

Model: the template's vertices plus an identity offset field (shared by all frames) are posed by the
rig (`rig.deform.pose_vertices`: ARKit blendshapes, gaze, rotation about the neck pivot, translation)
and seen by one fixed pinhole camera (OpenCV convention, square pixels, principal point at the image
centre, one focal length for all frames). The landmark map gives each MediaPipe landmark's point on
the template; the loss is their reprojection error in pixels plus priors:
- identity: a smooth offset field, Gaussian radial basis functions on control points spread over the
  head (farthest-point sampled, mirrored in x), normalised to a partition of unity; their
  displacements (mm) are kept small (L2) and left-right symmetric, and the field is kept orthogonal
  to every ARKit blendshape (its least-squares coefficient on each is penalised), so a smile or an
  open mouth in the photo goes into the expression, which is also tied to MediaPipe's scores.
- expression: ARKit weights in [0, 1], started at and pulled towards MediaPipe's scores.
- focal length: pulled towards `fov_y_degrees` (a single view barely tells focal length from depth).
- gaze: pulled towards 0; video: first differences of pose and expression kept small.
A fitted avatar's rig already holds its identity: `SolveConfig(fit_identity=False, focal_px=f)` solves
pose, expression and gaze only, through the fit's own focal length (recorded by fit-avatar in the
avatar's metadata, `fit.camera`), e.g. to pose the avatar for more frames of the same footage.
Initialisation: the rotation from MediaPipe's facial transformation matrix (turned into the
template's frame with the canonical-to-template rotation stored in the landmark map), depth and
position from the landmarks' spread and centroid. Optimiser: Adam, first pose and focal length only,
then everything, with cosine-decayed step sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.correspondence import LandmarkMap
from emotalk_cli.fit.tracking import FaceTrack
from emotalk_cli.rig.deform import pose_vertices
from emotalk_cli.rig.template import HeadTemplate

#: Template frame (+x left, +y up, +z out of the face) -> OpenCV camera axes (x right, y down, z forward)
#: for a camera looking at the face: x stays, y and z flip.
FLIP = torch.diag(torch.tensor([1.0, -1.0, -1.0]))


@dataclass(frozen=True)
class SolveConfig:
    fov_y_degrees: float = 40.0  # prior on the vertical field of view: a portrait lens (35 mm-equivalent ~50 mm)
    fit_focal: bool | None = None  # None: only when there are several frames (one view cannot tell focal length from depth)
    focal_px: float | None = None  # a known focal length (pixels): used as is, not fitted (e.g. an avatar's own camera)
    fit_identity: bool = True  # False: the template's shape is the person's already (a fitted avatar's rig): pose only
    control_points: int = 40  # identity RBF centres on the head's left half (x >= 0), mirrored to the right
    rbf_sigma_m: float = 0.03  # RBF width, metres: smooth at the scale of the mouth (5 cm wide)
    rigid_steps: int = 150  # Adam steps on pose (and focal length) only
    steps: int = 400  # Adam steps on everything
    lr_rotation: float = 0.02  # radians
    lr_translation: float = 0.005  # metres
    lr_focal: float = 0.02  # log focal length
    lr_identity: float = 0.5  # mm of control-point displacement
    lr_expression: float = 0.02  # ARKit weight
    lr_gaze: float = 0.02  # radians
    w_identity: float = 5e-3  # per mm^2 of mean control displacement
    w_symmetry: float = 2e-2  # per mm^2 of left-right asymmetry of the displacements
    w_orthogonal: float = 10.0  # per squared ARKit weight of any blendshape found inside the identity field
    w_expression: float = 4.0  # per squared ARKit weight away from MediaPipe's score
    w_gaze: float = 0.1  # per squared radian
    w_focal: float = 10.0  # per squared log focal-length change (single view only; video: 0.1 of it)
    w_smooth: float = 1.0  # video: per squared frame-to-frame change (radians, cm, ARKit weights)
    pixel_scale: float = 200.0  # residuals are measured in pixels of a face this many pixels across


@dataclass
class HeadFit:
    """A solved camera, head and identity. Posed vertices: pose_vertices(fitted_template(template,
    identity_offsets), arkit, head_rotation, head_translation, gaze), seen through viewmat and K."""

    identity_offsets: Tensor  # [V, 3] metres, added to the template's rest vertices
    K: Tensor  # [3, 3] intrinsics, pixels
    viewmat: Tensor  # [4, 4] world-to-camera (OpenCV), fixed; the head moves
    head_rotation: Tensor  # [T, 3] axis-angle, radians, about the template's neck pivot
    head_translation: Tensor  # [T, 3] metres
    arkit: Tensor  # [T, 52] in [0, 1], facs.ARKIT_NAMES order
    gaze: Tensor  # [T, 2] yaw, pitch radians
    reprojection_error_px: Tensor  # [T] mean landmark distance, pixels
    image_size: tuple[int, int] = (0, 0)  # (width, height)


def fitted_template(template: HeadTemplate, identity_offsets: Tensor) -> HeadTemplate:
    """The template with an identity offset field [V, 3] applied (vertices and eyeball centres)."""
    offsets = identity_offsets.to(template.vertices)
    centres = torch.stack([offsets[template.part_vertices(f"eye_{s}")].mean(0) for s in ("left", "right")])
    return replace(template, vertices=template.vertices + offsets, eye_centres=template.eye_centres + centres)


def project(points: Tensor, viewmat: Tensor, K: Tensor) -> Tensor:
    """World points [..., 3] -> pixels [..., 2] (pixel centres at +0.5, as MediaPipe's x * width)."""
    cam = points @ viewmat[:3, :3].T + viewmat[:3, 3]
    uv = cam[..., :2] / cam[..., 2:3].clamp_min(1e-6)
    return uv * K.diagonal()[:2] + K[:2, 2]


# ---------------------------------------------------------------------------------------------
# The identity basis


@dataclass
class IdentityBasis:
    centres: Tensor  # [K, 3] control points, metres
    mirror: Tensor  # [K] index of each centre's mirror image (x -> -x)
    weights: Tensor  # [V, K] partition of unity over the template's vertices

    def offsets(self, displacement_mm: Tensor, rows: Tensor | None = None) -> Tensor:
        """Offsets [V or n, 3] metres from control displacements [K, 3] mm."""
        w = self.weights if rows is None else self.weights[rows]
        return w @ displacement_mm * 1e-3

    def asymmetry(self, displacement_mm: Tensor) -> Tensor:
        """Displacements minus their mirror images, [K, 3] mm."""
        mirrored = displacement_mm[self.mirror] * torch.tensor([-1.0, 1.0, 1.0])
        return displacement_mm - mirrored


def identity_basis(template: HeadTemplate, count: int, sigma: float) -> IdentityBasis:
    """Control points by farthest-point sampling of the head's skin and neck on x >= 0, mirrored."""
    surface = torch.cat([template.part_vertices("skin"), template.part_vertices("neck")])
    points = template.vertices[surface]
    half = points[points[:, 0] >= 0]
    chosen = [int(torch.argmax(half[:, 2]))]  # start at the nose tip
    dist = (half - half[chosen[0]]).norm(dim=1)
    for _ in range(count - 1):
        chosen.append(int(torch.argmax(dist)))
        dist = torch.minimum(dist, (half - half[chosen[-1]]).norm(dim=1))
    left = half[chosen]
    on_mid = left[:, 0].abs() < 1e-3
    right = left[~on_mid] * torch.tensor([-1.0, 1.0, 1.0])
    centres = torch.cat([left, right])
    n_left = len(left)
    mirror = torch.arange(len(centres))
    side = torch.nonzero(~on_mid).squeeze(1)
    mirror[side] = n_left + torch.arange(len(side))
    mirror[n_left:] = side
    d2 = torch.cdist(template.vertices, centres).pow(2)
    weights = torch.softmax(-d2 / (2 * sigma**2), dim=1)  # normalised Gaussians: a partition of unity
    return IdentityBasis(centres, mirror, weights)


# ---------------------------------------------------------------------------------------------
# Initialisation from MediaPipe


def _axis_angle(matrix: np.ndarray) -> np.ndarray:
    """Axis-angle [3] of the rotation nearest to a 3x3 matrix."""
    u, _, vt = np.linalg.svd(matrix)
    r = u @ np.diag([1, 1, np.linalg.det(u @ vt)]) @ vt
    angle = math.acos(max(-1.0, min(1.0, (np.trace(r) - 1) / 2)))
    if angle < 1e-8:
        return np.zeros(3)
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]]) / (2 * math.sin(angle))
    return axis * angle


def initial_rotation(track: FaceTrack, canonical_to_template: np.ndarray) -> np.ndarray:
    """Head rotation (axis-angle, template frame) from MediaPipe's facial transformation matrix.

    MediaPipe: p_gl = M (canonical, cm); OpenGL camera axes are the template's axes seen from the
    front (x right = the face's left, y up, z towards the viewer), so with template = R_a canonical
    (up to scale and offset) the head's rotation is M_R R_a^T."""
    return _axis_angle(track.transform[:3, :3].astype(np.float64) @ canonical_to_template.T)


# ---------------------------------------------------------------------------------------------
# The solve


def solve_head(
    tracks: list[FaceTrack],
    template: HeadTemplate,
    landmark_map: LandmarkMap,
    config: SolveConfig = SolveConfig(),
    init_arkit: Tensor | None = None,  # [T, 52]: default MediaPipe's blendshape scores
) -> HeadFit:
    """Fit camera, per-frame pose / expression / gaze and a shared identity to tracked landmarks.

    Runs single-threaded: the problem is small (about a thousand vertices), and on a busy 2-core CPU
    torch's thread pool made each step about 500 times slower (8 ms for a 52 x 3246 matmul)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _solve(tracks, template, landmark_map, config, init_arkit)
    finally:
        torch.set_num_threads(threads)


def _solve(tracks, template, landmark_map, config, init_arkit) -> HeadFit:
    if not tracks:
        raise EmotalkError("no tracked frames to fit: track a portrait or a video with a face first")
    size = tracks[0].image_size
    if any(t.image_size != size for t in tracks):
        raise EmotalkError("tracked frames differ in size: fit frames of one video (one size) at a time")
    template = template.to("cpu", torch.float32)
    width, height = size
    frames = len(tracks)
    lm = landmark_map
    observed = torch.from_numpy(np.stack([t.landmarks[lm.landmark.numpy(), :2] for t in tracks])).float()  # [T, L, 2]
    weight = lm.weight / lm.weight.sum()
    face_px = float(np.median([t.face_size for t in tracks]))
    pixel_unit = max(face_px / config.pixel_scale, 1e-3)

    # the template restricted to the vertices the landmarks use (plus nothing else: poses per vertex)
    corner_vertices = lm.vertex_index(template.faces)  # [L, 3]
    used, local = torch.unique(corner_vertices, return_inverse=True)
    sub = replace(
        template,
        vertices=template.vertices[used],
        vertex_part=template.vertex_part[used],
        blendshapes=template.blendshapes[:, used],
        neck_weight=template.neck_weight[used],
    )
    bary = lm.barycentric
    basis = identity_basis(template, config.control_points, config.rbf_sigma_m)
    used_weights = basis.weights[used].contiguous()  # [n, K]
    # how much of each blendshape the identity field holds (least-squares coefficient): kept ~0 so
    # that expression stays in the ARKit weights and the identity is neutral
    shapes = template.blendshapes.reshape(template.blendshapes.shape[0], -1, 3)
    norm2 = shapes.pow(2).sum((1, 2)).clamp_min(1e-12)
    shape_projection = torch.einsum("kvc,vj->kjc", shapes / norm2[:, None, None], basis.weights) * 1e-3  # [52, K, 3]
    eye_weights = torch.stack([basis.weights[template.part_vertices(f"eye_{s}")].mean(0) for s in ("left", "right")])

    # parameters and their starting values
    focal0 = config.focal_px or 0.5 * height / math.tan(math.radians(config.fov_y_degrees) / 2)
    log_focal = torch.tensor(math.log(focal0), requires_grad=True)
    R_a = np.asarray(lm.meta.get("canonical_to_template", {}).get("rotation", np.eye(3).tolist()), dtype=np.float64)
    rotation = torch.tensor(np.stack([initial_rotation(t, R_a) for t in tracks]), dtype=torch.float32, requires_grad=True)
    if init_arkit is None:
        init_arkit = torch.from_numpy(np.stack([t.blendshapes for t in tracks])).float()
    prior_arkit = init_arkit.float().clamp(0, 1)
    arkit = prior_arkit.clone().requires_grad_(True)
    gaze = torch.zeros(frames, 2, requires_grad=True)
    displacement = torch.zeros(len(basis.centres), 3, requires_grad=True)
    translation = torch.zeros(frames, 3)
    K = torch.eye(3)
    viewmat = torch.eye(4)
    viewmat[:3, :3] = FLIP

    def landmarks_3d() -> Tensor:
        offsets = used_weights @ displacement * 1e-3
        eye_offsets = eye_weights @ displacement * 1e-3
        shaped = replace(sub, vertices=sub.vertices + offsets, eye_centres=template.eye_centres + eye_offsets)
        posed = pose_vertices(shaped, arkit, rotation, translation, gaze)  # [T, n, 3]
        return (posed[:, local] * bary[:, :, None]).sum(-2)  # [T, L, 3]

    def intrinsics() -> Tensor:
        f = log_focal.exp()
        return torch.stack([torch.stack([f, f * 0, torch.tensor(width / 2.0)]),
                            torch.stack([f * 0, f, torch.tensor(height / 2.0)]),
                            torch.tensor([0.0, 0.0, 1.0])])

    # translation: depth from the spread of the landmarks, position from their centroid
    with torch.no_grad():
        points = landmarks_3d()  # [T, L, 3] with zero translation
        cam = points @ FLIP.T
        spread_3d = (cam[..., :2] - cam[..., :2].mean(1, keepdim=True)).norm(dim=-1).mean(1)
        spread_px = (observed - observed.mean(1, keepdim=True)).norm(dim=-1).mean(1)
        depth = focal0 * spread_3d / spread_px
        centre_px = observed.mean(1)
        target = torch.stack([(centre_px[:, 0] - width / 2) * depth / focal0,
                              (centre_px[:, 1] - height / 2) * depth / focal0, depth], -1)
        # cam = FLIP (p + t)  =>  t = FLIP target - mean p  (FLIP is its own inverse)
        translation = target @ FLIP.T - points.mean(1)
    translation.requires_grad_(True)

    fit_focal = (config.fit_focal if config.fit_focal is not None else frames > 1) and config.focal_px is None
    w_focal = config.w_focal * (1.0 if frames == 1 else 0.1)

    def loss_terms() -> tuple[Tensor, Tensor]:
        points = landmarks_3d()
        uv = project(points, viewmat, intrinsics())
        residual = (uv - observed) / pixel_unit
        data = ((residual**2).sum(-1) * weight).sum(-1).mean()
        prior = w_focal * (log_focal - math.log(focal0)) ** 2
        prior = prior + config.w_identity * displacement.pow(2).mean() * 3
        prior = prior + config.w_symmetry * basis.asymmetry(displacement).pow(2).mean() * 3
        prior = prior + config.w_orthogonal * torch.einsum("kjc,jc->k", shape_projection, displacement).pow(2).sum()
        prior = prior + config.w_expression * (arkit - prior_arkit).pow(2).sum(-1).mean()
        prior = prior + config.w_gaze * gaze.pow(2).sum(-1).mean()
        if frames > 1:
            prior = prior + config.w_smooth * (
                rotation.diff(dim=0).pow(2).sum(-1).mean()
                + (100 * translation).diff(dim=0).pow(2).sum(-1).mean()
                + arkit.diff(dim=0).pow(2).sum(-1).mean()
            )
        return data + prior, uv

    def run(groups: list[dict], steps: int) -> None:
        if steps <= 0:
            return
        optimiser = torch.optim.Adam(groups)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=0.0)
        for _ in range(steps):
            optimiser.zero_grad()
            loss, _ = loss_terms()
            loss.backward()
            optimiser.step()
            schedule.step()
            with torch.no_grad():
                arkit.clamp_(0.0, 1.0)

    pose_groups = [
        {"params": [rotation], "lr": config.lr_rotation},
        {"params": [translation], "lr": config.lr_translation},
    ]
    if fit_focal:
        pose_groups.append({"params": [log_focal], "lr": config.lr_focal})
    run(pose_groups, config.rigid_steps)
    shape_groups = [{"params": [displacement], "lr": config.lr_identity}] if config.fit_identity else []
    run(pose_groups + shape_groups + [
        {"params": [arkit], "lr": config.lr_expression},
        {"params": [gaze], "lr": config.lr_gaze},
    ], config.steps)

    with torch.no_grad():
        _, uv = loss_terms()
        error = (uv - observed).norm(dim=-1).mean(-1)
        K = intrinsics().detach()
        centre = translation.mean(0)
        viewmat = viewmat.clone()
        viewmat[:3, 3] = FLIP @ centre  # the camera absorbs the mean head position
        return HeadFit(
            identity_offsets=basis.offsets(displacement).detach(),
            K=K,
            viewmat=viewmat,
            head_rotation=rotation.detach().clone(),
            head_translation=(translation - centre).detach(),
            arkit=arkit.detach().clone(),
            gaze=gaze.detach().clone(),
            reprojection_error_px=error,
            image_size=(width, height),
        )


def posed_landmarks(fit: HeadFit, template: HeadTemplate, landmark_map: LandmarkMap) -> Tensor:
    """Where the fit puts the landmarks in the image, pixels [T, L, 2] (for checks and drawings)."""
    shaped = fitted_template(template, fit.identity_offsets)
    posed = pose_vertices(shaped, fit.arkit, fit.head_rotation, fit.head_translation, fit.gaze)
    return project(landmark_map.points(posed, template.faces), fit.viewmat, fit.K)


__all__ = ["HeadFit", "SolveConfig", "solve_head", "fitted_template", "posed_landmarks", "project"]
