"""The photo's scene around a fitted head (photo_scene.py), without fitting: grid layers of Gaussians
that land on their pixels, the head pose carried to hair and neck as the rig carries it, the
rotations the CLI composes, the avatar file's scene_* tensors, the background fill, and frames
through the photo's camera (render_photo_avatar) on the shipped avatar with a small synthetic scene."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from emotalk_cli.avatar import load_avatar, photo_splats, save_avatar, shown_opacities
from emotalk_cli.errors import ArtifactError, RenderError
from emotalk_cli.fit.solve import FLIP
from emotalk_cli.photo_scene import (SH_C0, SIGMA_PX, THICKNESS, PhotoScene, compose_rotations, grid_splats, head_turn,
                                     layer_splats, pose_layer, quat_to_axis_angle, scene_head_pose)
from emotalk_cli.render.frames import ViewOptions, photo_camera, render_avatar, render_photo_avatar
from emotalk_cli.rig.deform import apply_head_pose, rotation_offset
from emotalk_cli.splats.gaussians import axis_angle_to_quat, quat_to_matrix

# the synthetic scene's grid, and its layers' colours
W, H = 48, 60
BACKGROUND = (0.2, 0.4, 0.8)
PERSON = (0.9, 0.5, 0.1)
TORSO_ROW = 44  # the torso fills rows 44.. (weight 0, never moves)
TORSO_COLUMNS = (6, 42)
HAIR = (slice(12, 20), slice(8, 14))  # a block of "hair" left of the face that turns with the head (weight 1)


def R(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] of axis-angle vectors [..., 3]."""
    return quat_to_matrix(axis_angle_to_quat(axis_angle))


def random_rotations(n: int, seed: int, max_angle: float = math.pi) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=-1)
    return axis * torch.rand(n, 1, generator=g) * max_angle


def photo_camera_looking_at_the_head(width: int = W, height: int = H) -> tuple[torch.Tensor, torch.Tensor]:
    """K [3, 3] and viewmat [4, 4] of a camera 0.7 m in front of the rig's face (OpenCV axes)."""
    f = 0.7 * height / 0.5  # the grid's height spans half a metre at the head
    K = torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    viewmat = torch.eye(4)
    viewmat[:3, :3] = FLIP
    viewmat[:3, 3] = torch.tensor([0.0, 0.02, 0.7])  # the point (0, 0.02, 0) on the optical axis
    return K, viewmat


def synthetic_scene(width: int = W, height: int = H, seed: int | None = None) -> PhotoScene:
    """A uniform background far behind, a torso (weight 0) and a block of hair (weight 1) on a card
    through the head; with `seed`, random values everywhere (for file round trips)."""
    K, viewmat = photo_camera_looking_at_the_head(width, height)
    alpha = torch.zeros(height, width)
    weight = torch.zeros(height, width)
    if seed is None:
        alpha[TORSO_ROW:, TORSO_COLUMNS[0]:TORSO_COLUMNS[1]] = 1.0
        alpha[HAIR] = 1.0
        weight[HAIR] = 1.0
        background_rgb = torch.tensor(BACKGROUND).expand(height, width, 3).clone()
        person_rgb = torch.tensor(PERSON).expand(height, width, 3).clone()
        background_depth = torch.full((height, width), 1.4)
        person_depth = torch.full((height, width), 0.75)
    else:
        g = torch.Generator().manual_seed(seed)
        alpha = torch.rand(height, width, generator=g) * (torch.rand(height, width, generator=g) > 0.3)
        weight = torch.rand(height, width, generator=g)
        background_rgb = torch.rand(height, width, 3, generator=g)
        person_rgb = torch.rand(height, width, 3, generator=g)
        background_depth = 1.2 + torch.rand(height, width, generator=g)
        person_depth = 0.6 + 0.2 * torch.rand(height, width, generator=g)
    return PhotoScene(K=K, viewmat=viewmat, photo_size=torch.tensor([2.0 * width, 2.0 * height]),
                      head_rotation=torch.zeros(3), head_translation=torch.zeros(3), arkit=torch.zeros(52),
                      gaze=torch.zeros(2), background_rgb=background_rgb, background_depth=background_depth,
                      person_rgb=person_rgb, person_alpha=alpha, person_depth=person_depth, person_weight=weight)


@pytest.fixture(scope="module")
def default_avatar():
    """The shipped avatar as a head alone (whether or not the shipped file carries its photo's scene)."""
    return replace(load_avatar(), scene=None)


@pytest.fixture(scope="module")
def photo_avatar(default_avatar):
    return replace(default_avatar, scene=synthetic_scene())


