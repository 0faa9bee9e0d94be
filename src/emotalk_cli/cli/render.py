"""Render an avatar or a Gaussian scene to an mp4 (with sound) or a PNG still.

Examples:

  emotalk render --avatar examples/scene.ply -o scene.png

  emotalk render --avatar examples/scene.ply --audio examples/hello.wav --orbit 60 -o out.mp4

  emotalk render --avatar scene.ply --up -y --orbit 360 --duration 8 --size 1024 -o turn.mp4

  emotalk render --avatar examples/scene.ply --motion motion.safetensors --audio a.wav -o out.mp4

A .ply in the standard 3D Gaussian Splatting layout renders as a static scene; a motion file
moves it rigidly by its head pose. Frames stream into ffmpeg (h264, yuv420p; aac audio cut to
the shorter of audio and video).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Optional

import typer

from emotalk_cli.cli.common import progress, reported_errors, stderr
from emotalk_cli.errors import EmotalkError

DEFAULT_DURATION = 4.0  # seconds rendered when neither motion nor audio sets the length


def render(
    avatar: Path = typer.Option(..., "--avatar", "-a", help="Scene to render: a 3DGS .ply or an emotalk .safetensors."),
    output: Path = typer.Option(..., "--output", "-o", help="Output: .mp4 (video) or .png (first frame as a still)."),
    motion: Optional[Path] = typer.Option(None, "--motion", "-m", help="Motion file (emotalk.motion) to drive the head."),
    audio: Optional[Path] = typer.Option(None, "--audio", help="Audio to mux into the video (wav, flac, ogg)."),
    size: int = typer.Option(512, "--size", help="Square frame size in pixels (even)."),
    width: Optional[int] = typer.Option(None, "--width", help="Frame width, overriding --size."),
    height: Optional[int] = typer.Option(None, "--height", help="Frame height, overriding --size."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate [default: the motion's, else 25]."),
    duration: Optional[float] = typer.Option(None, "--duration", help=f"Seconds to render without motion or audio [default: {DEFAULT_DURATION}]."),
    yaw: float = typer.Option(0.0, "--yaw", help="Camera yaw in degrees (+ toward the subject's left)."),
    pitch: float = typer.Option(0.0, "--pitch", help="Camera pitch in degrees (+ from above)."),
    orbit: float = typer.Option(0.0, "--orbit", help="Degrees of yaw the camera sweeps over the clip."),
    fov: float = typer.Option(25.0, "--fov", help="Vertical field of view in degrees."),
    distance: Optional[float] = typer.Option(None, "--distance", help="Camera distance in scene units [default: frame the subject]."),
    up: str = typer.Option("+y", "--up", help="The scene's up axis: +y, -y (most COLMAP captures), +z, -z."),
    background: str = typer.Option("white", "--background", help="white, black, or R,G,B in 0..1."),
    backend: str = typer.Option("auto", "--backend", help="Rasterizer: auto (gsplat on CUDA, else cpu), gsplat, cpu, reference."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite the output if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    with reported_errors():
        _render(avatar, output, motion, audio, width or size, height or size, fps, duration, yaw, pitch, orbit,
                fov, distance, up, background, backend, device, force, quiet)


def _render(avatar, output, motion, audio, width, height, fps, duration, yaw, pitch, orbit,
            fov, distance, up, background, backend, device, force, quiet) -> None:
    import torch

    from emotalk_cli import artifacts
    from emotalk_cli.audio.io import audio_info
    from emotalk_cli.device import resolve_device
    from emotalk_cli.render.rasterize import BACKENDS
    from emotalk_cli.render.frames import ViewOptions, render_scene
    from emotalk_cli.render.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoWriter, check_frame_size, write_png
    from emotalk_cli.splats.io import load_splats

    started = time.perf_counter()
    suffix = output.suffix.lower()
    if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        raise EmotalkError(f"-o {output}: unknown output type {suffix or '(none)'}: end it in .mp4 for video or .png for a still")
    if output.exists() and not force:
        raise EmotalkError(f"{output} already exists: pass --force to overwrite it, or choose another -o")
    if backend not in BACKENDS:
        raise EmotalkError(f"unknown --backend {backend!r}: use one of {', '.join(BACKENDS)}")
    check_frame_size(width, height)
    view = ViewOptions(width=width, height=height, fov=fov, yaw=yaw, pitch=pitch, orbit=orbit,
                       distance=distance, up=up, background=_parse_background(background))
    torch_device = resolve_device(device)
    splats = load_splats(avatar)

    rotation = translation = None
    motion_fps = None
    if motion is not None:
        loaded = artifacts.load_artifact(motion, artifacts.MOTION)
        motion_fps = float(loaded.meta.get("fps", 25.0))
        rotation, translation = loaded.tensors["head_rotation"], loaded.tensors["head_translation"]
    fps = fps if fps is not None else (motion_fps or 25.0)
    if not 1 <= fps <= 240:
        raise EmotalkError(f"--fps {fps} is out of range: use 1 to 240")
    sound = audio_info(audio) if audio is not None else None

    if rotation is not None:
        motion_seconds = rotation.shape[0] / motion_fps
        num_frames = max(1, round(motion_seconds * fps))
        index = torch.clamp((torch.arange(num_frames) * motion_fps / fps).long(), max=rotation.shape[0] - 1)
        rotation, translation = rotation[index], translation[index]  # resampled to the output rate
    elif sound is not None:
        num_frames = max(1, math.ceil(sound.seconds * fps - 1e-6))
    else:
        seconds = DEFAULT_DURATION if duration is None else duration
        if seconds <= 0:
            raise EmotalkError(f"--duration {seconds} must be positive")
        num_frames = max(1, round(seconds * fps))
    if suffix in IMAGE_SUFFIXES:
        num_frames = 1

    frames = render_scene(splats, view, num_frames, rotation, translation, backend=backend, device=torch_device)
    if suffix in IMAGE_SUFFIXES:
        write_png(output, next(frames), overwrite=force)
    else:
        with progress(quiet) as bar, VideoWriter(output, width, height, fps, audio=sound, overwrite=force) as video:
            task = bar.add_task("rendering", total=num_frames, unit="frames")
            for frame in frames:
                video.write(frame)
                bar.advance(task)
    if not quiet:
        seconds = time.perf_counter() - started
        stderr.print(f"wrote {output} ({num_frames} frame{'s' * (num_frames != 1)}, {width}x{height}, "
                     f"{len(splats)} Gaussians) in {seconds:.1f} s", markup=False)


def _parse_background(text: str) -> tuple[float, float, float]:
    named = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
    if text.lower() in named:
        return named[text.lower()]
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise EmotalkError(f"--background {text!r}: use white, black, or three numbers in 0..1 like 0.2,0.2,0.25")
    return values  # type: ignore[return-value]
