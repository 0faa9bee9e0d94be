import numpy as np
import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.avatar import Avatar, load_avatar, neutral_splats, pose_gaussians, save_avatar
from emotalk_cli.errors import ArtifactError
from emotalk_cli.render.frames import ViewOptions, render_avatar
from emotalk_cli.rig import load_head_template
from emotalk_cli.splats.binding import init_on_surface


@pytest.fixture(scope="module")
def avatar() -> Avatar:
    template = load_head_template()
    bound = init_on_surface(template.vertices, template.faces, total=3000, seed=1)
    return Avatar(template, bound, torch.full((3000,), 0.9), torch.rand(3000, 1, 3), meta={})


def test_round_trip(tmp_path, avatar):
    save_avatar(tmp_path / "a.safetensors", avatar, {"command": "test"})
    back = load_avatar(tmp_path / "a.safetensors")
    assert torch.equal(back.gaussians.parent, avatar.gaussians.parent)
    assert torch.allclose(back.template.vertices, avatar.template.vertices)
    assert back.meta["command"] == "test"
    assert torch.allclose(neutral_splats(back).means, neutral_splats(avatar).means)


def test_wrong_file_names_fit_avatar(tmp_path):
    with pytest.raises(ArtifactError, match="emotalk fit-avatar"):
        load_avatar(tmp_path / "missing.safetensors")


def test_jaw_open_moves_mouth_gaussians_down_only(avatar):
    arkit = torch.zeros(2, 52)
    arkit[1, facs.ARKIT_INDEX["jawOpen"]] = 1.0
    zeros = torch.zeros(2, 3)
    means, _, _ = pose_gaussians(avatar, arkit, zeros, zeros, torch.zeros(2, 2))
    moved = (means[1] - means[0]).norm(dim=-1)
    lower_teeth = avatar.template.face_part[avatar.gaussians.parent] == avatar.template.part("lower_teeth")
    upper_teeth = avatar.template.face_part[avatar.gaussians.parent] == avatar.template.part("upper_teeth")
    assert moved[lower_teeth].mean() > 0.005  # the lower teeth drop by millimetres
    assert moved[upper_teeth].max() < 1e-4
    assert (means[1, lower_teeth, 1] < means[0, lower_teeth, 1]).float().mean() > 0.9


def test_expression_changes_pixels_where_expected(avatar):
    arkit = torch.zeros(2, 52)
    arkit[1, facs.ARKIT_INDEX["jawOpen"]] = 1.0
    zeros = torch.zeros(2, 3)
    frames = list(render_avatar(avatar, ViewOptions(width=96, height=96), arkit, zeros, zeros, torch.zeros(2, 2)))
    diff = np.abs(frames[0].astype(int) - frames[1].astype(int)).sum(-1)
    rows = np.nonzero(diff.max(1) > 30)[0]
    assert len(rows) > 0
    assert rows.mean() > 48  # the change is in the lower half of the picture, where the mouth is


def test_the_neck_fades_out_toward_the_cut(avatar):
    """Rendered opacities: the fitted ones on the head, 0 on triangles at the mesh's neck cut, rising
    with the rig's neck weight in between; the fitted values themselves are left alone."""
    from emotalk_cli.avatar import NECK_FADE, shown_opacities

    t = avatar.template
    weight = t.neck_weight[t.faces.long()].mean(dim=1)[avatar.gaussians.parent.long()]
    shown = shown_opacities(avatar)
    assert shown.shape == avatar.opacities.shape
    head = weight >= NECK_FADE
    assert head.any() and torch.equal(shown[head], avatar.opacities[head])
    at_cut = weight <= 1e-6
    assert at_cut.any() and (shown[at_cut] == 0).all()
    fading = ~head & ~at_cut
    assert fading.any() and ((shown[fading] < avatar.opacities[fading]) & (shown[fading] > 0)).all()
    assert torch.equal(neutral_splats(avatar).opacities, shown)  # what .ply export writes
