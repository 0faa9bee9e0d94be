"""The motion denoiser: noisy motion windows + audio features + AU prompt -> clean motion estimate.

    model = MotionModel(MotionModelConfig(), stats)            # or load_model("weights/motion.safetensors")
    x0 = model(x, sigma, audio=feats, au=prompt, drop_au=drop)  # x [B, T, 60] normalised, sigma [B]
    x0 = model(x, sigma, audio=feats, au=prompt, drop_au=drop, drop_audio=drop_a)   # + audio dropped

Motion per frame (D = 60): 52 ARKit weights, head rotation (3, axis-angle rad), head translation
(3, m), gaze (2, rad), each channel normalised by the training corpus' mean and std (stored in
the model). The network: the audio features pass through two 1-D convolutions (+-3 frames of
context) (or a learned null embedding where `drop_audio`, for guidance on the audio), the AU
prompt through a linear layer (or a learned null prompt where `drop_au`, for classifier-free
guidance), the noisy motion through a linear layer; their sum plus sinusoidal
positions and the noise-level embedding goes through a pre-norm Transformer encoder over the
window, and a linear head gives EDM's F, preconditioned into the x0 estimate (schedule.edm_scalings).

File: safetensors with metadata format "emotalk.motion_model", version, config (JSON of
MotionModelConfig) and meta (JSON: training run); `load_model` rebuilds the model from the file alone.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor, nn

from emotalk_cli import facs
from emotalk_cli.artifacts import atomic_output, read_safetensors
from emotalk_cli.errors import ArtifactError
from emotalk_cli.motion.schedule import edm_scalings
from emotalk_cli.resources import weights_path

FORMAT = "emotalk.motion_model"
VERSION = 1
DEFAULT_WEIGHTS = weights_path("motion.safetensors")
MADE_BY = "python -m emotalk_cli.motion.train --corpus build/corpus --out weights/motion.safetensors (make weights-motion)"

#: Channel layout of a motion vector.
MOTION_CHANNELS: tuple[str, ...] = (
    *facs.ARKIT_NAMES, "headRotX", "headRotY", "headRotZ", "headPosX", "headPosY", "headPosZ", "gazeYaw", "gazePitch",
)
MOTION_DIM = len(MOTION_CHANNELS)  # 60
ARKIT = slice(0, 52)
ROTATION = slice(52, 55)
TRANSLATION = slice(55, 58)
GAZE = slice(58, 60)


def pack_motion(arkit: Tensor, head_rotation: Tensor, head_translation: Tensor, gaze: Tensor) -> Tensor:
    """[..., 52], [..., 3], [..., 3], [..., 2] -> raw motion vectors [..., 60]."""
    return torch.cat([arkit, head_rotation, head_translation, gaze], dim=-1).float()


def unpack_motion(motion: Tensor) -> dict[str, Tensor]:
    """Raw motion [..., 60] -> the emotalk.motion tensors (ARKit clamped to [0, 1])."""
    return {"arkit": motion[..., ARKIT].clamp(0.0, 1.0), "head_rotation": motion[..., ROTATION],
            "head_translation": motion[..., TRANSLATION], "gaze": motion[..., GAZE]}


@dataclass(frozen=True)
class MotionModelConfig:
    motion_dim: int = MOTION_DIM  # channels per frame (MOTION_CHANNELS)
    audio_dim: int = 160  # audio feature size per frame (audio.features.FeatureConfig.dim)
    au_dim: int = facs.NUM_AUS  # AU prompt size per frame
    width: int = 128  # Transformer width (small: trains on 2 CPU cores)
    layers: int = 3  # Transformer encoder layers
    heads: int = 4  # attention heads
    ff_mult: int = 2  # feed-forward width = ff_mult * width
    dropout: float = 0.0  # in the Transformer, training only (the corpus is large for this model)
    window: int = 64  # frames per window in training and sampling (2.56 s at 25 fps)
    fps: float = 25.0  # motion frame rate the model was trained at
    sigma_data: float = 1.0  # data std after normalisation (EDM)
    sigma_min: float = 0.002  # lowest sampling noise level
    sigma_max: float = 20.0  # highest sampling noise level (>> sigma_data)
    feature: dict = field(default_factory=dict)  # audio.features.FeatureConfig fields used in training


def _fourier(c_noise: Tensor, dim: int) -> Tensor:
    """Noise level [B] -> [B, dim] sinusoidal features."""
    freqs = torch.exp(torch.linspace(0, math.log(1000.0), dim // 2, device=c_noise.device))
    angles = c_noise[:, None] * freqs[None] * 4
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def _positions(length: int, dim: int, device) -> Tensor:
    """[length, dim] sinusoidal positions (Vaswani et al. 2017)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2], out[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
    return out


class MotionModel(nn.Module):
    """EDM-preconditioned denoiser over normalised motion windows."""

    def __init__(self, config: MotionModelConfig, mean: Tensor | None = None, std: Tensor | None = None):
        super().__init__()
        self.config = c = config
        self.register_buffer("mean", torch.zeros(c.motion_dim) if mean is None else mean.float().clone())
        self.register_buffer("std", torch.ones(c.motion_dim) if std is None else std.float().clone())
        self.motion_in = nn.Linear(c.motion_dim, c.width)
        self.audio_in = nn.Sequential(
            nn.Conv1d(c.audio_dim, c.width, 3, padding=1), nn.GELU(), nn.Conv1d(c.width, c.width, 5, padding=2), nn.GELU(),
        )
        self.au_in = nn.Linear(c.au_dim, c.width)
        self.null_au = nn.Parameter(torch.zeros(c.width))  # the "no prompt" embedding for CFG
        self.null_audio = nn.Parameter(torch.zeros(c.width))  # the "no audio" embedding for audio guidance
        self.noise_in = nn.Sequential(nn.Linear(64, c.width), nn.GELU(), nn.Linear(c.width, c.width))
        layer = nn.TransformerEncoderLayer(c.width, c.heads, c.ff_mult * c.width, c.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.width)
        self.out = nn.Linear(c.width, c.motion_dim)
        self.audio_guidance = True  # False for files made without a trained null_audio (load_model)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    # -- normalisation -------------------------------------------------------------------------
    def normalise(self, raw: Tensor) -> Tensor:
        """Raw motion [..., 60] -> model space [..., 60]."""
        return (raw - self.mean) / self.std

    def denormalise(self, x: Tensor) -> Tensor:
        return x * self.std + self.mean

    # -- the network ---------------------------------------------------------------------------
    def network(self, x_in: Tensor, c_noise: Tensor, audio: Tensor, au: Tensor, drop_au: Tensor,
                pad_mask: Tensor | None = None, drop_audio: Tensor | None = None) -> Tensor:
        """F: x_in [B, T, D], c_noise [B], audio [B, T, F], au [B, T, A], drop_au [B] bool,
        pad_mask [B, T] (True = padding), drop_audio [B] bool -> [B, T, D]."""
        B, T, _ = x_in.shape
        a = self.audio_in(audio.transpose(1, 2)).transpose(1, 2)
        if drop_audio is not None:
            a = torch.where(drop_audio[:, None, None], self.null_audio.expand_as(a), a)
        e = self.au_in(au)
        e = torch.where(drop_au[:, None, None], self.null_au.expand_as(e), e)
        h = self.motion_in(x_in) + a + e + _positions(T, self.config.width, x_in.device)
        h = h + self.noise_in(_fourier(c_noise, 64))[:, None]
        h = self.encoder(h, src_key_padding_mask=pad_mask)
        return self.out(self.norm(h))

    def forward(self, x: Tensor, sigma: Tensor, audio: Tensor, au: Tensor, drop_au: Tensor | None = None,
                pad_mask: Tensor | None = None, return_f: bool = False, drop_audio: Tensor | None = None):
        """Denoised estimate x0 [B, T, D] of noisy x [B, T, D] (normalised) at noise levels sigma [B]."""
        if x.dim() != 3 or x.shape[-1] != self.config.motion_dim:
            raise ValueError(f"x must be [B, T, {self.config.motion_dim}], got {tuple(x.shape)}")
        if audio.shape[:2] != x.shape[:2] or au.shape[:2] != x.shape[:2]:
            raise ValueError(f"audio {tuple(audio.shape)} and au {tuple(au.shape)} must match x {tuple(x.shape)} in [B, T]")
        if drop_au is None:
            drop_au = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        c_skip, c_out, c_in, c_noise = (s[:, None, None] for s in edm_scalings(sigma, self.config.sigma_data))
        f = self.network(x * c_in, c_noise[:, 0, 0], audio, au, drop_au, pad_mask, drop_audio)
        x0 = c_skip * x + c_out * f
        return (x0, f) if return_f else x0


# ---------------------------------------------------------------------------------------------
# Files


def save_model(path: str | os.PathLike, model: MotionModel, meta: dict | None = None, overwrite: bool = True) -> None:
    """Write the weights with their config (JSON) in the safetensors metadata, atomically."""
    state = {k: v.detach().cpu().contiguous().float() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "version": str(VERSION), "config": json.dumps(asdict(model.config)),
                "meta": json.dumps(meta or {})}
    with atomic_output(path, overwrite=overwrite) as temp:
        save_file(state, str(temp), metadata=metadata)


def load_model(path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> MotionModel:
    """Rebuild a MotionModel from its file (default weights/motion.safetensors), in eval mode (one
    model shared while emotalk_cli.cache is on, as in batch workers: callers only read it)."""
    from emotalk_cli.cache import cached

    source = Path(path or DEFAULT_WEIGHTS)
    return cached("motion_model", (source,), str(device), lambda: _read_model(source, device))


def _read_model(source: Path, device: torch.device | str) -> MotionModel:
    state, metadata = read_safetensors(source, FORMAT, VERSION, MADE_BY)
    config = MotionModelConfig(**json.loads(metadata["config"]))
    model = MotionModel(config)
    # files made before audio guidance have no null audio embedding: such a model cannot be guided on its audio
    model.audio_guidance = "null_audio" in state
    state.setdefault("null_audio", torch.zeros(config.width))
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ArtifactError(f"{source}: weights do not match the config ({str(err).splitlines()[0]}); remake it with {MADE_BY}") from None
    model.meta = json.loads(metadata.get("meta", "{}"))
    return model.to(device).eval()
