"""--background: parsing, transparent (straight RGBA) frames, and the containers that carry alpha
(.png, .webm VP9, .mov ProRes 4444), decoded back with the shipped ffmpeg."""

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from emotalk_cli.cli.app import app
from emotalk_cli.errors import EmotalkError, RenderError
from emotalk_cli.render.background import (FORMS, TRANSPARENT, WHITE, Background, parse_background,
                                           resolve_background)
from emotalk_cli.render.frames import ViewOptions, straight_rgba, to_uint8, to_uint8_reference

from conftest import probe
from test_animate import tiny_animate_files, wav

runner = CliRunner()
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SIZE = 64


def run(*args: str):
    return runner.invoke(app, list(args))


def decode(path, size: int = SIZE, decoder: str | None = None) -> np.ndarray:
    """Every frame of an image or video as RGBA uint8 [F, H, W, 4], through the shipped ffmpeg
    (`decoder`: e.g. libvpx-vp9, the one that reads VP9's alpha side channel)."""
    command = [FFMPEG, "-hide_banner", "-loglevel", "error", *(["-c:v", decoder] if decoder else []), "-i", str(path),
               "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"]
    data = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(data, np.uint8).reshape(-1, size, size, 4)


def streams(path) -> str:
    """ffmpeg's description of a file's streams (stderr of `ffmpeg -i`)."""
    text = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    return "\n".join(line for line in text.splitlines() if "Stream #" in line)


# --- parsing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, rgb", [
    ("white", (1.0, 1.0, 1.0)),
    ("WHITE", (1.0, 1.0, 1.0)),
    ("black", (0.0, 0.0, 0.0)),
    ("#ff8000", (1.0, 128 / 255, 0.0)),
    ("#1E90FF", (30 / 255, 144 / 255, 1.0)),
    ("#f80", (1.0, 0x88 / 255, 0.0)),
    ("0.2,0.3,0.4", (0.2, 0.3, 0.4)),
    (" 0,1,0.5 ", (0.0, 1.0, 0.5)),
])
def test_colours_parse(text, rgb):
    background = parse_background(text)
    assert background.rgb == pytest.approx(rgb) and not background.transparent and not background.photo
    assert not background.alpha and background.text == text


def test_transparent_and_photo_parse():
    assert parse_background("transparent") == TRANSPARENT
    assert TRANSPARENT.alpha and TRANSPARENT.rgb == (0.0, 0.0, 0.0)
    photo = parse_background("Photo")
    assert photo.photo and not photo.alpha


@pytest.mark.parametrize("text", ["purple", "", "#12", "#ggg", "#12345", "1,2,3", "0.1,0.2", "0.1,0.2,0.3,0.4",
                                  "-0.1,0,0", "a,b,c", "transparent!"])
def test_anything_else_is_one_line_naming_the_forms(text):
    with pytest.raises(RenderError) as caught:
        parse_background(text)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("--background") and FORMS in message


def test_resolve_defaults_to_white_and_refuses_photo_without_a_scene():
    subject = object()  # nothing carries a photo scene yet
    assert resolve_background(None, subject) == WHITE
    colour = Background(rgb=(0.1, 0.2, 0.3), text="0.1,0.2,0.3")
    assert resolve_background(colour, subject) is colour
    with pytest.raises(RenderError, match="me.safetensors has no photo scene"):
        resolve_background(parse_background("photo"), subject, "me.safetensors")


# --- frames ------------------------------------------------------------------------------------

def test_straight_rgba_composites_back_to_the_render_on_any_background():
    g = torch.Generator().manual_seed(0)
    straight = torch.rand(20, 30, 3, generator=g)
    alpha = torch.rand(20, 30, 1, generator=g)
    alpha[0] = 0.0  # uncovered pixels
    alpha[1] = 1.0
    premultiplied = straight * alpha  # what the rasterizer gives over black
    rgba = straight_rgba(premultiplied, alpha)
    assert rgba.shape == (20, 30, 4)
    assert torch.equal(rgba[0], torch.zeros(30, 4))  # nothing covers them: black, alpha 0
    for background in (torch.tensor([1.0, 1.0, 1.0]), torch.tensor([0.2, 0.7, 0.1])):
        on_background = premultiplied + (1 - alpha) * background
        back = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:]) * background
        assert torch.allclose(back, on_background, atol=1e-6)


