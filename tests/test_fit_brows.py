"""fit.brows: the brow band's weights (against a point-by-point version) and define_brows on the
shipped avatar: only face skin along the brows darkens, the rest is untouched, meta records it; the
fringe's harmonic fill (against a direct linear solve) and clear_fringe on a fringe painted over the
shipped avatar's brows."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.brows import (FALLOFF, _interp, band_weight, brow_band, brow_weights, clear_fringe, define_brows,
                                   fringe_mask, harmonic_fill, neutral_means)
from emotalk_cli.fit.photometric import SH_C0


def band_weight_slow(point: torch.Tensor, centre: torch.Tensor, half_width: torch.Tensor) -> float:
    """One point, segment by segment: the nearest segment's distance and interpolated half-width."""
    best = None
    for i in range(len(centre) - 1):
        a, b = centre[i], centre[i + 1]
        t = float(torch.dot(point - a, b - a) / torch.dot(b - a, b - a))
        t = min(1.0, max(0.0, t))
        d = float((point - (a + t * (b - a))).norm())
        if best is None or d < best[0]:
            best = (d, float(half_width[i] * (1 - t) + half_width[i + 1] * t))
    d, h = best
    x = min(1.0, max(0.0, ((1 + FALLOFF / 2) - d / h) / FALLOFF))
    return x * x * (3 - 2 * x)


def test_band_weight_matches_the_point_by_point_version():
    g = torch.Generator().manual_seed(0)
    centre = torch.tensor([[0.0, 0.0, 0.0], [0.01, 0.003, 0.0], [0.02, 0.004, 0.001], [0.03, 0.002, 0.0]])
    half_width = torch.tensor([0.002, 0.003, 0.003, 0.004])
    points = torch.rand(300, 3, generator=g) * torch.tensor([0.04, 0.02, 0.01]) - torch.tensor([0.005, 0.008, 0.005])
    fast = band_weight(points, centre, half_width)
    slow = torch.tensor([band_weight_slow(p, centre, half_width) for p in points])
    assert torch.allclose(fast, slow, atol=1e-5)
    assert (fast == 1).any() and (fast == 0).any() and ((fast > 0) & (fast < 1)).any()  # inside, outside and the soft edge


def test_band_weight_is_one_on_the_centre_line_and_falls_off_with_distance():
    centre = torch.tensor([[0.0, 0.0, 0.0], [0.02, 0.0, 0.0]])
    half_width = torch.tensor([0.003, 0.003])
    offsets = torch.linspace(0, 0.006, 25)
    points = torch.stack([torch.full_like(offsets, 0.01), offsets, torch.zeros_like(offsets)], -1)
    w = band_weight(points, centre, half_width)
    assert w[0] == 1 and w[-1] == 0
    assert (w[1:] <= w[:-1]).all()  # never rises away from the line


@pytest.fixture(scope="module")
def shipped():
    from emotalk_cli.avatar import load_avatar
    from emotalk_cli.fit.correspondence import load_landmark_map

    return load_avatar(), load_landmark_map()


def test_brow_band_sits_above_the_eyes_and_tapers_to_the_tail(shipped):
    avatar, landmark_map = shipped
    points = landmark_map.points(avatar.template.vertices, avatar.template.faces)
    band = brow_band(points, landmark_map.landmark)
    eyes = avatar.template.eye_centres  # [2, 3]
    for side, (centre, half_width) in band.items():
        x_sign = 1 if side == "left" else -1  # the face's left is +x
        assert (centre[:, 0] * x_sign > 0).all()
        assert (centre[:, 1] > eyes[:, 1].max()).all()  # brows above the eyes
        assert abs(float(centre[0, 0])) > abs(float(centre[-1, 0]))  # tail (temple) outside the head (nose)
        assert ((half_width > 0.0005) & (half_width < 0.01)).all()  # millimetres, not centimetres
        assert half_width[0] < half_width[-1]


