"""The Live Link Face CSV export: header, count, timecodes, values, rotations."""

import csv
import math

import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.motion.livelink import (BLENDSHAPE_COUNT, HEADER, axis_angle_to_yaw_pitch_roll, timecode,
                                         write_livelink_csv)


def motion(T: int = 30) -> dict:
    arkit = torch.zeros(T, 52)
    arkit[:, facs.ARKIT_INDEX["jawOpen"]] = torch.linspace(0, 1, T)
    rotation = torch.zeros(T, 3)
    rotation[:, 1] = 0.1  # yaw about +y
    return {"arkit": arkit, "head_rotation": rotation, "head_translation": torch.zeros(T, 3),
            "gaze": torch.full((T, 2), 0.05)}


def test_header_is_live_link_face_layout():
    assert HEADER[:4] == ("Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft")
    assert HEADER[16:21] == ("JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose")
    assert HEADER[53] == "TongueOut"
    assert HEADER[54:] == ("HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
                           "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
    assert len(HEADER) == 63 and BLENDSHAPE_COUNT == 61


def test_timecodes():
    assert timecode(0, 25) == "00:00:00:00.000"
    assert timecode(26, 25) == "00:00:01:01.000"
    assert timecode(25 * 3661, 25) == "01:01:01:00.000"


def test_csv_rows(tmp_path):
    path = tmp_path / "m.csv"
    write_livelink_csv(path, motion(), fps=25)
    rows = list(csv.reader(path.open()))
    assert tuple(rows[0]) == HEADER and len(rows) == 31
    assert all(len(r) == 63 and r[1] == "61" for r in rows[1:])
    assert float(rows[-1][HEADER.index("JawOpen")]) == pytest.approx(1.0)
    assert float(rows[5][HEADER.index("HeadYaw")]) == pytest.approx(0.1, abs=1e-5)
    assert float(rows[5][HEADER.index("RightEyePitch")]) == pytest.approx(0.05)
    with pytest.raises(Exception, match="already exists"):
        write_livelink_csv(path, motion(), fps=25)


def test_euler_read_out_of_single_axis_rotations():
    rot = torch.tensor([[0.2, 0.0, 0.0], [0.0, -0.3, 0.0], [0.0, 0.0, 0.25]])
    ypr = axis_angle_to_yaw_pitch_roll(rot)
    assert ypr[0, 1].abs() == pytest.approx(0.2, abs=1e-5) and ypr[1, 0] == pytest.approx(-0.3, abs=1e-5)
    assert ypr[2, 2] == pytest.approx(0.25, abs=1e-5)
    assert torch.isfinite(axis_angle_to_yaw_pitch_roll(torch.zeros(2, 3))).all()
