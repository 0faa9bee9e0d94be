"""A photo brought back through the CLI: `emotalk fit-avatar` keeps the photo's scene (one small fit
of a crop of scikit-image's astronaut, shared by the module), `render` shows it again (--as-photo),
in the photo's aspect, with the head turned, as a .ply; `animate` moves the head in it; and what
does not go with a photo scene is one line on stderr and no file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from emotalk_cli.cli.app import app

from conftest import EXAMPLES

runner = CliRunner()
PHOTO_WIDTH, PHOTO_HEIGHT = 256, 320  # a portrait crop: not square, so the aspect shows


def run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def astronaut_portrait() -> np.ndarray:
    """The astronaut cut to 256 x 320 around her face, at full resolution (the face stays ~108 px
    wide; fit-avatar needs 80)."""
    skimage_data = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(skimage_data.astronaut()[:PHOTO_HEIGHT, 96:96 + PHOTO_WIDTH])


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> SimpleNamespace:
    """One avatar fitted with its scene and one without, a few steps each on CPU (~20 s together)."""
    folder = tmp_path_factory.mktemp("photo")
    photo = astronaut_portrait()
    photo_path = folder / "astronaut.png"
    Image.fromarray(photo).save(photo_path)
    scene, head = folder / "scene.safetensors", folder / "head.safetensors"
    result = run("fit-avatar", "--image", photo_path, "-o", scene, "--iterations", 3, "--gaussians", 4000,
                 "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    result = run("fit-avatar", "--image", photo_path, "-o", head, "--no-scene", "--iterations", 1, "--gaussians", 4000,
                 "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    return SimpleNamespace(photo=photo, photo_path=photo_path, scene=scene, head=head)


def render(avatar: Path, out: Path, *args):
    result = run("render", "--avatar", avatar, "-o", out, "--device", "cpu", "--quiet", *args)
    assert result.exit_code == 0, result.output
    assert out.is_file()
    return result


def read_png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


# ---------------------------------------------------------------------------------------------
# fit-avatar


def test_fit_avatar_keeps_the_photos_scene(fitted):
    from emotalk_cli.avatar import load_avatar

    avatar = load_avatar(fitted.scene)
    scene = avatar.scene
    assert scene is not None
    assert scene.size == (PHOTO_WIDTH, PHOTO_HEIGHT)  # the photo is under SCENE_LONG_SIDE: one Gaussian per pixel
    assert scene.photo_size.tolist() == [PHOTO_WIDTH, PHOTO_HEIGHT]
    meta = avatar.meta
    assert meta["options"]["scene"] is True
    figures = meta["scene"]
    assert figures["psnr_db"] > 18 and figures["psnr_db"] >= figures["psnr_db_before_colour_fit"] - 0.1
    assert figures["grid"] == [PHOTO_WIDTH, PHOTO_HEIGHT] and figures["background_gaussians"] == PHOTO_WIDTH * PHOTO_HEIGHT
    alpha, weight = scene.person_alpha, scene.person_weight
    assert float(alpha[:40, :30].max()) == 0.0  # the top-left corner is the backdrop, not the person
    assert float(alpha[-40:, 100:160].min()) > 0.99  # the suit at the bottom is
    assert float(weight[-20:].max()) == 0.0  # the torso does not turn with the head
    assert float(weight[30:60, 100:160].min()) == pytest.approx(1.0)  # the hair on top of the head does
    assert float(scene.background_depth.min()) > float(scene.person_depth.max())  # the backdrop is behind the person


def test_fit_avatar_no_scene_is_a_head_alone(fitted):
    from emotalk_cli.avatar import load_avatar

    avatar = load_avatar(fitted.head)
    assert avatar.scene is None and "scene" not in avatar.meta and avatar.meta["options"]["scene"] is False
    assert len(avatar) == 4000


# ---------------------------------------------------------------------------------------------
# render


def test_render_as_photo_gives_the_photo_back(fitted, tmp_path):
    out = tmp_path / "again.png"
    render(fitted.scene, out, "--as-photo")
    image = read_png(out)
    assert image.shape == (PHOTO_HEIGHT, PHOTO_WIDTH, 3)  # the photo's own size
    # Measured over the whole frame (2 CPU cores, 3 fit steps, 4000 Gaussians: the head is a blurry
    # sketch at these settings, the scene around it close to the photo): 21.4 dB, and 22.6 dB once the
    # scene fit recoloured the scalp too; the floor is 2 dB below the lower.
    assert psnr(image, fitted.photo) > 19.5
    # away from the face (its box widened by 15 px) the scene alone: measured 27.8 and 31.8 dB
    around = np.ones((PHOTO_HEIGHT, PHOTO_WIDTH), bool)
    around[57:192, 70:190] = False
    assert psnr(image[around], fitted.photo[around]) > 25.5


def test_render_sizes_follow_the_photos_aspect(fitted, tmp_path):
    render(fitted.scene, tmp_path / "default.png")
    assert read_png(tmp_path / "default.png").shape == (512, 410, 3)  # long side 512, 256:320 kept (even sizes)
    render(fitted.scene, tmp_path / "small.png", "--size", 256)
    assert read_png(tmp_path / "small.png").shape == (256, 204, 3)
    render(fitted.scene, tmp_path / "given.png", "--width", 300, "--height", 200)  # another aspect: the centre, cropped
    given = read_png(tmp_path / "given.png")
    assert given.shape == (200, 300, 3)
    # 300 wide covers the photo's width (scale 300/256, 375 rows): the frame is the middle 200 rows of the
    # photo scaled so (measured: the best match 1.5 rows from the centre's 87.5, 17.6 dB with the head a sketch)
    scaled = np.asarray(Image.fromarray(fitted.photo).resize((300, 375), Image.BICUBIC))
    match = [psnr(given, scaled[top:top + 200]) for top in range(0, 176)]
    assert abs(int(np.argmax(match)) - 87.5) <= 3 and max(match) > 15.0
    assert match[0] < max(match) - 5 and match[-1] < max(match) - 5  # neither the top nor the bottom of the photo
    render(fitted.scene, tmp_path / "wide.png", "--width", 300)  # one side given: the other in the photo's aspect
    assert read_png(tmp_path / "wide.png").shape == (376, 300, 3)
    render(fitted.scene, tmp_path / "yawed.png", "--yaw", 20)  # the camera moved: the head alone, framed as before
    assert read_png(tmp_path / "yawed.png").shape == (512, 512, 3)


def test_render_at_rest_notes_a_photo_whose_head_is_turned_far(tmp_path):
    """At rest the head faces the camera; a photo turned far from it is said so on stderr (once), a
    frontal one is not."""
    import torch
    from dataclasses import replace

    from emotalk_cli.avatar import load_avatar, save_avatar
    from emotalk_cli.cli.photo import TURNED_PHOTO_DEG
    from emotalk_cli.photo_scene import photo_head_turn_deg

    frontal = load_avatar()
    assert photo_head_turn_deg(frontal.scene, frontal.template.neck_pivot) < TURNED_PHOTO_DEG
    result = run("render", "-o", tmp_path / "frontal.png", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "turned" not in result.output
    scene = replace(frontal.scene, head_rotation=torch.tensor([0.0, np.radians(45.0), 0.0]))
    save_avatar(tmp_path / "turned.safetensors", replace(frontal, scene=scene), {"command": "test"})
    turned = load_avatar(tmp_path / "turned.safetensors")
    assert 40 < photo_head_turn_deg(turned.scene, turned.template.neck_pivot) < 55
    result = run("render", "--avatar", tmp_path / "turned.safetensors", "-o", tmp_path / "turned.png", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.output.count("the photo's head is turned") == 1
    result = run("render", "--avatar", tmp_path / "turned.safetensors", "--as-photo", "-o", tmp_path / "again.png",
                 "--device", "cpu")
    assert result.exit_code == 0 and "turned" not in result.output  # the photo's own pose: nothing to say


def test_an_odd_sized_photo_comes_back_at_its_own_size_in_a_still(fitted, tmp_path):
    """A still keeps the photo's odd size exactly; video rounds it to even (h264 needs even sizes)."""
    from conftest import probe

    odd = np.ascontiguousarray(fitted.photo[:PHOTO_HEIGHT - 1, :PHOTO_WIDTH - 1])  # 255 x 319
    photo_path = tmp_path / "odd.png"
    Image.fromarray(odd).save(photo_path)
    avatar = tmp_path / "odd.safetensors"
    result = run("fit-avatar", "--image", photo_path, "-o", avatar, "--iterations", 1, "--gaussians", 4000,
                 "--device", "cpu", "--quiet", "--define-brows", 0, "--keep-rest")
    assert result.exit_code == 0, result.output
    render(avatar, tmp_path / "again.png", "--as-photo")
    again = read_png(tmp_path / "again.png")
    assert again.shape == odd.shape
    assert psnr(again, odd) > 20.0  # the scene at its own pixels (the head after one step is a sketch)
    render(avatar, tmp_path / "again.mp4", "--as-photo", "--duration", 0.2)
    assert probe(tmp_path / "again.mp4")["size"] == (PHOTO_WIDTH, PHOTO_HEIGHT)


