"""Classifier-free guidance on the AU prompt (Ho & Salimans 2022): a wrapper around a denoiser.

    guided = CFGDenoiser(model, scale=1.5)
    x0 = guided(x, sigma, audio=audio, au=au)     # uncond + scale * (cond - uncond)

The unconditional pass replaces the AU prompt by the model's learned null prompt (`drop_au`), as in
training's prompt dropout. scale 1 is the plain conditional model (one pass); above 1 the emotion is
pushed further, below 1 toward what the model does with no prompt. Both passes run as one batch.
"""

from __future__ import annotations

import torch
from torch import Tensor


class CFGDenoiser:
    """`model(x, sigma, audio=..., au=..., drop_au=...)` -> guided x0. Shapes: x [B, T, D], sigma [B]."""

    def __init__(self, model, scale: float):
        self.model, self.scale = model, float(scale)

    def __call__(self, x: Tensor, sigma: Tensor, audio: Tensor, au: Tensor, **kwargs) -> Tensor:
        batch = x.shape[0]
        if self.scale == 1.0:
            return self.model(x, sigma, audio=audio, au=au, drop_au=torch.zeros(batch, dtype=torch.bool), **kwargs)
        drop = torch.cat([torch.zeros(batch, dtype=torch.bool), torch.ones(batch, dtype=torch.bool)])
        both = self.model(torch.cat([x, x]), torch.cat([sigma, sigma]), audio=torch.cat([audio, audio]),
                          au=torch.cat([au, au]), drop_au=drop.to(x.device),
                          **{k: torch.cat([v, v]) if isinstance(v, Tensor) else v for k, v in kwargs.items()})
        cond, uncond = both[:batch], both[batch:]
        return uncond + self.scale * (cond - uncond)
