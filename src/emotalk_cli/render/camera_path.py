"""A camera path: keyframed views over time, read from a small JSON file (`emotalk render --camera F`).

    {"keyframes": [{"time": 0, "yaw": -20},
                   {"time": 2, "yaw": 20, "pitch": 10, "zoom": 1.3},
                   {"time": 4, "yaw": 0}]}

Each keyframe: `time` in seconds (increasing), `yaw` and `pitch` in degrees (as --yaw/--pitch: + yaw
moves the camera to the subject's left, + pitch looks from above) and `zoom` (1 = the usual
framing, 2 = twice as close). A field left out of a keyframe keeps the previous keyframe's value
(the first keyframe's defaults: yaw 0, pitch 0, zoom 1). Between keyframes every value moves
linearly; before the first and after the last the camera holds still. A bare list of keyframes is
read the same as {"keyframes": [...]}.

    path = load_camera_path("views.json")
    yaw, pitch, zoom = sample_camera_path(path, times)   # each [F] at frame times [F] in seconds
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch
from torch import Tensor

from emotalk_cli.errors import EmotalkError

FIELDS = ("time", "yaw", "pitch", "zoom")
DEFAULTS = {"yaw": 0.0, "pitch": 0.0, "zoom": 1.0}
MAX_PITCH = 89.0  # degrees: straight above or below would leave the camera's up undefined
MAX_KEYFRAMES = 10_000


@dataclass(frozen=True)
class CameraPath:
    times: Tensor  # [K] seconds, strictly increasing
    yaw: Tensor  # [K] degrees
    pitch: Tensor  # [K] degrees, within +-MAX_PITCH
    zoom: Tensor  # [K] > 0

    def __len__(self) -> int:
        return int(self.times.shape[0])


def camera_path_from_keyframes(keyframes: list, where: str = "camera path") -> CameraPath:
    """Check keyframes (dicts as in the module docstring) and fill left-out fields; a one-line
    EmotalkError names the first problem and how to fix it."""
    if not isinstance(keyframes, list) or not keyframes:
        raise EmotalkError(f"{where}: give a list of keyframes, e.g. "
                           '{"keyframes": [{"time": 0, "yaw": -20}, {"time": 2, "yaw": 20}]}')
    if len(keyframes) > MAX_KEYFRAMES:
        raise EmotalkError(f"{where}: {len(keyframes)} keyframes is more than {MAX_KEYFRAMES}: thin them out")
    current = dict(DEFAULTS)
    rows = []
    for number, key in enumerate(keyframes, start=1):
        if not isinstance(key, dict):
            raise EmotalkError(f"{where}: keyframe {number} is not an object: write it as "
                               '{"time": seconds, "yaw": degrees, "pitch": degrees, "zoom": factor}')
        unknown = sorted(set(key) - set(FIELDS))
        if unknown:
            raise EmotalkError(f"{where}: keyframe {number} has unknown field(s) {', '.join(unknown)}: "
                               f"use {', '.join(FIELDS)}")
        if "time" not in key:
            raise EmotalkError(f"{where}: keyframe {number} has no \"time\": give its time in seconds")
        for name in FIELDS:
            if name in key:
                value = key[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise EmotalkError(f"{where}: keyframe {number}: {name} {value!r} is not a finite number")
                current[name] = float(value)
        if current["time"] < 0:
            raise EmotalkError(f"{where}: keyframe {number}: time {current['time']:g} is negative: times start at 0")
        if rows and current["time"] <= rows[-1][0]:
            raise EmotalkError(f"{where}: keyframe {number}: time {current['time']:g} is not after the previous "
                               f"keyframe's {rows[-1][0]:g}: list keyframes in time order, each at its own time")
        if abs(current["pitch"]) > MAX_PITCH:
            raise EmotalkError(f"{where}: keyframe {number}: pitch {current['pitch']:g} is outside "
                               f"+-{MAX_PITCH:g} degrees")
        if current["zoom"] <= 0:
            raise EmotalkError(f"{where}: keyframe {number}: zoom {current['zoom']:g} must be positive "
                               "(1 frames the subject, 2 is twice as close)")
        rows.append((current["time"], current["yaw"], current["pitch"], current["zoom"]))
    table = torch.tensor(rows, dtype=torch.float64)  # [K, 4]
    return CameraPath(*(table[:, i].contiguous() for i in range(4)))


def load_camera_path(path: str | os.PathLike, what: str = "camera path") -> CameraPath:
    """Read a camera path file (JSON, see the module docstring); `what` names it in errors (render's
    --head-path reads the same keyframes of yaw and pitch for the head)."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        raise EmotalkError(f"{what} {path} not found: give a JSON file of keyframes") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EmotalkError(f"{what} {path} cannot be read ({error}): give a JSON file of keyframes") from None
    except json.JSONDecodeError as error:
        raise EmotalkError(f"{what} {path} is not valid JSON ({error.msg}, line {error.lineno}): fix the file") from None
    keyframes = data.get("keyframes") if isinstance(data, dict) else data
    if isinstance(data, dict) and set(data) - {"keyframes"}:
        raise EmotalkError(f"{what} {path}: unknown field(s) {', '.join(sorted(set(data) - {'keyframes'}))}: "
                           "the file holds {\"keyframes\": [...]}")
    return camera_path_from_keyframes(keyframes, where=f"{what} {path}")


def sample_camera_path(path: CameraPath, times: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Yaw, pitch (degrees) and zoom, each [F] float32, at `times` [F] seconds: linear between
    keyframes, held before the first and after the last."""
    t = times.to(torch.float64)
    if len(path) == 1:
        return tuple(v.expand_as(t).float().clone() for v in (path.yaw, path.pitch, path.zoom))
    right = torch.searchsorted(path.times, t, right=True).clamp(1, len(path) - 1)  # [F] the keyframe after t
    left = right - 1
    span = path.times[right] - path.times[left]
    w = ((t - path.times[left]) / span).clamp(0.0, 1.0)
    return tuple((v[left] + w * (v[right] - v[left])).float() for v in (path.yaw, path.pitch, path.zoom))
