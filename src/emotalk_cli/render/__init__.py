"""Gaussian-splatting rendering: `rasterize()` with gsplat (CUDA), fast CPU and reference backends."""