def still(n: int = 1) -> tuple[torch.Tensor, ...]:
    """arkit, rotation, translation and gaze for n frames at rest."""
    return torch.zeros(n, 52), torch.zeros(n, 3), torch.zeros(n, 3), torch.zeros(n, 2)


def frame(avatar, width: int = W, height: int = H, rotation: torch.Tensor | None = None, **options) -> np.ndarray:
    arkit, rest, translation, gaze = still()
    view = ViewOptions(width=width, height=height, photo=True, **options)
    return next(render_avatar(avatar, view, arkit, rest if rotation is None else rotation[None], translation, gaze,
                              backend="cpu"))


# ---------------------------------------------------------------------------------------------
# Grid layers


def test_grid_splats_sit_on_their_pixel_centres_at_their_depth():
    g = torch.Generator().manual_seed(3)
    height, width = 7, 9
    K = torch.tensor([[40.0, 0.0, 4.2], [0.0, 44.0, 3.1], [0.0, 0.0, 1.0]])  # fx != fy, off-centre
    viewmat = torch.eye(4)
    viewmat[:3, :3] = R(torch.tensor([0.3, -0.5, 0.2]))  # not FLIP: a transpose error would show
    viewmat[:3, 3] = torch.tensor([0.05, -0.1, 0.9])
    depth = 0.5 + 1.5 * torch.rand(height, width, generator=g)
    rgb = torch.rand(height, width, 3, generator=g)
    alpha = torch.rand(height, width, generator=g)
    alpha[alpha < 0.3] = 0.0
    keep = alpha > 0
    splats = grid_splats(rgb, depth, alpha, K, viewmat)

    assert len(splats) == int(keep.sum()) < height * width  # alpha 0: no Gaussian
    camera = splats.means @ viewmat[:3, :3].T + viewmat[:3, 3]
    z = camera[:, 2]
    u = K[0, 0] * camera[:, 0] / z + K[0, 2]
    v = K[1, 1] * camera[:, 1] / z + K[1, 2]
    rows, columns = torch.nonzero(keep, as_tuple=True)  # row-major, as the Gaussians are
    torch.testing.assert_close(u, columns.float() + 0.5, atol=1e-4, rtol=0)
    torch.testing.assert_close(v, rows.float() + 0.5, atol=1e-4, rtol=0)
    torch.testing.assert_close(z, depth[keep], atol=1e-5, rtol=0)
    # colour through degree-0 SH, opacity as given (below 1), SIGMA_PX wide on screen, thin along the view ray
    torch.testing.assert_close(splats.sh[:, 0] * SH_C0 + 0.5, rgb[keep], atol=1e-6, rtol=0)
    assert splats.sh.shape == (len(splats), 1, 3)
    torch.testing.assert_close(splats.opacities, alpha[keep].clamp(max=0.999))
    torch.testing.assert_close(splats.scales[:, 0] * K[0, 0] / z, torch.full_like(z, SIGMA_PX), atol=1e-5, rtol=0)
    torch.testing.assert_close(splats.scales[:, 2], THICKNESS * splats.scales[:, 1])
    normal = quat_to_matrix(splats.quats)[:, :, 2]  # each disc's thin axis, in world space
    torch.testing.assert_close(normal, viewmat[2, :3].expand_as(normal), atol=1e-5, rtol=0)


def test_layers_and_weights_line_up():
    scene = synthetic_scene(24, 16, seed=1)
    background, person = layer_splats(scene, "background"), layer_splats(scene, "person")
    assert len(background) == 24 * 16  # every pixel
    assert len(person) == int((scene.person_alpha > 0).sum()) == len(scene.weights())
    torch.testing.assert_close(scene.weights(), scene.person_weight[scene.person_alpha > 0])
    torch.testing.assert_close(person.sh[:, 0] * SH_C0 + 0.5, scene.person_rgb[scene.person_alpha > 0], atol=1e-6, rtol=0)
    assert scene.size == (24, 16) and scene.aspect == pytest.approx(1.5)
    with pytest.raises(ValueError, match="unknown scene layer 'hat'"):
        layer_splats(scene, "hat")


# ---------------------------------------------------------------------------------------------
# The head pose, carried to the person layer


