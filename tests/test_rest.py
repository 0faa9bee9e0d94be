"""The avatar's rest counter-expression: how it is applied (avatar.expression_at_rest), stored, and
found by reading the avatar back through the face tracker (fit/rest.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.avatar import REST_COUNTERS, expression_at_rest, load_avatar, pose_gaussians, save_avatar
from emotalk_cli.errors import ArtifactError

WIDE_L, SQUINT_L, BLINK_L = (facs.ARKIT_INDEX[n] for n in ("eyeWideLeft", "eyeSquintLeft", "eyeBlinkLeft"))


@pytest.fixture(scope="module")
def plain_avatar():
    return replace(load_avatar(), rest_arkit=None)


def with_rest(avatar, **weights):
    rest = torch.zeros(52)
    for name, weight in weights.items():
        rest[facs.ARKIT_INDEX[name]] = weight
    return replace(avatar, rest_arkit=rest)


def test_rest_counters_fade_as_the_expression_they_counter_is_asked_for(plain_avatar):
    avatar = with_rest(plain_avatar, eyeWideLeft=0.4, mouthFrownRight=0.2)
    arkit = torch.zeros(6, 52)
    arkit[1, BLINK_L] = 1.0  # a whole blink: no counter left
    arkit[2, SQUINT_L] = 0.5  # half a squint: half the counter
    arkit[3, WIDE_L] = 0.9  # the counter channel itself asked for: held to 1
    arkit[4, WIDE_L] = 1.5  # asked above 1: stays
    arkit[5, facs.ARKIT_INDEX["mouthSmileRight"]] = 1.0  # a smile fades the frown, not the eye's counter
    posed = expression_at_rest(avatar, arkit)
    assert posed[0, WIDE_L] == pytest.approx(0.4) and posed[0, facs.ARKIT_INDEX["mouthFrownRight"]] == pytest.approx(0.2)
    assert posed[1, WIDE_L] == 0.0 and posed[1, BLINK_L] == 1.0
    assert posed[2, WIDE_L] == pytest.approx(0.2)
    assert posed[3, WIDE_L] == pytest.approx(1.0)
    assert posed[4, WIDE_L] == pytest.approx(1.5)
    assert posed[5, facs.ARKIT_INDEX["mouthFrownRight"]] == 0.0 and posed[5, WIDE_L] == pytest.approx(0.4)
    untouched = [i for i in range(52) if i not in (WIDE_L, facs.ARKIT_INDEX["mouthFrownRight"])]
    assert torch.equal(posed[:, untouched], arkit[:, untouched])
    assert expression_at_rest(plain_avatar, arkit) is arkit  # no counters: the weights as asked


def test_pose_gaussians_poses_the_rest_counters(plain_avatar):
    zeros3, zeros2 = torch.zeros(1, 3), torch.zeros(1, 2)
    wide = torch.zeros(1, 52)
    wide[0, WIDE_L] = 0.3
    asked = pose_gaussians(plain_avatar, wide, zeros3, zeros3, zeros2)[0]
    held = pose_gaussians(with_rest(plain_avatar, eyeWideLeft=0.3), torch.zeros(1, 52), zeros3, zeros3, zeros2)[0]
    rest = pose_gaussians(plain_avatar, torch.zeros(1, 52), zeros3, zeros3, zeros2)[0]
    assert torch.allclose(asked, held, atol=1e-6)
    assert (held - rest).abs().max() > 1e-4  # the counter moves the lid


def test_rest_counters_round_trip_and_bad_ones_are_refused(plain_avatar, tmp_path):
    avatar = with_rest(plain_avatar, eyeWideLeft=0.3, eyeWideRight=0.2)
    save_avatar(tmp_path / "a.safetensors", avatar, {"command": "test"})
    again = load_avatar(tmp_path / "a.safetensors")
    assert torch.equal(again.rest_arkit, avatar.rest_arkit)
    save_avatar(tmp_path / "plain.safetensors", plain_avatar, {"command": "test"})
    assert load_avatar(tmp_path / "plain.safetensors").rest_arkit is None
    save_avatar(tmp_path / "bad.safetensors", with_rest(plain_avatar, jawOpen=0.3), {"command": "test"})
    with pytest.raises(ArtifactError, match="rest_arkit"):
        load_avatar(tmp_path / "bad.safetensors")


def test_a_squint_left_in_the_rest_is_read_and_countered(plain_avatar):
    """An avatar whose rest shape squints its left eye (the squint baked into its rig's rest vertices,
    as a photo's narrowed eyes stay in its texture): the calibration reads it through MediaPipe and
    holds eyeWideLeft against it, and the read comes down."""
    from emotalk_cli.fit.rest import STEPS, TARGET, calibrate_rest

    t = plain_avatar.template
    squinting = replace(plain_avatar, scene=None,
                        template=replace(t, vertices=t.vertices + 1.0 * t.blendshapes[SQUINT_L] + 0.5 * t.blendshapes[BLINK_L]))
    calibrated, figures = calibrate_rest(squinting, size=384)
    before, after = figures["read_before"], figures["read_after"]
    assert max(before["eyeSquintLeft"], before["eyeBlinkLeft"]) > TARGET, before  # the baked squint reads
    assert figures["counters"].get("eyeWideLeft", 0) in STEPS
    assert set(figures["counters"]) <= set(REST_COUNTERS)
    assert max(after["eyeSquintLeft"], after["eyeBlinkLeft"]) < max(before["eyeSquintLeft"], before["eyeBlinkLeft"]) - 0.05
    assert calibrated.rest_arkit[WIDE_L] == figures["counters"]["eyeWideLeft"]
    # a counter only where what it counters read above the target
    for counter in figures["counters"]:
        assert max(before[c] for c in REST_COUNTERS[counter]) > TARGET, (counter, before)


def test_views_where_the_face_is_not_found_are_left_out(monkeypatch):
    """A face small in its photo's framing may not be found there: the read uses the views that find
    it, and only a face found in none is an error."""
    from emotalk_cli.fit import rest

    def fake_read(avatar, arkit, views, device="cpu", model_path=None):
        if "photo" in views:
            raise rest.NoFaceAtRest("no face (photo view)")
        return np.zeros((len(views), arkit.shape[0], 52))

    monkeypatch.setattr(rest, "read_rest", fake_read)
    views = {"head": "h", "photo": "p"}
    assert rest.readable_views(None, views) == {"head": "h"}
    with pytest.raises(rest.NoFaceAtRest, match="photo views"):
        rest.readable_views(None, {"photo": "p"})
