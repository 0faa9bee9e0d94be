"""Faces anywhere in the frame (fit/faces.py, `fit-avatar --face`): group photos composited from real
portraits (scikit-image's astronaut, matplotlib's Grace Hopper; flipped, scaled) on a blurred noisy
1280x886 canvas, with faces 100-115 px wide, one with faces ~85 px, one with faces ~60 px (refused)."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("mediapipe")
from emotalk_cli.cli.app import app  # noqa: E402
from emotalk_cli.fit import faces as F  # noqa: E402
from emotalk_cli.fit import tracking  # noqa: E402

runner = CliRunner()
WIDTH, HEIGHT = 1280, 886
# (portrait, face width px, face box centre, mirrored): two rows, patches apart; face 4 (x = 840) is the largest
GROUP = [("astronaut", 105, (180, 210), False), ("grace", 112, (620, 215), False), ("astronaut", 100, (1060, 200), True),
         ("grace", 102, (400, 600), True), ("astronaut", 115, (840, 590), False), ("grace", 108, (1120, 610), False)]
GROUP_LEFT_TO_RIGHT = sorted(range(len(GROUP)), key=lambda i: GROUP[i][2][0])


def portrait_paths() -> dict[str, Path]:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image (astronaut.png) is not installed")
    import matplotlib

    return {"astronaut": Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png",
            "grace": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"}


@pytest.fixture(scope="module")
def portraits() -> dict[str, tuple[np.ndarray, tuple]]:
    """Each portrait and its face's landmark box, as the tracker gives it on the whole portrait."""
    out = {}
    for name, path in portrait_paths().items():
        rgb = tracking.load_image(path)
        out[name] = (rgb, tracking.track_image(rgb).box)
    return out


