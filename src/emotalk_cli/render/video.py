"""Writing frames: video streamed into ffmpeg, and PNG stills.

The container (the file's suffix, or `container=` for a stream) picks the codecs:

| container | opaque frames (RGB)          | transparent frames (RGBA)                  | audio  |
|-----------|------------------------------|--------------------------------------------|--------|
| .mp4      | h264, yuv420p, faststart     | refused: h264 has no alpha                 | aac    |
| .mov      | h264, yuv420p                | ProRes 4444 (prores_ks), yuva444p10le      | aac    |
| .mkv      | h264, yuv420p                | VP9 (libvpx-vp9), yuva420p                 | aac / opus with VP9 |
| .webm     | VP9 (libvpx-vp9), yuv420p    | VP9 (libvpx-vp9), yuva420p                 | opus   |

VP9's alpha rides in matroska's BlockAdditional side channel: ffmpeg's native vp9 decoder drops it,
so read such files back with `-c:v libvpx-vp9` before `-i` (browsers and libvpx players show it).

Frames go to ffmpeg as they are made, so memory stays flat in the clip's length. Every output is
written to a temporary file beside the target and renamed only when complete. The path "-" streams
the video to stdout instead, as fragmented mp4 (`-movflags frag_keyframe+empty_moov+delay_moov+default_base_moof`):
an ordinary mp4 needs its index written at the end (or moved to the front, +faststart) and so a
seekable file; a fragmented one is written front to back, and players, browsers (MSE) and ffmpeg read
it from a pipe (matroska streams too, but mp4 is what users and browsers expect of a video). With
container="webm" (or "mkv") the stream is matroska, which is written front to back anyway; "mov" is
not streamed (ProRes to a pipe has no reader worth the name). On an error ffmpeg is killed (no
closing fragment is written) and the error raised.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from emotalk_cli.artifacts import atomic_output
from emotalk_cli.audio.io import AudioInfo, ffmpeg_exe, mux_input
from emotalk_cli.errors import RenderError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
IMAGE_SUFFIXES = (".png",)
STDOUT = "-"  # the output path that means: stream to stdout
# Streamed: fragmented mp4 whose (sample-less) moov is written once the first fragment is cut
# (delay_moov), so it carries the edit lists: without them the video would start 2 frames late (the
# B-frames' reordering delay) and the sound 64 ms late (the aac encoder's priming), measured.
STREAM_FLAGS = ["-movflags", "frag_keyframe+empty_moov+delay_moov+default_base_moof", "-f", "mp4"]
CONTAINERS = ("mp4", "mov", "mkv", "webm")
MUXERS = {"mp4": "mp4", "mov": "mov", "mkv": "matroska", "webm": "webm"}
H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast"]  # + -crf
# VP9: constant quality (crf with -b:v 0); "good" at cpu-used 4 with row threading keeps up with the
# CPU renderer: a 100-frame 512x512 render took 6.8 s to .webm with alpha, 6.9 s to .mp4 (2 cores).
VP9 = ["-c:v", "libvpx-vp9", "-crf", "24", "-b:v", "0", "-deadline", "good", "-cpu-used", "4", "-row-mt", "1"]
PRORES_4444 = ["-c:v", "prores_ks", "-profile:v", "4444", "-pix_fmt", "yuva444p10le"]


def video_container(path, container: str | None = None) -> str:
    """The container a video output is written in: `container` when given (mp4, mov, mkv, webm), else
    the path's suffix; mp4 for '-' (stdout). Raises RenderError for anything else."""
    if container is None:
        if is_stdout(path):
            return "mp4"
        container = Path(path).suffix.lower().lstrip(".")
    if container.lower() not in CONTAINERS:
        raise RenderError(f"{container or '(no suffix)'} is not a video container emotalk writes: use "
                          f"{', '.join('.' + c for c in CONTAINERS)}")
    return container.lower()


def check_video_output(path, alpha: bool, container: str | None = None) -> str:
    """Before any work: whether a video can go to `path` (with an alpha channel when `alpha`) -> its
    container. Raises RenderError with the way out (mp4 has no alpha; mov does not stream)."""
    container = video_container(path, container)
    if alpha and container == "mp4":
        if is_stdout(path):
            raise RenderError("mp4 (h264) has no alpha: stream webm instead (--format webm), write .webm or .mov, "
                              "or choose a --background colour")
        raise RenderError("mp4 (h264) has no alpha: write .webm or .mov, or choose a --background colour")
    if container == "mov" and is_stdout(path):
        raise RenderError("a .mov cannot be streamed to stdout (its index needs a seekable file): write -o out.mov, "
                          "or stream webm (--format webm)")
    return container


