"""How close is a fitted avatar to what it was fitted to? (issue: the rigged head, "Fidelity")

Two measurements, PSNR (dB) and SSIM (11-tap Gaussian window, Wang et al. 2004):

1. Video, held-out frames. A known avatar (default: the shipped one) is rendered at 256 x 256 under
   known motion for 10 s at 25 fps: scripted ARKit and head-pose curves (speech-like jaw, smiles, brow
   raises, blinks, a pucker, head turns up to ~11 degrees, gaze; `--motion` takes an emotalk.motion
   file instead) through a known camera (the avatar's portrait framing: 25 degree vertical field of
   view, 0.72 m). Those frames are the ground truth. They are written as an H.264 mp4 (crf 12) and
   `emotalk fit-avatar --video` (the command, in a subprocess) fits a new avatar to it from
   `--max-frames` evenly sampled frames. The fitted avatar is then rendered for frames HELD OUT of
   the fit (evenly spread, none of the sampled ones) and compared with the ground truth.
   What is known and what is estimated: the fitted avatar lives in its own coordinate frame
   (its own identity shape, scale and camera), so the known motion cannot be applied to it as is.
   Each held-out frame's pose, expression and gaze are ESTIMATED the way fit-avatar estimates the
   sampled frames': the (decoded) video frame is tracked with MediaPipe and the rig is solved to its
   landmarks (`fit.solve.solve_head`), with the fitted avatar's identity and the fit's focal length
   held fixed (the fit records its camera in the avatar's metadata); then ("refined") that pose,
   expression and gaze are refined photometrically against the input video frame, inside the frame's
   own tracked face oval (`fit.refine.refine_pose`: ~60 numbers; the Gaussians, identity and camera
   stay the fit's). Nothing of the known motion or camera is given to the fit or to the held-out
   solve, and the ground-truth frames are only used to score. Both are reported, and the same for the
   sampled (fitted) frames for comparison. Why the refinement: landmarks register the rig to a pixel
   or two, which on a textured face costs several dB by itself (the ground-truth avatar, posed from
   landmarks on its own frames, scored ~25 dB).
2. Portrait. `emotalk fit-avatar --image` on scikit-image's astronaut.png (the default avatar's
   source); the result is rendered at the photo's tracked pose and expression (solved, and refined, as above) at
   the photo's own resolution and compared with the photo. This is a reconstruction of the one
   image it was fitted to, not a held-out view.

Regions: "face" is the inside of MediaPipe's face oval (FACE_LANDMARKS_FACE_OVAL: hairline, cheeks,
chin) tracked on the ground-truth frame / the photo; "frame" is the whole 256 x 256 frame, white
background included (it flatters the figure; the face is the one to read).

Run: .venv/bin/python evals/eval_fidelity.py [--avatar A] [--motion M] [--work DIR]   (make eval-fidelity)
Prints JSON on stdout (one object per compared frame, then a summary) and a summary on stderr. Takes
about 15 minutes on 2 busy CPU cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.artifacts import MOTION, load_artifact
from emotalk_cli.avatar import Avatar, load_avatar, pose_gaussians
from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.correspondence import load_landmark_map
from emotalk_cli.fit.photometric import inside_polygon
from emotalk_cli.fit.refine import refine_pose
from emotalk_cli.fit.solve import SolveConfig, solve_head
from emotalk_cli.fit.ssim import ssim_map
from emotalk_cli.fit.tracking import FaceTrack, face_oval_polygon, load_image, track_image
from emotalk_cli.render.frames import ViewOptions, render_avatar, to_uint8
from emotalk_cli.render.rasterize import rasterize
from emotalk_cli.render.video import VideoWriter

GOAL_DB = 30.0


# ---------------------------------------------------------------------------------------------
# Ground truth


def scripted_motion(frames: int, fps: float) -> dict[str, torch.Tensor]:
    """Deterministic motion [T, .]: a talking-like jaw, two smiles, brow raises, a frown, a pucker,
    blinks every ~3 s, slow head turns (yaw <= 0.2 rad, pitch <= 0.08, roll <= 0.05), small gaze."""
    t = torch.arange(frames, dtype=torch.float32) / fps
    arkit = torch.zeros(frames, len(facs.ARKIT_NAMES))

    def put(name: str, value: torch.Tensor) -> None:
        arkit[:, facs.ARKIT_INDEX[name]] = value.clamp(0, 1)

    def bump(centre: float, width: float) -> torch.Tensor:  # smooth 0 -> 1 -> 0 over about 2 * width seconds
        return torch.exp(-0.5 * ((t - centre) / (0.5 * width)) ** 2)

    syllables = 0.5 + 0.5 * torch.sin(2 * math.pi * 3.1 * t) * torch.sin(2 * math.pi * 0.37 * t + 0.4)
    put("jawOpen", 0.45 * syllables * (1 - bump(6.5, 1.2)))
    put("mouthLowerDownLeft", 0.3 * syllables)
    put("mouthLowerDownRight", 0.3 * syllables)
    smile = 0.8 * (bump(2.0, 1.5) + bump(8.5, 1.2))
    for side in ("Left", "Right"):
        put(f"mouthSmile{side}", smile)
        put(f"cheekSquint{side}", 0.5 * smile)
        put(f"browDown{side}", 0.7 * bump(5.0, 0.8))
        put(f"eyeBlink{side}", sum(bump(c, 0.15) for c in (1.2, 4.1, 7.3, 9.6)))
    put("browInnerUp", 0.8 * bump(3.3, 1.0))
    put("mouthPucker", 0.9 * bump(6.5, 1.0))
    rotation = torch.stack([
        0.08 * torch.sin(2 * math.pi * 0.23 * t + 1.0),  # pitch (about x)
        0.20 * torch.sin(2 * math.pi * 0.11 * t),  # yaw (about y)
        0.05 * torch.sin(2 * math.pi * 0.17 * t + 2.0),  # roll (about z)
    ], -1)
    translation = torch.stack([0.01 * torch.sin(2 * math.pi * 0.13 * t), 0.005 * torch.sin(2 * math.pi * 0.29 * t),
                               torch.zeros_like(t)], -1)
    gaze = torch.stack([0.1 * torch.sin(2 * math.pi * 0.21 * t), 0.05 * torch.sin(2 * math.pi * 0.31 * t)], -1)
    return {"arkit": arkit, "head_rotation": rotation, "head_translation": translation, "gaze": gaze}


def render_truth(avatar: Avatar, motion: dict[str, torch.Tensor], size: int) -> np.ndarray:
    """uint8 [T, size, size, 3]: the avatar under the motion, the avatar's own portrait camera."""
    view = ViewOptions(width=size, height=size)
    frames = render_avatar(avatar, view, motion["arkit"], motion["head_rotation"], motion["head_translation"],
                           motion["gaze"])
    return np.stack(list(frames))