def test_define_brows_darkens_only_the_brows(shipped):
    avatar, landmark_map = shipped
    meta_before, sh_before = dict(avatar.meta), avatar.sh.clone()
    out = define_brows(avatar, landmark_map, 0.8, seed=3)
    weight = brow_weights(avatar, landmark_map)
    changed = (out.sh != avatar.sh).any(-1).any(-1)
    assert torch.equal(changed, weight > 0)
    assert 50 < int(changed.sum()) < 2000  # a few hundred of 60000: the brows, not the forehead
    rgb = lambda a: (0.5 + 0.28209479177387814 * a.sh[:, 0]).clamp_min(0)  # noqa: E731  (as rendered)
    before, after = rgb(avatar)[changed], rgb(out)[changed]
    assert ((after < before) | (before == 0)).all() and (after >= 0).all()  # darker in every channel
    core = weight == 1
    assert core.any() and (rgb(out)[core].mean(0) < 0.8 * rgb(avatar)[core].mean(0)).all()
    assert torch.equal(out.opacities, avatar.opacities) and out.gaussians is avatar.gaussians
    assert out.meta["brows"]["strength"] == 0.8 and out.meta["brows"]["gaussians_changed"] == int(changed.sum())
    assert avatar.meta == meta_before and torch.equal(avatar.sh, sh_before)  # the input is untouched
    assert torch.equal(define_brows(avatar, landmark_map, 0.8, seed=3).sh, out.sh)  # same seed, same brows


def test_define_brows_zero_is_the_fit_and_out_of_range_is_refused(shipped):
    avatar, landmark_map = shipped
    assert define_brows(avatar, landmark_map, 0.0) is avatar
    with pytest.raises(EmotalkError, match="outside"):
        define_brows(avatar, landmark_map, 1.5)


def test_readable_brows_defines_brows_only_where_the_tracker_cannot_read_them(shipped):
    """The shipped avatar's brows read (built with --define-brows 1): auto leaves them. The same avatar
    with its brows washed out to the skin around them does not read browDown: auto darkens them, and
    the worst view's rise goes up."""
    from emotalk_cli.fit.brows import BROW_RISE_GOAL, readable_brows

    avatar, landmark_map = shipped  # read frontal on the head alone and in its photo (where the face is smaller)
    kept, figures = readable_brows(avatar, landmark_map)
    assert figures["strength"] == 0 and figures["rise_by_strength"]["0"] >= BROW_RISE_GOAL
    assert torch.equal(kept.sh, avatar.sh)

    weight = brow_weights(avatar, landmark_map)
    around = (weight == 0) & (neutral_means(avatar) - neutral_means(avatar)[weight > 0].mean(0)).norm(dim=-1).lt(0.03)
    sh = avatar.sh.clone()
    sh[weight > 0, 0] = avatar.sh[around, 0].median(dim=0).values  # the brows washed out to the skin's colour
    faint = replace(avatar, sh=sh)
    darkened, figures = readable_brows(faint, landmark_map)
    rises = figures["rise_by_strength"]
    assert rises["0"] < BROW_RISE_GOAL and figures["strength"] > 0, rises
    assert rises[f"{figures['strength']:g}"] > rises["0"] + 0.1, rises
    assert darkened.meta["brows"]["strength"] == figures["strength"] and darkened.meta["brows_auto"] == figures


def test_harmonic_fill_matches_a_direct_solve():
    """Each filled colour is the mean of its neighbours': solve (I - A_uu) x_u = A_uk x_k directly."""
    g = torch.Generator().manual_seed(1)
    n, k = 40, 4
    colours = torch.rand(n, 3, generator=g)
    unknown = torch.tensor([3, 7, 8, 15, 16, 22, 30, 31, 38])
    neighbours = torch.stack([torch.tensor([j for j in torch.randperm(n, generator=g).tolist() if j != int(i)][:k])
                              for i in unknown])
    adjacency = torch.zeros(len(unknown), n, dtype=torch.float64)  # row u: 1/k at each neighbour
    for row, near in enumerate(neighbours):
        for j in near.tolist():
            adjacency[row, j] += 1.0 / k
    position = {int(u): row for row, u in enumerate(unknown)}
    known = [j for j in range(n) if j not in position]
    a_uu = adjacency[:, unknown]
    a_uk = adjacency[:, known]
    direct = torch.linalg.solve(torch.eye(len(unknown), dtype=torch.float64) - a_uu, a_uk @ colours[known].double())
    filled = harmonic_fill(colours, unknown, neighbours)
    assert torch.allclose(filled.double(), direct, atol=1e-4)
    assert not torch.allclose(filled, colours[unknown], atol=1e-2)  # the unknowns' own colours played no part