@pytest.mark.parametrize("turn", [("--head-yaw", 20), ("--head-yaw", -20, "--head-pitch", 10)])
def test_a_turned_head_leaves_no_hole_in_the_person(fitted, tmp_path, turn):
    from scipy.ndimage import binary_fill_holes

    out = tmp_path / "turned.png"
    render(fitted.scene, out, *turn, "--background", "transparent")
    rgba = read_png(out)
    assert rgba.shape == (512, 410, 4)  # RGBA
    alpha = rgba[..., 3]
    silhouette = binary_fill_holes(alpha > 127)
    assert silhouette.mean() > 0.3  # the person fills a good part of the frame
    holes = silhouette & (alpha == 0)
    assert not holes.any(), f"{int(holes.sum())} fully transparent pixels inside the person, e.g. {np.argwhere(holes)[:5].tolist()}"
    assert (alpha[:20, :20] == 0).all()  # the backdrop is gone

    # against the head unturned (facing the camera): the torso (no share of the head pose) holds still, the face turns
    front = tmp_path / "front.png"
    render(fitted.scene, front, "--background", "transparent")
    still = read_png(front).astype(int)
    assert np.abs(still[-60:] - rgba[-60:].astype(int)).max() <= 1
    assert np.abs(still[150:300, 140:280] - rgba[150:300, 140:280].astype(int)).mean() > 10