def test_pose_layer_moves_weight_one_rigidly_with_the_head():
    """Points on the head at rest, posed as in the photo (r0, t0), then moved to other poses: exactly
    where the rig's rigid head puts them (x -> R(r)(x - pivot) + pivot + t from rest)."""
    g = torch.Generator().manual_seed(0)
    pivot = torch.tensor([0.0, -0.11, -0.01])
    rest = torch.randn(50, 3, generator=g) * 0.08 + torch.tensor([0.0, 0.05, 0.05])
    r0, t0 = torch.tensor([0.1, -0.25, 0.05]), torch.tensor([0.01, -0.02, 0.03])
    rotation = torch.cat([random_rotations(3, seed=1, max_angle=0.6), r0[None]])
    translation = torch.randn(4, 3, generator=g) * 0.02
    in_photo = rest + rotation_offset(rest - pivot, r0) + t0
    quats = torch.nn.functional.normalize(torch.randn(50, 4, generator=g), dim=-1)

    moved, moved_quats = pose_layer(in_photo, quats, torch.ones(50), pivot, r0, t0, rotation, translation)
    assert moved.shape == (4, 50, 3) and moved_quats.shape == (4, 50, 4)
    local = (rest - pivot).expand(4, 50, 3)
    expected = rest + rotation_offset(local, rotation[:, None]) + translation[:, None]
    torch.testing.assert_close(moved, expected, atol=2e-6, rtol=0)
    # each Gaussian turns by R(r) R(r0)^T as well
    relative = R(rotation) @ R(r0).T  # [4, 3, 3]
    torch.testing.assert_close(quat_to_matrix(moved_quats), relative[:, None] @ quat_to_matrix(quats)[None],
                               atol=2e-6, rtol=0)


def test_pose_layer_bends_like_the_rigs_neck():
    """Without translation, a Gaussian with share w of the pose goes where the rig's neck puts a
    vertex of neck weight w (rig/deform.apply_head_pose): torso still, neck bending, head rigid."""
    from emotalk_cli.rig import load_head_template

    template = load_head_template()
    weight = template.neck_weight
    r0, rotation = torch.tensor([0.05, 0.3, 0.0]), torch.tensor([[-0.2, -0.1, 0.1]])
    zero = torch.zeros(1, 3)
    in_photo = apply_head_pose(template, template.vertices[None], r0[None], zero)[0]
    expected = apply_head_pose(template, template.vertices[None], rotation, zero)[0]
    quats = torch.tensor([1.0, 0.0, 0.0, 0.0]).expand(len(weight), 4)
    moved, _ = pose_layer(in_photo, quats, weight, template.neck_pivot, r0, torch.zeros(3), rotation, zero)
    assert (weight < 1e-3).any() and ((weight > 0.1) & (weight < 0.9)).any()  # the test sees all three kinds
    torch.testing.assert_close(moved[0], expected, atol=2e-6, rtol=0)


def test_pose_layer_leaves_weight_zero_and_the_photos_own_pose_alone():
    g = torch.Generator().manual_seed(2)
    means = torch.randn(40, 3, generator=g) * 0.1
    quats = torch.nn.functional.normalize(torch.randn(40, 4, generator=g), dim=-1)
    pivot = torch.tensor([0.0, -0.1, 0.0])
    r0, t0 = torch.tensor([0.2, -0.1, 0.05]), torch.tensor([0.0, 0.01, -0.02])
    rotation = random_rotations(2, seed=5, max_angle=1.0)
    translation = torch.randn(2, 3, generator=g) * 0.05

    moved, turned = pose_layer(means, quats, torch.zeros(40), pivot, r0, t0, rotation, translation)
    torch.testing.assert_close(moved, means.expand(2, 40, 3), atol=1e-7, rtol=0)  # rounding of (x - pivot) + pivot only
    assert torch.equal(turned, quats.expand(2, 40, 4))

    weight = torch.rand(40, generator=g)
    moved, turned = pose_layer(means, quats, weight, pivot, r0, t0, r0[None], t0[None])  # the photo's own pose
    torch.testing.assert_close(moved[0], means, atol=1e-6, rtol=0)
    torch.testing.assert_close(turned[0], quats, atol=1e-6, rtol=0)


# ---------------------------------------------------------------------------------------------
# Rotations


def test_compose_rotations_is_the_matrix_product():
    delta = random_rotations(6, seed=7, max_angle=2.5)
    base = torch.tensor([0.3, -0.7, 0.4])
    composed = compose_rotations(delta, base)
    assert composed.shape == (6, 3)
    torch.testing.assert_close(R(composed), R(delta) @ R(base), atol=1e-5, rtol=0)
    assert (composed.norm(dim=-1) <= math.pi + 1e-5).all()  # the short way round


