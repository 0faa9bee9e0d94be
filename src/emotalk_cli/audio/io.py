"""Reading and checking audio files (wav, flac, ogg, ... through soundfile; torchaudio has no I/O here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from emotalk_cli.errors import EmotalkError

MIN_SECONDS = 0.2  # shorter clips give no usable frame of speech


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    sample_rate: int  # Hz
    frames: int  # samples per channel
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Open `path` as audio and return its rate, length and channels; EmotalkError if it is not audio."""
    source = Path(path)
    if not source.is_file():
        raise EmotalkError(f"{source}: no such audio file (give a wav, flac or ogg file to --audio)")
    try:
        info = soundfile.info(str(source))
    except (soundfile.LibsndfileError, RuntimeError, OSError) as err:
        raise EmotalkError(f"{source}: not a readable audio file ({err}); convert it to wav, flac or ogg") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise EmotalkError(f"{source}: the audio file is empty; give a recording at least {MIN_SECONDS} s long")
    return AudioInfo(source, int(info.samplerate), int(info.frames), int(info.channels))


def copy_as_pcm16(info: AudioInfo, target: str | os.PathLike, block: int = 1 << 16) -> None:
    """Copy the audio to a 16-bit PCM wav in blocks (memory flat in length); NaN/inf become silence,
    values beyond [-1, 1] are clipped. ffmpeg then muxes a file it is sure to read."""
    with soundfile.SoundFile(str(target), "w", samplerate=info.sample_rate, channels=info.channels, subtype="PCM_16") as out:
        for chunk in soundfile.blocks(str(info.path), blocksize=block, dtype="float32", always_2d=True):
            chunk = np.nan_to_num(chunk, nan=0.0, posinf=0.0, neginf=0.0)
            out.write(np.clip(chunk, -1.0, 1.0))
