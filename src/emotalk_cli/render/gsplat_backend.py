"""CUDA rasterization through gsplat 1.5.3 (imported lazily: it JIT-compiles on first use)."""

from __future__ import annotations

from torch import Tensor


def rasterize_gsplat(
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
    """gsplat.rasterization with the settings every backend shares: -> rgb [C, H, W, 3], alpha [C, H, W, 1]."""
    import gsplat

    backgrounds = None if background is None else background[None].expand(viewmats.shape[0], -1).contiguous()
    rgb, alpha, _meta = gsplat.rasterization(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height,
        near_plane=0.01, far_plane=1e10, radius_clip=0.0, eps2d=0.3, sh_degree=sh_degree,
        packed=False, tile_size=16, backgrounds=backgrounds, render_mode="RGB",
        rasterize_mode="classic", camera_model="pinhole",
    )  # fmt: skip
    return rgb, alpha