def background(seed: int) -> np.ndarray:
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 215, (HEIGHT // 32 + 2, WIDTH // 32 + 2, 3)).astype(np.uint8)
    smooth = Image.fromarray(coarse).resize((WIDTH, HEIGHT), Image.BICUBIC).filter(ImageFilter.GaussianBlur(12))
    noisy = np.asarray(smooth).astype(np.int16) + rng.integers(-12, 13, (HEIGHT, WIDTH, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def paste(canvas: np.ndarray, portrait: np.ndarray, face_box, face_width: float, centre, mirrored: bool) -> tuple:
    """Paste a head-and-shoulders patch of `portrait`, scaled so its face is `face_width` wide, with
    the face box's centre at `centre` (edges feathered over 10 px). Returns the face's box on the canvas."""
    from PIL import Image

    image = Image.fromarray(portrait)
    x0, y0, x1, y1 = face_box
    if mirrored:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
        x0, x1 = portrait.shape[1] - x1, portrait.shape[1] - x0
    s = face_width / (x1 - x0)
    scaled = np.asarray(image.resize((round(image.width * s), round(image.height * s)), Image.LANCZOS))
    bx0, by0, bx1, by1 = x0 * s, y0 * s, x1 * s, y1 * s
    cx, cy, w = (bx0 + bx1) / 2, (by0 + by1) / 2, bx1 - bx0
    px0, px1 = int(max(0, cx - 1.1 * w)), int(min(scaled.shape[1], cx + 1.1 * w))
    py0, py1 = int(max(0, by0 - 0.8 * w)), int(min(scaled.shape[0], by1 + 1.2 * w))
    patch = scaled[py0:py1, px0:px1].astype(np.float32)
    ox, oy = int(round(centre[0] - cx)), int(round(centre[1] - cy))
    h, pw = patch.shape[:2]
    ys, xs = np.mgrid[0:h, 0:pw]
    alpha = np.clip(np.minimum.reduce([xs, ys, pw - 1 - xs, h - 1 - ys]) / 10.0, 0, 1)[..., None]
    region = canvas[py0 + oy:py0 + oy + h, px0 + ox:px0 + ox + pw]
    assert region.shape == patch.shape, "the patch must lie inside the canvas"
    region[:] = np.round(region * (1 - alpha) + patch * alpha).astype(np.uint8)
    return bx0 + ox, by0 + oy, bx1 + ox, by1 + oy


def composite(portraits, layout, seed: int = 0) -> tuple[np.ndarray, list[tuple]]:
    canvas = background(seed)
    boxes = [paste(canvas, *portraits[name], width, centre, mirrored) for name, width, centre, mirrored in layout]
    return canvas, boxes


@pytest.fixture(scope="module")
def group(portraits):
    return composite(portraits, GROUP)


@pytest.fixture(scope="module")
def group_png(group, tmp_path_factory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("group") / "group.png"
    Image.fromarray(group[0]).save(path)
    return path


def run(*args: str):
    return runner.invoke(app, ["fit-avatar", *args])


def one_line_error(result, message: str, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:"), result.output
    assert message in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------------------------------------
# Finding


def test_find_faces_in_a_group_photo(group):
    canvas, pasted = group
    start = time.perf_counter()
    found = F.find_faces(canvas)
    print(f"find_faces, 1280x886 group of 6: {time.perf_counter() - start:.2f} s")
    assert len(found) == 6, [f.box for f in found]
    centres = [f.centre[0] for f in found]
    assert centres == sorted(centres)  # left to right
    for face, index in zip(found, GROUP_LEFT_TO_RIGHT):  # each where it was pasted, within a few pixels
        truth = pasted[index]
        assert max(abs(a - b) for a, b in zip(face.box, truth)) < 0.08 * (truth[2] - truth[0]), (face.box, truth)
        assert abs(face.width - GROUP[index][1]) < 6
        assert face.window is not None  # too small for the whole-image pass: found on a tile
        assert face.landmarks.shape == (478, 2)


def test_a_portrait_takes_the_whole_image_path(portraits, monkeypatch):
    passes = []
    real = F._detect

    def counted(landmarker, rgb, x0=0, y0=0):
        passes.append(rgb.shape)
        return real(landmarker, rgb, x0, y0)

    monkeypatch.setattr(F, "_detect", counted)
    for name, (rgb, box) in portraits.items():
        passes.clear()
        found = F.find_faces(rgb)
        assert passes == [rgb.shape], name  # one landmarker pass, on the whole image
        assert len(found) == 1 and found[0].window is None
        assert np.allclose(found[0].box, box, atol=1.0)  # what track_image sees
        choice = F.choose_face(found, None, rgb.shape[1], rgb.shape[0])
        assert choice.window is None and choice.crop(rgb) is rgb and choice.note() is None  # the fit gets the photo as before


def test_faces_of_85_px_are_found_and_fitted_and_60_px_are_refused(portraits):
    layout = [("grace", 85, (400, 420), False), ("astronaut", 88, (900, 440), True)]
    canvas, pasted = composite(portraits, layout, seed=3)
    found = F.find_faces(canvas)
    assert [round(f.width) for f in found] == pytest.approx([85, 88], abs=4)
    choice = F.choose_face(found, None, WIDTH, HEIGHT)
    assert choice.number == 2 and "using face 2, the largest" in choice.note()

    small = [("grace", 60, (400, 420), False), ("astronaut", 62, (900, 440), True)]
    canvas, pasted = composite(portraits, small, seed=4)
    found = F.find_faces(canvas)
    assert len(found) == 2 and all(55 < f.width < 67 for f in found)  # found, so the message can say how small
    with pytest.raises(tracking.TrackingError, match=r"^the face \(the largest of 2\) in crowd.png is 6\d px wide; "
                                                     r"emotalk needs at least 80: ") as err:
        F.choose_face(found, None, WIDTH, HEIGHT, where="crowd.png")
    assert "\n" not in str(err.value)


def test_no_face_is_an_empty_list_and_a_one_line_error():
    canvas = background(5)
    assert F.find_faces(canvas) == []
    with pytest.raises(tracking.TrackingError, match="^no face found in bg.png: give a photo with a face at least 80 px wide"):
        F.choose_face([], None, WIDTH, HEIGHT, where="bg.png")


def test_tiles_hold_every_face_whole_somewhere():
    """Faces from the first level's smallest to what the whole-image pass finds by itself each lie
    whole (EDGE_PX clear of inner edges) inside some tile, wherever they are."""
    rng = np.random.default_rng(0)
    for width, height in [(1280, 886), (886, 1280), (3000, 2000), (640, 480)]:
        windows = F.tile_windows(width, height)
        assert windows and all(0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for x0, y0, x1, y1 in windows)
        largest = F.DETECT_FRACTION * max(width, height)
        for _ in range(300):
            w = rng.uniform(60, largest)
            h = w * F.BOX_ASPECT
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            face = (x, y, x + w, y + h)
            assert any(F._edge_distance(F.FaceBox(face, win), width, height) >= F.EDGE_PX
                       and win[0] <= x and win[1] <= y and x + w <= win[2] and y + h <= win[3]
                       for win in windows), (width, height, face)
    assert len(F.tile_windows(1280, 886)) == 30  # 24 tiles of 400 px, 6 of 800 px


def test_tiles_skip_sizes_for_faces_far_smaller_than_one_already_found():
    every = F.tile_windows(4000, 3000)
    assert len(every) == 341 and min(x1 - x0 for x0, _, x1, _ in every) == 400
    behind = F.tile_windows(4000, 3000, smallest=150)  # a 600 px face seen on the whole image: none under 150 px sought
    assert len(behind) == 75 and min(x1 - x0 for x0, _, x1, _ in behind) == 800


def test_a_phantom_in_noise_is_not_a_face(group):
    """Hundreds of passes over blurred noise make the odd phantom face (this 12-megapixel canvas once
    gave one on a 1600 px tile); the second look on its own crop removes it. A real face passes it."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(1)
    coarse = rng.integers(20, 235, (3000 // 32 + 2, 4000 // 32 + 2, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((4000, 3000), Image.BICUBIC).filter(ImageFilter.GaussianBlur(12)))
    noise = np.clip(smooth.astype(np.int16) + rng.integers(-12, 13, (3000, 4000, 3)), 0, 255).astype(np.uint8)
    start = time.perf_counter()
    assert F.find_faces(noise) == []
    print(f"find_faces, 4000x3000 without a face (341 tiles): {time.perf_counter() - start:.2f} s")

    from mediapipe.tasks.python import vision

    canvas, pasted = group
    with vision.FaceLandmarker.create_from_options(tracking._options(tracking.resolve_model_path(), False, 4)) as landmarker:
        assert F._confirm(landmarker, canvas, F.FaceBox((20.0, 450.0, 120.0, 570.0), (0, 400, 400, 800))) is None  # bare noise
        real = F._confirm(landmarker, canvas, F.FaceBox(tuple(pasted[1]), (400, 0, 800, 400)))
        assert real is not None and F.box_iou(real.box, pasted[1]) > 0.85 and real.window == (400, 0, 800, 400)


def test_sightings_merge_into_one_face_each():
    face = (500.0, 300.0, 600.0, 420.0)
    sightings = [F.FaceBox(face, (400, 200, 800, 600)),
                 F.FaceBox((502.0, 301.0, 601.0, 421.0), (400, 0, 800, 400)),  # the same face, near this tile's bottom edge
                 F.FaceBox((795.0, 300.0, 860.0, 420.0), (400, 200, 800, 600)),  # cut by the tile's right edge: dropped
                 F.FaceBox((800.0, 300.0, 900.0, 420.0), (600, 200, 1000, 600)),  # the same face seen whole
                 F.FaceBox((10.0, 5.0, 110.0, 125.0), (0, 0, 400, 400))]  # at the photo's own border: kept
    merged = F.merge_sightings(sightings, 1280, 886)
    assert [f.box for f in merged] == [(10.0, 5.0, 110.0, 125.0), face, (800.0, 300.0, 900.0, 420.0)]
    assert merged[1].window == (400, 200, 800, 600)  # the sighting farthest from its tile's edges
    assert F.box_iou(face, face) == 1.0 and F.box_iou(face, (0, 0, 10, 10)) == 0.0


# ---------------------------------------------------------------------------------------------
# Choosing


def boxes(*widths_at):
    return [F.FaceBox((x, 100.0, x + w, 100.0 + 1.2 * w), (0, 0, 400, 400)) for x, w in widths_at]


def test_choose_the_largest_or_the_one_asked_for():
    faces = boxes((100, 105), (300, 90), (500, 115), (700, 102))
    choice = F.choose_face(faces, None, WIDTH, HEIGHT)
    assert choice.number == 3 and not choice.asked
    assert choice.note() == ("4 faces found (left to right: 1 at x=152 (105 px), 2 at x=345 (90 px), 3 at x=558 (115 px), "
                             "4 at x=751 (102 px)); using face 3, the largest: pass --face N for another")
    x0, y0, x1, y1 = choice.window  # 2.4 face widths around the face
    assert (x1 - x0) == pytest.approx(2.4 * 115, abs=2) and (x0 + x1) / 2 == pytest.approx(557.5, abs=1)
    picked = F.choose_face(faces, 2, WIDTH, HEIGHT)
    assert picked.number == 2 and picked.face is faces[1] and picked.note().endswith("using face 2 (--face 2)")
    assert picked.describe()["chosen"] == "asked" and picked.describe()["crop"] == list(picked.window)
    edge = F.choose_face(boxes((5, 100)), None, WIDTH, HEIGHT).window  # clipped at the photo's border
    assert edge[0] == 0 and edge[2] == int(np.ceil(55 + 120))


def test_choice_errors_are_one_line():
    faces = boxes((100, 105), (300, 70), (500, 115))
    with pytest.raises(tracking.TrackingError, match=r"^--face 7: the photo has 3 faces \(1-3, left to right\)"):
        F.choose_face(faces, 7, WIDTH, HEIGHT)
    with pytest.raises(tracking.TrackingError, match=r"^--face 0: faces are numbered from 1"):
        F.choose_face(faces, 0, WIDTH, HEIGHT)
    with pytest.raises(tracking.TrackingError, match=r"^face 2 in the image is 70 px wide; emotalk needs at least 80: pick a larger face"):
        F.choose_face(faces, 2, WIDTH, HEIGHT)
    with pytest.raises(tracking.TrackingError, match=r"^the face in me.jpg is 70 px wide; emotalk needs at least 80: use a photo"):
        F.choose_face(boxes((300, 70)), None, WIDTH, HEIGHT, where="me.jpg")


def test_tracking_keeps_the_face_in_view_not_a_neighbour_cut_by_the_border(portraits):
    """A crop around one face of a group may show part of a larger neighbour: the tracker keeps the
    face in view and does not count a neighbour mostly outside."""
    rgb, _ = portraits["astronaut"]
    face = rgb[20:240, 120:330]
    rows, cols = (np.arange(330) / 1.5).astype(int), (np.arange(315) / 1.5).astype(int)
    canvas = np.zeros((300, 420, 3), np.uint8)
    canvas[40:260, :210] = face  # in full view
    big = face[rows][:, cols]  # 1.5 times larger, three quarters cut off by the right border
    canvas[:300, 320:420] = big[:300, 40:140]
    track = tracking.track_image(canvas)
    assert track.box[2] < 215 and track.faces_found == 1


# ---------------------------------------------------------------------------------------------
# The command


def test_fit_avatar_face_n_fits_that_face(group, group_png, tmp_path):
    from PIL import Image

    from emotalk_cli.avatar import load_avatar

    canvas, pasted = group
    out, preview = tmp_path / "two.safetensors", tmp_path / "two.png"
    start = time.perf_counter()
    result = run("--image", str(group_png), "--face", "2", "-o", str(out), "--preview", str(preview),
                 "--iterations", "3", "--gaussians", "4000", "--device", "cpu", "--quiet")
    print(f"fit-avatar --face 2 on the group (3 steps): {time.perf_counter() - start:.1f} s")
    assert result.exit_code == 0, result.output
    note = [line for line in result.output.splitlines() if line.startswith("emotalk: note:")]
    assert len(note) == 1 and re.search(r"6 faces found \(left to right: 1 at x=1[78]\d \(10\d px\), 2 at x=[34]\d\d "
                                        r"\(10\d px\), 3 at", note[0]), note
    assert note[0].endswith("using face 2 (--face 2)")
    meta = load_avatar(out).meta
    chosen = meta["source"]["face"]
    truth = pasted[GROUP_LEFT_TO_RIGHT[1]]  # the mirrored Grace Hopper at (400, 600)
    assert chosen["number"] == 2 and chosen["faces"] == 6 and chosen["chosen"] == "asked"
    assert max(abs(a - b) for a, b in zip(chosen["box"], truth)) < 8
    x0, y0, x1, y1 = chosen["crop"]
    assert x0 < truth[0] and y0 < truth[1] and truth[2] < x1 and truth[3] < y1
    assert (x1 - x0) == pytest.approx(2.4 * 102, abs=8)
    assert meta["source"]["size"] == [x1 - x0, y1 - y0] == meta["fit"]["camera"]["image_size"]  # the fit ran on the crop
    assert meta["fit"]["reprojection_error_px"] < 4
    with Image.open(preview) as image:
        assert image.size == (3 * 256, 256)
        photo = np.asarray(image.convert("RGB"))[:, :256].astype(float)
    assert photo.std() > 20  # the crop of a face, not an empty frame


def test_fit_avatar_refusals_write_nothing(group_png, portraits, tmp_path):
    from PIL import Image

    out = tmp_path / "a.safetensors"
    one_line_error(run("--image", str(group_png), "--face", "7", "-o", str(out), "--quiet"),
                   "--face 7: the photo has 6 faces (1-6, left to right)")
    one_line_error(run("--image", str(group_png), "--face", "0", "-o", str(out), "--quiet"), "--face 0: faces are numbered from 1")
    blank = tmp_path / "wall.png"
    Image.fromarray(background(6)).save(blank)
    one_line_error(run("--image", str(blank), "-o", str(out), "--quiet"),
                   "no face found in wall.png: give a photo with a face at least 80 px wide")
    small = tmp_path / "crowd.jpg"
    canvas, _ = composite(portraits, [("grace", 60, (400, 420), False), ("astronaut", 62, (900, 440), True)], seed=4)
    Image.fromarray(canvas).save(small, quality=92)
    one_line_error(run("--image", str(small), "-o", str(out), "--quiet"), "px wide; emotalk needs at least 80")
    assert sorted(tmp_path.iterdir()) == sorted([blank, small])  # no avatar, no temporary file


def test_fit_avatar_video_crops_every_frame_to_the_first_frames_face(group, tmp_path):
    """A short clip of the group: the largest face chosen on the first frame, the same window cut from
    every frame; an out-of-range --face names the video's first frame."""
    import imageio_ffmpeg

    from emotalk_cli.avatar import load_avatar

    canvas, pasted = group
    video = tmp_path / "group.mp4"
    writer = imageio_ffmpeg.write_frames(str(video), (WIDTH, HEIGHT), fps=25, quality=9, macro_block_size=2)
    writer.send(None)
    for _ in range(4):
        writer.send(np.ascontiguousarray(canvas))
    writer.close()
    out = tmp_path / "v.safetensors"
    one_line_error(run("--video", str(video), "--face", "9", "-o", str(out), "--quiet"),
                   "--face 9: the video's first frame has 6 faces")
    result = run("--video", str(video), "--max-frames", "2", "-o", str(out), "--iterations", "0", "--gaussians", "2000",
                 "--device", "cpu", "--quiet")
    assert result.exit_code == 0, result.output
    assert "using face 4, the largest: pass --face N for another" in result.output
    source = load_avatar(out).meta["source"]
    truth = pasted[GROUP_LEFT_TO_RIGHT[3]]  # the astronaut 115 px wide at (840, 590)
    assert source["face"]["number"] == 4 and source["frames_used"] == 2
    x0, y0, x1, y1 = source["face"]["crop"]
    assert x0 < truth[0] and truth[2] < x1 and y0 < truth[1] and truth[3] < y1
    assert source["size"] == [x1 - x0, y1 - y0]
    json.dumps(source)  # plain data
