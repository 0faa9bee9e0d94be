"""fit.brows: the brow band's weights (against a point-by-point version) and define_brows on the
shipped avatar: only face skin along the brows darkens, the rest is untouched, meta records it."""

from __future__ import annotations

import pytest
import torch

from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.brows import FALLOFF, band_weight, brow_band, brow_weights, define_brows


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
