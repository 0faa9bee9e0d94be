"""The avatar's rest, read back: counter what its texture still says there.

    avatar, figures = calibrate_rest(avatar)

A photo's expression is undone in the geometry (the fit tracks it and the rig goes back to neutral),
but its traces stay in the colours: lids drawn low over narrowed eyes, smile lines, raised cheeks.
So a neutral render can still read as a squint or a smile. This reads the avatar at rest, frontal,
through the face tracker (MediaPipe: the head alone, and in its photo where it has one and the face
is found there) and, for each
channel that reads above TARGET, finds the smallest weight of its antagonist (avatar.REST_COUNTERS:
eyeWide against a squint or closed lids, mouthFrown against a smile) that brings the read down, at
most MAX_COUNTER. The avatar holds those weights at rest (`Avatar.rest_arkit`); they fade out as the
expression they counter is asked for (avatar.expression_at_rest), so a blink still closes the eye.

The gain calibration of the rig (fit/calibrate_rig.py) reads shapes through the same tracker.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.avatar import REST_COUNTERS, Avatar
from emotalk_cli.errors import EmotalkError


class NoFaceAtRest(EmotalkError):
    """The face tracker finds no face in the fitted avatar: its rest cannot be read back."""


TARGET = 0.25  # a channel reading above this at rest is countered (the eval's neutral goal is 0.35)
STEPS = (0.1, 0.2, 0.3, 0.4, 0.5)  # counter weights tried, smallest first
MAX_COUNTER = STEPS[-1]  # at most half the antagonist: a squint countered, not a stare
SIZE = 512  # long side of the frames read, pixels (the face about as large as `make eval-avatar` sees it)


def rest_views(avatar: Avatar, size: int = SIZE) -> dict:
    """name -> (ViewOptions, head_rotation [1, 3], head_translation [1, 3]): the avatar at rest, frontal:
    the head alone, and in its photo (the photo's framing, the head facing the camera) where it has one."""
    from emotalk_cli.photo_scene import scene_head_pose
    from emotalk_cli.render.frames import ViewOptions

    zeros = torch.zeros(1, 3)
    views = {"head": (ViewOptions(width=size, height=size), zeros, zeros)}
    if avatar.scene is not None:
        width, height = (float(v) for v in avatar.scene.photo_size)
        scale = size / max(width, height)
        even = lambda v: max(2, int(round(v * scale / 2)) * 2)  # noqa: E731 (video sizes are even)
        rotation, translation = scene_head_pose(avatar.scene, zeros, zeros, "rest")
        views["photo"] = (ViewOptions(width=even(width), height=even(height), photo=True, scene_background=True),
                          rotation, translation)
    return views


def readable_views(avatar: Avatar, views: dict, device="cpu", model_path=None) -> dict:
    """The views (as rest_views gives them) in which the face tracker finds the avatar's face at rest (a
    face small in its photo's framing may not be found there); NoFaceAtRest when it is found in none."""
    kept = {}
    for name, view in views.items():
        try:
            read_rest(avatar, torch.zeros(1, len(facs.ARKIT_NAMES)), {name: view}, device, model_path)
        except NoFaceAtRest:
            continue
        kept[name] = view
    if not kept:
        raise NoFaceAtRest(f"the face tracker finds no face in the fitted avatar at rest ({', '.join(views)} views)")
    return kept


def read_rest(avatar: Avatar, arkit: torch.Tensor, views: dict, device="cpu", model_path=None) -> np.ndarray:
    """MediaPipe's 52 blendshape reads [V, T, 52] of the avatar posed with each row of `arkit` [T, 52]
    (on top of its own rest counters, if any) in each view; NoFaceAtRest when a frame shows no face."""
    from emotalk_cli.fit.tracking import track_image
    from emotalk_cli.render.frames import render_avatar

    frames = arkit.shape[0]
    reads = []
    for name, (view, rotation, translation) in views.items():
        rendered = render_avatar(avatar, view, arkit, rotation.expand(frames, -1), translation.expand(frames, -1),
                                 torch.zeros(frames, 2), device=device)
        try:
            reads.append([track_image(np.ascontiguousarray(frame[..., :3]), model_path).blendshapes for frame in rendered])
        except EmotalkError:
            raise NoFaceAtRest(f"the face tracker finds no face in the fitted avatar at rest ({name} view)") from None
    return np.asarray(reads, dtype=np.float64)


def _countered_by() -> dict[str, str]:
    """channel read at rest -> the counter channel that brings it down (REST_COUNTERS inverted)."""
    return {countered: counter for counter, channels in REST_COUNTERS.items() for countered in channels}


def calibrate_rest(avatar: Avatar, target: float = TARGET, steps=STEPS, size: int = SIZE, device="cpu",
                   model_path=None) -> tuple[Avatar, dict]:
    """The avatar with its rest counter-expression (`rest_arkit` [52]) and the figures (meta["rest"]):
    the reads before and after, and the weights chosen."""
    plain = replace(avatar, rest_arkit=None)
    views = readable_views(plain, rest_views(avatar, size), device, model_path)
    before = read_rest(plain, torch.zeros(1, 52), views, device, model_path)[:, 0]  # [V, 52]
    countered_by = _countered_by()
    high = {c for c in countered_by if float(before[:, facs.ARKIT_INDEX[c]].max()) > target}
    counters = sorted({countered_by[c] for c in high})
    rest = torch.zeros(len(facs.ARKIT_NAMES))
    if counters:
        # every counter at each step together (they act on different parts of the face), read once per view
        rows = torch.zeros(len(steps), len(facs.ARKIT_NAMES))
        for i, weight in enumerate(steps):
            rows[i, [facs.ARKIT_INDEX[c] for c in counters]] = weight
        reads = read_rest(plain, rows, views, device, model_path)  # [V, S, 52]
        for counter in counters:
            index = [facs.ARKIT_INDEX[c] for c in REST_COUNTERS[counter] if c in high]
            worst = reads[:, :, index].max(axis=(0, 2))  # [S]: the highest read of what it counters, any view
            reached = [i for i, value in enumerate(worst) if value <= target]
            chosen = reached[0] if reached else int(np.argmin(worst))
            rest[facs.ARKIT_INDEX[counter]] = float(steps[chosen])
    calibrated = replace(avatar, rest_arkit=rest if counters else None)
    after = read_rest(calibrated, torch.zeros(1, 52), views, device, model_path)[:, 0] if counters else before
    watched = sorted({c for c in countered_by} | set(REST_COUNTERS))

    def summary(read: np.ndarray) -> dict:
        return {c: round(float(read[:, facs.ARKIT_INDEX[c]].max()), 3) for c in watched}

    figures = {
        "method": "emotalk_cli.fit.rest: the avatar read at rest, frontal, by MediaPipe's face landmarker "
                  f"({', '.join(views)} views, {size} px); each channel above {target} countered by the smallest "
                  f"weight of its antagonist in {list(steps)} that brings it to {target} or below",
        "counters": {c: round(float(rest[facs.ARKIT_INDEX[c]]), 3) for c in counters},
        "read_before": summary(before),
        "read_after": summary(after),
    }
    return calibrated, figures


__all__ = ["MAX_COUNTER", "NoFaceAtRest", "readable_views", "STEPS", "TARGET", "calibrate_rest", "read_rest", "rest_views"]
