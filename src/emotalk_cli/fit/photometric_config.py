"""The photometric fit's settings, apart from the fit so the command line can read its defaults
without importing torch (`emotalk --help` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PhotometricConfig:
    gaussians: int = 60_000  # Gaussians on the head (by area); a step takes ~0.15 s on 2 CPU cores at 256 px
    iterations: int = 200  # Adam steps; the projected colours start close (on the astronaut the loss flattens by ~150)
    resolution: int = 256  # side of the square face crop the loss is computed on, pixels
    margin: float = 1.15  # crop side / the posed head's projected size
    ssim_weight: float = 0.2  # loss = (1 - w) L1 + w D-SSIM (3DGS uses 0.2)
    lr_colour: float = 0.02  # SH degree-0 coefficient per step (x 0.28 in RGB)
    lr_opacity: float = 0.02  # opacity logit per step
    lr_means: float = 0.002  # local offset per step, units of the parent triangle's size
    lr_scales: float = 0.005  # log scale per step
    lr_quats: float = 0.002  # local quaternion component per step
    w_position: float = 0.5  # per squared local offset (triangle-size units) from the start, mean over Gaussians
    w_scale: float = 0.5  # per squared log scale grown beyond 2x the start, mean over Gaussians
    visibility_tolerance_m: float = 0.004  # depth test slack when sampling the photo, metres
    facing_min: float = 0.25  # cosine between normal and view ray for a Gaussian to take the photo's colour
    fade_m: float = 0.02  # unseen skin and hair fade from the nearest sampled colour to the part's colour over this, metres
    erode_px: int = 2  # the loss mask's erosion, pixels of the crop, so silhouette edges stay out
    seed: int = 0  # Gaussian placement and the random backgrounds
    backend: str = "auto"  # rasterizer: gsplat on CUDA tensors, our differentiable numba one on the CPU


__all__ = ["PhotometricConfig"]
