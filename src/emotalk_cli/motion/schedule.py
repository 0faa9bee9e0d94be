"""Noise schedules for the motion model (EDM / k-diffusion conventions: x = x0 + sigma * noise).

Functions return sigmas; samplers and the denoiser's preconditioning read them. Nothing here
knows about networks.

Sources: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models"
(EDM): the rho-schedule, log-normal training sigmas, and the c_skip/c_out/c_in/c_noise scalings;
k-diffusion (Crowson) for the function layout.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def sigmas_karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> Tensor:
    """n noise levels from sigma_max down to sigma_min, spaced evenly in sigma^(1/rho), then a 0: [n + 1]."""
    if n < 1:
        raise ValueError(f"need at least 1 step, got {n}")
    ramp = torch.linspace(0, 1, n)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def sigmas_log_linear(n: int, sigma_min: float, sigma_max: float) -> Tensor:
    """n noise levels evenly spaced in log sigma, then a 0: [n + 1]."""
    sigmas = torch.linspace(math.log(sigma_max), math.log(sigma_min), n).exp()
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def training_sigmas(count: int, p_mean: float = -1.0, p_std: float = 1.2, generator: torch.Generator | None = None) -> Tensor:
    """EDM's log-normal training noise levels: log sigma ~ N(p_mean, p_std^2): [count]."""
    return (torch.randn(count, generator=generator) * p_std + p_mean).exp()


def edm_scalings(sigma: Tensor, sigma_data: float) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """EDM preconditioning for noise levels [...]: (c_skip, c_out, c_in, c_noise), each [...].

    The denoiser is D(x) = c_skip x + c_out F(c_in x, c_noise); training F toward
    (x0 - c_skip x) / c_out is the v-objective (Salimans & Ho 2022) for data of std sigma_data."""
    total = sigma**2 + sigma_data**2
    c_skip = sigma_data**2 / total
    c_out = sigma * sigma_data / total.sqrt()
    c_in = 1 / total.sqrt()
    c_noise = sigma.log() / 4
    return c_skip, c_out, c_in, c_noise
