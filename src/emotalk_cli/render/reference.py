"""Slow, plainly written rasterizer in torch: the yardstick for the fast backends.

Follows gsplat 1.5.3 (`rasterization(..., packed=False, rasterize_mode="classic")`) rule by rule
and is differentiable end to end by torch autograd. One image at a time, one Gaussian at a time
over the whole image, front to back:

- a Gaussian is drawn only on pixels of the 16x16 tiles its box touches (`tile_ranges`, the
  same float32 arithmetic as gsplat's `IntersectTile.cu`);
- Gaussians are visited in stable depth order (equal depths: lower index first), which is the
  order inside every tile after gsplat's stable radix sort of (image, tile, depth) keys;
- per pixel, centre (x + 0.5, y + 0.5): sigma = 0.5 (a dx^2 + c dy^2) + b dx dy,
  alpha = min(0.999, opacity exp(-sigma)); skipped when sigma < 0 or alpha < 1/255; the pixel
  stops, without drawing it, at the first Gaussian that would bring T (1 - alpha) to <= 1e-4;
- colour = sum alpha T c + T_final background, alpha = 1 - T_final.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from emotalk_cli.render.projection import ALPHA_THRESHOLD, project_gaussians
from emotalk_cli.render.sh import sh_colors

TILE_SIZE = 16
MAX_ALPHA = 0.999  # gsplat clamps alpha below 1 so that T never reaches 0
MIN_TRANSMITTANCE = 1e-4  # a pixel stops before the Gaussian that takes T to or below this


def tile_ranges(means2d: Tensor, radii: Tensor, tile_w: int, tile_h: int) -> Tensor:
    """[N, 2] float32 means, [N, 2] int radii -> [N, 4] int64 (x0, x1, y0, y1), ends exclusive."""
    m = means2d.detach().float()
    r = radii.float()
    ts = torch.tensor(float(TILE_SIZE), dtype=torch.float32)
    lo = torch.floor(m / ts - r / ts)
    hi = torch.ceil(m / ts + r / ts)
    limit = torch.tensor([tile_w, tile_h], dtype=torch.float32)
    lo = torch.minimum(lo.clamp_min(0), limit).long()
    hi = torch.minimum(hi.clamp_min(0), limit).long()
    return torch.stack([lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1]], dim=-1)


def render_image(
    means2d: Tensor,  # [N, 2]
    conics: Tensor,  # [N, 3]
    depths: Tensor,  # [N]
    radii: Tensor,  # [N, 2] int, (0, 0) = culled
    colors: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    width: int,
    height: int,
    background: Tensor | None = None,  # [3]
) -> tuple[Tensor, Tensor]:
    """Composite one image: -> rgb [H, W, 3], alpha [H, W, 1]."""
    tile_w, tile_h = math.ceil(width / TILE_SIZE), math.ceil(height / TILE_SIZE)
    dtype = means2d.dtype
    px = torch.arange(width, dtype=dtype) + 0.5  # [W]
    py = torch.arange(height, dtype=dtype) + 0.5  # [H]
    pix_tile_x = torch.arange(width) // TILE_SIZE
    pix_tile_y = torch.arange(height) // TILE_SIZE

    T = torch.ones(height, width, dtype=dtype)
    rgb = torch.zeros(height, width, 3, dtype=dtype)
    done = torch.zeros(height, width, dtype=torch.bool)

    visible = ((radii[:, 0] > 0) & (radii[:, 1] > 0)).nonzero()[:, 0]
    order = visible[torch.sort(depths.detach()[visible], stable=True).indices]
    boxes = tile_ranges(means2d, radii, tile_w, tile_h)
    for g in order.tolist():
        x0, x1, y0, y1 = boxes[g].tolist()
        in_box = ((pix_tile_y >= y0) & (pix_tile_y < y1))[:, None] & ((pix_tile_x >= x0) & (pix_tile_x < x1))[None, :]
        a, b, c = conics[g]
        dx = (means2d[g, 0] - px)[None, :]  # [1, W]
        dy = (means2d[g, 1] - py)[:, None]  # [H, 1]
        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy  # [H, W]
        alpha = torch.clamp(opacities[g] * torch.exp(-sigma), max=MAX_ALPHA)
        drawn = in_box & ~done & (sigma >= 0) & (alpha >= ALPHA_THRESHOLD)
        next_T = T * (1 - alpha)
        stop = drawn & (next_T <= MIN_TRANSMITTANCE)
        done = done | stop
        drawn = drawn & ~stop
        weight = torch.where(drawn, alpha * T, torch.zeros_like(T))
        rgb = rgb + weight[..., None] * colors[g]
        T = torch.where(drawn, next_T, T)

    if background is not None:
        rgb = rgb + T[..., None] * background
    return rgb, (1 - T)[..., None]


def rasterize_reference(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [N, 3] or [N, K, 3] with sh_degree
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    sh_degree: int | None = None,
    background: Tensor | None = None,  # [3]
) -> tuple[Tensor, Tensor]:
    """Reference rasterization (inputs already validated): -> rgb [C, H, W, 3], alpha [C, H, W, 1]."""
    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height)
    if sh_degree is None:
        colors_c = colors[None].expand(viewmats.shape[0], -1, -1)
    else:
        colors_c = sh_colors(sh_degree, means, colors, viewmats)
    images, alphas = [], []
    for cam in range(viewmats.shape[0]):
        rgb, alpha = render_image(
            proj.means2d[cam], proj.conics[cam], proj.depths[cam], proj.radii[cam],
            colors_c[cam], opacities, width, height, background,
        )  # fmt: skip
        images.append(rgb)
        alphas.append(alpha)
    return torch.stack(images), torch.stack(alphas)
