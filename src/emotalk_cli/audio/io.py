"""Reading and checking audio: anything the shipped ffmpeg decodes, with soundfile as the fast path.

    with opened_audio("a.m4a") as info:      # '-' spools stdin to a temporary file first
        info.seconds, info.decoder           # 12.48, "ffmpeg"

Two decoders, chosen per file:
- soundfile (libsndfile) for what it reads with an exact length: wav (any PCM or float), flac, ogg
  (vorbis, opus), aiff, caf, ...: read in blocks at the file's own rate and channels;
- ffmpeg (imageio-ffmpeg's static binary) for everything else: m4a/aac, mp3 (libsndfile's mp3 length is
  an estimate for files without a Xing/LAME header), opus/webm, and the sound of mp4/mov/mkv videos.
  ffmpeg decodes to mono float32 at 16 kHz (the motion model's rate) streamed on a pipe, so memory
  stays flat however long the audio. Containers' durations are not trusted (a browser's webm often
  has none, an ADTS stream's is a bitrate estimate): `audio_info` counts the samples by decoding the
  file once through the pipe (an hour of m4a: see benchmarks/bench_animate.py). Both passes, and the
  mux into the video (`mux_input`), put the track on one timeline (TIMELINE_FILTER: from its first
  sample, gaps filled with silence), so the frames match the sound.

Unusable input (missing, empty, not audio, no audio stream, too short) raises EmotalkError with one
line saying what was wrong and how to fix it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import soundfile

from emotalk_cli.errors import EmotalkError

MIN_SECONDS = 0.2  # shorter clips give no usable frame of speech
SOUNDFILE, FFMPEG = "soundfile", "ffmpeg"
DECODE_RATE = 16_000  # Hz: ffmpeg sources are decoded to mono at the motion model's rate
# One timeline, from the track's first sample at 0 (a track that starts after its video, or before 0
# as opus in webm does, is not shifted or cut), gaps in it filled with silence (dropped packets in a
# browser's recording): the same in the decoder that counts and analyses and in the muxer.
TIMELINE_FILTER = "asetpts=PTS-STARTPTS,aresample=async=1:first_pts=0"
FORMATS_HINT = "give a wav, flac, ogg, m4a, mp3, opus or webm file, or a video with sound"
_INEXACT_SOUNDFILE_FORMATS = ("MP3",)  # libsndfile estimates their length: decoded by ffmpeg instead


@dataclass(frozen=True)
class AudioInfo:
    """An audio source. decoder "soundfile": `path` read by soundfile at its own rate and channels;
    "ffmpeg": `path` decoded by ffmpeg to mono float32 at `sample_rate` (DECODE_RATE), `frames` counted."""

    path: Path
    sample_rate: int  # Hz
    frames: int  # samples per channel
    channels: int
    decoder: str = SOUNDFILE
    name: str = ""  # what messages call it (e.g. "stdin"); default: the path

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def label(self) -> str:
        return self.name or str(self.path)


@dataclass
class AudioReport:
    """What reading the audio found: samples that were NaN or +-inf (they are read as silence)."""

    nonfinite: int = 0
    samples: int = 0

    def warning(self, label: str) -> str | None:
        """The one line to warn with, or None when every sample was finite."""
        if not self.nonfinite:
            return None
        share = self.nonfinite / max(self.samples, 1)
        return (f"{label}: {self.nonfinite} sample{'s' * (self.nonfinite != 1)} ({share:.2%}) were NaN or infinite; "
                "they were read as silence")


def ffmpeg_exe() -> str:
    """The shipped ffmpeg binary (imageio-ffmpeg), or EmotalkError saying how to get it back."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as err:  # ImportError, or RuntimeError: no binary found
        raise EmotalkError(f"ffmpeg is missing ({err}); reinstall with `make setup` (it ships in imageio-ffmpeg)") from None