def test_head_turn_turns_the_face_left_and_the_chin_up():
    face = torch.tensor([0.0, 0.0, 1.0])  # +z: out of the face
    yaw, pitch = math.radians(20), math.radians(10)
    turned = R(head_turn(torch.tensor([20.0]), torch.tensor([0.0])))[0] @ face
    torch.testing.assert_close(turned, torch.tensor([math.sin(yaw), 0.0, math.cos(yaw)]), atol=1e-6, rtol=0)  # towards +x
    raised = R(head_turn(torch.tensor([0.0]), torch.tensor([10.0])))[0] @ face
    torch.testing.assert_close(raised, torch.tensor([0.0, math.sin(pitch), math.cos(pitch)]), atol=1e-6, rtol=0)  # towards +y
    both = R(head_turn(torch.tensor([20.0]), torch.tensor([10.0])))[0] @ face  # yaw after pitch
    torch.testing.assert_close(both, torch.tensor([math.sin(yaw) * math.cos(pitch), math.sin(pitch),
                                                   math.cos(yaw) * math.cos(pitch)]), atol=1e-6, rtol=0)
    assert torch.equal(head_turn(torch.zeros(3), torch.zeros(3)), torch.zeros(3, 3))


def test_quat_to_axis_angle_round_trips_the_short_way():
    rotations = random_rotations(30, seed=13, max_angle=math.pi - 1e-3)
    torch.testing.assert_close(quat_to_axis_angle(axis_angle_to_quat(rotations)), rotations, atol=1e-5, rtol=0)
    torch.testing.assert_close(quat_to_axis_angle(-axis_angle_to_quat(rotations)), rotations, atol=1e-5, rtol=0)  # -q: same
    long_way = torch.tensor([[0.0, 1.5 * math.pi, 0.0]])
    torch.testing.assert_close(quat_to_axis_angle(axis_angle_to_quat(long_way)), torch.tensor([[0.0, -0.5 * math.pi, 0.0]]),
                               atol=1e-5, rtol=0)
    assert torch.equal(quat_to_axis_angle(torch.tensor([[1.0, 0.0, 0.0, 0.0]])), torch.zeros(1, 3))


def test_scene_head_pose_places_a_clip_in_the_photo():
    scene = replace(synthetic_scene(24, 16), head_rotation=torch.tensor([0.1, 0.2, -0.05]),
                    head_translation=torch.tensor([0.01, 0.0, -0.02]))
    clip = random_rotations(3, seed=17, max_angle=0.3)
    moves = torch.randn(3, 3, generator=torch.Generator().manual_seed(1)) * 0.01
    rotation, translation = scene_head_pose(scene, torch.zeros(3, 3), torch.zeros(3, 3), "photo")
    torch.testing.assert_close(rotation, scene.head_rotation.expand(3, 3), atol=1e-6, rtol=0)  # at rest: the photo's pose
    torch.testing.assert_close(translation, scene.head_translation.expand(3, 3))
    rotation, translation = scene_head_pose(scene, clip, moves, "photo")
    torch.testing.assert_close(R(rotation), R(clip) @ R(scene.head_rotation), atol=1e-5, rtol=0)
    torch.testing.assert_close(translation, moves + scene.head_translation)
    rotation, _ = scene_head_pose(scene, clip, moves, "rest")
    torch.testing.assert_close(rotation, clip, atol=1e-6, rtol=0)
    turn = head_turn(torch.full((3,), 15.0), torch.full((3,), -5.0))
    rotation, _ = scene_head_pose(scene, clip, moves, "photo", turn)
    torch.testing.assert_close(R(rotation), R(turn) @ R(clip) @ R(scene.head_rotation), atol=1e-5, rtol=0)  # turn last
    with pytest.raises(ValueError, match="around must be"):
        scene_head_pose(scene, clip, moves, "camera")


# ---------------------------------------------------------------------------------------------
# The avatar file's scene


def test_scene_tensors_round_trip():
    scene = synthetic_scene(24, 16, seed=4)
    tensors = scene.tensors()
    assert sorted(tensors) == sorted(f"scene_{name}" for name in scene.__dataclass_fields__)
    assert tensors["scene_person_rgb"].dtype == torch.float16 and tensors["scene_background_depth"].dtype == torch.float16
    assert tensors["scene_K"].dtype == tensors["scene_viewmat"].dtype == tensors["scene_gaze"].dtype == torch.float32
    back = PhotoScene.from_tensors(tensors)
    for name in scene.__dataclass_fields__:
        value, restored = getattr(scene, name), getattr(back, name)
        assert restored.dtype == torch.float32 and restored.shape == value.shape, name
        torch.testing.assert_close(restored, value, atol=2e-3, rtol=1e-3)  # float16 grids: colour to 1e-3, depth to 1 mm
    assert torch.equal(back.K, scene.K) and torch.equal(back.viewmat, scene.viewmat)
    assert back.size == (24, 16)


