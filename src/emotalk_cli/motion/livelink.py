"""Motion -> ARKit blendshape CSV in the Live Link Face layout (Unreal, Blender, Maya importers).

    write_livelink_csv("motion.csv", motion, fps=25)

Layout, as Epic's Live Link Face iOS app exports a take (one row per frame):
    Timecode,BlendShapeCount,EyeBlinkLeft,EyeLookDownLeft,...,TongueOut,
    HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll
- the 52 ARKit shapes capitalised, in Apple's ARFaceAnchor order (= facs.ARKIT_NAMES: ... JawForward,
  JawRight, JawLeft, JawOpen, MouthClose ...), then head and eye rotations: 61 values, so
  BlendShapeCount is 61;
- Timecode "HH:MM:SS:FF.mmm": frame FF counted at the take's frame rate, then a sub-frame fraction
  in thousandths (always .000 here: every row is on a frame).
Rotations are written in radians (head: yaw about the head's up axis, pitch about its left-right
axis, roll about the facing axis, from our axis-angle head rotation; eyes: the motion's gaze for
both eyes, roll 0). Blendshape weights in [0, 1], 6 decimals.

Sources (the app's own documentation gives no header): the header constant LIVE_LINK_FACE_HEADER in
JimWest/PyLiveLinkFace (GitHub; its Blender example reads Live Link Face CSV takes) and the
Maya importer aronamao/Maya-Live-Link-CSV-Import, which agree on names and order.
"""

from __future__ import annotations

import math
import os

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.artifacts import atomic_output

ROTATION_COLUMNS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
BLENDSHAPE_COLUMNS: tuple[str, ...] = tuple(name[0].upper() + name[1:] for name in facs.ARKIT_NAMES)
HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount", *BLENDSHAPE_COLUMNS, *ROTATION_COLUMNS)
BLENDSHAPE_COUNT = len(BLENDSHAPE_COLUMNS) + len(ROTATION_COLUMNS)  # 61


def timecode(frame: int, fps: float) -> str:
    """Frame index -> 'HH:MM:SS:FF.000' at `fps` (FF counts whole frames within the second)."""
    per_second = max(1, int(round(fps)))
    seconds, ff = divmod(int(frame), per_second)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{ff:02d}.000"


def axis_angle_to_yaw_pitch_roll(rotation: Tensor) -> Tensor:
    """Axis-angle [T, 3] (head frame: +x left, +y up, +z out of the face) -> (yaw, pitch, roll) [T, 3]
    radians, R = Ry(yaw) Rx(pitch) Rz(roll)."""
    angle = rotation.norm(dim=-1, keepdim=True)
    axis = rotation / angle.clamp(min=1e-12)
    x, y, z = axis.unbind(-1)
    c, s = angle[:, 0].cos(), angle[:, 0].sin()
    C = 1 - c
    r02 = x * z * C + y * s
    r22 = c + z * z * C
    r12 = y * z * C - x * s
    r10 = x * y * C + z * s
    r11 = c + y * y * C
    yaw = torch.atan2(r02, r22)
    pitch = torch.asin((-r12).clamp(-1, 1))
    roll = torch.atan2(r10, r11)
    return torch.stack([yaw, pitch, roll], dim=-1)


def livelink_rows(motion: dict[str, Tensor], fps: float) -> list[list[str]]:
    """The CSV's rows (header first) for a motion {'arkit' [T, 52], 'head_rotation' [T, 3], 'gaze' [T, 2]}."""
    arkit = motion["arkit"].float().clamp(0, 1)
    T = arkit.shape[0]
    head = axis_angle_to_yaw_pitch_roll(motion["head_rotation"].float())
    gaze = motion["gaze"].float()
    zeros = torch.zeros(T, 1)
    rot = torch.cat([head, gaze, zeros, gaze, zeros], dim=1)  # [T, 9]
    rows = [list(HEADER)]
    for k in range(T):
        rows.append([timecode(k, fps), str(BLENDSHAPE_COUNT)] + [f"{v:.6f}" for v in arkit[k].tolist()]
                    + [f"{v:.6f}" for v in rot[k].tolist()])
    return rows


def write_livelink_csv(path: str | os.PathLike, motion: dict[str, Tensor], fps: float, overwrite: bool = False) -> None:
    """Write the motion as a Live Link Face CSV, atomically."""
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    text = "\n".join(",".join(row) for row in livelink_rows(motion, fps)) + "\n"
    with atomic_output(path, overwrite=overwrite) as temp:
        temp.write_text(text)