def audio_info(path: str | os.PathLike, name: str | None = None) -> AudioInfo:
    """Open `path` as audio and return its rate, length and channels; EmotalkError if it is not audio.

    soundfile answers at once for what it reads; anything else is decoded once by ffmpeg to count
    its samples (memory flat). `name` is what messages call the file (default: the path)."""
    source = Path(path)
    label = name or str(source)
    if not source.is_file():
        raise EmotalkError(f"{label}: no such audio file ({FORMATS_HINT} to --audio)")
    if source.stat().st_size == 0:
        raise EmotalkError(f"{label}: not a readable audio file (it is empty, 0 bytes); {FORMATS_HINT}")
    try:
        info = soundfile.info(str(source))
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        info = None
    if info is not None and info.format not in _INEXACT_SOUNDFILE_FORMATS:
        if info.frames <= 0 or info.samplerate <= 0:
            raise EmotalkError(f"{label}: the audio file is empty; give a recording at least {MIN_SECONDS} s long")
        return AudioInfo(source, int(info.samplerate), int(info.frames), int(info.channels), SOUNDFILE, name or "")
    frames = _ffmpeg_count(source, label)
    if frames <= 0:
        raise EmotalkError(f"{label}: the audio track is empty (ffmpeg decoded no samples); "
                           f"give a recording at least {MIN_SECONDS} s long")
    return AudioInfo(source, DECODE_RATE, frames, 1, FFMPEG, name or "")


@contextlib.contextmanager
def opened_audio(source: str | os.PathLike, stdin: BinaryIO | None = None) -> Iterator[AudioInfo]:
    """audio_info for the length of a `with` block; '-' reads the audio (any container) from `stdin`
    (default: the process's), spooled to a temporary file that lives as long as the block (seeking is
    needed: soundfile and ffmpeg both read the file twice)."""
    if str(source) != "-":
        yield audio_info(source)
        return
    stream = stdin if stdin is not None else sys.stdin.buffer
    if _is_terminal(stream):
        raise EmotalkError("--audio -: stdin is a terminal, not audio; pipe a file in, e.g. "
                           "cat a.m4a | emotalk animate --audio - -o out.mp4")
    with tempfile.TemporaryDirectory(prefix="emotalk-stdin-") as folder:
        spooled = Path(folder) / "stdin"
        with open(spooled, "wb") as out:
            size = 0
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                size += len(chunk)
        if size == 0:
            raise EmotalkError("--audio -: nothing came on stdin; pipe a file in, e.g. "
                               "cat a.m4a | emotalk animate --audio - -o out.mp4")
        yield audio_info(spooled, name="stdin")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# ffmpeg


def _input_args(path: Path) -> list[str]:
    """ffmpeg's arguments to read `path` as a plain local file (never a URL, a pipe or a playlist's
    network references: 'file:' and the protocol whitelist), its first audio stream."""
    return ["-protocol_whitelist", "file", "-i", "file:" + str(path.resolve())]


def _decode_command(path: Path, rate: int = DECODE_RATE) -> list[str]:
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *_input_args(path),
            "-map", "0:a:0", "-af", TIMELINE_FILTER, "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"]


@contextlib.contextmanager
def _decoder(path: Path, label: str, rate: int = DECODE_RATE) -> Iterator[BinaryIO]:
    """An ffmpeg process decoding `path`'s first audio track to mono float32 at `rate` on a pipe: yields
    the pipe; on leaving, a decoder still running is stopped, and a failed one raises EmotalkError
    (ffmpeg's messages go to a temporary file, so a chatty decoder cannot block on a full pipe)."""
    with tempfile.TemporaryFile() as messages:
        process = subprocess.Popen(_decode_command(path, rate), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=messages)
        finished = False
        try:
            yield process.stdout
            finished = True
        finally:
            if not finished and process.poll() is None:
                process.kill()
            process.stdout.close()
            code = process.wait()
        if code != 0:
            messages.seek(0)
            raise _ffmpeg_failure(label, messages.read().decode("utf-8", "replace"))