def write_video(path: Path, frames: np.ndarray, fps: float) -> None:
    with VideoWriter(path, frames.shape[2], frames.shape[1], fps, overwrite=True, crf=12) as writer:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))


def read_all_frames(path: Path) -> np.ndarray:
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = [np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy() for raw in reader]
    reader.close()
    return np.stack(frames)


# ---------------------------------------------------------------------------------------------
# The fitted avatar, posed for a frame by tracking and solving (identity and focal length fixed)


def solve_frame(avatar: Avatar, track: FaceTrack, focal_px: float, landmark_map):
    """The rig's pose, expression and gaze and the camera for one tracked frame (HeadFit of 1 frame)."""
    config = SolveConfig(focal_px=focal_px, fit_identity=False)
    return solve_head([track], avatar.template, landmark_map, config)


def render_fit(avatar: Avatar, head_fit, width: int, height: int) -> np.ndarray:
    """uint8 [H, W, 3] of the avatar at a solved frame, through the solved camera, white background."""
    with torch.no_grad():
        means, quats, scales = pose_gaussians(avatar, head_fit.arkit, head_fit.head_rotation,
                                              head_fit.head_translation, head_fit.gaze)
        rgb, _ = rasterize(means[0], quats[0], scales[0], avatar.opacities, avatar.sh, head_fit.viewmat[None],
                           head_fit.K[None], width, height, sh_degree=avatar.sh_degree, background=torch.ones(3))
    return to_uint8(rgb[0])


def polygon_mask(polygon: np.ndarray, width: int, height: int) -> np.ndarray:
    """bool [H, W]: pixel centres inside the polygon [n, 2] (pixels, centres at +0.5)."""
    return inside_polygon(polygon, width, height)


def compare(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray | None) -> tuple[float, float]:
    """PSNR (dB) and mean SSIM of uint8 images [H, W, 3] over a bool mask [H, W] (None: everywhere)."""
    x = torch.from_numpy(pred).float().permute(2, 0, 1)[None] / 255
    y = torch.from_numpy(truth).float().permute(2, 0, 1)[None] / 255
    m = torch.ones(1, 1, *pred.shape[:2]) if mask is None else torch.from_numpy(mask).float()[None, None]
    area = m.sum().clamp_min(1.0)
    mse = (((x - y) ** 2) * m).sum() / (3 * area)
    s = (ssim_map(x, y) * m).sum() / (3 * area)
    return float(-10 * torch.log10(mse.clamp_min(1e-10))), float(s)


