"""Samplers over the probability-flow ODE, k-diffusion style: `sample_x(model, x, sigmas, extra_args,
callback, disable)` where `model(x, sigma, **extra_args)` returns the denoised x0 estimate.

All are deterministic given the starting noise `x` (so `--seed` fixes the result). One call of
`model` per step for euler and dpmpp_2m; two for heun (except the last step).

Sources: Karras et al. 2022 (Euler, Heun, Algorithm 1); Lu et al. 2022, "DPM-Solver++" (2M);
the function shapes follow k-diffusion's `sampling.py` (Crowson, MIT); no code copied.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Denoiser = Callable[..., Tensor]  # model(x [B, T, D], sigma [B], **extra_args) -> x0 [B, T, D]


def _to_d(x: Tensor, sigma: Tensor, denoised: Tensor) -> Tensor:
    return (x - denoised) / sigma


@torch.no_grad()
def sample_euler(model: Denoiser, x: Tensor, sigmas: Tensor, extra_args: dict | None = None,
                 callback: Callable[[dict], None] | None = None, disable: bool = True) -> Tensor:
    """Euler steps from sigmas[0] (x = noise * sigmas[0]) to sigmas[-1] (0): x [B, T, D] -> x0."""
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        x = x + _to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
    return x


@torch.no_grad()
def sample_heun(model: Denoiser, x: Tensor, sigmas: Tensor, extra_args: dict | None = None,
                callback: Callable[[dict], None] | None = None, disable: bool = True) -> Tensor:
    """Heun's second-order method (EDM Algorithm 1 without churn)."""
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        d = _to_d(x, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            d_2 = _to_d(x_2, sigmas[i + 1], model(x_2, sigmas[i + 1] * s_in, **extra_args))
            x = x + (d + d_2) / 2 * dt
    return x


@torch.no_grad()
def sample_dpmpp_2m(model: Denoiser, x: Tensor, sigmas: Tensor, extra_args: dict | None = None,
                    callback: Callable[[dict], None] | None = None, disable: bool = True) -> Tensor:
    """DPM-Solver++(2M): second order from the previous step's estimate, one model call a step."""
    extra_args = extra_args or {}
    s_in = x.new_ones(x.shape[0])
    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "denoised": denoised})
        t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
        h = t_next - t
        if old_denoised is None or sigmas[i + 1] == 0:
            x = (sigmas[i + 1] / sigmas[i]) * x - (-h).expm1() * denoised
        else:
            h_last = t - (-sigmas[i - 1].log())
            r = h_last / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = (sigmas[i + 1] / sigmas[i]) * x - (-h).expm1() * denoised_d
        old_denoised = denoised
    return x


SAMPLERS: dict[str, Callable[..., Tensor]] = {"euler": sample_euler, "heun": sample_heun, "dpmpp_2m": sample_dpmpp_2m}


def model_calls(sampler: str, steps: int) -> int:
    """How many times `sampler` calls the model for `steps` steps."""
    return 2 * steps - 1 if sampler == "heun" else steps
