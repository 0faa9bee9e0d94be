"""Animate the avatar from speech audio and an emotion: audio -> motion (AU-prompted diffusion) -> mp4.

Examples:

  emotalk animate --audio a.wav --emotion "gently amused"

  emotalk animate --audio a.wav --au AU12=0.6,AU6=0.4 --strength 1.5 -o smile.mp4

  emotalk text2au "calm at first, then furious" -o - | emotalk animate --audio a.wav --au-track - -o angry.mp4

  emotalk animate --audio a.wav --seed 3 --head-motion 0 --no-blinks -o still.mp4

  emotalk animate --audio a.wav --motion-only --motion-out motion.safetensors --csv motion.csv

  emotalk render --motion motion.safetensors --audio a.wav -o out.mp4     (render a saved motion later)

  emotalk animate --audio talk.m4a -o talk.mp4      (m4a, mp3, opus, webm, or the sound of a video file)

  cat a.wav | emotalk animate --audio - -o - | ffmpeg -i - -c copy out.mkv    (stdin in, fragmented mp4 out)

  emotalk animate --audio a.wav --background transparent -o talk.webm   (VP9 with alpha)

  emotalk animate --audio a.wav --background "#203040" -o talk.mp4

The emotion comes from --emotion (free text through text2au, spread over the audio), --au (a constant
expression) or --au-track (an emotalk.au_track file from `emotalk text2au -o`; '-' reads stdin; a
track made with text2au's default 1 s per clause is spread over the audio); none gives a neutral
face. --strength is the classifier-free guidance scale: 1 shows the emotion as prompted, more
exaggerates it, 0 leaves it to the model. --lip-strength is the guidance scale on the audio: how
crisply the lips follow the speech (the motion model's file sets the default, 2 for the shipped one;
1 is the plain model, which mumbles a little). The same inputs and --seed give the same motion; blinks,
gaze and head motion change with the seed. The video lasts as long as the audio, carries it, and
starts and ends on a calm face: head, eyes and brows at rest, the emotion faded in and out, and the
mouth at rest unless the audio itself starts or ends mid-word (then the lips follow it from the first
frame; --silence-pad 0 holds them shut there instead). --csv writes the motion as ARKit blendshapes in the Live Link Face
CSV layout (Unreal, Blender, Maya importers).

--background sets what is behind the head: a colour (white, black, #rrggbb, #rgb, R,G,B in 0..1) or
transparent: RGBA frames in a .webm (VP9 with alpha, opus audio) or .mov (ProRes 4444 with alpha, aac
audio); .mp4 (h264) has no alpha and is refused, and without -o a transparent video is named .webm.
.webm with a colour is VP9 too. VP9's alpha is read by browsers and by ffmpeg with `-c:v libvpx-vp9`
before `-i` (its native vp9 decoder drops it).

--audio reads wav, flac and ogg directly and anything else the shipped ffmpeg decodes (m4a/aac, mp3,
opus/webm, the sound of mp4/mov/mkv videos), streamed, so an hour of audio takes no more memory than
a minute; '-' reads the audio from stdin. '-' as -o, --motion-out or --csv writes that output to
stdout (one of them at most): the video as fragmented mp4, which ffmpeg and players read from a
pipe, or as webm with --format webm; progress and messages stay on stderr. Samples that are NaN or infinite are read as silence,
with one warning.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer

from emotalk_cli.cli.common import (check_stdout_outputs, fail, parse_assignments, progress, refuse_existing,
                                    render_backend, reported_errors, stderr, warn)
from emotalk_cli.cli.photo import PhotoOptions, photo_frame_size, photo_framing, posed_channels
from emotalk_cli.errors import EmotalkError

MAX_STEPS = 25  # the sampler's ceiling (motion.generate.MAX_STEPS)
LIP_SAMPLES = 4  # motion.generate.GenerateOptions.lip_samples
MAX_LIP_SAMPLES = 16
SILENCE_PAD = 2  # motion.generate.GenerateOptions.silence_pad
FORMATS = {"mp4": ".mp4", "webm": ".webm", "mov": ".mov"}  # --format -> the video suffix it stands for
MAX_SILENCE_PAD = 25


def animate(
    audio: Path = typer.Option(..., "--audio", help="Speech audio: wav, flac, ogg, m4a, mp3, opus, webm, or a video file's sound (mp4, mov, mkv); any sample rate and channels; '-' reads it from stdin."),
    emotion: Optional[str] = typer.Option(None, "--emotion", "-e", help="Emotion as free text, e.g. 'gently amused' (through text2au)."),
    au: Optional[str] = typer.Option(None, "--au", help="Emotion as action units, e.g. AU12=0.6,AU6=0.4 (intensities 0..1)."),
    au_track: Optional[str] = typer.Option(None, "--au-track", help="AU track file (emotalk text2au -o); '-' reads it from stdin."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Video to write: .mp4, .webm, .mov or .mkv (default: the audio's name with .mp4, .webm when transparent); '-' streams it to stdout as fragmented mp4 (see --format)."),
    output_format: Optional[str] = typer.Option(None, "--format", help="Video container: mp4, webm or mov (default: from -o's suffix; mp4 for -o -; webm streams too)."),
    background: Optional[str] = typer.Option(None, "--background", help="photo (the avatar's own, the default when it has one), white, black, #rrggbb, R,G,B in 0..1, or transparent (RGBA: .webm or .mov; not .mp4) [default: photo, else white]."),
    avatar: Optional[Path] = typer.Option(None, "--avatar", "-a", help="Avatar (.safetensors) [default: weights/default_avatar.safetensors]."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Motion model [default: weights/motion.safetensors]."),
    strength: float = typer.Option(1.0, "--strength", help="How strongly the emotion shows (classifier-free guidance scale, 0..5)."),
    lip_strength: Optional[float] = typer.Option(None, "--lip-strength", help="How strongly the lips follow the speech (guidance scale on the audio, 0..5) [default: the motion model's]."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same inputs and seed give the same motion."),
    steps: int = typer.Option(20, "--steps", help=f"Sampler steps (1..{MAX_STEPS})."),
    lip_samples: int = typer.Option(LIP_SAMPLES, "--lip-samples", help=f"Mouth = median of this many samples (1..{MAX_LIP_SAMPLES}; 1 is fastest)."),
    silence_pad: int = typer.Option(SILENCE_PAD, "--silence-pad", help=f"Frames of silence the model hears before and after the audio (0..{MAX_SILENCE_PAD}), so audio that starts mid-word opens the mouth on frame 0; 0 holds the mouth at rest on the first and last frames."),
    head_motion: float = typer.Option(1.0, "--head-motion", help="Scale of head motion (0 keeps the head still)."),
    blinks: bool = typer.Option(True, "--blinks/--no-blinks", help="Natural blinks."),
    motion_out: Optional[Path] = typer.Option(None, "--motion-out", help="Also write the motion (emotalk.motion .safetensors); '-' writes it to stdout."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Also write the motion as Live Link Face ARKit CSV; '-' writes it to stdout."),
    motion_only: bool = typer.Option(False, "--motion-only", help="Stop after the motion (write --motion-out / --csv, no video)."),
    size: Optional[int] = typer.Option(None, "--size", help="Frame size in pixels (even): the square's side, or the photo framing's long side [default: 512]."),
    head_yaw: float = typer.Option(0.0, "--head-yaw", help="Turn the head by this many degrees (+ to its own left), on top of its motion."),
    head_pitch: float = typer.Option(0.0, "--head-pitch", help="Tilt the head by this many degrees (+ chin up), on top of its motion."),
    head_path: Optional[Path] = typer.Option(None, "--head-path", help="Head turns over time, on top of its motion: a JSON file "
                                             "of keyframes {time, yaw, pitch} in degrees, as render --camera's."),
    framing: str = typer.Option("auto", "--framing", help="photo: the photo's camera and scene, the head moving about the photo's "
                                "own pose; head: the head alone; auto: photo when the avatar has one."),
    backend: str = typer.Option("auto", "--backend", help="Rasterizer: auto (gsplat on CUDA, else cpu), gsplat, cpu, reference."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite outputs that exist."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    sources = [name for name, value in (("--emotion", emotion), ("--au", au), ("--au-track", au_track)) if value is not None]
    if len(sources) > 1:
        raise fail(f"{' and '.join(sources)} both set the emotion: give only one", code=2)
    if not 1 <= steps <= MAX_STEPS:
        raise fail(f"--steps {steps} is out of range: use 1 to {MAX_STEPS}", code=2)
    if not 1 <= lip_samples <= MAX_LIP_SAMPLES:
        raise fail(f"--lip-samples {lip_samples} is out of range: use 1 to {MAX_LIP_SAMPLES}", code=2)
    if not 0 <= silence_pad <= MAX_SILENCE_PAD:
        raise fail(f"--silence-pad {silence_pad} is out of range: use 0 to {MAX_SILENCE_PAD}", code=2)
    if not 0.0 <= strength <= 5.0:
        raise fail(f"--strength {strength} is out of range: use 0 to 5", code=2)
    if lip_strength is not None and not 0.0 <= lip_strength <= 5.0:
        raise fail(f"--lip-strength {lip_strength} is out of range: use 0 to 5", code=2)
    if not 0.0 <= head_motion <= 5.0:
        raise fail(f"--head-motion {head_motion} is out of range: use 0 (still) to 5", code=2)
    if motion_only and motion_out is None and csv is None:
        raise fail("--motion-only writes no video: add --motion-out motion.safetensors and/or --csv motion.csv", code=2)
    if motion_only and output is not None:
        raise fail("--motion-only writes no video: drop -o, or drop --motion-only", code=2)
    if str(audio) == "-" and au_track == "-":
        raise fail("--audio - and --au-track - both read stdin: give one of them as a file", code=2)
    if str(audio) == "-" and output is None and not motion_only:
        raise fail("--audio - has no file name to name the video after: give -o out.mp4 (or -o - for stdout)", code=2)
    if output_format is not None and output_format.lower() not in FORMATS:
        raise fail(f"--format {output_format}: use one of {', '.join(FORMATS)}", code=2)
    try:
        chosen = _parse_background(background)
    except EmotalkError as err:
        raise fail(str(err), code=2) from None
    try:
        check_stdout_outputs({"-o": output, "--motion-out": motion_out, "--csv": csv}, binary=("-o", "--motion-out"))
    except EmotalkError as err:
        raise fail(str(err), code=2) from None
    with reported_errors():
        _animate(audio, emotion, au, au_track, output, output_format, chosen, avatar, weights, strength, lip_strength,
                 seed, steps, lip_samples, silence_pad, head_motion, blinks, motion_out, csv, motion_only,
                 PhotoOptions(False, head_yaw, head_pitch, framing, size, head_path=head_path), backend, device, force, quiet)


def _parse_background(text: Optional[str]):
    """--background -> render.background.Background, or None when not given (the avatar's default)."""
    from emotalk_cli.render.background import parse_background

    return None if text is None else parse_background(text)


def _animate(audio, emotion, au, au_track, output, output_format, chosen, avatar, weights, strength, lip_strength,
             seed, steps, lip_samples, silence_pad, head_motion, blinks, motion_out, csv, motion_only, photo, backend,
             device, force, quiet) -> None:
    from emotalk_cli.audio.features import checked_audio_info
    from emotalk_cli.audio.io import opened_audio
    from emotalk_cli.device import resolve_device
    from emotalk_cli.render.video import VIDEO_SUFFIXES, check_frame_size, check_video_output, is_stdout

    started = time.perf_counter()
    video = None  # (the avatar, its background, the container) when a video is made
    if not motion_only:
        alpha = chosen is not None and chosen.alpha
        suffix = FORMATS[output_format.lower()] if output_format else (".webm" if alpha else ".mp4")
        output = output or audio.with_suffix(suffix)
        if not is_stdout(output) and output.suffix.lower() not in VIDEO_SUFFIXES:
            raise EmotalkError(f"-o {output}: end it in .mp4, .webm or .mov (video); for motion alone use "
                               "--motion-only --motion-out")
        if output_format and not is_stdout(output) and output.suffix.lower() != suffix:
            raise EmotalkError(f"-o {output} does not end in {suffix} as --format {output_format} asks: rename it, "
                               "or leave out --format")
        container = check_video_output(output, alpha, (output_format or "mp4").lower() if is_stdout(output) else None)
        check_frame_size(512 if photo.size is None else photo.size, 512 if photo.size is None else photo.size)
    refuse_existing(None if motion_only else output, motion_out, csv, force=force)
    if not motion_only:  # before the motion is sampled: a bad avatar or background fails first
        from emotalk_cli.render.background import resolve_background

        subject = _load_avatar(avatar)
        label = "the default avatar" if avatar is None else str(avatar)
        if photo.head_path is not None:  # read before any work: a bad file fails first
            from dataclasses import replace

            from emotalk_cli.cli.photo import load_head_path

            photo = replace(photo, head_path=load_head_path(photo.head_path))
        in_photo = photo_framing(subject, photo, label, [])
        if in_photo:
            frame = photo_frame_size(subject.scene, photo)
            check_frame_size(*frame)
            backdrop = resolve_background(chosen, subject, label)
        elif chosen is not None and chosen.photo and subject.scene is not None:
            raise EmotalkError("--background photo draws the photo's scene, which --framing head leaves out: use a colour or transparent")
        else:
            frame = (512, 512) if photo.size is None else (photo.size, photo.size)
            backdrop = resolve_background(chosen, subject if chosen is not None else None, label)
        video = (subject, backdrop, container, in_photo, photo, frame)
    torch_device = resolve_device(device)
    if not motion_only:  # before the motion is sampled: a gsplat that cannot run fails (or warns) first
        backend, render_device = render_backend(backend, torch_device, quiet)
    with opened_audio(audio) as sound:  # '-': stdin spooled to a temporary file, kept until the video is written
        _animate_sound(checked_audio_info(sound), audio, emotion, au, au_track, output, video, weights, strength,
                       lip_strength, seed, steps, lip_samples, silence_pad, head_motion, blinks, motion_out, csv,
                       motion_only, backend, torch_device, render_device if not motion_only else None,
                       force, quiet, started)


def _animate_sound(sound, audio, emotion, au, au_track, output, video, weights, strength, lip_strength, seed, steps,
                   lip_samples, silence_pad, head_motion, blinks, motion_out, csv, motion_only, backend,
                   torch_device, render_device, force, quiet, started) -> None:
    """From the opened audio on: features, motion, outputs. Outputs to stdout go last, so a failure
    before them leaves stdout empty."""
    from emotalk_cli import artifacts, facs
    from emotalk_cli.audio.features import file_features, frame_count
    from emotalk_cli.audio.io import AudioReport
    from emotalk_cli.motion.denoiser import load_model
    from emotalk_cli.motion.generate import (GenerateOptions, chunk_spans, default_lip_strength, feature_config,
                                             generate_motion_from_features)
    from emotalk_cli.motion.livelink import write_livelink_csv
    from emotalk_cli.render.video import is_stdout

    model = load_model(weights, torch_device)
    fps = model.config.fps
    seconds = sound.seconds
    num_frames = frame_count(seconds, fps)
    report = AudioReport()
    features = file_features(sound, num_frames, feature_config(model), report=report)  # streamed: never held whole
    if (message := report.warning(f"--audio {sound.label}")) is not None:
        warn(message)  # once, however many blocks had NaN or inf
    prompt = _prompt(emotion, au, au_track, seconds, num_frames, fps, torch_device)

    if lip_strength is None:
        lip_strength = default_lip_strength(model)
    options = GenerateOptions(steps=steps, strength=strength, lip_strength=lip_strength, seed=seed,
                              head_motion=head_motion, blinks=blinks, lip_samples=lip_samples, silence_pad=silence_pad)
    sample_started = time.perf_counter()
    with progress(quiet) as bar:
        passes = len(chunk_spans(num_frames, options.chunk, options.chunk_overlap))  # a minute of audio each
        task = bar.add_task("sampling motion", total=steps * passes * lip_samples, unit="steps")
        motion = generate_motion_from_features(model, features, prompt, options,
                                               callback=lambda info: bar.advance(task))
    sample_seconds = time.perf_counter() - sample_started

    meta = {"command": "animate", "audio": "stdin" if str(audio) == "-" else audio.name, "fps": fps, "arkit_names": list(facs.ARKIT_NAMES),
            "emotion": emotion, "au": au, "au_track": au_track, "strength": strength, "lip_strength": lip_strength, "seed": seed, "steps": steps, "lip_samples": lip_samples,
            "silence_pad": silence_pad, "head_motion": head_motion, "blinks": blinks,
            "weights": Path(weights).name if weights else "motion.safetensors"}
    if motion_out is not None and not is_stdout(motion_out):
        artifacts.save_artifact(motion_out, artifacts.MOTION, motion, meta, overwrite=force)
    if csv is not None and not is_stdout(csv):
        write_livelink_csv(csv, motion, fps, overwrite=force)
    if not motion_only:
        _render(motion, *video, output, sound, fps, backend, render_device, force, quiet)
    if is_stdout(motion_out) or is_stdout(csv):
        _write_stdout(motion, meta, fps, csv=is_stdout(csv))
    if not quiet:
        written = ", ".join("stdout" if is_stdout(p) else str(p)
                            for p in (None if motion_only else output, motion_out, csv) if p is not None)
        stderr.print(f"wrote {written} ({num_frames} frames at {fps:g} fps for {seconds:.2f} s of audio; motion sampled "
                     f"in {sample_seconds:.2f} s, total {time.perf_counter() - started:.1f} s)", markup=False, soft_wrap=True)


def _prompt(emotion, au, au_track, seconds: float, num_frames: int, fps: float, device="cpu"):
    """The per-frame AU prompt [T, 24] from whichever emotion option was given (zeros for none)."""
    import torch

    from emotalk_cli import facs
    from emotalk_cli.motion.generate import au_frames

    if au is not None:
        values = parse_assignments(au, "--au")
        for name, value in values.items():
            if not 0.0 <= value <= 1.0:
                raise EmotalkError(f"--au {name}={value}: intensities go from 0 to 1")
        try:
            return facs.au_vector(values)[None].expand(num_frames, -1).clone()
        except ValueError as err:
            raise EmotalkError(f"--au: {err}") from None
    if emotion is not None:
        from emotalk_cli.text2au import InferOptions, load_model, text_to_keyframes

        [keyframes] = text_to_keyframes(load_model(device=device), [emotion], InferOptions(duration=seconds))
        for message in keyframes.warnings:
            warn(f"--emotion: {message}")
        return au_frames(keyframes.times, keyframes.au, num_frames, fps)
    if au_track is not None:
        track = _load_track(au_track)
        times = track.tensors["times"]
        if track.meta.get("command") == "text2au" and track.meta.get("duration") is None and len(times) > 1:
            times = torch.arange(len(times), dtype=torch.float32) * (seconds / len(times))  # spread over the audio
        return au_frames(times, track.tensors["au"], num_frames, fps)
    return torch.zeros(num_frames, facs.NUM_AUS)


def _load_track(source: str):
    from emotalk_cli import artifacts

    if source != "-":
        return artifacts.load_artifact(source, artifacts.AU_TRACK)
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    if not data:
        raise EmotalkError("--au-track -: nothing on stdin; pipe a track in: emotalk text2au \"...\" -o - | emotalk animate ...")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "au.safetensors"
        path.write_bytes(data)
        track = artifacts.load_artifact(path, artifacts.AU_TRACK)
    return track


def _write_stdout(motion, meta: dict, fps: float, csv: bool) -> None:
    """The motion (emotalk.motion safetensors bytes) or its Live Link Face CSV, complete, to stdout."""
    from emotalk_cli import artifacts
    from emotalk_cli.motion.livelink import write_livelink_csv
    from emotalk_cli.render.video import write_stream

    with tempfile.TemporaryDirectory(prefix="emotalk-out-") as folder:
        path = Path(folder) / ("motion.csv" if csv else "motion.safetensors")
        if csv:
            write_livelink_csv(path, motion, fps)
        else:
            artifacts.save_artifact(path, artifacts.MOTION, motion, meta)
        write_stream(path.read_bytes())


def _load_avatar(avatar_path):
    """The rigged avatar to animate (the default one when `avatar_path` is None); a static .ply is refused."""
    from emotalk_cli.avatar import DEFAULT_AVATAR, is_avatar_file, load_avatar

    path = avatar_path or DEFAULT_AVATAR
    if avatar_path is None and not DEFAULT_AVATAR.is_file():
        raise EmotalkError(f"the default avatar {DEFAULT_AVATAR} is missing: run `make weights-avatar`, or give --avatar")
    if not (path.suffix.lower() == ".safetensors" and path.is_file() and is_avatar_file(path)):
        raise EmotalkError(f"--avatar {path}: not a rigged avatar (.safetensors from emotalk fit-avatar); "
                           "a static .ply cannot follow a face's motion")
    return load_avatar(path)


def _render(motion, subject, background, container, in_photo, photo, frame, output, sound, fps, backend, device, force,
            quiet) -> None:
    from emotalk_cli.render.frames import ViewOptions, render_avatar
    from emotalk_cli.render.video import VideoWriter

    width, height = frame
    view = ViewOptions(width=width, height=height, background=background.rgb, transparent=background.transparent,
                       photo=in_photo, scene_background=background.photo)
    from dataclasses import replace

    motion = posed_channels(subject, motion, None, replace(photo, fps=fps), in_photo, around="photo")
    num_frames = motion["arkit"].shape[0]
    frames = render_avatar(subject, view, motion["arkit"], motion["head_rotation"], motion["head_translation"],
                           motion["gaze"], backend=backend, device=device)
    with progress(quiet) as bar, VideoWriter(output, width, height, fps, audio=sound, overwrite=force, cut_to_audio=False,
                                             alpha=background.alpha, container=container) as video:
        task = bar.add_task("rendering", total=num_frames, unit="frames")
        for frame in frames:
            video.write(frame)
            bar.advance(task)
