"""The motion discriminator: a small audio-conditioned critic of motion windows (training only).

    critic = MotionCritic(CriticConfig(motion_dim=60, audio_dim=160))
    scores = critic(motion, audio, pad)      # motion [B, T, 60] normalised, audio [B, T, F] -> [B, T']

It sees a window of normalised motion beside the audio features of the same frames and scores
short patches of it (a PatchGAN-style map over time, Isola et al. 2017), so it judges local
detail: whether the lips close as sharply as real ones on a /p/, whether head motion and blinks
look alive. Training (train.py, `--adv-weight`) uses the least-squares GAN objective (Mao et al.
2017): the critic pulls real windows to 1 and the denoiser's estimates to 0; the denoiser pulls
its estimates toward 1. Real = corpus motion. Padding frames are zeroed in both, so they tell
nothing apart. The critic is not part of the shipped model file.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class CriticConfig:
    motion_dim: int = 60  # channels per motion frame (denoiser.MOTION_DIM)
    audio_dim: int = 160  # audio feature size per frame
    width: int = 96  # channels of the convolution stack
    layers: int = 3  # strided convolutions after the first (receptive field grows ~2x each)


class MotionCritic(nn.Module):
    """Audio-conditioned patch critic over motion windows."""

    def __init__(self, config: CriticConfig = CriticConfig()):
        super().__init__()
        self.config = c = config
        self.audio_in = nn.Conv1d(c.audio_dim, c.width // 2, 3, padding=1)
        self.motion_in = nn.Conv1d(c.motion_dim, c.width // 2, 3, padding=1)
        blocks: list[nn.Module] = []
        for _ in range(c.layers):
            blocks += [nn.LeakyReLU(0.2), nn.Conv1d(c.width, c.width, 5, stride=2, padding=2)]
        self.body = nn.Sequential(*blocks, nn.LeakyReLU(0.2))
        self.head = nn.Conv1d(c.width, 1, 3, padding=1)

    def forward(self, motion: Tensor, audio: Tensor, pad: Tensor | None = None) -> Tensor:
        """Scores [B, T'] (T' = T / 2^layers, rounded up) for motion [B, T, D] and audio [B, T, F];
        pad [B, T] (True = padding) zeroes those frames in both inputs."""
        if pad is not None:
            keep = (~pad).to(motion.dtype)[..., None]
            motion, audio = motion * keep, audio * keep
        h = torch.cat([self.motion_in(motion.transpose(1, 2)), self.audio_in(audio.transpose(1, 2))], dim=1)
        return self.head(self.body(h))[:, 0]


def critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Least-squares critic loss: real -> 1, fake -> 0 (scores [B, T'])."""
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores**2).mean()


def generator_loss(fake_scores: Tensor, weight: Tensor | None = None) -> Tensor:
    """Least-squares generator loss: fake -> 1; weight [B] scales each window (e.g. by noise level)."""
    per_window = ((fake_scores - 1) ** 2).mean(dim=1)
    if weight is None:
        return per_window.mean()
    return (per_window * weight).sum() / weight.sum().clamp(min=1e-8)