def test_interp_matches_numpy():
    import numpy as np

    xp, fp = torch.tensor([-0.03, -0.01, 0.0, 0.02]), torch.tensor([0.05, 0.06, 0.058, 0.052])
    x = torch.linspace(-0.05, 0.04, 37)
    assert np.allclose(_interp(x, xp, fp).numpy(), np.interp(x.numpy(), xp.numpy(), fp.numpy()), atol=1e-7)


def test_clear_fringe_repaints_a_painted_fringe_as_skin(shipped):
    avatar, landmark_map = shipped
    hair_rgb = torch.tensor(avatar.meta["fit"]["hair_rgb"])
    # paint a fringe: every front face-skin Gaussian from 2 to 15 mm above the brows' centre lines, hair-coloured
    means = neutral_means(avatar)
    points = landmark_map.points(avatar.template.vertices, avatar.template.faces)
    part = avatar.template.face_part[avatar.gaussians.parent]
    front_skin = (part == avatar.template.part("skin")) & (means[:, 2] > 0.06)
    painted = torch.zeros(len(avatar), dtype=torch.bool)
    for centre, half_width in brow_band(points, landmark_map.landmark).values():
        x_range = (means[:, 0] > centre[:, 0].min()) & (means[:, 0] < centre[:, 0].max())
        painted |= x_range & (means[:, 1] > centre[:, 1].max() + half_width.max() + 0.002) & \
            (means[:, 1] < centre[:, 1].min() + 0.015)
    painted &= front_skin
    sh = avatar.sh.clone()
    sh[painted, 0] = (hair_rgb - 0.5) / SH_C0
    fringed = replace(avatar, sh=sh)
    sh_before = fringed.sh.clone()

    mask = fringe_mask(fringed, landmark_map)
    assert painted.sum() > 100 and mask[painted].all()  # the painted fringe is found, all of it
    out = clear_fringe(fringed, landmark_map)
    changed = (out.sh != fringed.sh).any(-1).any(-1)
    assert not (changed & ~mask).any()  # only the fringe's Gaussians are written
    assert changed[painted].all()  # (the shipped avatar's own cleared strip may refill to the same colours)
    # the forehead comes back: the fill lands near the shipped avatar's own colours under the painted hair
    shipped_rgb = 0.5 + SH_C0 * avatar.sh[painted, 0]
    filled_error = (0.5 + SH_C0 * out.sh[painted, 0] - shipped_rgb).norm(dim=-1).mean()
    hair_error = (hair_rgb - shipped_rgb).norm(dim=-1).mean()
    assert filled_error < 0.3 * hair_error  # measured: 0.077 against 0.386
    assert torch.equal(out.opacities, fringed.opacities) and out.gaussians is fringed.gaussians
    assert out.meta["fringe"]["gaussians_recoloured"] == int(mask.sum()) and out.meta["fringe"]["clearance_mm"] == 25
    assert torch.equal(fringed.sh, sh_before)  # the input is untouched
    assert torch.equal(clear_fringe(fringed, landmark_map).sh, out.sh)  # deterministic


def test_clear_fringe_zero_is_the_fit_and_out_of_range_is_refused(shipped):
    avatar, landmark_map = shipped
    assert clear_fringe(avatar, landmark_map, 0.0) is avatar
    with pytest.raises(EmotalkError, match="outside 0 to 50 mm"):
        clear_fringe(avatar, landmark_map, 0.08)