def test_ply_export_holds_the_scene(fitted, tmp_path):
    from emotalk_cli.avatar import load_avatar
    from emotalk_cli.splats.ply import load_ply

    out = tmp_path / "all.ply"
    render(fitted.scene, out)
    splats = load_ply(out)
    scene = load_avatar(fitted.scene).scene
    person = int((scene.person_alpha > 0).sum())
    assert len(splats) == 4000 + person + PHOTO_WIDTH * PHOTO_HEIGHT  # head, person and background
    head_only = tmp_path / "head.ply"
    render(fitted.scene, head_only, "--framing", "head")
    assert len(load_ply(head_only)) == 4000


def one_line_error(result, message: str) -> None:
    assert result.exit_code != 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:"), result.output
    assert message in lines[0], lines[0]


@pytest.mark.parametrize("subject, args, message", [
    ("head", ["--as-photo"], "--as-photo: "),
    ("scene", ["--yaw", "20", "--framing", "photo"], "--yaw move the camera"),
    ("scene", ["--as-photo", "--yaw", "20"], "--as-photo shows the photo's own framing: leave out --yaw"),
    ("head", ["--framing", "photo"], "--framing photo: "),
    ("scene", ["--framing", "banana"], "--framing banana: use photo, head or auto"),
    ("scene", ["--background", "photo", "--framing", "head"], "--background photo draws the photo's scene"),
    ("ply", ["--head-yaw", "10"], "--head-yaw/--head-pitch/--head-path turn a rigged avatar's head"),
    ("scene", ["--head-path", "{dir}/missing.json"], "head path "),
    ("scene", ["--head-path", "{zoom}"], "zoom moves the camera, not the head"),
    ("scene", ["--as-photo", "--framing", "head"], "--as-photo shows the photo's own framing"),
])
def test_what_does_not_go_with_a_photo_is_one_line_and_no_file(fitted, tmp_path, subject, args, message):
    avatar = {"head": fitted.head, "scene": fitted.scene, "ply": EXAMPLES / "scene.ply"}[subject]
    zoom = tmp_path.parent / f"{tmp_path.name}-zoom.json"  # outside tmp_path, which must stay empty
    zoom.write_text('{"keyframes": [{"time": 0, "yaw": 10, "zoom": 2}]}')
    args = [a.replace("{dir}", str(tmp_path)).replace("{zoom}", str(zoom)) for a in args]
    for out in (tmp_path / "x.png", tmp_path / "x.mp4"):
        result = run("render", "--avatar", avatar, "-o", out, "--device", "cpu", "--quiet", *args)
        one_line_error(result, message)
        assert list(tmp_path.iterdir()) == []


def test_head_path_turns_the_head_over_time(fitted, tmp_path):
    import imageio.v3 as iio

    path = tmp_path / "head.json"
    path.write_text('{"keyframes": [{"time": 0, "yaw": -20}, {"time": 0.4, "yaw": 20, "pitch": 8}]}')
    out = tmp_path / "turn.mp4"
    render(fitted.scene, out, "--head-path", path, "--fps", 10)
    frames = iio.imread(out, index=None).astype(int)
    assert len(frames) == 4  # the path's own length, 0.4 s at 10 fps
    render(fitted.scene, tmp_path / "left.png", "--head-yaw", -20, "--size", 512)
    first = read_png(tmp_path / "left.png").astype(int)
    # the first frame is the head at yaw -20 (h264 aside), the last one has turned away from it
    assert np.abs(frames[0] - first).mean() < 3 and np.abs(frames[-1] - first).mean() > np.abs(frames[0] - first).mean() + 1


# ---------------------------------------------------------------------------------------------
# animate


def test_animate_moves_the_head_in_the_photo(fitted, tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "talk.mp4"
    result = run("animate", "--audio", EXAMPLES / "hello.wav", "--avatar", fitted.scene, "-o", out, "--lip-samples", 1,
                 "--steps", 4, "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    frames = iio.imread(out, index=None)
    assert frames.shape[1:] == (512, 410, 3)  # the photo's aspect, long side 512
    assert len(frames) == 106  # 4.24 s at 25 fps
    # the backdrop holds still (h264 wobbles a few levels); the face moves
    corner = frames[:, :60, :60].astype(int)
    assert np.abs(corner - corner[0]).max() <= 12
    face = frames[:, 120:260, 130:280].astype(int)
    assert np.abs(face - face[0]).mean(axis=(1, 2, 3)).max() > 2