def test_uint8_fast_path_equals_torch_for_rgba():
    g = torch.Generator().manual_seed(1)
    rgba = torch.rand(17, 23, 4, generator=g) * 1.4 - 0.2
    rgba[0, :, 3] = (torch.arange(23, dtype=torch.float32) + 0.5) / 255.0  # rounding boundaries
    fast, slow = to_uint8(rgba), to_uint8_reference(rgba)
    assert fast.shape == (17, 23, 4) and fast.dtype == np.uint8
    np.testing.assert_array_equal(fast, slow)


@pytest.fixture(scope="module")
def default_avatar():
    from emotalk_cli.avatar import DEFAULT_AVATAR, load_avatar

    if not DEFAULT_AVATAR.is_file():
        pytest.skip("needs weights/default_avatar.safetensors (make weights-avatar)")
    return load_avatar(DEFAULT_AVATAR)


def smile_frame(avatar, **view):
    from emotalk_cli import facs
    from emotalk_cli.render.frames import render_avatar

    arkit = facs.au_to_arkit(facs.au_vector({"AU12": 0.8, "AU6": 0.6}))[None]
    zeros = torch.zeros(1, 3)
    return next(render_avatar(avatar, ViewOptions(width=SIZE, height=SIZE, **view), arkit, zeros, zeros,
                              torch.zeros(1, 2), backend="cpu"))


def test_white_default_is_the_frame_it_always_was(default_avatar):
    """The default path composites over white in the rasterizer and rounds, as before this option:
    rebuilt here by hand from rasterize + to_uint8, byte for byte."""
    from emotalk_cli import facs
    from emotalk_cli.avatar import neutral_splats, pose_gaussians, shown_opacities
    from emotalk_cli.render.frames import camera_path, view_scale
    from emotalk_cli.render.rasterize import rasterize

    avatar = default_avatar
    view = ViewOptions(width=SIZE, height=SIZE)
    framing = avatar.meta.get("default_view", {})
    if "distance" in framing:
        view = ViewOptions(width=SIZE, height=SIZE, distance=float(framing["distance"]) * view_scale(framing, view))
    centre = torch.tensor(framing["target"]) if "target" in framing else None
    viewmats, Ks = camera_path(neutral_splats(avatar), view, 1, centre=centre)
    arkit = facs.au_to_arkit(facs.au_vector({"AU12": 0.8, "AU6": 0.6}))[None]
    means, quats, scales = pose_gaussians(avatar, arkit, torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(1, 2))
    with torch.no_grad():
        rgb, _ = rasterize(means[0], quats[0], scales[0], shown_opacities(avatar), avatar.sh, viewmats, Ks, SIZE, SIZE,
                           sh_degree=avatar.sh_degree, background=torch.ones(3), backend="cpu")
    expected = to_uint8(rgb[0])
    assert np.array_equal(smile_frame(avatar), expected)
    assert np.array_equal(smile_frame(avatar, background=(1.0, 1.0, 1.0), transparent=False), expected)