def score(avatar, frame: np.ndarray, truth: np.ndarray, focal: float, lmap, refine_steps: int) -> dict:
    """Track `frame`, solve the avatar to it (landmarks; then refined photometrically against `frame`),
    render, compare with `truth` (face oval and whole frame)."""
    track = track_image(frame)
    height, width = truth.shape[:2]
    face = polygon_mask(face_oval_polygon(track_image(truth)), width, height)
    fit = solve_frame(avatar, track, focal, lmap)
    row = {"landmark_error_px": round(float(fit.reprojection_error_px[0]), 3), "face_pixels": int(face.sum())}
    images = {}
    fits = {"landmarks": fit}
    if refine_steps > 0:  # the loss sees the input frame's own tracked face oval, never the truth
        fits["refined"] = refine_pose(avatar, frame, fit, polygon_mask(face_oval_polygon(track), width, height),
                                      steps=refine_steps)
    for name, posed in fits.items():
        pred = render_fit(avatar, posed, width, height)
        psnr_face, ssim_face = compare(pred, truth, face)
        psnr_all, ssim_all = compare(pred, truth, None)
        row[name] = {"psnr_face_db": round(psnr_face, 2), "ssim_face": round(ssim_face, 4),
                     "psnr_frame_db": round(psnr_all, 2), "ssim_frame": round(ssim_all, 4)}
        images[name] = pred
    row["_images"] = images
    return row


# ---------------------------------------------------------------------------------------------


