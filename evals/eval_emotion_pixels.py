"""Does the emotion reach the pixels? Animate, render, and read the video back with a face tracker.

    python evals/eval_emotion_pixels.py [--weights W] [--avatar A] [--audio examples/hello.wav]   (make eval-emotion)

For each prompt (joy, anger, surprise, sadness) the motion model animates one speech clip, the avatar
is rendered frame by frame (render.frames.render_avatar, 512x512 by default, as `emotalk animate`),
and MediaPipe FaceLandmarker (fit.tracking.track_frames, VIDEO mode: one tracker per clip, as it would
read a video) scores ARKit blendshapes in every rendered frame. The mean scores over the clip (its
prompt fade-in/out at the ends left out) are compared with the same clip animated with a neutral
prompt, same seed. Expected (ICT-FaceKit's AU -> ARKit table, EMFACS prototypes):
  joy      -> mouthSmile up                          (AU12)
  anger    -> browDown up                            (AU4)
  surprise -> browInnerUp, browOuterUp, eyeWide up   (AU1, AU2, AU5)
  sadness  -> browInnerUp, mouthFrown up             (AU1, AU15)
"Moves the right way" passes when the mean rise of an emotion's expected channels is at least
MARGIN (0.05 on MediaPipe's 0..1 scores) and at least twice the same channels' |rise| between two
neutral clips that differ only in seed (`noise`: what seeds alone move the read-out by).

Prompts, two sources (`--prompts`, default both): `facs`, the EMFACS prototypes of
facs.EMOTION_PROTOTYPES (happiness for joy) as a constant --au prompt; `text2au`, the shipped emotion
controller on the words "joy", "anger", "surprise", "sadness" (the path of `animate --emotion`).
Beside every read-out the motion's own rise of the same channels (`motion_rise`, what the model asked
the avatar for) tells a weak model from an avatar/renderer that does not show it.

Measured (2026-11-24, the shipped weights/motion.safetensors of 18:32; examples/hello.wav, 4.24 s,
512 px, every 2nd frame of the core: 45 frames a clip, a face found in all; ~200-300 s on 2 busy cores, 22 s
on 2 idle cores since the numba posing of session 3, with the same 6 of 8).
Rise of the expected read-out over neutral, facs / text2au prompts (seed noise 0.001-0.006), and the
motion's own rise of the same channels (facs):
  avatar of 20:08 (working tree at 8a8b52a): 6 of 8 move the right way
    joy       +0.599 / +0.486   ok    (motion +0.89)
    anger     +0.218 / +0.150   ok    (motion +0.96; eyeSquint +0.26-0.30 rises most)
    surprise  +0.323 / +0.247   ok    (motion +0.74; browInnerUp +0.58, browOuterUp +0.44-0.48, eyeWide +0.05-0.07)
    sadness   +0.021 / +0.010   NO    (motion +0.90, but read as mouthPucker +0.68 and browDown +0.16;
                                       browInnerUp -0.004, mouthFrown +0.03)
  2026-11-25, the model with rest starts and the avatar with defined brows (make weights-avatar), 28 s
  on 2 idle cores: 6 of 8; joy +0.537 / +0.489, anger +0.481 / +0.422 (browDown now read on both
  sides), surprise +0.339 / +0.193, sadness +0.008 / +0.005 NO (read as mouthPucker +0.66-0.71).
  avatar of 18:04 (commit 1a44830): also 6 of 8, weaker (joy +0.45, anger +0.07 with mouthSmile +0.22
    rising more than browDown, surprise +0.14, sadness +0.008); at rest it read mouthSmile 0.48.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from emotalk_cli import facs

ROOT = Path(__file__).resolve().parents[1]
EXPECTED: dict[str, tuple[str, ...]] = {
    "joy": ("mouthSmileLeft", "mouthSmileRight"),
    "anger": ("browDownLeft", "browDownRight"),
    "surprise": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight"),
    "sadness": ("browInnerUp", "mouthFrownLeft", "mouthFrownRight"),
}
PROTOTYPE_OF = {"joy": "happiness", "anger": "anger", "surprise": "surprise", "sadness": "sadness"}
MARGIN = 0.05


_TEXT2AU: list = []  # the controller, loaded once


def prompt_vector(emotion: str, source: str, seconds: float) -> torch.Tensor:
    """The constant AU prompt [24] for `emotion` from `source` ('facs' or 'text2au'; one clause, so
    text2au's keyframes are one constant prompt and their mean is it)."""
    if source == "facs":
        return facs.prototype_vector(PROTOTYPE_OF[emotion])
    from emotalk_cli.text2au import InferOptions, load_model, text_to_keyframes

    if not _TEXT2AU:
        _TEXT2AU.append(load_model())
    [keyframes] = text_to_keyframes(_TEXT2AU[0], [emotion], InferOptions(duration=seconds))
    return keyframes.au.mean(dim=0)


def judge(rise: dict[str, float], noise: dict[str, float], channels: tuple[str, ...], margin: float = MARGIN) -> dict:
    """Mean rise and noise over `channels`; ok when the rise >= max(margin, 2 * noise)."""
    value = float(np.mean([rise[c] for c in channels]))
    floor = float(np.mean([abs(noise[c]) for c in channels]))
    return {"rise": round(value, 3), "noise": round(floor, 3), "needed": round(max(margin, 2 * floor), 3),
            "ok": bool(value >= max(margin, 2 * floor))}


def read_clip(model, avatar, wave, prompt, options, size: int, stride: int, core: slice, fps: float, backend: str) -> dict:
    """Animate, render every `stride`-th frame of the core, track: mean blendshapes read and asked for."""
    from emotalk_cli.fit.tracking import track_frames
    from emotalk_cli.motion.generate import generate_motion
    from emotalk_cli.render.frames import ViewOptions, render_avatar

    motion = generate_motion(model, wave, prompt, options)
    T = motion["arkit"].shape[0]
    keep = torch.arange(T)[core][::stride]
    frames = render_avatar(avatar, ViewOptions(width=size, height=size), motion["arkit"][keep], motion["head_rotation"][keep],
                           motion["head_translation"][keep], motion["gaze"][keep], backend=backend)
    tracks = track_frames(frames, fps / stride, missing="skip")
    read = np.stack([t.blendshapes for t in tracks]).mean(axis=0)
    return {"read": read, "asked": motion["arkit"][keep].mean(dim=0).numpy(), "faces": len(tracks), "frames": len(keep)}


def evaluate(weights: Path | None, avatar_path: Path | None, audio: Path, sources: list[str], size: int, stride: int,
             seed: int, strength: float, backend: str, quiet: bool = False, lip_strength: float | None = None) -> dict:
    from emotalk_cli.audio.features import frame_count, load_audio
    from emotalk_cli.avatar import load_avatar
    from emotalk_cli.motion.denoiser import load_model
    from emotalk_cli.motion.generate import GenerateOptions, default_lip_strength, feature_config

    model = load_model(weights)
    feature = feature_config(model)
    avatar = load_avatar(avatar_path)
    wave = load_audio(audio, feature.sample_rate)
    seconds = wave.shape[0] / feature.sample_rate
    options = replace(GenerateOptions(), seed=seed, strength=strength,
                      lip_strength=default_lip_strength(model) if lip_strength is None else lip_strength)
    ramp = int(round(options.prompt_ramp * feature.fps))
    T = frame_count(seconds, feature.fps)
    core = slice(ramp, max(ramp + 1, T - ramp))
    names = facs.ARKIT_NAMES
    started = time.perf_counter()

    def run(prompt: torch.Tensor, opts) -> dict:
        return read_clip(model, avatar, wave, prompt, opts, size, stride, core, feature.fps, backend)

    zero = torch.zeros(facs.NUM_AUS)
    neutral = run(zero, options)
    control = run(zero, replace(options, seed=seed + 1))
    noise = {n: float(control["read"][i] - neutral["read"][i]) for i, n in enumerate(names)}
    result: dict = {"audio": str(audio), "seconds": round(seconds, 2), "size": size, "stride": stride, "seed": seed,
                    "strength": strength, "lip_strength": options.lip_strength, "margin": MARGIN, "weights": str(weights or "weights/motion.safetensors"),
                    "avatar": str(avatar_path or "weights/default_avatar.safetensors"),
                    "faces_found": {"neutral": [neutral["faces"], neutral["frames"]], "control": [control["faces"], control["frames"]]},
                    "neutral_read": {n: round(float(neutral["read"][facs.ARKIT_INDEX[n]]), 3) for c in EXPECTED.values() for n in c},
                    "results": {}}
    for source in sources:
        for emotion, channels in EXPECTED.items():
            out = run(prompt_vector(emotion, source, seconds), options)
            rise = {n: float(out["read"][i] - neutral["read"][i]) for i, n in enumerate(names)}
            asked = {n: float(out["asked"][i] - neutral["asked"][i]) for i, n in enumerate(names)}
            verdict = judge(rise, noise, channels)
            top = sorted(names, key=lambda n: -rise[n])[:3]
            entry = {**verdict, "channels": {c: round(rise[c], 3) for c in channels},
                     "motion_rise": round(float(np.mean([asked[c] for c in channels])), 3),
                     "motion_channels": {c: round(asked[c], 3) for c in channels},
                     "largest_rises": {n: round(rise[n], 3) for n in top}, "faces_found": [out["faces"], out["frames"]]}
            result["results"][f"{source}:{emotion}"] = entry
            if not quiet:
                print(f"  {source:8s} {emotion:9s} read rise {entry['rise']:+.3f} (needs {entry['needed']:.3f}) "
                      f"{'ok' if entry['ok'] else 'NO'}; motion asked {entry['motion_rise']:+.3f}; "
                      + ", ".join(f"{c} {v:+.3f}" for c, v in entry["channels"].items()), file=sys.stderr, flush=True)
    result["passed"] = sum(r["ok"] for r in result["results"].values())
    result["checks"] = len(result["results"])
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python evals/eval_emotion_pixels.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=None, help="motion model [default: weights/motion.safetensors]")
    parser.add_argument("--avatar", type=Path, default=None, help="avatar [default: weights/default_avatar.safetensors]")
    parser.add_argument("--audio", type=Path, default=ROOT / "examples" / "hello.wav", help="speech clip (default examples/hello.wav)")
    parser.add_argument("--prompts", choices=("both", "facs", "text2au"), default="both")
    parser.add_argument("--size", type=int, default=512, help="frame size (default 512, as animate)")
    parser.add_argument("--stride", type=int, default=2, help="read every n-th frame (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strength", type=float, default=1.0, help="guidance scale, as animate --strength (default 1)")
    parser.add_argument("--lip-strength", type=float, default=None,
                        help="guidance scale on the audio [default: the weights file's, as animate]")
    parser.add_argument("--backend", default="auto", help="rasterizer backend (default auto)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from emotalk_cli.errors import EmotalkError

    sources = ["facs", "text2au"] if args.prompts == "both" else [args.prompts]
    try:
        result = evaluate(args.weights, args.avatar, args.audio, sources, args.size, max(1, args.stride), args.seed,
                          args.strength, args.backend, args.quiet, args.lip_strength)
    except (EmotalkError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    result["torch_threads"] = args.threads
    print(json.dumps(result), flush=True)
    lines = [f"{k}: {v['rise']:+.3f} {'ok' if v['ok'] else 'NO'}" for k, v in result["results"].items()]
    print(f"emotion through the pixels ({result['seconds']} s clip, {args.size}px, MediaPipe): "
          f"{result['passed']}/{result['checks']} move the right way (goal: all; rise of the expected blendshapes "
          f">= {MARGIN} and >= 2x seed noise): " + "; ".join(lines), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
