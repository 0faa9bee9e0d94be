"""SSIM with an 11-tap Gaussian window (sigma 1.5), as in Wang et al. 2004 and the 3D Gaussian
Splatting training loss (L1 + 0.2 D-SSIM), in plain torch: differentiable, any device.

    ssim_map(x, y)      # x, y: [B, 3, H, W] in [0, 1] -> [B, 3, H, W] local SSIM
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

C1 = 0.01**2  # (K1 L)^2 with dynamic range L = 1
C2 = 0.03**2


def gaussian_window(size: int = 11, sigma: float = 1.5, device: torch.device | str = "cpu") -> Tensor:
    """Normalised 1-D Gaussian taps [size]."""
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    w = torch.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _blur(x: Tensor, taps: Tensor) -> Tensor:
    """Separable Gaussian blur of [B, C, H, W], 'same' size (zero padding, like the 3DGS loss)."""
    c, k = x.shape[1], taps.shape[0]
    horizontal = taps.view(1, 1, 1, k).expand(c, 1, 1, k)
    vertical = taps.view(1, 1, k, 1).expand(c, 1, k, 1)
    x = F.conv2d(x, horizontal, padding=(0, k // 2), groups=c)
    return F.conv2d(x, vertical, padding=(k // 2, 0), groups=c)


def ssim_map(x: Tensor, y: Tensor, size: int = 11, sigma: float = 1.5) -> Tensor:
    """Local SSIM [B, C, H, W] of images x, y [B, C, H, W] in [0, 1]."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"x and y must both be [B, C, H, W], got {list(x.shape)} and {list(y.shape)}")
    taps = gaussian_window(size, sigma, x.device).to(x.dtype)
    mu_x, mu_y = _blur(x, taps), _blur(y, taps)
    var_x = _blur(x * x, taps) - mu_x**2
    var_y = _blur(y * y, taps) - mu_y**2
    cov = _blur(x * y, taps) - mu_x * mu_y
    return ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / ((mu_x**2 + mu_y**2 + C1) * (var_x + var_y + C2))


def ssim(x: Tensor, y: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean SSIM (scalar) of [B, C, H, W] images, over `mask` [B, 1, H, W] (weights in [0, 1]) if given."""
    s = ssim_map(x, y)
    if mask is None:
        return s.mean()
    weight = mask.expand_as(s)
    return (s * weight).sum() / weight.sum().clamp_min(1e-8)


__all__ = ["gaussian_window", "ssim", "ssim_map"]
