"""The rigged head template and pose_vertices (CPU, uses the shipped weights/head_template.safetensors)."""

from __future__ import annotations

import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.artifacts import MOTION, save_artifact
from emotalk_cli.errors import ArtifactError
from emotalk_cli.rig import PART_NAMES, HeadTemplate, load_head_template, pose_vertices


def distances(points: torch.Tensor) -> torch.Tensor:
    """All pairwise distances, computed directly (cdist's matmul path is off by ~1e-4 on the diagonal)."""
    return torch.cdist(points, points, compute_mode="donot_use_mm_for_euclid_dist")


@pytest.fixture(scope="module")
def template() -> HeadTemplate:
    return load_head_template()


def pose(template, frames=1, rotation=None, translation=None, gaze=None, **weights):
    arkit = torch.zeros(frames, 52)
    for name, value in weights.items():
        arkit[:, facs.ARKIT_INDEX[name]] = value
    zeros = torch.zeros(frames, 3)
    rot = zeros if rotation is None else torch.tensor([rotation] * frames, dtype=torch.float32)
    trans = zeros if translation is None else torch.tensor([translation] * frames, dtype=torch.float32)
    eyes = torch.zeros(frames, 2) if gaze is None else torch.tensor([gaze] * frames, dtype=torch.float32)
    return pose_vertices(template, arkit, rot, trans, eyes)


def test_template_loads_and_validates(template):
    v, f = template.vertices, template.faces
    assert v.shape[1] == 3 and f.shape[1] == 3 and 3000 < v.shape[0] < 20000
    assert template.blendshapes.shape == (52, v.shape[0], 3)
    assert template.part_names == PART_NAMES
    assert set(template.face_part.unique().tolist()) == set(range(len(PART_NAMES)))  # every part is there
    assert int(f.min()) >= 0 and int(f.max()) < v.shape[0]
    # a human head, in metres: 15-30 cm tall, wider than deep is false for heads, so just sizes
    extent = v.max(0).values - v.min(0).values
    assert 0.15 < extent[0] < 0.25 and 0.2 < extent[1] < 0.35 and 0.15 < extent[2] < 0.3
    # the eyes sit in front, left eye at +x
    left, right = template.eye_centres
    assert left[0] > 0.02 and right[0] < -0.02 and left[2] > 0.05
    meta = template.meta
    assert meta["axes"].startswith("right-handed") and "CC0" in meta["source"]["licence"]


def test_load_refuses_missing_and_wrong_files(tmp_path):
    with pytest.raises(ArtifactError, match="make weights-head"):
        load_head_template(tmp_path / "nope.safetensors")
    wrong = tmp_path / "motion.safetensors"
    save_artifact(
        wrong, MOTION,
        {"arkit": torch.zeros(2, 52), "head_rotation": torch.zeros(2, 3),
         "head_translation": torch.zeros(2, 3), "gaze": torch.zeros(2, 2)},
        meta={},
    )
    with pytest.raises(ArtifactError, match="emotalk.head_template"):
        load_head_template(wrong)


def test_neutral_pose_is_the_template(template):
    posed = pose(template, frames=2)
    assert posed.shape == (2, template.num_vertices, 3)
    torch.testing.assert_close(posed[0], template.vertices)
    torch.testing.assert_close(posed[1], template.vertices)


def test_jaw_open_moves_chin_and_lower_teeth_not_upper(template):
    rest, opened = template.vertices, pose(template, jawOpen=1.0)[0]
    chin = template.landmarks["chin"]
    assert opened[chin, 1] < rest[chin, 1] - 0.01  # chin drops by more than a centimetre
    lower = template.part_vertices("lower_teeth")
    upper = template.part_vertices("upper_teeth")
    assert (opened[lower, 1] - rest[lower, 1]).mean() < -0.005
    assert torch.equal(opened[upper], rest[upper])
    # the lips part
    lips = template.landmarks["upper_lip"], template.landmarks["lower_lip"]
    assert (opened[lips[0]] - opened[lips[1]]).norm() > (rest[lips[0]] - rest[lips[1]]).norm() + 0.01


def test_blink_left_closes_the_left_eye_only(template):
    rest, blink = template.vertices, pose(template, eyeBlinkLeft=1.0)[0]
    up, low = template.landmarks["left_upper_lid"], template.landmarks["left_lower_lid"]
    before = (rest[up] - rest[low]).norm()
    after = (blink[up] - blink[low]).norm()
    assert before > 0.004 and after < 0.35 * before
    assert blink[up, 1] < rest[up, 1]  # the upper lid comes down
    r_up, r_low = template.landmarks["right_upper_lid"], template.landmarks["right_lower_lid"]
    assert torch.equal(blink[[r_up, r_low]], rest[[r_up, r_low]])


def test_gaze_turns_the_eyeballs_and_nothing_else(template):
    rest = template.vertices
    looked = pose(template, gaze=(0.3, 0.2))[0]
    eyes = torch.isin(template.vertex_part, torch.tensor([template.part("eye_left"), template.part("eye_right")]))
    assert torch.equal(looked[~eyes], rest[~eyes])
    assert (looked[eyes] - rest[eyes]).norm(dim=1).max() > 0.002
    for e, part in enumerate(("eye_left", "eye_right")):
        index = template.part_vertices(part)
        centre = template.eye_centres[e]
        torch.testing.assert_close((looked[index] - centre).norm(dim=1), (rest[index] - centre).norm(dim=1))
        # the front of the eye (the cornea) turns to the head's left (+x) and up (+y)
        front = index[rest[index, 2].argmax()]
        assert looked[front, 0] > rest[front, 0] + 0.002 and looked[front, 1] > rest[front, 1] + 0.002