def test_a_scene_as_stored_is_what_its_file_gives_back(default_avatar, tmp_path):
    """fit_scene hands back the scene as the file will hold it, so what the fit (and fit.rest's read of
    the avatar at rest) sees is what render shows after loading: here, bit for bit."""
    from emotalk_cli.avatar import load_avatar, save_avatar

    scene = synthetic_scene(24, 16, seed=4)
    scene.person_alpha[0, 0] = 1e-9  # below float16: such a Gaussian is not in the file
    stored = scene.as_stored()
    assert float(stored.person_alpha[0, 0]) == 0.0 and stored.weights().shape[0] == scene.weights().shape[0] - 1
    assert all(torch.equal(getattr(stored.as_stored(), name), getattr(stored, name)) for name in scene.__dataclass_fields__)
    save_avatar(tmp_path / "a.safetensors", replace(default_avatar, scene=stored), {"command": "test"})
    again = load_avatar(tmp_path / "a.safetensors").scene
    assert all(torch.equal(getattr(again, name), getattr(stored, name)) for name in scene.__dataclass_fields__)


def test_a_partial_scene_names_what_is_missing():
    tensors = synthetic_scene(24, 16, seed=4).tensors()
    assert PhotoScene.from_tensors({"vertices": torch.zeros(3, 3)}) is None  # no scene: a head alone
    del tensors["scene_gaze"], tensors["scene_person_weight"]
    with pytest.raises(ValueError) as caught:
        PhotoScene.from_tensors(tensors)
    message = str(caught.value)
    assert "scene_gaze" in message and "scene_person_weight" in message and "scene_person_rgb" not in message


