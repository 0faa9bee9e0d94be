"""Classifier-free guidance (Ho & Salimans 2022) on the AU prompt and on the audio: a denoiser wrapper.

    guided = CFGDenoiser(model, scale=1.5, audio_scale=2.0)
    x0 = guided(x, sigma, audio=audio, au=au)

With e(A, S) the model's estimate given audio A and prompt S, and the learned null embeddings for
"no prompt" (`drop_au`) and "no audio" (`drop_audio`), as in training's dropout:

    x0 = e(0, 0) + audio_scale * (e(A, 0) - e(0, 0)) + scale * (e(A, S) - e(A, 0))

the two-condition form of DiffPoseTalk (Sun et al. 2024, audio and style guidance). `scale` pushes
the emotion (1 = as prompted); `audio_scale` pushes how strongly the motion follows the speech
(1 = plain conditional). With audio_scale 1 the e(0, 0) terms cancel and the pass is skipped; with
both 1 it is one pass. All passes run as one batch.
"""

from __future__ import annotations

import torch
from torch import Tensor


class CFGDenoiser:
    """`model(x, sigma, audio=..., au=..., drop_au=..., drop_audio=...)` -> guided x0. Shapes: x [B, T, D], sigma [B]."""

    def __init__(self, model, scale: float, audio_scale: float = 1.0):
        self.model, self.scale, self.audio_scale = model, float(scale), float(audio_scale)

    def __call__(self, x: Tensor, sigma: Tensor, audio: Tensor, au: Tensor, **kwargs) -> Tensor:
        batch = x.shape[0]
        # the passes: (drop_au, drop_audio) per pass
        passes = [(False, False)]
        if self.scale != 1.0 or self.audio_scale != 1.0:
            passes.append((True, False))
        if self.audio_scale != 1.0:
            passes.append((True, True))
        n = len(passes)
        flags = lambda i: torch.tensor([p[i] for p in passes], device=x.device).repeat_interleave(batch)
        rep = lambda t: torch.cat([t] * n) if isinstance(t, Tensor) else t
        out = self.model(rep(x), rep(sigma), audio=rep(audio), au=rep(au), drop_au=flags(0), drop_audio=flags(1),
                         **{k: rep(v) for k, v in kwargs.items()})
        cond = out[:batch]
        if n == 1:
            return cond
        no_prompt = out[batch : 2 * batch]
        base = no_prompt if n == 2 else out[2 * batch :] + self.audio_scale * (no_prompt - out[2 * batch :])
        return base + self.scale * (cond - no_prompt)
