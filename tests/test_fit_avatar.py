"""`emotalk fit-avatar` end to end (a few steps on scikit-image's astronaut, CPU), its one-line
errors, and the pieces of the photometric stage (SSIM, the crop's camera)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from emotalk_cli.cli.app import app
from emotalk_cli.fit.photometric import crop_image, crop_intrinsics, photometric_loss
from emotalk_cli.fit.ssim import ssim

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["fit-avatar", *args])


def astronaut() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image (astronaut.png) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png"


def write_png(path: Path, image: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(image).save(path)
    return path


def one_line_error(result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:"), result.output
    assert message in lines[0], lines[0]


def test_fit_astronaut_writes_a_loadable_neutral_avatar_and_preview(tmp_path):
    from emotalk_cli.avatar import load_avatar, pose_gaussians

    out, preview = tmp_path / "a.safetensors", tmp_path / "fit.png"
    result = run("--image", str(astronaut()), "-o", str(out), "--iterations", "3", "--gaussians", "4000",
                 "--preview", str(preview), "--quiet", "--device", "cpu", "--define-brows", "0.8", "--clear-fringe", "20")
    assert result.exit_code == 0, result.output
    avatar = load_avatar(out)
    assert len(avatar) == 4000 and avatar.sh.shape == (4000, 1, 3)
    meta = avatar.meta
    assert meta["options"]["define_brows"] == 0.8 and meta["brows"]["strength"] == 0.8
    assert meta["brows"]["gaussians_changed"] > 0
    assert meta["options"]["clear_fringe_mm"] == 20 and meta["fringe"]["clearance_mm"] == 20
    assert meta["command"] == "emotalk fit-avatar" and meta["source"]["file"] == "astronaut.png"
    assert len(meta["source"]["sha256"]) == 64 and meta["options"]["iterations"] == 3
    fit = meta["fit"]
    assert fit["reprojection_error_px"] < 4 and fit["psnr_db"] > 10  # 4000 Gaussians cover the face thinly
    assert fit["psnr_db"] > fit["initial_psnr_db"] - 0.5  # three steps do not make it worse
    assert "distance" in meta["default_view"]
    means, _, _ = pose_gaussians(avatar, torch.zeros(1, 52), torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 2))
    assert torch.isfinite(means).all()
    from PIL import Image

    with Image.open(preview) as image:
        assert image.size == (3 * 256, 256)


def test_fit_video_samples_frames(tmp_path):
    """A short clip of the astronaut drifting sideways: sampled, tracked, fitted on CPU."""
    import imageio_ffmpeg
    from PIL import Image

    from emotalk_cli.avatar import load_avatar

    with Image.open(astronaut()) as image:
        photo = np.asarray(image.convert("RGB"))  # 512 x 512: the face is ~100 px
    video = tmp_path / "talk.mp4"
    writer = imageio_ffmpeg.write_frames(str(video), (512, 512), fps=10, macro_block_size=16)
    writer.send(None)
    for shift in range(0, 20, 2):
        writer.send(np.ascontiguousarray(np.roll(photo, shift, axis=1)))
    writer.close()
    out = tmp_path / "a.safetensors"
    result = run("--video", str(video), "-o", str(out), "--max-frames", "2", "--iterations", "2",
                 "--gaussians", "3000", "--quiet")
    assert result.exit_code == 0, result.output
    meta = load_avatar(out).meta
    assert meta["source"]["kind"] == "video" and meta["source"]["frames_used"] == 2
    assert meta["source"]["frame_indices"] == [0, 9]  # 10 frames, 2 sampled evenly: the first and the last
    assert meta["fit"]["camera"]["image_size"] == [512, 512] and meta["fit"]["camera"]["focal_px"] > 100


def test_opening_mask_is_the_polygon_in_crop_pixels():
    from emotalk_cli.fit.photometric import opening_mask

    square = np.array([[20.2, 20.2], [39.8, 20.2], [39.8, 39.8], [20.2, 39.8]])  # photo pixels
    mask = opening_mask({"mouth": square}, (10.0, 10.0, 64.0), 128)  # crop from (10, 10), 64 px -> 128 px
    assert mask.shape == (128, 128, 1)
    inside = torch.nonzero(mask[..., 0])
    # photo 20.2..39.8 -> crop (x - 10) * 2 = 20.4 .. 59.6: pixels 20..59 (centres at +0.5)
    assert inside.min(0).values.tolist() == [20, 20] and inside.max(0).values.tolist() == [59, 59]


def test_teeth_in_the_photo_are_not_painted_on_closed_lips():
    """Where the photo shows the mouth open (inside the tracked inner lips) but the posed head shows
    closed lips, the loss mask leaves the pixels out and the lips take no colour from there."""
    from emotalk_cli.fit.photometric import OPENING_PARTS, PhotometricConfig, _in_parts, opening_agreement, prepare_views
    from emotalk_cli.fit.solve import HeadFit, FLIP
    from emotalk_cli.rig import load_head_template
    from emotalk_cli.splats.binding import init_on_surface

    template = load_head_template()
    size = 256
    viewmat = torch.eye(4)
    viewmat[:3, :3] = FLIP
    viewmat[:3, 3] = FLIP @ torch.tensor([0.0, 0.0, -0.6])  # the head 0.6 m in front of the camera
    K = torch.tensor([[600.0, 0, size / 2], [0, 600.0, size / 2], [0, 0, 1.0]])
    fit = HeadFit(torch.zeros_like(template.vertices), K, viewmat, torch.zeros(1, 3), torch.zeros(1, 3),
                  torch.zeros(1, 52), torch.zeros(1, 2), torch.zeros(1), (size, size))
    config = PhotometricConfig(resolution=128)
    shaped, views = prepare_views([np.zeros((size, size, 3), np.uint8)], fit, template, config)
    view = views[0]
    # the closed mouth's projected lip line, and a photo "opening" around it 6 crop pixels tall
    lips = torch.tensor([template.landmarks["upper_lip"], template.landmarks["lower_lip"]])
    cam = template.vertices[lips] @ view.viewmat[:3, :3].T + view.viewmat[:3, 3]
    uv = cam[:, :2] / cam[:, 2:3] * view.K.diagonal()[:2] + view.K[:2, 2]
    x, y = float(uv[:, 0].mean()), float(uv[:, 1].mean())
    opening = torch.zeros(128, 128, 1)
    opening[int(y) - 3:int(y) + 3, int(x) - 10:int(x) + 10] = 1
    view.opening = opening
    bound = init_on_surface(shaped.vertices, shaped.faces, total=20000)
    agree = opening_agreement(shaped, bound, torch.full((len(bound),), 0.95), view, config)
    assert agree[int(y), int(x), 0] == 0  # the photo's open mouth on the head's closed lips: left out
    assert agree[int(y) - 12, int(x), 0] == 1 and agree[int(y) + 12, int(x), 0] == 1  # lips above and below: kept
    assert _in_parts(torch.tensor([template.part("upper_teeth"), template.part("skin")]), template,
                     OPENING_PARTS).tolist() == [True, False]


def test_blank_image_is_no_face(tmp_path):
    photo = write_png(tmp_path / "blank.png", np.full((256, 256, 3), 128, np.uint8))
    out = tmp_path / "a.safetensors"
    one_line_error(run("--image", str(photo), "-o", str(out), "--quiet"), "no face")
    assert not out.exists()


def test_unreadable_image(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_text("not a picture")
    out = tmp_path / "a.safetensors"
    one_line_error(run("--image", str(photo), "-o", str(out), "--quiet"), "cannot read image")
    assert not out.exists()


@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_empty_or_garbage_video(tmp_path, content):
    video = tmp_path / "talk.mp4"
    video.write_bytes(content)
    out = tmp_path / "a.safetensors"
    one_line_error(run("--video", str(video), "-o", str(out), "--quiet"), "cannot read video")
    assert not out.exists()


def test_existing_output_needs_force(tmp_path):
    out = tmp_path / "a.safetensors"
    out.write_bytes(b"keep me")
    one_line_error(run("--image", str(astronaut()), "-o", str(out), "--quiet"), "already exists")
    assert out.read_bytes() == b"keep me"


def test_brow_strength_outside_0_to_1_is_refused(tmp_path):
    out = tmp_path / "a.safetensors"
    one_line_error(run("--image", str(astronaut()), "-o", str(out), "--define-brows", "2", "--quiet"), "--define-brows 2: give auto")
    assert not out.exists()


def test_fringe_clearance_outside_0_to_50_mm_is_refused(tmp_path):
    out = tmp_path / "a.safetensors"
    one_line_error(run("--image", str(astronaut()), "-o", str(out), "--clear-fringe", "60", "--quiet"),
                   "--clear-fringe 60.0 is outside")
    assert not out.exists()


def test_image_or_video_exactly_one(tmp_path):
    one_line_error(run("-o", str(tmp_path / "a.safetensors")), "exactly one", code=2)


def test_ssim_and_loss():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=g)
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    assert ssim(x, torch.rand(1, 3, 32, 32, generator=g)).item() < 0.2
    image, mask = x[0].permute(1, 2, 0), torch.ones(32, 32, 1)
    assert photometric_loss(image, image, mask, 0.2).item() == pytest.approx(0.0, abs=1e-5)
    # outside the mask nothing counts
    mask[:, 16:] = 0
    other = image.clone()
    other[:, 20:] = 0
    assert photometric_loss(other, image, mask, 0.0).item() == pytest.approx(0.0, abs=1e-6)


def test_crop_follows_the_camera():
    """A point projected with the crop's intrinsics lands where the crop shows the photo's pixel."""
    image = torch.zeros(100, 120, 3)
    image[40:44, 70:74] = 1.0  # a bright square, centre (72, 42)
    K = torch.tensor([[100.0, 0, 60], [0, 100.0, 50], [0, 0, 1]])
    box = (50.0, 20.0, 40.0)
    crop, valid = crop_image(image, box, 80)
    Kc = crop_intrinsics(K, box, 80)
    point = torch.tensor([(72 - 60) / 100.0, (42 - 50) / 100.0, 1.0])  # projects to pixel (72, 42)
    uv = (Kc @ point)[:2]
    weights = crop[..., 0]
    ys, xs = torch.meshgrid(torch.arange(80) + 0.5, torch.arange(80) + 0.5, indexing="ij")
    centre = torch.stack([(weights * xs).sum(), (weights * ys).sum()]) / weights.sum()
    assert torch.allclose(centre, uv, atol=0.3), (centre, uv)
    assert valid.all()
    _, valid = crop_image(image, (100.0, 20.0, 40.0), 80)  # reaches past the right border
    assert not valid.all() and valid[:, :10].all()


def test_triangle_frames_bind_like_bind_to_world():
    from emotalk_cli.fit.photometric import TriangleFrames
    from emotalk_cli.splats.binding import bind_to_world

    g = torch.Generator().manual_seed(1)
    vertices, faces = torch.randn(30, 3, generator=g), torch.randint(0, 30, (20, 3), generator=g)
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    parent = torch.randint(0, len(faces), (50,), generator=g)
    local = (torch.randn(50, 3, generator=g), torch.randn(50, 4, generator=g), torch.randn(50, 3, generator=g) * 0.1)
    fast = TriangleFrames.of(vertices, faces, parent).bind(*local)
    for a, b in zip(fast, bind_to_world(vertices, faces, parent, *local)):
        assert torch.allclose(a, b, atol=1e-5)


def test_several_faces_fit_the_largest_and_say_so(tmp_path, monkeypatch):
    from emotalk_cli.fit import tracking

    real = tracking.track_image

    def crowded(*args, **kwargs):
        track = real(*args, **kwargs)
        track.faces_found = 2
        return track

    monkeypatch.setattr(tracking, "track_image", crowded)
    out = tmp_path / "a.safetensors"
    result = run("--image", str(astronaut()), "-o", str(out), "--iterations", "0", "--gaussians", "2000", "--quiet")
    assert result.exit_code == 0, result.output
    assert "emotalk: warning: 2 faces found; fitting the largest" in result.output
    assert out.exists()
