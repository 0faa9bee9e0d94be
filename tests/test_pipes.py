"""emotalk in shell pipelines (issue #22): `--audio -` reads stdin, `-o -` (and --motion-out/--csv -)
write stdout, and stdout carries nothing but the output's bytes. Runs the real `emotalk` command in
child processes with pipes, then reads what came out with ffmpeg (conftest.probe).
"""

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile

from emotalk_cli.audio.features import frame_count

from conftest import probe
from test_animate import tiny_animate_files

EMOTALK = str(Path(sys.executable).parent / "emotalk")
FFMPEG_EXE = imageio_ffmpeg.get_ffmpeg_exe()
SECONDS = 0.8
RATE = 16_000
FRAMES = frame_count(SECONDS, 25)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipes")
    made = tiny_animate_files(folder, 400, seed=5)
    rng = np.random.default_rng(0)
    t = np.arange(int(SECONDS * RATE)) / RATE
    speech = (0.3 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) * rng.standard_normal(len(t))).astype(np.float32)
    made["wav"] = folder / "a.wav"
    soundfile.write(str(made["wav"]), speech, RATE)
    made["m4a"] = folder / "a.m4a"
    subprocess.run([FFMPEG_EXE, "-loglevel", "error", "-i", str(made["wav"]), "-c:a", "aac", str(made["m4a"])], check=True)
    return made


def animate_args(files, *args):
    return [EMOTALK, "animate", "--weights", str(files["weights"]), "--avatar", str(files["avatar"]), "--size", "32",
            "--steps", "2", "--lip-samples", "1", *args]


def run(command, stdin: bytes = b"", **kwargs):
    return subprocess.run(command, input=stdin, capture_output=True, timeout=300, **kwargs)


def mp4_boxes(data: bytes) -> list[str]:
    """The top-level box types of an mp4 byte string; fails unless the boxes tile it exactly (so no
    stray bytes, such as progress text, are mixed in)."""
    types, at = [], 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
        assert size >= 8 and at + size <= len(data), f"broken box {kind!r} at {at}"
        types.append(kind.decode("ascii"))
        at += size
    return types