def test_transparent_frame_of_the_default_avatar(default_avatar):
    rgba = smile_frame(default_avatar, transparent=True)
    white = smile_frame(default_avatar).astype(np.float64)
    black = smile_frame(default_avatar, background=(0.0, 0.0, 0.0)).astype(np.float64)
    assert rgba.shape == (SIZE, SIZE, 4) and rgba.dtype == np.uint8
    alpha = rgba[..., 3]
    assert all(alpha[y, x] == 0 for y in (0, -1) for x in (0, -1))  # corners: nothing there
    assert (alpha[SIZE // 2 - 4:SIZE // 2 + 4, SIZE // 2 - 4:SIZE // 2 + 4] == 255).all()  # the middle of the face
    assert 0 < ((alpha > 0) & (alpha < 255)).sum()  # soft edges exist
    opaque = alpha == 255
    assert np.abs(rgba[..., :3].astype(int) - white.astype(int))[opaque].max() <= 1
    a = alpha[..., None] / 255.0
    for background, render in ((255.0, white), (0.0, black)):  # no fringe: composited back, it is the render
        composite = rgba[..., :3] * a + background * (1 - a)
        assert np.abs(composite - render).max() <= 1.6


def test_transparent_static_scene_composites_back():
    from conftest import small_splats
    from emotalk_cli.render.frames import render_scene

    splats = small_splats(300)
    rgba = next(render_scene(splats, ViewOptions(width=SIZE, height=SIZE, transparent=True), 1, backend="cpu"))
    white = next(render_scene(splats, ViewOptions(width=SIZE, height=SIZE), 1, backend="cpu")).astype(np.float64)
    assert rgba.shape == (SIZE, SIZE, 4) and rgba[0, 0, 3] == 0 and rgba[..., 3].max() > 200
    a = rgba[..., 3:] / 255.0
    assert np.abs(rgba[..., :3] * a + 255 * (1 - a) - white).max() <= 1.6


# --- the command line: PNG, webm, mov ---------------------------------------------------------

def test_cli_colour_forms_give_the_same_png(tmp_path):
    outputs = []
    for i, form in enumerate([None, "white", "#fff", "#FFFFFF", "1,1,1"]):
        out = tmp_path / f"w{i}.png"
        args = ["render", "--au", "AU12=0.8", "-o", str(out), "--size", str(SIZE), "--quiet", "--framing", "head"]
        result = run(*args, *([] if form is None else ["--background", form]))
        assert result.exit_code == 0, result.output
        outputs.append(out.read_bytes())
    assert all(data == outputs[0] for data in outputs)
    blue = tmp_path / "blue.png"
    assert run("render", "--au", "AU12=0.8", "-o", str(blue), "--size", str(SIZE), "-q", "--framing", "head",
               "--background", "#1e90ff").exit_code == 0
    corner = decode(blue)[0, 0, 0]
    assert tuple(corner[:3]) == (0x1E, 0x90, 0xFF) and corner[3] == 255


@pytest.fixture(scope="module")
def transparent_png(tmp_path_factory):
    out = tmp_path_factory.mktemp("png") / "smile.png"
    result = run("render", "--au", "AU12=0.8,AU6=0.6", "--background", "transparent", "-o", str(out),
                 "--size", str(SIZE), "--quiet", "--framing", "head")  # the head alone (the default avatar has a photo scene)
    assert result.exit_code == 0, result.output
    return out


def test_cli_transparent_png(transparent_png, tmp_path):
    assert transparent_png.read_bytes()[25] == 6  # IHDR colour type 6: RGBA
    [rgba] = decode(transparent_png)
    assert rgba[0, 0, 3] == 0 and rgba[-1, -1, 3] == 0 and rgba[SIZE // 2, SIZE // 2, 3] == 255
    white = tmp_path / "white.png"
    assert run("render", "--au", "AU12=0.8,AU6=0.6", "-o", str(white), "--size", str(SIZE), "-q",
               "--framing", "head").exit_code == 0
    [opaque] = decode(white)
    shown = rgba[..., 3] == 255
    assert np.abs(rgba[..., :3].astype(int) - opaque[..., :3].astype(int))[shown].max() <= 1


@pytest.mark.parametrize("suffix, decoder, codec, audio, tolerance", [
    (".webm", "libvpx-vp9", "vp9", "opus", 8),  # measured: mean 0.09, max 3
    (".mov", None, "prores", "aac", 2),  # measured: mean 0.03, max 1
])
def test_cli_video_with_alpha_round_trips(tmp_path, transparent_png, tone_wav, suffix, decoder, codec, audio, tolerance):
    out = tmp_path / f"smile{suffix}"
    result = run("render", "--au", "AU12=0.8,AU6=0.6", "--background", "transparent", "--audio", str(tone_wav),
                 "-o", str(out), "--size", str(SIZE), "--fps", "10", "--quiet", "--framing", "head")
    assert result.exit_code == 0, result.output
    info = streams(out)
    assert f"Video: {codec}" in info and f"Audio: {audio}" in info, info
    frames = decode(out, decoder=decoder)
    assert len(frames) == 13  # 1.3 s at 10 fps
    [reference] = decode(transparent_png)
    error = np.abs(frames[0, ..., 3].astype(int) - reference[..., 3].astype(int))
    assert error.mean() < 0.5 and error.max() <= tolerance, (error.mean(), error.max())
    assert frames[0, 0, 0, 3] <= 2 and frames[0, SIZE // 2, SIZE // 2, 3] >= 253
    shown = reference[..., 3] == 255
    colour = np.abs(frames[0, ..., :3].astype(int) - reference[..., :3].astype(int))[shown]
    assert colour.mean() < 4.0, colour.mean()


def test_cli_webm_with_a_colour_is_opaque_vp9(tmp_path, tone_wav):
    out = tmp_path / "v.webm"
    result = run("render", "--au", "AU12=0.8", "--background", "black", "--audio", str(tone_wav), "-o", str(out),
                 "--size", str(SIZE), "--fps", "10", "--quiet")
    assert result.exit_code == 0, result.output
    info = streams(out)
    assert "Video: vp9" in info and "Audio: opus" in info and "alpha" not in probe_text(out)
    frames = decode(out, decoder="libvpx-vp9")
    assert len(frames) == 13 and (frames[..., 3] == 255).all() and frames[0, 0, 0, :3].max() <= 4


def probe_text(path) -> str:
    return subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr


def test_webm_streams_to_stdout_with_format(tmp_path):
    result = runner.invoke(app, ["render", "--au", "AU12=0.8", "--background", "transparent", "--format", "webm",
                                 "-o", "-", "--size", str(SIZE), "--duration", "0.4", "--quiet"])
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML: matroska/webm
    path = tmp_path / "streamed.webm"
    path.write_bytes(data)
    frames = decode(path, decoder="libvpx-vp9")
    assert len(frames) == 10 and frames[0, 0, 0, 3] <= 2 and frames[0, SIZE // 2, SIZE // 2, 3] >= 253


@pytest.mark.parametrize("args, message", [
    (["-o", "{dir}/out.mp4"], "mp4 (h264) has no alpha: write .webm or .mov, or choose a --background colour"),
    (["-o", "-"], "stream webm instead (--format webm)"),
    (["-o", "-", "--format", "mov"], "cannot be streamed to stdout"),
    (["-o", "{dir}/out.png", "--background", "photo", "--framing", "head"], "which --framing head leaves out"),
    (["-o", "{dir}/out.png", "--background", "photo", "--avatar", "examples/scene.ply"], "has no photo scene"),
    (["-o", "{dir}/out.png", "--background", "teal"], "is not a background"),
])
def test_cli_refusals_are_one_line_and_write_nothing(tmp_path, args, message):
    args = [a.replace("{dir}", str(tmp_path)) for a in args]
    result = runner.invoke(app, ["render", "--background", "transparent", "--size", str(SIZE), "--quiet", *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:") and message in lines[0], lines
    assert list(tmp_path.iterdir()) == [] and result.stdout_bytes == b""


def test_video_writer_alpha(tmp_path):
    from emotalk_cli.render.video import VideoWriter

    with pytest.raises(RenderError, match="no alpha"):
        VideoWriter(tmp_path / "v.mp4", 64, 48, fps=25, alpha=True)
    with pytest.raises(RenderError, match="not a video container"):
        VideoWriter(tmp_path / "v.avi", 64, 48, fps=25)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"\[48, 64, 4\]"):
        with VideoWriter(tmp_path / "v.mkv", 64, 48, fps=25, alpha=True) as video:
            video.write(np.zeros((48, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []
    frame = np.zeros((48, 64, 4), np.uint8)
    frame[..., 1] = 200
    frame[10:30, 20:40, 3] = 255
    with VideoWriter(tmp_path / "v.mkv", 64, 48, fps=25, alpha=True) as video:  # matroska carries VP9 alpha too
        for _ in range(5):
            video.write(frame)
    command = [FFMPEG, "-loglevel", "error", "-c:v", "libvpx-vp9", "-i", str(tmp_path / "v.mkv"), "-f", "rawvideo",
               "-pix_fmt", "rgba", "pipe:1"]
    back = np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, np.uint8).reshape(-1, 48, 64, 4)
    assert len(back) == 5 and np.abs(back[..., 3].astype(int) - frame[..., 3]).mean() < 2


# --- animate -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tiny_animate_files(tmp_path_factory.mktemp("animate_bg"), 2000, seed=2)


def animate(files, *args):
    return runner.invoke(app, ["animate", "--weights", str(files["weights"]), "--avatar", str(files["avatar"]),
                               "--steps", "2", "--lip-samples", "1", "--size", str(SIZE), "--quiet", *args])


def test_animate_transparent_webm_named_after_the_audio(tmp_path, files):
    audio = wav(tmp_path / "speech.wav", seconds=0.72)
    result = animate(files, "--audio", str(audio), "--background", "transparent")
    assert result.exit_code == 0, result.output
    out = tmp_path / "speech.webm"  # no -o: .webm, since an .mp4 could not hold the alpha
    info = streams(out)
    assert "Video: vp9" in info and "Audio: opus" in info
    frames = decode(out, decoder="libvpx-vp9")
    assert len(frames) == 18  # 0.72 s at 25 fps
    alpha = frames[..., 3]
    assert alpha[:, 0, 0].max() <= 2 and np.median(alpha[:, SIZE // 2, SIZE // 2]) >= 250


def test_animate_mov_and_colours(tmp_path, files):
    audio = wav(tmp_path / "a.wav", seconds=0.72)
    result = animate(files, "--audio", str(audio), "--background", "transparent", "-o", str(tmp_path / "a.mov"))
    assert result.exit_code == 0, result.output
    assert "Video: prores" in streams(tmp_path / "a.mov") and "Audio: aac" in streams(tmp_path / "a.mov")
    assert decode(tmp_path / "a.mov")[0, 0, 0, 3] == 0
    result = animate(files, "--audio", str(audio), "--background", "#ff0000", "-o", str(tmp_path / "red.mp4"))
    assert result.exit_code == 0, result.output
    corner = decode(tmp_path / "red.mp4")[0, 0, 0]
    assert corner[0] >= 240 and corner[1] <= 16 and corner[2] <= 16 and probe(tmp_path / "red.mp4")["codec"] == "h264"


@pytest.mark.parametrize("args, code, message", [
    (["--background", "transparent", "-o", "{dir}/out.mp4"], 1, "mp4 (h264) has no alpha"),
    (["--background", "transparent", "-o", "-"], 1, "--format webm"),
    (["--background", "photo", "-o", "{dir}/out.mp4"], 1, "has no photo scene"),
    (["--background", "0,0,2"], 2, "is not a background"),
    (["--format", "gif"], 2, "--format gif"),
    (["--format", "webm", "-o", "{dir}/out.mp4"], 1, "does not end in .webm"),
])
def test_animate_refusals(tmp_path, files, args, code, message):
    audio = wav(tmp_path / "a.wav")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = animate(files, "--audio", str(audio), *[a.replace("{dir}", str(tmp_path)) for a in args])
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before and result.stdout_bytes == b""


def test_help_names_the_backgrounds():
    for command in ("render", "animate"):
        result = runner.invoke(app, [command, "--help"])
        text = " ".join(result.output.split())
        assert result.exit_code == 0 and "--background" in text and "transparent" in text, command
