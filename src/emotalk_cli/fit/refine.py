"""Photometric refinement of one frame's pose, expression and gaze for a fitted avatar
(analysis by synthesis: the avatar's appearance and identity stay fixed).

    fit = refine_pose(avatar, image [H, W, 3], head_fit, mask [H, W])   # head_fit: 1 frame, from solve_head

The landmark solve (`fit.solve.solve_head`) registers the rig to MediaPipe's landmarks, which are good
to a pixel or two; on a textured face that misregistration alone costs several dB of PSNR (measured by
evals/eval_fidelity.py: the ground-truth avatar itself, posed from landmarks, reaches only ~25 dB on
its own renders). Here the frame's head rotation, translation, ARKit weights and gaze are refined
by Adam on the same loss the Gaussians were fitted with (L1 + 0.2 D-SSIM, over `mask`), through the
differentiable rasterizer, starting from the landmark solve; the ARKit weights are kept in [0, 1] and
pulled towards the landmark solve's. Only those ~60 numbers change: the Gaussians, the identity and
the camera (K, viewmat) are the avatar's and the fit's. Face-tracking papers do the same after a
landmark fit (e.g. Thies et al., Face2Face, CVPR 2016: a photometric term over landmarks).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from emotalk_cli.avatar import Avatar, pose_gaussians
from emotalk_cli.device import rasterizer_threads
from emotalk_cli.fit.photometric import photometric_loss
from emotalk_cli.fit.solve import HeadFit
from emotalk_cli.render.rasterize import rasterize


def refine_pose(
    avatar: Avatar,
    image,  # [H, W, 3] uint8 or float in [0, 1]: the frame
    head_fit: HeadFit,  # one frame (T = 1) of the same image size: the start and the camera
    mask,  # [H, W] bool / float: the pixels the loss counts (e.g. the tracked face oval)
    steps: int = 40,
    lr_rotation: float = 0.003,  # radians
    lr_translation: float = 0.0005,  # metres
    lr_expression: float = 0.02,  # ARKit weight
    lr_gaze: float = 0.005,  # radians
    w_expression: float = 0.05,  # per squared ARKit weight away from the landmark solve's
    ssim_weight: float = 0.2,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    backend: str = "auto",
) -> HeadFit:
    """The frame's HeadFit with head_rotation, head_translation, arkit and gaze refined photometrically."""
    if head_fit.arkit.shape[0] != 1:
        raise ValueError(f"refine_pose refines one frame, got a fit of {head_fit.arkit.shape[0]}")
    target = torch.as_tensor(np.asarray(image))
    target = target.float() / 255.0 if target.dtype == torch.uint8 else target.float()
    height, width = target.shape[:2]
    weight = torch.as_tensor(np.asarray(mask)).float().reshape(height, width, 1)
    bg = torch.tensor(background, dtype=torch.float32)
    rotation = head_fit.head_rotation.clone().float().requires_grad_(True)
    translation = head_fit.head_translation.clone().float().requires_grad_(True)
    arkit0 = head_fit.arkit.clone().float()
    arkit = arkit0.clone().requires_grad_(True)
    gaze = head_fit.gaze.clone().float().requires_grad_(True)
    optimiser = torch.optim.Adam([
        {"params": [rotation], "lr": lr_rotation},
        {"params": [translation], "lr": lr_translation},
        {"params": [arkit], "lr": lr_expression},
        {"params": [gaze], "lr": lr_gaze},
    ])
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda i: 0.5 * (1 + math.cos(math.pi * i / max(steps, 1))))

    avatar = _facing_subset(avatar, head_fit)

    def render() -> Tensor:
        means, quats, scales = pose_gaussians(avatar, arkit, rotation, translation, gaze)
        rgb, _ = rasterize(means[0], quats[0], scales[0], avatar.opacities, avatar.sh, head_fit.viewmat[None].float(),
                           head_fit.K[None].float(), width, height, sh_degree=avatar.sh_degree, background=bg,
                           backend=backend)
        return rgb[0]

    with rasterizer_threads("cpu"):
        for _ in range(max(steps, 0)):
            _refine_step(render, target, weight, ssim_weight, w_expression, arkit, arkit0, optimiser, schedule)
    return replace(head_fit, head_rotation=rotation.detach(), head_translation=translation.detach(),
                   arkit=arkit.detach(), gaze=gaze.detach())


def _refine_step(render, target, weight, ssim_weight, w_expression, arkit, arkit0, optimiser, schedule) -> None:
    """One Adam step (torch single-threaded beside the rasterizer's threads: refine_pose)."""
    rgb = render()
    loss = photometric_loss(rgb, target, weight, ssim_weight)
    loss = loss + w_expression * (arkit - arkit0).pow(2).sum()
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    schedule.step()
    with torch.no_grad():
        arkit.clamp_(0.0, 1.0)


def _facing_subset(avatar: Avatar, head_fit: HeadFit) -> Avatar:
    """The avatar without the skin, neck and lash Gaussians whose triangles face away from the camera
    at the starting pose (cosine < -0.2: hidden behind the head's front, they only cost time; the
    mouth, teeth, tongue and eyes are kept whole)."""
    from emotalk_cli.rig.deform import pose_vertices
    from emotalk_cli.splats.binding import BoundGaussians, triangle_frames

    t = avatar.template
    with torch.no_grad():
        vertices = pose_vertices(t, head_fit.arkit, head_fit.head_rotation, head_fit.head_translation, head_fit.gaze)[0]
        origin, rotation, _ = triangle_frames(vertices, t.faces)
        R, tr = head_fit.viewmat[:3, :3].float(), head_fit.viewmat[:3, 3].float()
        towards = torch.nn.functional.normalize(-(R.T @ tr) - origin, dim=-1)
        facing = (rotation[:, :, 2] * towards).sum(-1) > -0.2
        surface = (t.face_part == t.part("skin")) | (t.face_part == t.part("neck")) | (t.face_part == t.part("eyelashes"))
        keep = (facing | ~surface)[avatar.gaussians.parent]
    g = avatar.gaussians
    return replace(avatar, gaussians=BoundGaussians(g.parent[keep], g.local_means[keep], g.local_quats[keep],
                                                    g.local_log_scales[keep]),
                   opacities=avatar.opacities[keep], sh=avatar.sh[keep])


__all__ = ["refine_pose"]