def _ffmpeg_failure(label: str, text: str) -> EmotalkError:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "matches no streams" in text:
        return EmotalkError(f"{label}: no audio stream in it (a picture, or a video without sound?); {FORMATS_HINT}")
    if "Invalid data found" in text or "could not find codec parameters" in text.lower():
        return EmotalkError(f"{label}: not a readable audio file (ffmpeg: invalid data); {FORMATS_HINT}")
    last = lines[-1] if lines else "no message"
    first = next((line for line in lines if "rror" in line), last)
    return EmotalkError(f"{label}: cannot decode the audio (ffmpeg: {first}); convert it to wav, or {FORMATS_HINT}")


def _ffmpeg_count(path: Path, label: str) -> int:
    """Samples of mono float32 at DECODE_RATE that ffmpeg decodes from `path`, counted through the pipe."""
    buffer = bytearray(1 << 20)
    total = 0
    with _decoder(path, label) as pipe:
        while n := pipe.readinto(buffer):
            total += n
    return total // 4


def ffmpeg_blocks(info: AudioInfo, block: int) -> Iterator[np.ndarray]:
    """An ffmpeg source's samples as float32 blocks [n, 1] of `block` samples (the last shorter):
    one decoder on a pipe, one block held at a time."""
    if block <= 0:
        raise ValueError(f"block must be positive, got {block}")
    with _decoder(info.path, info.label, info.sample_rate) as pipe:
        while data := pipe.read(block * 4):
            usable = len(data) - len(data) % 4
            if usable:
                yield np.frombuffer(data[:usable], np.float32).reshape(-1, 1)


def sound_blocks(info: AudioInfo, block: int) -> Iterator[np.ndarray]:
    """The source's samples, as its decoder gives them, in float32 blocks [n, channels] of `block`
    samples (the last shorter); EmotalkError if decoding fails midway."""
    if info.decoder == FFMPEG:
        yield from ffmpeg_blocks(info, block)
        return
    try:
        yield from soundfile.blocks(str(info.path), blocksize=block, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise EmotalkError(f"{info.label}: cannot decode the audio ({err}); convert it to wav, or {FORMATS_HINT}") from None


# ---------------------------------------------------------------------------------------------
# Muxing


def copy_as_pcm16(info: AudioInfo, target: str | os.PathLike, block: int = 1 << 16) -> int:
    """Copy the audio to a 16-bit PCM wav in blocks (memory flat in length); NaN/inf become silence,
    values beyond [-1, 1] are clipped. ffmpeg then muxes a file it is sure to read. Returns the number
    of samples that were NaN or infinite."""
    nonfinite = 0
    with soundfile.SoundFile(str(target), "w", samplerate=info.sample_rate, channels=info.channels, subtype="PCM_16") as out:
        for chunk in sound_blocks(info, block):
            bad = ~np.isfinite(chunk)
            if bad.any():
                nonfinite += int(bad.sum())
                chunk = np.where(bad, np.float32(0.0), chunk)
            out.write(np.clip(chunk, -1.0, 1.0))
    return nonfinite


@dataclass(frozen=True)
class MuxInput:
    """What ffmpeg reads to put the sound in a video: input arguments, the filter for that input's
    audio (or None), and the samples that were NaN/inf in a soundfile copy (read as silence)."""

    args: list[str]
    audio_filter: str | None
    nonfinite: int = 0


def mux_input(info: AudioInfo, folder: str | os.PathLike) -> MuxInput:
    """The user's sound for the video. A soundfile source is copied to a PCM-16 wav in `folder`
    (NaN/inf silenced, peaks clipped; memory flat); an ffmpeg source is read by the muxing ffmpeg
    itself, at its own rate and channels, on the decoder's timeline (TIMELINE_FILTER)."""
    if info.decoder == FFMPEG:
        return MuxInput(_input_args(info.path), TIMELINE_FILTER)
    copy = Path(folder) / "audio.wav"
    nonfinite = copy_as_pcm16(info, copy)
    return MuxInput(["-i", str(copy)], None, nonfinite)