def test_wav_on_stdin_video_on_stdout(tmp_path, files):
    done = run(animate_args(files, "--audio", "-", "-o", "-"), files["wav"].read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    boxes = mp4_boxes(done.stdout)
    assert boxes[:2] == ["ftyp", "moov"] and "moof" in boxes and "mdat" in boxes  # fragmented mp4, nothing else
    assert b"wrote stdout" in done.stderr
    (tmp_path / "out.mp4").write_bytes(done.stdout)
    info = probe(tmp_path / "out.mp4")
    assert info["video"] and info["audio"] and info["size"] == (32, 32) and info["frames"] == FRAMES
    assert not list(tmp_path.glob(".*part*"))


def test_pipeline_into_ffmpeg(tmp_path, files):
    """cat a.m4a | emotalk animate --audio - -o - | ffmpeg -i - -c copy out.mkv"""
    out = tmp_path / "out.mkv"
    emotalk = subprocess.Popen(animate_args(files, "--audio", "-", "-o", "-"), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ffmpeg = subprocess.Popen([FFMPEG_EXE, "-loglevel", "error", "-i", "pipe:0", "-c", "copy", str(out)],
                              stdin=emotalk.stdout, stderr=subprocess.PIPE)
    emotalk.stdout.close()  # ffmpeg holds the read end
    emotalk.stdin.write(files["m4a"].read_bytes())
    emotalk.stdin.close()
    assert ffmpeg.wait(timeout=300) == 0, ffmpeg.stderr.read().decode()
    assert emotalk.wait(timeout=300) == 0, emotalk.stderr.read().decode()
    info = probe(out)
    assert info["audio"] and info["frames"] == FRAMES and abs(info["seconds"] - SECONDS) <= 1 / 25 + 0.03


def test_motion_and_csv_on_stdout(files):
    from safetensors.torch import load

    from emotalk_cli.motion.livelink import HEADER

    done = run(animate_args(files, "--audio", str(files["m4a"]), "--motion-only", "--motion-out", "-", "--quiet"))
    assert done.returncode == 0, done.stderr.decode()
    assert load(done.stdout)["arkit"].shape == (FRAMES, 52)
    done = run(animate_args(files, "--audio", str(files["wav"]), "--motion-only", "--csv", "-", "--quiet"))
    assert done.returncode == 0, done.stderr.decode()
    rows = done.stdout.decode().splitlines()
    assert rows[0].split(",") == list(HEADER) and len(rows) == 1 + FRAMES


def test_video_to_file_and_motion_to_stdout(tmp_path, files):
    """The video goes to its file, the motion to stdout, written once the video is complete."""
    from safetensors.torch import load

    out = tmp_path / "v.mp4"
    done = run(animate_args(files, "--audio", str(files["wav"]), "-o", str(out), "--motion-out", "-", "--quiet"))
    assert done.returncode == 0, done.stderr.decode()
    assert load(done.stdout)["arkit"].shape == (FRAMES, 52) and probe(out)["frames"] == FRAMES


def test_render_still_and_video_to_stdout(tmp_path, files):
    from PIL import Image

    render = [EMOTALK, "render", "--avatar", str(files["avatar"]), "--size", "32", "--quiet"]
    done = run(render + ["--au", "AU12=1", "--format", "png", "-o", "-"])
    assert done.returncode == 0, done.stderr.decode()
    assert Image.open(io.BytesIO(done.stdout)).size == (32, 32)
    done = run(render + ["--audio", "-", "-o", "-"], files["m4a"].read_bytes())
    assert done.returncode == 0, done.stderr.decode()
    assert mp4_boxes(done.stdout)[0] == "ftyp"
    (tmp_path / "r.mp4").write_bytes(done.stdout)
    info = probe(tmp_path / "r.mp4")
    assert info["audio"] and info["frames"] in (FRAMES - 1, FRAMES)  # cut to the shorter of sound and frames


def one_error_line(done, code: int, words: str) -> None:
    assert done.returncode == code, done.stderr.decode()
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:") and words in lines[0], lines


def test_errors_leave_stdout_empty(files):
    done = run(animate_args(files, "--audio", "-", "-o", "-"), b"this is not audio\n" * 200)
    one_error_line(done, 1, "stdin: not a readable audio file")
    assert done.stdout == b""
    done = run(animate_args(files, "--audio", "-", "-o", "-"))
    one_error_line(done, 1, "nothing came on stdin")
    assert done.stdout == b""
    done = run(animate_args(files, "--audio", str(files["wav"]), "-o", "-", "--motion-out", "-"))
    one_error_line(done, 2, "-o - and --motion-out - both write to stdout")
    assert done.stdout == b""
    done = run(animate_args(files, "--audio", "-", "--au-track", "-", "-o", "x.mp4"))
    one_error_line(done, 2, "both read stdin")


def test_reader_gone_is_an_error(files):
    """The program reading stdout quits before the video is complete: exit status 1, one line."""
    emotalk = subprocess.Popen(animate_args(files, "--audio", str(files["wav"]), "-o", "-"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    emotalk.stdout.close()
    _, err = emotalk.communicate(timeout=300)
    assert emotalk.returncode == 1, err.decode()
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("emotalk: error:") and "stdout" in lines[-1], lines


def test_binary_stdout_to_a_terminal_is_refused(files):
    primary, secondary = os.openpty()
    try:
        done = subprocess.run(animate_args(files, "--audio", str(files["wav"]), "-o", "-"), stdout=secondary,
                              stderr=subprocess.PIPE, timeout=300)
    finally:
        os.close(secondary)
        os.close(primary)
    one_error_line(done, 2, "stdout, which is a terminal")
