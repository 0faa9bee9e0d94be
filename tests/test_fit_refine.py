"""Photometric pose refinement (fit/refine.py): from a perturbed start it moves the pose back towards
the one an image was rendered at, and leaves the avatar's appearance alone."""

from __future__ import annotations

import math

import torch

from emotalk_cli import facs
from emotalk_cli.avatar import load_avatar, pose_gaussians
from emotalk_cli.fit.refine import refine_pose
from emotalk_cli.fit.solve import FLIP, HeadFit
from emotalk_cli.render.rasterize import rasterize


def test_refinement_recovers_a_perturbed_pose():
    torch.set_num_threads(1)
    avatar = load_avatar()
    size = 128
    focal = 0.5 * size / math.tan(math.radians(25) / 2)
    K = torch.tensor([[focal, 0, size / 2], [0, focal, size / 2], [0, 0, 1.0]])
    viewmat = torch.eye(4)
    viewmat[:3, :3] = FLIP
    viewmat[:3, 3] = FLIP @ torch.tensor([0.0, -0.03, -0.72])  # the head 0.72 m in front of the camera
    arkit = torch.zeros(1, 52)
    arkit[0, facs.ARKIT_INDEX["jawOpen"]] = 0.4
    truth = HeadFit(torch.zeros_like(avatar.template.vertices), K, viewmat, torch.tensor([[0.05, 0.2, 0.0]]),
                    torch.zeros(1, 3), arkit, torch.zeros(1, 2), torch.zeros(1), (size, size))
    with torch.no_grad():
        means, quats, scales = pose_gaussians(avatar, truth.arkit, truth.head_rotation, truth.head_translation, truth.gaze)
        image, alpha = rasterize(means[0], quats[0], scales[0], avatar.opacities, avatar.sh, viewmat[None], K[None],
                                 size, size, sh_degree=avatar.sh_degree, background=torch.ones(3))
    mask = (alpha[0, ..., 0] > 0.5)
    start_arkit = arkit.clone()
    start_arkit[0, facs.ARKIT_INDEX["jawOpen"]] = 0.2
    start = HeadFit(truth.identity_offsets, K, viewmat, torch.tensor([[0.02, 0.26, 0.03]]),
                    torch.tensor([[0.004, -0.003, 0.0]]), start_arkit, torch.zeros(1, 2), torch.zeros(1), (size, size))
    sh_before = avatar.sh.clone()
    refined = refine_pose(avatar, image[0], start, mask, steps=60)
    error_before = (start.head_rotation - truth.head_rotation).norm()
    error_after = (refined.head_rotation - truth.head_rotation).norm()
    assert error_after < 0.5 * error_before, (error_before, error_after)

    def psnr(fit: HeadFit) -> float:  # inside the mask, against the image
        with torch.no_grad():
            m, q, sc = pose_gaussians(avatar, fit.arkit, fit.head_rotation, fit.head_translation, fit.gaze)
            rgb, _ = rasterize(m[0], q[0], sc[0], avatar.opacities, avatar.sh, viewmat[None], K[None], size, size,
                               sh_degree=avatar.sh_degree, background=torch.ones(3))
        mse = ((rgb[0] - image[0]) ** 2)[mask].mean()
        return float(-10 * torch.log10(mse))

    assert psnr(refined) > psnr(start) + 3.0  # (rotation about the neck and translation trade off: judged on the image)
    jaw = facs.ARKIT_INDEX["jawOpen"]
    assert abs(refined.arkit[0, jaw] - 0.4) < abs(start_arkit[0, jaw] - 0.4)
    assert torch.equal(avatar.sh, sh_before) and torch.equal(refined.K, K) and torch.equal(refined.viewmat, viewmat)