def codec_args(container: str, alpha: bool, crf: int = 18) -> tuple[list[str], list[str]]:
    """ffmpeg's (video, audio) codec options for frames written to `container`; `crf` is h264's."""
    if alpha and container == "mov":
        return PRORES_4444, ["-c:a", "aac"]
    if alpha or container == "webm":
        return VP9 + ["-pix_fmt", "yuva420p" if alpha else "yuv420p"], ["-c:a", "libopus"]
    return H264 + ["-crf", str(crf)], ["-c:a", "aac"]


def check_frame_size(width: int, height: int, even: bool = True) -> None:
    """h264 in yuv420p needs even sizes (even=False: a still, any size); refuse anything else before any
    work is done."""
    if width <= 0 or height <= 0:
        raise RenderError(f"frame size {width}x{height} is empty: use a positive size such as --size 512")
    if even and (width % 2 or height % 2):
        raise RenderError(f"frame size {width}x{height} is odd: h264 video needs even sizes, e.g. --size {width + width % 2}")
    if width > 8192 or height > 8192:
        raise RenderError(f"frame size {width}x{height} is too large: at most 8192 pixels a side")


def is_stdout(path) -> bool:
    """Whether an output option means stdout ('-')."""
    return path is not None and str(path) == STDOUT


class VideoWriter:
    """`with VideoWriter(path, 512, 512, fps=25, audio=info) as video: video.write(frame)`.

    frame: uint8 [H, W, 3], or straight RGBA [H, W, 4] with `alpha=True` (.webm, .mov, .mkv: see the
    table above; .mp4 is refused). The container is the path's suffix, or `container` (mp4, mov, mkv,
    webm; for "-": mp4 by default). The audio, when given, is muxed (aac, opus in VP9 files) and the result cut to the shorter
    of audio and video (`cut_to_audio=False`: every frame is kept, for videos whose frames cover
    the audio exactly, ceil(seconds * fps) of them, so the last frame may outlast the sound by < 1 frame).
    path "-": fragmented mp4 (or webm/mkv) to `stream` (default: stdout's bytes). On an exception nothing is left at
    `path` (on a stream: what ffmpeg had written, and the error raised). After the block,
    `audio_nonfinite` is the number of the audio's samples that were NaN or infinite (muxed as silence).
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float,
                 audio: AudioInfo | None = None, overwrite: bool = False, crf: int = 18, cut_to_audio: bool = True,
                 stream: BinaryIO | None = None, alpha: bool = False, container: str | None = None):
        check_frame_size(width, height)
        if not 1 <= fps <= 240:
            raise RenderError(f"frame rate {fps} is out of range: use 1 to 240, e.g. --fps 25")
        self.container = check_video_output(path, alpha, container)
        self.alpha = alpha
        self.channels = 4 if alpha else 3
        self.to_stream = is_stdout(path)
        self.path = None if self.to_stream else Path(path)
        self.width, self.height, self.fps = width, height, fps
        self.audio, self.overwrite, self.crf, self.cut_to_audio = audio, overwrite, crf, cut_to_audio
        self.stream = stream
        self.frames_written = 0
        self.audio_nonfinite = 0
        self._stack = contextlib.ExitStack()
        self._process: subprocess.Popen | None = None
        self._copier: threading.Thread | None = None
        self._copy_error: BaseException | None = None

    def _command(self, target: str, audio_args: list[str], audio_filter: str | None) -> list[str]:
        fps = Fraction(self.fps).limit_denominator()  # 24000/1001 stays exact
        command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgba" if self.alpha else "rgb24", "-s", f"{self.width}x{self.height}",
                   "-r", str(fps), "-i", "pipe:0", *audio_args, "-map", "0:v:0"]
        video, audio_codec = codec_args(self.container, self.alpha, self.crf)
        if audio_args:
            command += ["-map", "1:a:0", *audio_codec]
            if audio_filter:
                command += ["-af", audio_filter]
            if self.cut_to_audio:
                command += ["-shortest"]
        command += video
        if target == "pipe:1":
            if self.container == "mp4":
                return command + STREAM_FLAGS + [target]
            return command + ["-f", MUXERS[self.container], target]
        if self.container in ("mp4", "mov"):
            command += ["-movflags", "+faststart"]
        return command + ["-f", MUXERS[self.container], target]

    def __enter__(self) -> "VideoWriter":
        try:
            self._start()
        except BaseException as err:
            self._stack.__exit__(type(err), err, err.__traceback__)
            raise
        return self

    def _start(self) -> None:
        audio_args, audio_filter = [], None
        if self.audio is not None:
            scratch = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="emotalk-audio-"))
            source = mux_input(self.audio, scratch)  # a soundfile source is copied to PCM-16 here
            audio_args, audio_filter, self.audio_nonfinite = source.args, source.audio_filter, source.nonfinite
        self._messages = self._stack.enter_context(tempfile.TemporaryFile())
        if self.to_stream:
            stream = self.stream if self.stream is not None else sys.stdout.buffer
            with contextlib.suppress(Exception):
                stream.flush()
            try:
                out, copy = stream.fileno(), False
            except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
                out, copy = subprocess.PIPE, True
            command = self._command("pipe:1", audio_args, audio_filter)
        else:
            temp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite))
            out, copy = subprocess.DEVNULL, False
            command = self._command(str(temp), audio_args, audio_filter)
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=out, stderr=self._messages)
        if copy:  # a stream without a file descriptor (a test's BytesIO): copy ffmpeg's output across
            self._copier = threading.Thread(target=self._copy, args=(self._process.stdout, stream), daemon=True)
            self._copier.start()

    def _copy(self, source: BinaryIO, target: BinaryIO) -> None:
        try:
            shutil.copyfileobj(source, target, 1 << 16)
        except BaseException as err:  # reported by _finish
            self._copy_error = err

    def _failure(self, what: str) -> RenderError:
        self._messages.seek(0)
        lines = [line.strip() for line in self._messages.read().decode("utf-8", "replace").splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {self._process.returncode}"
        if self.to_stream and ("Broken pipe" in detail or self._process.returncode in (-13, 141)):
            return RenderError("stdout was closed before the video was complete (the program reading it quit)")
        return RenderError(f"ffmpeg could not {what} the video ({detail})")

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, self.channels) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 [{self.height}, {self.width}, {self.channels}], got {frame.dtype} {frame.shape}")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).data)
        except (BrokenPipeError, OSError):
            self._process.wait()
            raise self._failure("encode") from None
        self.frames_written += 1

    def _finish(self) -> None:
        """Close ffmpeg's input and wait: it writes the rest; raises RenderError if it failed."""
        if self.frames_written == 0:
            raise RenderError("no frames were rendered: nothing to write")
        with contextlib.suppress(BrokenPipeError, OSError):
            self._process.stdin.close()
        code = self._process.wait()
        if self._copier is not None:
            self._copier.join()
        if code != 0:
            raise self._failure("write")
        if self._copy_error is not None:
            raise RenderError(f"could not write the video to stdout ({self._copy_error})")

    def _kill(self) -> None:
        """Stop ffmpeg at once (no closing fragment or index written): it must be gone before its file is deleted."""
        if self._process is None:
            return
        with contextlib.suppress(Exception):
            if self._process.poll() is None:
                self._process.kill()
        with contextlib.suppress(Exception):
            self._process.stdin.close()
        with contextlib.suppress(Exception):
            self._process.wait()
        if self._copier is not None:
            self._copier.join()

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            try:
                self._finish()
            except BaseException as err:
                self._kill()
                self._stack.__exit__(type(err), err, err.__traceback__)  # deletes the partial file
                raise
        else:
            self._kill()
        self._stack.__exit__(kind, value, traceback)


def encode_png(image: np.ndarray) -> bytes:
    """uint8 [H, W, 3] or [H, W, 4] -> PNG file bytes (8-bit RGB or RGBA, zlib level 6)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"PNG needs uint8 [H, W, 3|4], got {image.dtype} {image.shape}")
    height, width, channels = image.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    color_type = 2 if channels == 3 else 6
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def write_png(path: str | os.PathLike, image: np.ndarray, overwrite: bool = False, stream: BinaryIO | None = None) -> None:
    """Write uint8 [H, W, 3|4] as a PNG, atomically; path "-": its bytes to `stream` (default stdout's)."""
    data = encode_png(image)
    if is_stdout(path):
        write_stream(data, stream)
        return
    with atomic_output(path, overwrite=overwrite) as temp:
        Path(temp).write_bytes(data)


def write_stream(data: bytes, stream: BinaryIO | None = None) -> None:
    """Write a finished output's bytes to `stream` (default: stdout's bytes) and flush."""
    stream = stream if stream is not None else sys.stdout.buffer
    stream.write(data)
    stream.flush()


def iter_batches(total: int, batch: int) -> Iterator[range]:
    for start in range(0, total, batch):
        yield range(start, min(total, start + batch))
