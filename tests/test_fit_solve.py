"""The camera / pose / expression / identity solve: exact recovery on synthetic landmarks, and a fit
to a real portrait (scikit-image's astronaut) within a few pixels with a neutral identity."""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.fit.correspondence import load_landmark_map
from emotalk_cli.fit.solve import FLIP, SolveConfig, fitted_template, identity_basis, posed_landmarks, project, solve_head
from emotalk_cli.fit.tracking import FaceTrack
from emotalk_cli.rig.deform import pose_vertices
from emotalk_cli.rig.template import load_head_template


@pytest.fixture(scope="module")
def rig():
    return load_head_template(), load_landmark_map()


def rotation_matrix(axis_angle: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(axis_angle)
    k = axis_angle / theta
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * kx + (1 - math.cos(theta)) * kx @ kx


def synthetic_tracks(template, lmap, rotations, seed=0, size=512):
    """Landmarks of the posed template (known identity, expression, pose; camera at fov 40) as FaceTracks."""
    g = torch.Generator().manual_seed(seed)
    frames = len(rotations)
    basis = identity_basis(template, 40, 0.03)
    displacement = torch.randn(len(basis.centres), 3, generator=g) * 2.0  # mm
    displacement = 0.5 * (displacement + displacement[basis.mirror] * torch.tensor([-1.0, 1.0, 1.0]))
    offsets = basis.offsets(displacement)
    arkit = torch.zeros(frames, 52)
    for name, value in (("jawOpen", 0.3), ("mouthSmileLeft", 0.5), ("mouthSmileRight", 0.5), ("browInnerUp", 0.4)):
        arkit[:, facs.ARKIT_INDEX[name]] = value
    rotation = torch.tensor(rotations, dtype=torch.float32)
    translation = torch.tensor([[0.01, 0.10, -0.65]]).repeat(frames, 1)  # face ~0.5 m from the camera
    focal = 0.5 * size / math.tan(math.radians(40) / 2)
    K = torch.tensor([[focal, 0, size / 2], [0, focal, size / 2], [0, 0, 1.0]])
    viewmat = torch.eye(4)
    viewmat[:3, :3] = FLIP
    posed = pose_vertices(fitted_template(template, offsets), arkit, rotation, translation, torch.zeros(frames, 2))
    uv = project(lmap.points(posed, template.faces), viewmat, K)
    R_a = np.array(lmap.meta["canonical_to_template"]["rotation"])
    tracks = []
    for t in range(frames):
        landmarks = np.tile(uv[t].mean(0).numpy(), (478, 1))
        landmarks[lmap.landmark.numpy()] = uv[t].numpy()
        noisy = rotations[t] + np.radians(4.0) * np.array([0.6, -0.5, 0.3])  # MediaPipe's pose is a start, not the answer
        transform = np.eye(4, dtype=np.float32)
        transform[:3, :3] = rotation_matrix(np.asarray(noisy)) @ R_a
        blend = (arkit[t] + 0.05 * torch.rand(52, generator=g)).clamp(0, 1).numpy()
        tracks.append(FaceTrack(np.concatenate([landmarks, np.zeros((478, 1))], 1).astype(np.float32),
                                blend.astype(np.float32), transform, (size, size), frame_index=t))
    return tracks, rotation, K


def test_solve_recovers_synthetic_pose(rig):
    template, lmap = rig
    rotations = [[0.12, -0.25, 0.05]]
    tracks, truth, K = synthetic_tracks(template, lmap, rotations)
    start = time.perf_counter()
    fit = solve_head(tracks, template, lmap)
    print(f"solve 1 frame: {time.perf_counter() - start:.2f} s, error {fit.reprojection_error_px.tolist()} px")
    assert fit.reprojection_error_px.max() < 1.0
    error_deg = np.degrees((fit.head_rotation - truth).norm(dim=1).numpy())
    assert error_deg.max() < 2.0, error_deg
    assert torch.allclose(fit.K, K, rtol=0.02)
    assert fit.identity_offsets.shape == template.vertices.shape
    assert fit.arkit.shape == (1, 52) and fit.gaze.shape == (1, 2) and fit.viewmat.shape == (4, 4)
    # the fit's own projection agrees with the reported error
    again = posed_landmarks(fit, template, lmap)
    observed = torch.from_numpy(tracks[0].landmarks[lmap.landmark.numpy(), :2])
    assert abs((again[0] - observed).norm(dim=-1).mean() - fit.reprojection_error_px[0]) < 1e-3


def test_solve_video_frames(rig):
    template, lmap = rig
    rotations = [[0.05, -0.3, 0.0], [0.1, 0.0, 0.05], [0.0, 0.3, -0.05]]
    tracks, truth, K = synthetic_tracks(template, lmap, rotations, seed=1)
    fit = solve_head(tracks, template, lmap, SolveConfig(w_smooth=0.0))
    assert fit.reprojection_error_px.max() < 1.0
    assert np.degrees((fit.head_rotation - truth).norm(dim=1).numpy()).max() < 2.0
    assert abs(fit.K[0, 0] / K[0, 0] - 1) < 0.05


def test_solve_astronaut_neutral_identity(rig):
    template, lmap = rig
    pytest.importorskip("mediapipe")
    from emotalk_cli.fit import tracking

    spec = importlib.util.find_spec("skimage")  # only its data file is used
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image (astronaut.png) not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png"
    track = tracking.track_image(tracking.load_image(path))
    start = time.perf_counter()
    fit = solve_head([track], template, lmap)
    error = float(fit.reprojection_error_px[0])
    print(f"astronaut: solve {time.perf_counter() - start:.2f} s, mean reprojection error {error:.2f} px "
          f"(face {track.face_size:.0f} px in 512x512)")
    assert error < 3.0
    # she smiles: the smile is in the ARKit weights, not in the identity shape
    smile = template.blendshapes[facs.ARKIT_INDEX["mouthSmileLeft"]] + template.blendshapes[facs.ARKIT_INDEX["mouthSmileRight"]]
    corners = smile.norm(dim=1) > 0.6 * smile.norm(dim=1).max()
    smile_in_identity = (fit.identity_offsets[corners] * smile[corners]).sum() / smile[corners].pow(2).sum()
    assert abs(float(smile_in_identity)) < 0.05
    assert fit.arkit[0, facs.ARKIT_INDEX["mouthSmileLeft"]] > 0.5


def test_solve_with_a_known_identity_and_focal_length_fits_the_pose_only(rig):
    """SolveConfig(focal_px=..., fit_identity=False): how a fitted avatar is posed for more frames."""
    template, lmap = rig
    tracks, truth, K = synthetic_tracks(template, lmap, [[0.05, 0.2, 0.0]])
    focal = float(K[0, 0]) * 1.1  # a known (here deliberately different) focal length is used as is
    fit = solve_head(tracks, template, lmap, SolveConfig(focal_px=focal, fit_identity=False, rigid_steps=60, steps=120))
    assert fit.K[0, 0].item() == pytest.approx(focal)
    assert fit.identity_offsets.abs().max() == 0
    assert fit.reprojection_error_px.max() < 6.0  # the synthetic identity is not the template's: some error stays
