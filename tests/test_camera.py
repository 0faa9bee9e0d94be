import math

import pytest
import torch

from emotalk_cli.render import camera
from emotalk_cli.splats.gaussians import Splats, axis_angle_to_quat, quat_to_matrix, rigid_transform


def project(viewmat, K, point):
    cam = viewmat[:3, :3] @ point + viewmat[:3, 3]
    pixel = K @ (cam / cam[2])
    return cam, pixel[:2]


def test_front_view_centres_the_subject_and_keeps_up_up():
    view = camera.orbit(torch.zeros(3), 1.0, torch.tensor([0.0]), 0.0)[0]
    K = camera.intrinsics(30, 200, 100)
    cam, pixel = project(view, K, torch.zeros(3))
    assert cam[2] == pytest.approx(1.0)  # in front of the camera at the orbit distance
    assert pixel.tolist() == pytest.approx([100, 50])
    _, above = project(view, K, torch.tensor([0.0, 0.1, 0.0]))
    assert above[1] < 50  # world up is image up (smaller row)
    _, left = project(view, K, torch.tensor([0.1, 0.0, 0.0]))
    assert left[0] > 100  # the subject's left (+x) is on the image's right, as in a mirror-free photo


def test_viewmat_is_rigid():
    views = camera.orbit(torch.tensor([1.0, 2.0, 3.0]), 2.0, torch.linspace(0, 360, 7), 20.0, up="-y")
    rotation = views[:, :3, :3]
    assert torch.allclose(rotation @ rotation.transpose(1, 2), torch.eye(3).expand(7, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(rotation), torch.ones(7), atol=1e-5)


def test_intrinsics_focal_matches_fov():
    K = camera.intrinsics(90, 100, 100)
    assert K[1, 1] == pytest.approx(50.0)


def test_rigid_transform_matches_rotation_matrix():
    splats = Splats(torch.randn(5, 3), torch.randn(5, 4), torch.rand(5, 3), torch.rand(5), torch.zeros(5, 1, 3))
    rotvec = torch.tensor([0.0, math.pi / 2, 0.0])
    moved = rigid_transform(splats, rotvec, torch.tensor([1.0, 0, 0]), torch.zeros(3))
    R = quat_to_matrix(axis_angle_to_quat(rotvec))
    assert torch.allclose(moved.means, splats.means @ R.T + torch.tensor([1.0, 0, 0]), atol=1e-5)
    assert torch.allclose(quat_to_matrix(moved.quats), R @ quat_to_matrix(splats.quats), atol=1e-5)
    assert torch.allclose(R @ torch.tensor([1.0, 0, 0]), torch.tensor([0.0, 0, -1]), atol=1e-6)
