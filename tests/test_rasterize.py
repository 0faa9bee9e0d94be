"""The rasterizer backends against each other and against gsplat's pure-torch twins.

fast cpu vs reference: forward to 1e-4, gradients to ~1e-3 of their scale; projection and SH
vs gsplat 1.5.3's `_torch_impl`; cpu vs gsplat on CUDA when a GPU is there.
"""

from __future__ import annotations

import math

import pytest
import torch

from emotalk_cli.render.projection import project_gaussians
from emotalk_cli.render.rasterize import BACKENDS, RasterizeInputError, rasterize
from emotalk_cli.render.scenes import head_scene
from emotalk_cli.render.sh import eval_sh

FWD_ATOL = 1e-4


def random_scene(n: int, width: int, height: int, seed: int, n_cams: int = 1, sh_degree: int | None = None):
    """n random Gaussians ~3 m in front of n_cams slightly different cameras."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * torch.tensor([0.6, 0.45, 0.4]) + torch.tensor([0.0, 0.0, 3.0])
    quats = torch.randn(n, 4, generator=g)
    scales = torch.exp(torch.empty(n, 3).uniform_(math.log(0.01), math.log(0.25), generator=g))
    opacities = torch.rand(n, generator=g) * 0.95 + 0.02
    if sh_degree is None:
        colors = torch.rand(n, 3, generator=g)
    else:
        colors = torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g) * 0.3
    f = 0.9 * width
    Ks = torch.tensor([[f, 0.0, width / 2 + 0.3], [0.0, f, height / 2 - 0.2], [0.0, 0.0, 1.0]]).repeat(n_cams, 1, 1)
    viewmats = torch.eye(4).repeat(n_cams, 1, 1)
    for c in range(n_cams):
        angle = 0.1 * c
        viewmats[c, 0, 0], viewmats[c, 0, 2] = math.cos(angle), math.sin(angle)
        viewmats[c, 2, 0], viewmats[c, 2, 2] = -math.sin(angle), math.cos(angle)
        viewmats[c, :3, 3] = torch.randn(3, generator=g) * 0.05
    return dict(
        means=means, quats=quats, scales=scales, opacities=opacities, colors=colors,
        viewmats=viewmats, Ks=Ks, width=width, height=height, sh_degree=sh_degree,
    )  # fmt: skip


def both(scene, background=None):
    out = {}
    for backend in ("cpu", "reference"):
        out[backend] = rasterize(**scene, background=background, backend=backend)
    return out["cpu"], out["reference"]


def assert_close_images(fast, ref):
    (rgb_f, a_f), (rgb_r, a_r) = fast, ref
    assert rgb_f.shape == rgb_r.shape and a_f.shape == a_r.shape
    assert (rgb_f - rgb_r).abs().max().item() <= FWD_ATOL
    assert (a_f - a_r).abs().max().item() <= FWD_ATOL


@pytest.mark.parametrize(
    "n, width, height, seed",
    [(1, 32, 24, 0), (7, 40, 30, 1), (60, 64, 48, 2), (200, 64, 48, 3), (120, 50, 37, 4), (200, 33, 47, 5)],
)
def test_forward_matches_reference(n, width, height, seed):
    scene = random_scene(n, width, height, seed)
    background = torch.tensor([0.1, 0.5, 0.9]) if seed % 2 else None
    fast, ref = both(scene, background)
    assert_close_images(fast, ref)
    assert ref[1].max() > 0.1  # the scene is actually visible


def test_no_gaussians_gives_background():
    scene = random_scene(0, 40, 30, 0)
    bg = torch.tensor([0.25, 0.5, 0.75])
    for backend in ("cpu", "reference"):
        rgb, alpha = rasterize(**scene, background=bg, backend=backend)
        assert rgb.shape == (1, 30, 40, 3) and alpha.shape == (1, 30, 40, 1)
        assert torch.equal(alpha, torch.zeros_like(alpha))
        assert torch.allclose(rgb, bg.expand_as(rgb))


def test_edge_cases_match_reference():
    scene = random_scene(12, 48, 40, 7)
    m, s, o = scene["means"], scene["scales"], scene["opacities"]
    m[0] = torch.tensor([0.0, 0.0, -1.0])  # behind the camera
    m[1] = torch.tensor([0.0, 0.0, 0.005])  # inside the near plane
    m[2] = torch.tensor([50.0, 0.0, 3.0])  # far off-screen
    m[3] = torch.tensor([2.2, 0.0, 3.0])  # just off-screen, its box still reaching in
    s[4] = torch.tensor([3.0, 2.0, 2.5])  # huge
    m[4] = torch.tensor([0.0, 0.0, 6.0])
    s[5] = torch.tensor([1.5, 1e-4, 1e-4])  # needle-thin
    s[6] = torch.tensor([1e-5, 1e-5, 1e-5])  # sub-pixel
    o[7] = 0.0  # invisible
    o[8] = 0.5 / 255  # below the alpha threshold
    o[9] = 1.0  # fully opaque (alpha clamps at 0.999)
    m[10] = m[11]  # two at the same depth: the lower index comes first
    fast, ref = both(scene, torch.tensor([1.0, 0.0, 0.5]))
    assert_close_images(fast, ref)


def test_two_cameras_and_sh_match_reference():
    for degree in (None, 0, 3):
        scene = random_scene(80, 40, 32, 11, n_cams=2, sh_degree=degree)
        fast, ref = both(scene)
        assert fast[0].shape == (2, 32, 40, 3)
        assert_close_images(fast, ref)
        assert not torch.allclose(ref[0][0], ref[0][1])  # the cameras really differ


def test_head_scene_matches_reference_on_a_small_frame():
    scene = head_scene(300, width=48, height=48, seed=1)
    fast, ref = both(scene)
    assert_close_images(fast, ref)
    assert ref[1].mean() > 0.2


GRAD_NAMES = ("means", "quats", "scales", "opacities", "colors", "viewmats")


def grads(scene, backend, background, weights):
    leaves = {k: scene[k].clone().requires_grad_() for k in GRAD_NAMES}
    bg = background.clone().requires_grad_()
    rgb, alpha = rasterize(**{**scene, **leaves}, background=bg, backend=backend)
    ((rgb * weights[0]).sum() + (alpha * weights[1]).sum()).backward()
    return {**{k: v.grad for k, v in leaves.items()}, "background": bg.grad}


@pytest.mark.parametrize("seed, n_cams, sh_degree", [(0, 1, None), (1, 1, 2), (2, 2, None)])
def test_gradients_match_reference_autograd(seed, n_cams, sh_degree):
    scene = random_scene(50, 40, 32, seed, n_cams=n_cams, sh_degree=sh_degree)
    g = torch.Generator().manual_seed(100 + seed)
    weights = (torch.randn(n_cams, 32, 40, 3, generator=g), torch.randn(n_cams, 32, 40, 1, generator=g))
    background = torch.tensor([0.3, 0.2, 0.1])
    fast = grads(scene, "cpu", background, weights)
    ref = grads(scene, "reference", background, weights)
    for name in (*GRAD_NAMES, "background"):
        scale = ref[name].abs().max().item()
        assert scale > 0, name
        err = (fast[name] - ref[name]).abs().max().item()
        assert err <= 1e-3 * scale + 1e-5, f"{name}: max error {err:.3g} vs scale {scale:.3g}"


def test_projection_matches_gsplat_torch_impl():
    from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci

    scene = random_scene(300, 64, 48, 21, n_cams=2)
    scene["means"][:5, 2] = -1.0  # some behind the camera
    covars, _ = _quat_scale_to_covar_preci(scene["quats"], scene["scales"], compute_preci=False)
    radii_g, means2d_g, depths_g, conics_g, _ = _fully_fused_projection(
        scene["means"], covars, scene["viewmats"], scene["Ks"], 64, 48
    )
    # gsplat's torch twin has no opacity-aware box: compare with opacities=None (extend 3.33).
    ours = project_gaussians(scene["means"], scene["quats"], scene["scales"], None, scene["viewmats"], scene["Ks"], 64, 48)
    valid = (radii_g > 0).all(-1)
    assert valid.sum() > 100 and (~valid).sum() > 5
    assert torch.equal(ours.radii, radii_g * valid[..., None])
    torch.testing.assert_close(ours.means2d[valid], means2d_g[valid], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ours.depths[valid], depths_g[valid])
    torch.testing.assert_close(ours.conics[valid], conics_g[valid], rtol=1e-4, atol=1e-6)


def test_numba_projection_matches_torch_projection():
    import numpy as np

    from emotalk_cli.render.cpu_fast import _project

    scene = random_scene(400, 64, 48, 23, n_cams=2)
    scene["means"][:5, 2] = -1.0
    scene["opacities"][5:10] = 0.001
    args = [scene[k] for k in ("means", "quats", "scales", "opacities", "viewmats", "Ks")]
    ref = project_gaussians(*args, 64, 48)
    out = (np.zeros((2, 400, 2), np.float32), np.zeros((2, 400, 3), np.float32), np.zeros((2, 400), np.float32), np.zeros((2, 400, 2), np.int32))
    _project(*[a.numpy() for a in args], 64, 48, np.float32(0.3), np.float32(0.01), np.float32(1e10), *out)
    means2d, conics, depths, radii = (torch.from_numpy(a) for a in out)
    valid = (ref.radii > 0).all(-1)
    assert valid.sum() > 200
    assert torch.equal(radii, ref.radii)
    torch.testing.assert_close(means2d[valid], ref.means2d[valid], rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(depths, ref.depths)
    torch.testing.assert_close(conics[valid], ref.conics[valid], rtol=1e-4, atol=1e-6)


def test_inference_and_autograd_paths_agree():
    scene = random_scene(150, 64, 48, 24)
    with torch.no_grad():
        rgb_a, alpha_a = rasterize(**scene, backend="cpu")
    rgb_b, alpha_b = rasterize(**{**scene, "means": scene["means"].clone().requires_grad_()}, backend="cpu")
    assert rgb_b.requires_grad
    assert (rgb_a - rgb_b).abs().max() <= FWD_ATOL and (alpha_a - alpha_b).abs().max() <= FWD_ATOL


def test_projection_opacity_aware_radius():
    scene = random_scene(50, 64, 48, 22)
    ops = scene["opacities"]
    ours = project_gaussians(scene["means"], scene["quats"], scene["scales"], ops, scene["viewmats"], scene["Ks"], 64, 48)
    plain = project_gaussians(scene["means"], scene["quats"], scene["scales"], None, scene["viewmats"], scene["Ks"], 64, 48)
    shown = (ours.radii > 0).all(-1)[0]
    extend = torch.sqrt(2 * torch.log(ops * 255)).clamp(max=3.33)
    # conic -> covariance diagonal: cov_xx = c / det(conic)
    a, b, c = plain.conics[0].unbind(-1)
    cov_xx = c / (a * c - b * b)
    expected = torch.ceil(extend * torch.sqrt(cov_xx))
    assert torch.allclose(ours.radii[0, shown, 0].float(), expected[shown], atol=1.0)
    assert (ours.radii[0, :, 0] <= plain.radii[0, :, 0]).all()


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_sh_matches_gsplat_torch_impl(degree):
    from gsplat.cuda._torch_impl import _spherical_harmonics

    g = torch.Generator().manual_seed(degree)
    dirs = torch.randn(500, 3, generator=g) * 2.0
    coeffs = torch.randn(500, 16, 3, generator=g)
    torch.testing.assert_close(eval_sh(degree, dirs, coeffs), _spherical_harmonics(degree, dirs, coeffs), rtol=1e-5, atol=1e-5)


def test_bad_inputs_raise_value_errors_with_shapes():
    scene = random_scene(5, 32, 24, 0)
    with pytest.raises(ValueError, match=r"means must have shape \[N, 3\], got \[5, 4\]"):
        rasterize(**{**scene, "means": torch.zeros(5, 4)})
    with pytest.raises(ValueError, match=r"got \[4\]"):
        rasterize(**{**scene, "opacities": torch.zeros(4)})
    with pytest.raises(ValueError, match="unknown backend"):
        rasterize(**scene, backend="opengl")
    with pytest.raises(RasterizeInputError, match="K>=4"):
        rasterize(**{**scene, "colors": torch.zeros(5, 1, 3), "sh_degree": 1})
    with pytest.raises(ValueError, match=r"\[C=1, 3, 3\]"):
        rasterize(**{**scene, "Ks": torch.zeros(2, 3, 3)})
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            rasterize(**scene, backend="gsplat")
    assert BACKENDS == ("auto", "gsplat", "cpu", "reference")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("sh_degree", [None, 3])
def test_cpu_matches_gsplat_on_cuda(sh_degree):
    scene = random_scene(400, 96, 64, 5, n_cams=2, sh_degree=sh_degree)
    bg = torch.tensor([0.2, 0.4, 0.6])
    cuda_scene = {k: (v.cuda() if isinstance(v, torch.Tensor) else v) for k, v in scene.items()}
    rgb_g, a_g = rasterize(**cuda_scene, background=bg.cuda(), backend="gsplat")
    rgb_c, a_c = rasterize(**scene, background=bg, backend="cpu")
    # gsplat uses __expf and fused multiply-adds: allow rounding, not rule, differences.
    assert (rgb_g.cpu() - rgb_c).abs().max().item() < 2e-3
    assert (a_g.cpu() - a_c).abs().max().item() < 2e-3
    assert (rgb_g.cpu() - rgb_c).abs().mean().item() < 1e-5
    auto_rgb, _ = rasterize(**cuda_scene, background=bg.cuda())
    assert auto_rgb.is_cuda


def test_dense_scene_with_early_stops_matches_reference():
    # Many opaque Gaussians on a small, odd-sized frame: most pixels stop early (T <= 1e-4),
    # whole rows and tiles of the fast forward stop, and edge tiles have off-image lanes.
    scene = head_scene(3000, width=45, height=38, seed=3)
    scene["opacities"] = scene["opacities"].clamp(min=0.9)
    fast, ref = both(scene, torch.tensor([0.2, 0.3, 0.4]))
    assert_close_images(fast, ref)
    assert (ref[1] > 0.999).float().mean() > 0.3  # many pixels (nearly) stopped


def test_polynomial_exp_is_within_two_ulp_of_torch():
    import numpy as np
    from numba import njit

    from emotalk_cli.render.cpu_fast import _float_bits, _op_exp

    @njit
    def alphas(sigma, op):
        out = np.empty_like(sigma)
        for i in range(sigma.size):
            out[i] = _op_exp(sigma[i], _float_bits(op[i]))
        return out

    g = torch.Generator().manual_seed(0)
    sigma = torch.rand(200_000, generator=g) * 8
    op = torch.rand(200_000, generator=g) * 0.99 + 0.01
    ours = torch.from_numpy(alphas(sigma.numpy(), op.numpy()))
    ulp = (ours.view(torch.int32).long() - (op * torch.exp(-sigma)).view(torch.int32).long()).abs()
    assert ulp.max() <= 2 and ulp.float().mean() < 0.2