def test_an_avatar_file_keeps_its_scene(default_avatar, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    scene = synthetic_scene(24, 16, seed=6)
    path = tmp_path / "with_scene.safetensors"
    save_avatar(path, replace(default_avatar, scene=scene), {"command": "test"})
    loaded = load_avatar(path)
    assert loaded.scene is not None and loaded.scene.size == (24, 16)
    for name in scene.__dataclass_fields__:
        torch.testing.assert_close(getattr(loaded.scene, name), getattr(scene, name), atol=2e-3, rtol=1e-3)
    assert len(loaded) == len(default_avatar)

    plain = tmp_path / "head.safetensors"
    save_avatar(plain, default_avatar, {"command": "test"})
    assert load_avatar(plain).scene is None

    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    del tensors["scene_arkit"]
    broken = tmp_path / "broken.safetensors"
    save_file(tensors, str(broken), metadata=metadata)
    with pytest.raises(ArtifactError) as caught:
        load_avatar(broken)
    message = str(caught.value)
    assert "broken.safetensors" in message and "scene_arkit" in message and "\n" not in message


def test_shown_opacities_hide_the_rigs_neck_under_the_photos(default_avatar, photo_avatar):
    head_alone = shown_opacities(default_avatar)
    with_scene = shown_opacities(photo_avatar)
    assert torch.equal(with_scene, shown_opacities(default_avatar, with_scene=True))
    assert torch.equal(head_alone, shown_opacities(photo_avatar, with_scene=False))
    assert (with_scene <= head_alone + 1e-7).all()
    assert int((with_scene > 0.01).sum()) < int((head_alone > 0.01).sum())  # some of the neck is gone


def test_photo_splats_hold_head_person_and_background(photo_avatar):
    scene = photo_avatar.scene
    splats = photo_splats(photo_avatar, scene.arkit, scene.head_rotation, scene.head_translation, scene.gaze)
    assert len(splats) == len(photo_avatar) + int((scene.person_alpha > 0).sum()) + W * H
    assert splats.sh.shape[1] == photo_avatar.sh.shape[1]
    background = layer_splats(scene, "background")
    torch.testing.assert_close(splats.means[-W * H:], background.means)  # the background last, unmoved


# ---------------------------------------------------------------------------------------------
# The background fill


def test_fill_background_keeps_what_is_known_and_fills_holes_from_around():
    from emotalk_cli.fit.scene import fill_background

    colour = np.array([40, 120, 200], np.uint8)
    image = np.empty((96, 128, 3), np.uint8)
    image[:] = colour
    yy, xx = np.mgrid[:96, :128]
    hole = (yy - 50) ** 2 + (xx - 60) ** 2 < 20 ** 2
    image[hole] = (255, 0, 255)  # what the person covered: nothing of it must survive
    filled = fill_background(image, hole)
    assert filled.dtype == np.uint8 and filled.shape == image.shape
    assert np.array_equal(filled[~hole], image[~hole])
    assert np.abs(filled[hole].astype(int) - colour).max() <= 3

    # two halves: a hole deep in the left half fills with the left colour, not the right
    image[:, :64] = (200, 60, 30)
    image[:, 64:] = (10, 180, 90)
    hole = (yy - 48) ** 2 + (xx - 28) ** 2 < 12 ** 2
    image[hole] = 0
    filled = fill_background(image, hole)
    assert np.array_equal(filled[~hole], image[~hole])
    assert np.abs(filled[hole].astype(int) - (200, 60, 30)).max() <= 6


def test_nearest_fill_takes_the_nearest_known_colour():
    from emotalk_cli.fit.scene import nearest_fill

    image = np.zeros((60, 200, 3), np.float32)
    image[:, :100] = (0.9, 0.5, 0.1)
    image[:, 100:] = (0.1, 0.2, 0.7)
    known = np.ones((60, 200), bool)
    known[20:40, 10:40] = False  # deep inside the left half (its blur reaches 9 px: no mixing of the halves)
    known[10:30, 150:190] = False  # inside the right half
    scrambled = np.where(known[..., None], image, np.float32(0.5))
    filled = nearest_fill(scrambled, known)
    assert filled.dtype == np.float32
    assert np.array_equal(filled[known], image[known])
    np.testing.assert_allclose(filled[20:40, 10:40], np.broadcast_to(image[0, 0], (20, 30, 3)), atol=0.01)
    np.testing.assert_allclose(filled[10:30, 150:190], np.broadcast_to(image[0, 199], (20, 40, 3)), atol=0.01)


def test_near_head_reaches_less_in_front_of_a_turned_face():
    """What turns with the head: everything near it when the face looks into the camera; in front of a
    face turned to the right of the image (a hand, a camera held there) much less, behind it as much."""
    from emotalk_cli.fit.scene import FAR_FROM_HEAD, near_head

    head = np.zeros((120, 200), bool)
    head[40:80, 80:120] = True  # a head 40 px wide
    frontal = near_head(head)
    assert frontal[60, 125] == 1.0 and frontal[60, 75] == 1.0  # beside it, either side
    assert frontal[60, 119 + int(FAR_FROM_HEAD * 40) + 2] == 0.0  # beyond a head width: nothing
    turned = near_head(head, facing=(0.8, 0.0))  # the face's forward axis points to the image's right
    assert turned[60, 75] == frontal[60, 75] == 1.0  # behind the face: as before
    assert turned[60, 135] == 0.0 < frontal[60, 135]  # before the face: cut
    assert np.all(turned <= frontal + 1e-6)
    assert np.array_equal(near_head(head, facing=(0.0, 0.0)), frontal)


def test_sample_at_reads_the_pixel_each_point_projects_to():
    from emotalk_cli.fit.scene import _sample_at

    image = torch.arange(6 * 8 * 3, dtype=torch.float32).reshape(6, 8, 3)
    K = torch.tensor([[10.0, 0.0, 4.0], [0.0, 10.0, 3.0], [0.0, 0.0, 1.0]])
    viewmat = torch.eye(4)
    points = torch.tensor([[0.0, 0.0, 1.0], [0.25, -0.15, 1.0], [0.5, 0.5, 2.0], [5.0, 5.0, 1.0]])
    got = _sample_at(image, points, K, viewmat)
    for point, value in zip(points, got):  # one by one: u = fx x / z + cx, v = fy y / z + cy, clamped to the frame
        u = min(7, max(0, int(np.floor(10 * float(point[0]) / float(point[2]) + 4))))
        v = min(5, max(0, int(np.floor(10 * float(point[1]) / float(point[2]) + 3))))
        assert torch.equal(value, image[v, u])


def test_image_facing_is_the_forward_axis_seen_from_the_camera():
    from emotalk_cli.fit.scene import image_facing

    viewmat = torch.eye(4)
    viewmat[1, 1] = viewmat[2, 2] = -1  # OpenCV camera looking down -z at a head facing +z
    assert image_facing(torch.zeros(3), viewmat) == pytest.approx((0.0, 0.0), abs=1e-6)
    x, y = image_facing(torch.tensor([0.0, np.pi / 2, 0.0]), viewmat)  # turned 90 degrees about +y: profile
    assert abs(x) == pytest.approx(1.0, abs=1e-5) and y == pytest.approx(0.0, abs=1e-5)


def test_scaled_photo_scales_the_intrinsics_with_it():
    from emotalk_cli.fit.scene import scaled_photo

    image = np.zeros((300, 1200, 3), np.uint8)
    K = torch.tensor([[1000.0, 0.0, 600.0], [0.0, 1000.0, 150.0], [0.0, 0.0, 1.0]])
    small, Ks = scaled_photo(image, K, long_side=600)
    assert small.shape == (150, 600, 3)
    torch.testing.assert_close(Ks, torch.tensor([[500.0, 0.0, 300.0], [0.0, 500.0, 75.0], [0.0, 0.0, 1.0]]))
    same, K1 = scaled_photo(image, K, long_side=1200)
    assert same is image and torch.equal(K1, K)  # never scaled up


# ---------------------------------------------------------------------------------------------
# Frames through the photo's camera


def test_transparent_frames_ignore_every_background_and_the_person_is_opaque(photo_avatar):
    rgba = frame(photo_avatar, transparent=True)
    assert rgba.shape == (H, W, 4)
    other = replace(photo_avatar, scene=replace(photo_avatar.scene, background_rgb=torch.rand(H, W, 3)))
    assert np.array_equal(frame(other, transparent=True, background=(0.0, 0.0, 0.0)), rgba)
    assert np.array_equal(frame(photo_avatar, transparent=True, scene_background=True), rgba)

    alpha = rgba[..., 3]
    torso = np.zeros((H, W), bool)
    torso[TORSO_ROW + 1:-1, TORSO_COLUMNS[0] + 1:TORSO_COLUMNS[1] - 1] = True  # its inside, a pixel in from the edge
    assert (alpha[torso] == 255).all(), np.unique(alpha[torso])
    head_alone = replace(photo_avatar, scene=replace(photo_avatar.scene, person_alpha=torch.zeros(H, W)))
    uncovered = torso & (frame(head_alone, transparent=True)[..., 3] == 0)  # the torso where the neck is not in front
    assert uncovered.sum() > 100
    assert np.abs(rgba[uncovered][:, :3].astype(int) - np.round(np.array(PERSON) * 255)).max() <= 3
    assert alpha[:6].max() == 0 and alpha[:, -4:].max() == 0  # nothing above the head nor at the right edge
    assert (alpha[HAIR] == 255).all()


# the grid Gaussians are widened with the magnification (SceneParts.widened), so the layers stay opaque
def test_the_person_stays_opaque_in_frames_larger_than_the_grid(photo_avatar):
    rgba = frame(photo_avatar, 2 * W, 2 * H, transparent=True)
    torso = rgba[2 * TORSO_ROW + 4:-4, 2 * TORSO_COLUMNS[0] + 4:2 * TORSO_COLUMNS[1] - 4, 3]
    assert (torso == 255).all(), np.unique(torso)


def test_the_photo_background_stays_uniform_in_frames_larger_than_the_grid(photo_avatar):
    rgb = frame(photo_avatar, 3 * W, 3 * H, scene_background=True)
    corner = rgb[3:30, 3:30].reshape(-1, 3).astype(int)  # far from the head and the person
    assert np.abs(corner - np.round(np.array(BACKGROUND) * 255)).max() <= 1


def test_photo_background_frames_are_deterministic_and_show_the_background(photo_avatar):
    rgb = frame(photo_avatar, scene_background=True)
    assert rgb.shape == (H, W, 3)
    assert np.array_equal(frame(photo_avatar, scene_background=True), rgb)
    alpha = frame(photo_avatar, transparent=True)[..., 3]
    from scipy.ndimage import binary_dilation

    far = ~binary_dilation(alpha > 0, iterations=3)  # neither head nor person within 3 pixels
    assert far.sum() > 0.3 * H * W
    assert np.abs(rgb[far].astype(int) - np.round(np.array(BACKGROUND) * 255)).max() <= 3
    # a colour instead of the photo's background: there, and the person unchanged over it
    white = frame(photo_avatar, background=(1.0, 1.0, 1.0))
    assert (white[far] == 255).all()
    torso = (slice(TORSO_ROW + 1, -1), slice(TORSO_COLUMNS[0] + 1, TORSO_COLUMNS[1] - 1))
    assert np.abs(white[torso].astype(int) - rgb[torso].astype(int)).max() <= 1


def test_a_head_turn_moves_the_hair_but_not_the_torso_or_background(photo_avatar):
    rest = frame(photo_avatar, scene_background=True)
    turned = frame(photo_avatar, scene_background=True, rotation=head_turn(torch.tensor([25.0]), torch.tensor([0.0]))[0])
    changed = np.abs(turned.astype(int) - rest.astype(int)).max(-1) > 8
    assert changed[HAIR].mean() > 0.3  # the hair block turned away with the head
    assert not changed[TORSO_ROW + 2:].any()  # the torso (weight 0) held still
    assert not changed[:, -6:].any()  # so did the background far from the head


def test_photo_camera_keeps_the_aspect_and_crops_the_centre():
    scene = synthetic_scene()
    viewmat, K = photo_camera(scene, 2 * W, 2 * H)  # the same aspect, twice the size
    assert torch.equal(viewmat, scene.viewmat)
    torch.testing.assert_close(K, torch.tensor([[2 * scene.K[0, 0], 0, 2 * scene.K[0, 2]], [0, 2 * scene.K[1, 1], 2 * scene.K[1, 2]],
                                                [0, 0, 1.0]]))
    _, wide = photo_camera(scene, 2 * W, H)  # wider: the full width, the middle half of the height
    torch.testing.assert_close(wide, K - torch.tensor([[0, 0, 0], [0, 0, H / 2], [0, 0, 0]]))
    _, tall = photo_camera(scene, W, 2 * H)  # taller: the full height, the middle half of the width
    torch.testing.assert_close(tall, K - torch.tensor([[0, 0, W / 2], [0, 0, 0], [0, 0, 0]]))


def test_a_frame_of_another_aspect_is_the_centre_of_the_photo_frame(photo_avatar):
    full = frame(photo_avatar, 2 * W, 2 * H, scene_background=True).astype(int)
    wide = frame(photo_avatar, 2 * W, H, scene_background=True).astype(int)
    assert wide.shape == (H, 2 * W, 3)
    assert np.abs(wide - full[H // 2:H // 2 + H]).max() <= 2


def test_render_photo_avatar_needs_a_scene(default_avatar):
    with pytest.raises(RenderError, match="no photo scene"):
        next(render_photo_avatar(default_avatar, ViewOptions(width=W, height=H, photo=True), *still(), backend="cpu"))


def test_mirror_fill_takes_the_colour_seen_at_the_mirror_image():
    from emotalk_cli.fit.photometric import mirror_fill

    generator = torch.Generator().manual_seed(0)
    near = torch.rand(200, 3, generator=generator) * torch.tensor([0.06, 0.1, 0.1]) + torch.tensor([0.01, 0.0, 0.0])
    far = near * torch.tensor([-1.0, 1.0, 1.0]) + torch.tensor([0.0005, 0.0, 0.0])  # the unseen side, mirrored (0.5 mm off)
    stray = torch.tensor([[-0.5, 0.0, 0.0]])  # nothing seen near its mirror image
    points = torch.cat([near, far, stray])
    known = torch.zeros(len(points), dtype=torch.bool)
    known[:200] = True
    rgb = torch.zeros(len(points), 3)
    rgb[:200] = torch.rand(200, 3, generator=generator)
    filled, colours = mirror_fill(points, ~known, known, rgb, radius=0.004, k=1)
    assert filled[200:400].all() and not filled[:200].any() and not filled[400]
    assert torch.allclose(colours, rgb[:200], atol=1e-6)  # each takes its own mirror image's colour


@pytest.mark.parametrize("size", [(W, H), (3 * W, 2 * H)])
def test_drawing_only_the_moving_box_matches_the_whole_frame(photo_avatar, size):
    """render_photo_avatar draws what moves only over the tiles it can touch (moving_box): the same
    frames as drawing the whole frame, to float rounding (one level at most)."""
    from emotalk_cli.photo_scene import head_turn
    from emotalk_cli.render.frames import moving_box, render_photo_avatar

    width, height = size
    turns = head_turn(torch.tensor([0.0, 25.0, -25.0]), torch.tensor([0.0, 10.0, -5.0]))
    arkit = torch.zeros(3, 52)
    arkit[:, 17] = torch.tensor([0.0, 0.5, 1.0])  # jawOpen
    for transparent in (False, True):
        view = ViewOptions(width=width, height=height, photo=True, scene_background=not transparent, transparent=transparent)
        args = (photo_avatar, view, arkit, turns, torch.zeros(3, 3), torch.zeros(3, 2))
        cropped = list(render_photo_avatar(*args, backend="cpu", crop=True))
        whole = list(render_photo_avatar(*args, backend="cpu", crop=False))
        for a, b in zip(cropped, whole):
            assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    # the box is on the tile grid and inside the frame; nothing in view gives None
    means = torch.zeros(1, 3) + torch.tensor([0.0, 0.0, 1.0])
    box = moving_box(means, torch.full((1, 3), 0.01), torch.eye(4), torch.tensor([[500.0, 0, 64], [0, 500.0, 64], [0, 0, 1]]), 128, 128)
    assert box is not None and all(v % 16 == 0 for v in box[:2]) and box[2] <= 128 and box[0] < 64 < box[2]
    assert moving_box(-means, torch.full((1, 3), 0.01), torch.eye(4), torch.eye(3), 128, 128) is None
