"""Render an avatar or a Gaussian scene to an mp4 (with sound) or a PNG still.

Examples:

  emotalk render --au AU12=0.8,AU6=0.6 -o smile.png

  emotalk render --arkit jawOpen=1,eyeBlinkLeft=1 --yaw 20 -o wink.png

  emotalk render --motion motion.safetensors --audio a.wav -o out.mp4

  emotalk render --avatar examples/scene.ply -o scene.png

  emotalk render --avatar avatar.safetensors -o avatar.ply     (3DGS .ply for other splat viewers)

  emotalk render --avatar examples/scene.ply --audio examples/hello.wav --orbit 60 -o out.mp4

  emotalk render --avatar scene.ply --up -y --orbit 360 --duration 8 --size 1024 -o turn.mp4

  emotalk render --avatar examples/scene.ply --motion motion.safetensors --audio a.wav -o out.mp4

  emotalk render --motion motion.safetensors --audio a.wav --camera examples/camera_path.json -o out.mp4

  emotalk render --motion motion.safetensors --audio talk.m4a -o - | ffmpeg -i - -c copy out.mkv

  emotalk render --au AU12=1 --format png -o - > smile.png

  emotalk render --au AU12=0.8 --background transparent -o smile.png     (RGBA)

  emotalk render --motion m.safetensors --background transparent -o out.webm

  emotalk render --au AU12=0.8 --background "#1e90ff" -o blue.png

  emotalk render --avatar me.safetensors --as-photo -o again.png     (the photo, from its 3D avatar)

  emotalk render --avatar me.safetensors --head-yaw 20 --head-pitch 5 -o turned.png

  emotalk render --avatar me.safetensors --head-path examples/head_path.json -o look.mp4

Without --avatar the default avatar in weights/ is used. An avatar fitted with its photo's scene
(the default one too) renders in that photo: its camera, aspect (--size is the long side) and
background; --as-photo reproduces the photo itself (its expression and head pose), and
--head-yaw/--head-pitch/--head-path turn the head inside it. Camera options (--yaw, --pitch, --orbit,
--camera, --distance, --fov) or --framing head show the head alone instead. A rigged avatar (.safetensors from
fit-avatar) follows the motion's expression, gaze and head pose; --au and --arkit set (or, with a
motion, add) an expression. A .ply in the standard 3D Gaussian Splatting layout renders as a static
scene; a motion file moves it rigidly by its head pose. --camera reads a camera path: keyframes of
yaw, pitch and zoom over time in JSON ({"keyframes": [{"time": 0, "yaw": -20}, {"time": 2, "yaw": 20,
"pitch": 10, "zoom": 1.3}]}), moving linearly between them. Frames stream into ffmpeg (.mp4, .mov and
.mkv: h264, yuv420p, aac audio; .webm: VP9, opus audio; the audio cut to the shorter of audio and video).
--background sets what is behind the head: a colour (white, black, #rrggbb, #rgb, R,G,B in 0..1) or
transparent: RGBA frames, written as a .png with alpha, .webm (VP9 with alpha, opus audio) or .mov
(ProRes 4444 with alpha, aac audio); .mp4 (h264) has no alpha and is refused. VP9's alpha is read by
browsers and by ffmpeg with `-c:v libvpx-vp9` before `-i` (its native vp9 decoder drops it). --audio reads wav, flac, ogg, m4a, mp3, opus, webm or a video file's
sound ('-': stdin). -o - writes to stdout: a video as fragmented mp4 (which ffmpeg and players read
from a pipe) or with --format webm as webm, or with --format png / ply a still or the Gaussians;
progress stays on stderr.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer

from emotalk_cli.cli.photo import TURNED_PHOTO_DEG, PhotoOptions, photo_frame_size, photo_framing, posed_channels
from emotalk_cli.cli.common import (check_stdout_outputs, parse_assignments, progress, refuse_existing, render_backend,
                                    reported_errors, stderr, warn)
from emotalk_cli.errors import EmotalkError

DEFAULT_DURATION = 4.0  # seconds rendered when neither motion nor audio sets the length
FORMATS = {"mp4": ".mp4", "webm": ".webm", "mov": ".mov", "png": ".png", "ply": ".ply"}  # --format -> the output suffix it stands for


def render(
    avatar: Optional[Path] = typer.Option(None, "--avatar", "-a", help="Avatar (.safetensors) or 3DGS .ply scene [default: weights/default_avatar.safetensors]."),
    output: Path = typer.Option(..., "--output", "-o", help="Output: .mp4, .webm, .mov or .mkv (video), .png (first frame as a still) or .ply (the Gaussians); '-' writes to stdout (see --format)."),
    output_format: Optional[str] = typer.Option(None, "--format", help="mp4, webm, mov, png or ply (default: from -o's suffix; mp4 for -o -, streamed as fragmented mp4; webm streams too)."),
    motion: Optional[Path] = typer.Option(None, "--motion", "-m", help="Motion file (emotalk.motion) to drive the head."),
    audio: Optional[Path] = typer.Option(None, "--audio", help="Audio to mux into the video: wav, flac, ogg, m4a, mp3, opus, webm, or a video file's sound; '-' reads it from stdin."),
    au: Optional[str] = typer.Option(None, "--au", help="Expression as action units, e.g. AU12=0.8,AU6=0.6 (intensities 0..1)."),
    arkit: Optional[str] = typer.Option(None, "--arkit", help="Expression as ARKit blendshapes, e.g. jawOpen=1,eyeBlinkLeft=1."),
    as_photo: bool = typer.Option(False, "--as-photo", help="The photo the avatar was fitted from, again: its camera, "
                                  "framing, size, expression and head pose (--au/--arkit/--head-yaw/--head-pitch replace those parts)."),
    head_yaw: float = typer.Option(0.0, "--head-yaw", help="Turn the head (not the camera) by this many degrees, + to its own left."),
    head_pitch: float = typer.Option(0.0, "--head-pitch", help="Tilt the head by this many degrees, + chin up."),
    head_path: Optional[Path] = typer.Option(None, "--head-path", help="Head turns over time: a JSON file of keyframes "
                                             "{time, yaw, pitch} in degrees, as --camera's (added to --head-yaw/--head-pitch)."),
    framing: str = typer.Option("auto", "--framing", help="photo: the photo's camera and scene (an avatar fitted with its "
                                "scene); head: the head alone, framed by the camera options; auto: photo when the avatar has one, "
                                "unless --yaw/--pitch/--orbit/--camera/--distance/--fov move the camera."),
    size: Optional[int] = typer.Option(None, "--size", help="Frame size in pixels (even): the square's side, or the photo framing's "
                                       "long side [default: 512; --as-photo: the photo's size]."),
    width: Optional[int] = typer.Option(None, "--width", help="Frame width, overriding --size."),
    height: Optional[int] = typer.Option(None, "--height", help="Frame height, overriding --size."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate [default: the motion's, else 25]."),
    duration: Optional[float] = typer.Option(None, "--duration", help=f"Seconds to render without motion or audio [default: the camera path's length, else {DEFAULT_DURATION}]."),
    yaw: float = typer.Option(0.0, "--yaw", help="Camera yaw in degrees (+ toward the subject's left)."),
    pitch: float = typer.Option(0.0, "--pitch", help="Camera pitch in degrees (+ from above)."),
    orbit: float = typer.Option(0.0, "--orbit", help="Degrees of yaw the camera sweeps over the clip."),
    camera: Optional[Path] = typer.Option(None, "--camera", help="Camera path: a JSON file of keyframes {time, yaw, pitch, zoom} (instead of --yaw/--pitch/--orbit)."),
    fov: float = typer.Option(25.0, "--fov", help="Vertical field of view in degrees."),
    distance: Optional[float] = typer.Option(None, "--distance", help="Camera distance in scene units [default: frame the subject]."),
    up: str = typer.Option("+y", "--up", help="The scene's up axis: +y, -y (most COLMAP captures), +z, -z."),
    background: Optional[str] = typer.Option(None, "--background", help="white, black, #rrggbb, R,G,B in 0..1, or transparent (RGBA: .png, .webm or .mov; not .mp4); photo needs an avatar with a photo scene, which none has yet (default: white)."),
    backend: str = typer.Option("auto", "--backend", help="Rasterizer: auto (gsplat on CUDA, else cpu), gsplat, cpu, reference."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite the output if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    with reported_errors():
        suffix = _output_suffix(output, output_format)
        check_stdout_outputs({"-o": output}, binary=("-o",))
        from emotalk_cli.render.video import check_frame_size

        if size is not None:
            check_frame_size(size, size)
        from emotalk_cli.cli.photo import load_head_path

        photo = PhotoOptions(as_photo, head_yaw, head_pitch, framing, size, width, height,
                             None if head_path is None else load_head_path(head_path))
        _render(avatar, output, suffix, motion, audio, au, arkit, width or size or 512, height or size or 512, fps, duration, yaw,
                pitch, orbit, camera, fov, distance, up, background, backend, device, force, quiet, photo)


def _output_suffix(output: Path, output_format: Optional[str]) -> str:
    """The output's type as a suffix (.mp4, .png, ...): --format, else -o's suffix (.mp4 for '-')."""
    if output_format is not None:
        if output_format.lower() not in FORMATS:
            raise EmotalkError(f"--format {output_format}: use one of {', '.join(FORMATS)}")
        suffix = FORMATS[output_format.lower()]
        if str(output) != "-" and output.suffix.lower() != suffix:
            raise EmotalkError(f"-o {output} does not end in {suffix} as --format {output_format} asks: "
                               f"rename it, or leave out --format")
        return suffix
    return ".mp4" if str(output) == "-" else output.suffix.lower()


def _render(avatar, output, suffix, motion, audio, au, arkit, width, height, fps, duration, yaw, pitch, orbit,
            camera, fov, distance, up, background, backend, device, force, quiet, photo=PhotoOptions()) -> None:
    with contextlib.ExitStack() as stack:  # holds the opened audio ('-': stdin spooled) until the video is written
        _render_in(stack, avatar, output, suffix, motion, audio, au, arkit, width, height, fps, duration, yaw, pitch,
                   orbit, camera, fov, distance, up, background, backend, device, force, quiet, photo)


def _render_in(stack, avatar, output, suffix, motion, audio, au, arkit, width, height, fps, duration, yaw, pitch, orbit,
               camera, fov, distance, up, background, backend, device, force, quiet, photo=PhotoOptions()) -> None:
    import torch

    from emotalk_cli import artifacts
    from emotalk_cli.audio.io import opened_audio
    from emotalk_cli.device import resolve_device
    from emotalk_cli.render.rasterize import BACKENDS
    from emotalk_cli.avatar import Avatar
    from emotalk_cli.render.background import parse_background, resolve_background
    from emotalk_cli.render.frames import ViewOptions, render_avatar, render_scene
    from emotalk_cli.render.video import (IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoWriter, check_frame_size, check_video_output,
                                          is_stdout, write_png)

    started = time.perf_counter()
    if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES + (".ply",):
        raise EmotalkError(f"-o {output}: unknown output type {suffix or '(none)'}: end it in .mp4, .webm or .mov "
                           "for video, .png for a still or .ply for the Gaussians")
    chosen = parse_background(background) if background is not None else None
    if suffix in VIDEO_SUFFIXES:  # before any work: mp4 has no alpha, mov does not stream
        check_video_output(output, chosen is not None and chosen.alpha, suffix.lstrip("."))
    refuse_existing(output, force=force)
    if backend not in BACKENDS:
        raise EmotalkError(f"unknown --backend {backend!r}: use one of {', '.join(BACKENDS)}")
    check_frame_size(width, height)
    path = None
    if camera is not None:
        from emotalk_cli.render.camera_path import load_camera_path

        given = [name for name, value in (("--yaw", yaw), ("--pitch", pitch), ("--orbit", orbit)) if value != 0.0]
        if given:
            raise EmotalkError(f"--camera sets the views: leave out {', '.join(given)} (or put them in the path's keyframes)")
        path = load_camera_path(camera)
    torch_device = resolve_device(device)
    if suffix != ".ply":  # a .ply export rasterizes nothing
        backend, torch_device = render_backend(backend, torch_device, quiet)
    expression = _static_expression(au, arkit)
    subject = _load_subject(avatar)
    label = "the default avatar" if avatar is None else str(avatar)
    moved = [name for name, value, rest in (("--yaw", yaw, 0.0), ("--pitch", pitch, 0.0), ("--orbit", orbit, 0.0),
                                            ("--camera", camera, None), ("--distance", distance, None), ("--fov", fov, 25.0))
             if value != rest]
    in_photo = photo_framing(subject, photo, label, moved)
    if in_photo:
        still = suffix in IMAGE_SUFFIXES
        width, height = photo_frame_size(subject.scene, photo, still=still)
        check_frame_size(width, height, even=not still)
        backdrop = resolve_background(chosen, subject, label)
    elif chosen is not None and chosen.photo and getattr(subject, "scene", None) is not None:
        raise EmotalkError("--background photo draws the photo's scene, which --framing head leaves out: use a colour or transparent")
    else:
        backdrop = resolve_background(chosen, subject if chosen is not None else None, label)  # a head alone: white by default
    view = ViewOptions(width=width, height=height, fov=fov, yaw=yaw, pitch=pitch, orbit=orbit, distance=distance,
                       up=up, background=backdrop.rgb, transparent=backdrop.transparent, path=path, photo=in_photo,
                       scene_background=backdrop.photo)

    channels = None  # motion channels, resampled to the output frame rate below
    motion_fps = None
    if motion is not None:
        loaded = artifacts.load_artifact(motion, artifacts.MOTION)
        motion_fps = float(loaded.meta.get("fps", 25.0))
        channels = loaded.tensors
    fps = fps if fps is not None else (motion_fps or 25.0)
    if not 1 <= fps <= 240:
        raise EmotalkError(f"--fps {fps} is out of range: use 1 to 240")
    sound = stack.enter_context(opened_audio(audio)) if audio is not None else None

    if channels is not None:
        length = channels["arkit"].shape[0]
        num_frames = max(1, round(length / motion_fps * fps))
        index = torch.clamp((torch.arange(num_frames) * motion_fps / fps).long(), max=length - 1)
        channels = {name: tensor[index] for name, tensor in channels.items()}  # nearest earlier frame
    elif sound is not None:
        num_frames = max(1, math.ceil(sound.seconds * fps - 1e-6))
    else:
        seconds = DEFAULT_DURATION if duration is None else duration
        if duration is None and path is not None and float(path.times[-1]) > 0:
            seconds = float(path.times[-1])  # the camera path's own length
        elif duration is None and photo.head_path is not None and float(photo.head_path.times[-1]) > 0:
            seconds = float(photo.head_path.times[-1])  # the head path's
        if seconds <= 0:
            raise EmotalkError(f"--duration {seconds} must be positive")
        num_frames = max(1, round(seconds * fps))
    if suffix in IMAGE_SUFFIXES + (".ply",):
        num_frames = 1
    view = replace(view, fps=fps)

    if channels is None:
        channels = {"arkit": torch.zeros(num_frames, 52), "head_rotation": torch.zeros(num_frames, 3),
                    "head_translation": torch.zeros(num_frames, 3), "gaze": torch.zeros(num_frames, 2)}
    channels = {name: tensor[:num_frames] for name, tensor in channels.items()}
    if isinstance(subject, Avatar):
        channels = posed_channels(subject, channels, expression, replace(photo, fps=fps), in_photo, around="rest")
        if photo.as_photo and expression is None:  # the photo's own expression, as tracked: no rest counters on it
            subject = replace(subject, rest_arkit=None)
        from emotalk_cli.photo_scene import photo_head_turn_deg

        turned = photo_head_turn_deg(subject.scene, subject.template.neck_pivot) if in_photo and not photo.as_photo else 0.0
        if turned > TURNED_PHOTO_DEG and not quiet:
            stderr.print(f"emotalk: note: the photo's head is turned {turned:.0f} degrees; at rest it faces the camera, which "
                         "shows sides the photo never saw: --as-photo keeps the photo's pose, and animate moves about it",
                         markup=False, soft_wrap=True)
    shown = "stdout" if is_stdout(output) else output
    if suffix == ".ply":
        count = _export_ply(subject, channels, output, force, in_photo)
        if not quiet:
            stderr.print(f"wrote {shown} ({count} Gaussians, the first frame's pose)", markup=False)
        return
    if isinstance(subject, Avatar):
        frames = render_avatar(subject, view, channels["arkit"], channels["head_rotation"],
                               channels["head_translation"], channels["gaze"], backend=backend, device=torch_device)
    else:
        if expression is not None:
            raise EmotalkError(f"{avatar} is a static Gaussian scene, not a rigged avatar: --au/--arkit need an "
                               "avatar (emotalk fit-avatar, or leave out --avatar for the default one)")
        frames = render_scene(subject, view, num_frames, channels["head_rotation"], channels["head_translation"],
                              backend=backend, device=torch_device)
    if suffix in IMAGE_SUFFIXES:
        write_png(output, next(frames), overwrite=force)
    else:
        with progress(quiet) as bar, VideoWriter(output, width, height, fps, audio=sound, overwrite=force,
                                                 alpha=backdrop.alpha, container=suffix.lstrip(".")) as video:
            task = bar.add_task("rendering", total=num_frames, unit="frames")
            for frame in frames:
                video.write(frame)
                bar.advance(task)
        if video.audio_nonfinite:
            warn(f"--audio {sound.label}: {video.audio_nonfinite} samples were NaN or infinite; they were muxed as silence")
    if not quiet:
        seconds = time.perf_counter() - started
        stderr.print(f"wrote {shown} ({num_frames} frame{'s' * (num_frames != 1)}, {width}x{height}"
                     f"{', transparent' if backdrop.transparent else ''}, "
                     f"{len(subject)} Gaussians) in {seconds:.1f} s", markup=False)


def _export_ply(subject, channels: dict, output: Path, force: bool, in_photo: bool = False) -> int:
    """Write the subject's Gaussians at the first frame (an avatar posed, with its photo scene in the
    photo framing; a scene as it is) as a 3DGS .ply ('-': its bytes to stdout, once complete); returns
    how many Gaussians."""
    import tempfile

    from emotalk_cli.avatar import Avatar, photo_splats, pose_gaussians, shown_opacities
    from emotalk_cli.render.video import is_stdout, write_stream
    from emotalk_cli.splats.gaussians import Splats
    from emotalk_cli.splats.ply import save_ply

    if isinstance(subject, Avatar) and in_photo:
        subject = photo_splats(subject, *(channels[name][0].float() for name in ("arkit", "head_rotation", "head_translation", "gaze")))
    elif isinstance(subject, Avatar):
        first = {name: tensor[:1] for name, tensor in channels.items()}
        means, quats, scales = pose_gaussians(subject, first["arkit"], first["head_rotation"],
                                              first["head_translation"], first["gaze"])
        subject = Splats(means[0], quats[0], scales[0], shown_opacities(subject), subject.sh)
    if not is_stdout(output):
        save_ply(output, subject, overwrite=force)
        return len(subject)
    with tempfile.TemporaryDirectory(prefix="emotalk-out-") as folder:
        path = Path(folder) / "splats.ply"
        save_ply(path, subject)
        write_stream(path.read_bytes())
    return len(subject)


def _load_subject(path: Optional[Path]):
    """An Avatar (rigged .safetensors, the default when `path` is None) or static Splats (.ply / splats file)."""
    from emotalk_cli.avatar import DEFAULT_AVATAR, is_avatar_file, load_avatar
    from emotalk_cli.splats.io import load_splats

    if path is None:
        if not DEFAULT_AVATAR.is_file():
            raise EmotalkError(f"the default avatar {DEFAULT_AVATAR} is missing: run `make weights-avatar`, or give --avatar")
        return load_avatar(DEFAULT_AVATAR)
    if path.suffix.lower() == ".safetensors" and is_avatar_file(path):
        return load_avatar(path)
    return load_splats(path)


def _static_expression(au: Optional[str], arkit: Optional[str]):
    """ARKit weights [52] from --au and --arkit (summed, clamped), or None when neither is given."""
    from emotalk_cli import facs

    if au is None and arkit is None:
        return None
    try:
        weights = facs.au_to_arkit(facs.au_vector(parse_assignments(au, "--au"))) if au else facs.arkit_vector({})
        if arkit:
            weights = weights + facs.arkit_vector(parse_assignments(arkit, "--arkit"))
    except ValueError as err:
        raise EmotalkError(str(err)) from None
    for name, value in (parse_assignments(au or "", "--au") | parse_assignments(arkit or "", "--arkit")).items():
        if not 0.0 <= value <= 1.0:
            raise EmotalkError(f"{name}={value}: intensities go from 0 to 1")
    return weights.clamp(0.0, 1.0)
