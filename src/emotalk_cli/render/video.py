"""Writing frames: mp4 streamed into ffmpeg (h264, yuv420p, faststart, aac), and PNG stills.

Frames go to ffmpeg as they are made, so memory stays flat in the clip's length. Every output is
written to a temporary file beside the target and renamed only when complete.
"""

from __future__ import annotations

import contextlib
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from emotalk_cli.artifacts import atomic_output
from emotalk_cli.audio.io import AudioInfo, copy_as_pcm16
from emotalk_cli.errors import RenderError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
IMAGE_SUFFIXES = (".png",)


def check_frame_size(width: int, height: int) -> None:
    """h264 in yuv420p needs even sizes; refuse anything else before any work is done."""
    if width <= 0 or height <= 0:
        raise RenderError(f"frame size {width}x{height} is empty: use a positive size such as --size 512")
    if width % 2 or height % 2:
        raise RenderError(f"frame size {width}x{height} is odd: h264 video needs even sizes, e.g. --size {width + width % 2}")
    if width > 8192 or height > 8192:
        raise RenderError(f"frame size {width}x{height} is too large: at most 8192 pixels a side")


class VideoWriter:
    """`with VideoWriter(path, 512, 512, fps=25, audio=info) as video: video.write(frame)`.

    frame: uint8 [H, W, 3]. The audio, when given, is muxed as aac and the result cut to the shorter
    of audio and video (`cut_to_audio=False`: every frame is kept, for videos whose frames cover
    the audio exactly, ceil(seconds * fps) of them, so the last frame may outlast the sound by < 1 frame). On an exception nothing is left at `path`.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float,
                 audio: AudioInfo | None = None, overwrite: bool = False, crf: int = 18, cut_to_audio: bool = True):
        check_frame_size(width, height)
        if not 1 <= fps <= 240:
            raise RenderError(f"frame rate {fps} is out of range: use 1 to 240, e.g. --fps 25")
        self.path, self.width, self.height, self.fps = Path(path), width, height, fps
        self.audio, self.overwrite, self.crf, self.cut_to_audio = audio, overwrite, crf, cut_to_audio
        self.frames_written = 0
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> "VideoWriter":
        import imageio_ffmpeg  # imported here: it locates the ffmpeg binary on import

        temp = self._stack.enter_context(atomic_output(self.path, overwrite=self.overwrite))
        audio_path = None
        if self.audio is not None:
            scratch = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="emotalk-audio-"))
            audio_path = str(Path(scratch) / "audio.wav")
            copy_as_pcm16(self.audio, audio_path)
        output_params = ["-crf", str(self.crf), "-preset", "veryfast", "-movflags", "+faststart"]
        if audio_path and self.cut_to_audio:
            output_params += ["-shortest"]
        self._writer = imageio_ffmpeg.write_frames(
            str(temp),
            (self.width, self.height),
            fps=self.fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=output_params,
            audio_path=audio_path,
            audio_codec="aac" if audio_path else None,
        )
        self._writer.send(None)
        return self

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 [{self.height}, {self.width}, 3], got {frame.dtype} {frame.shape}")
        self._writer.send(np.ascontiguousarray(frame))
        self.frames_written += 1

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            try:
                if self.frames_written == 0:
                    raise RenderError("no frames were rendered: nothing to write")
                self._writer.close()  # waits for ffmpeg; raises if ffmpeg failed
            except BaseException as err:
                with contextlib.suppress(Exception):
                    self._writer.close()  # ffmpeg must be gone before its file is deleted
                self._stack.__exit__(type(err), err, err.__traceback__)  # deletes the partial file
                raise
        else:
            with contextlib.suppress(Exception):
                self._writer.close()
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


def write_png(path: str | os.PathLike, image: np.ndarray, overwrite: bool = False) -> None:
    """Write uint8 [H, W, 3|4] as a PNG, atomically."""
    data = encode_png(image)
    with atomic_output(path, overwrite=overwrite) as temp:
        Path(temp).write_bytes(data)


def iter_batches(total: int, batch: int) -> Iterator[range]:
    for start in range(0, total, batch):
        yield range(start, min(total, start + batch))