def test_eye_look_blendshapes_turn_the_eyeballs_rigidly(template):
    rest = template.vertices
    posed = pose(template, eyeLookOutLeft=1.0, eyeLookInRight=1.0)[0]
    for part in ("eye_left", "eye_right"):
        index = template.part_vertices(part)
        front = index[rest[index, 2].argmax()]
        assert posed[front, 0] > rest[front, 0] + 0.002  # both look to the head's left
        torch.testing.assert_close(distances(posed[index]), distances(rest[index]), atol=1e-5, rtol=0)


def test_head_rotation_is_rigid_on_the_head_and_fades_down_the_neck(template):
    rotation, translation = (0.2, -0.3, 0.1), (0.01, -0.02, 0.03)
    rest = pose(template, jawOpen=0.5, mouthSmileLeft=0.7)[0]
    posed = pose(template, rotation=rotation, translation=translation, jawOpen=0.5, mouthSmileLeft=0.7)[0]
    head = torch.nonzero(template.neck_weight == 1).squeeze(1)
    sample = head[torch.randperm(len(head), generator=torch.Generator().manual_seed(0))[:400]]
    torch.testing.assert_close(distances(posed[sample]), distances(rest[sample]), atol=2e-6, rtol=0)
    # orientation kept (a rotation, not a reflection), moved as a whole
    a, b, c = sample[:3]
    vol_rest = torch.det(torch.stack([rest[b] - rest[a], rest[c] - rest[a], rest[sample[3]] - rest[a]]))
    vol_posed = torch.det(torch.stack([posed[b] - posed[a], posed[c] - posed[a], posed[sample[3]] - posed[a]]))
    torch.testing.assert_close(vol_posed, vol_rest, atol=1e-9, rtol=1e-3)
    # the neck cut only translates
    cut = torch.nonzero(template.neck_weight == 0).squeeze(1)
    assert len(cut) > 10
    torch.testing.assert_close(posed[cut], rest[cut] + torch.tensor(translation), atol=1e-6, rtol=0)


def test_frames_are_independent_and_gradients_flow(template):
    arkit = torch.rand(3, 52, generator=torch.Generator().manual_seed(1)).requires_grad_()
    rotation = torch.zeros(3, 3, requires_grad=True)
    translation = torch.zeros(3, 3, requires_grad=True)
    gaze = torch.zeros(3, 2, requires_grad=True)
    out = pose_vertices(template, arkit, rotation, translation, gaze)
    single = pose_vertices(template, arkit[1:2], rotation[1:2], translation[1:2], gaze[1:2])
    torch.testing.assert_close(out[1:2], single)
    out.square().sum().backward()
    for tensor in (arkit, rotation, translation, gaze):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all()
    assert rotation.grad.abs().sum() > 0 and gaze.grad.abs().sum() > 0


def test_bad_shapes_are_refused(template):
    with pytest.raises(ValueError, match="arkit"):
        pose_vertices(template, torch.zeros(2, 51), torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="gaze"):
        pose_vertices(template, torch.zeros(2, 52), torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3, 2))


def test_gain_choice_follows_the_measured_response():
    from emotalk_cli.fit.calibrate_rig import GAINS, choose_gain

    assert GAINS[0] == 1.0 and max(GAINS) <= 3.0  # never weakened, never torn apart
    assert choose_gain([0.6, 0.7, 0.8, 0.9, 0.9, 0.9]) == 1.0  # already reads as a full expression
    assert choose_gain([0.2, 0.35, 0.48, 0.62, 0.7, 0.7]) == 2.0  # the smallest gain reaching 0.5
    assert choose_gain([0.13, 0.17, 0.21, 0.25, 0.2, 0.15]) == 2.0  # none reaches: the strongest response
    assert choose_gain([0.23, 0.27, 0.31, 0.315, 0.2, 0.16]) == 1.5  # ... the smallest within noise of it
    assert choose_gain([0.0, 0.01, 0.0, 0.02, 0.03, 0.05]) == 1.0  # the tracker does not see it: left alone
    assert choose_gain([0.30, 0.31, 0.32, 0.33, 0.32, 0.30]) == 1.0  # gains hardly help: left alone


def test_shipped_gains_are_recorded_and_applied(template):
    gains = template.meta.get("blendshape_gains", {})
    calibration = template.meta.get("gain_calibration", {})
    assert set(gains) <= set(facs.ARKIT_NAMES) and all(1.0 < g <= 3.0 for g in gains.values())
    if gains:  # every gain comes with the responses it was chosen from
        from emotalk_cli.fit.calibrate_rig import GROUPS, choose_gain

        for group, channels in GROUPS.items():
            chosen = choose_gain(calibration["rise"][group], calibration["gains_tried"])
            assert all(gains.get(c, 1.0) == chosen for c in channels), group
    for name in ("jawOpen", "mouthSmileLeft", "eyeBlinkLeft", "eyeLookUpLeft"):  # not calibrated
        assert name not in gains