def run_fit(args: list[str], log) -> float:
    """Run `emotalk fit-avatar ARGS` in a subprocess; seconds taken."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "emotalk_cli", "fit-avatar", *args, "--force", "--quiet"]
    log("running: emotalk " + " ".join(command[3:]))
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"fit-avatar failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return time.perf_counter() - started


def summary_of(rows: list[dict]) -> dict:
    keys = ("psnr_face_db", "ssim_face", "psnr_frame_db", "ssim_frame")
    out = {"frames": len(rows), "mean_landmark_error_px": round(float(np.mean([r["landmark_error_px"] for r in rows])), 3)}
    for pose in ("landmarks", "refined"):
        if pose in rows[0]:
            out[pose] = {**{f"mean_{k}": round(float(np.mean([r[pose][k] for r in rows])), 3) for k in keys},
                         "min_psnr_face_db": round(float(np.min([r[pose]["psnr_face_db"] for r in rows])), 2)}
    return out


def astronaut_path() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-image is not installed (it ships astronaut.png): .venv/bin/pip install scikit-image")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--avatar", type=Path, default=None, help="the known avatar (default: the shipped one)")
    parser.add_argument("--motion", type=Path, default=None, help="an emotalk.motion file (default: scripted curves)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--max-frames", type=int, default=8, help="fit-avatar --max-frames")
    parser.add_argument("--iterations", type=int, default=None, help="fit-avatar --iterations (default: its own)")
    parser.add_argument("--held-out", type=int, default=20, help="held-out frames to compare")
    parser.add_argument("--refine-steps", type=int, default=80,
                        help="photometric pose refinement steps per compared frame (0: landmark solve only)")
    parser.add_argument("--no-portrait", action="store_true", help="skip the portrait measurement")
    parser.add_argument("--work", type=Path, default=None, help="keep the video, avatars and comparison PNGs here")
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    work = args.work or Path(tempfile.mkdtemp(prefix="emotalk-fidelity-"))
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)  # the rasterizer has its own threads (see fit/photometric.py)
    truth_avatar = load_avatar(args.avatar)
    if args.motion is not None:
        loaded = load_artifact(args.motion, MOTION)
        motion = {k: loaded.tensors[k].float() for k in ("arkit", "head_rotation", "head_translation", "gaze")}
        fps = float(loaded.meta.get("fps", args.fps))
    else:
        fps = args.fps
        motion = scripted_motion(int(round(args.seconds * fps)), fps)
    count = motion["arkit"].shape[0]
    log(f"rendering the ground truth: {count} frames at {args.size}x{args.size}, {fps:g} fps")
    truth = render_truth(truth_avatar, motion, args.size)
    video = work / "truth.mp4"
    write_video(video, truth, fps)
    decoded = read_all_frames(video)
    if len(decoded) != count:
        raise SystemExit(f"the video decodes to {len(decoded)} frames, {count} were written")

    fitted_path = work / "fitted_video.safetensors"
    fit_args = ["--video", str(video), "--max-frames", str(args.max_frames), "-o", str(fitted_path)]
    if args.iterations is not None:
        fit_args += ["--iterations", str(args.iterations)]
    seconds = run_fit(fit_args, log)
    fitted = load_avatar(fitted_path)
    camera = fitted.meta.get("fit", {}).get("camera")
    sampled = fitted.meta.get("source", {}).get("frame_indices")
    if camera is None or sampled is None:
        raise SystemExit(f"{fitted_path} does not record the fit's camera and frames: remake it with this emotalk")
    focal = float(camera["focal_px"])
    spare = [i for i in range(count) if i not in set(sampled)]
    held_out = [spare[int(k)] for k in np.linspace(0, len(spare) - 1, min(args.held_out, len(spare))).round()]
    lmap = load_landmark_map(num_faces=fitted.template.faces.shape[0])
    results = {"held_out": [], "fitted": []}
    strips = []
    for kind, indices in (("held_out", held_out), ("fitted", sampled)):
        for index in indices:
            try:
                row = score(fitted, decoded[index], truth[index], focal, lmap, args.refine_steps)
            except EmotalkError as err:
                log(f"frame {index}: {err}")
                continue
            images = row.pop("_images")
            if kind == "held_out" and len(strips) < 6:
                strips.append(np.concatenate([truth[index], *images.values()], 1))
            row.update(kind=kind, frame=index, time_s=round(index / fps, 3))
            results[kind].append(row)
            print(json.dumps(row), flush=True)
    if strips:
        from emotalk_cli.render.video import write_png

        write_png(work / "held_out_truth_vs_fit.png", np.concatenate(strips, 0), overwrite=True)

    summary = {"eval": "fidelity", "avatar": str(args.avatar or "default"), "motion": str(args.motion or "scripted"),
               "size": args.size, "frames": count, "fps": fps, "fit_seconds": round(seconds, 1),
               "fit_frames": sampled, "focal_px": focal,
               "held_out": summary_of(results["held_out"]) if results["held_out"] else None,
               "fitted_frames": summary_of(results["fitted"]) if results["fitted"] else None,
               "goal_psnr_db": GOAL_DB}

    if not args.no_portrait:
        photo_path = astronaut_path()
        portrait_path = work / "fitted_portrait.safetensors"
        portrait_args = ["--image", str(photo_path), "-o", str(portrait_path)]
        if args.iterations is not None:
            portrait_args += ["--iterations", str(args.iterations)]
        seconds_portrait = run_fit(portrait_args, log)
        portrait = load_avatar(portrait_path)
        photo = load_image(photo_path)
        row = score(portrait, photo, photo, float(portrait.meta["fit"]["camera"]["focal_px"]), lmap, args.refine_steps)
        images = row.pop("_images")
        from emotalk_cli.render.video import write_png

        write_png(work / "portrait_photo_vs_fit.png", np.concatenate([photo, *images.values()], 1), overwrite=True)
        summary["portrait"] = {**row, "fit_seconds": round(seconds_portrait, 1), "size": list(photo.shape[1::-1]),
                               "fit_reported": {k: portrait.meta["fit"].get(k) for k in ("psnr_db", "ssim")}}
    print(json.dumps(summary), flush=True)

    log(f"video: fitted on {len(sampled)} of {count} frames in {summary['fit_seconds']} s (goal {GOAL_DB} dB on held-out frames)")
    for kind, title in (("held_out", "held-out frames"), ("fitted_frames", "fitted frames")):
        part = summary[kind] or {}
        for pose, how in (("landmarks", "pose from landmarks"), ("refined", "pose refined photometrically")):
            if pose in part:
                p = part[pose]
                log(f"  {title} ({part['frames']}), {how}: face PSNR {p['mean_psnr_face_db']} dB (min "
                    f"{p['min_psnr_face_db']}), SSIM {p['mean_ssim_face']}; whole frame {p['mean_psnr_frame_db']} dB, "
                    f"SSIM {p['mean_ssim_frame']}")
    if "portrait" in summary:
        p = summary["portrait"]
        for pose in ("landmarks", "refined"):
            if pose in p:
                log(f"portrait (astronaut.png, inside its tracked face oval, {p['face_pixels']} px), pose from {pose}: "
                    f"PSNR {p[pose]['psnr_face_db']} dB, SSIM {p[pose]['ssim_face']} (whole photo "
                    f"{p[pose]['psnr_frame_db']} dB: the background is not modelled)")
    log(f"files in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
