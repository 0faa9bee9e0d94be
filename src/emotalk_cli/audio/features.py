"""Audio for the motion model: any audio file (audio.io: soundfile or ffmpeg) -> 16 kHz mono -> log-mel per video frame.

    wave = load_audio("a.wav")                       # [N] float32 at 16 kHz, finite, in [-1, 1]
    feats = audio_features(wave, num_frames=T)       # [T, 160]: 4 log-mel frames x 40 bands per video frame
    feats = file_features("a.m4a", num_frames=T)     # the same, streamed from the file (or an AudioInfo)

Frame k of the video shows time k / fps (25 fps: every 40 ms). Mel frames are 10 ms apart
(hop 160 at 16 kHz) and centred on their times, so video frame k owns the 4 mel frames at
k*40 - 20, -10, 0, +10 ms. Features are normalised per recording to its loud frames, so gain
does not matter, and floored at an absolute level, so silence reads as silence (not as speech
turned up). NaN/inf samples become 0 (silence; an AudioReport counts them, so a command can warn
once), samples are clipped to [-1, 1], channels are averaged (ffmpeg sources arrive mono: ffmpeg's
downmix, which for stereo is (L + R) / sqrt(2), not the mean: a gain, which the normalisation removes).

Everything streams: `iter_audio` reads and resamples in blocks (blocks overlap by a margin wider
than the resampling kernel and are trimmed, so the result equals resampling the whole file at once,
tested), and `stream_features` turns any stream of blocks into features, computing mel frames as
soon as their samples are in and dropping samples no frame needs any more. `file_features` joins
the two, so `emotalk animate` never holds the wave: its memory is the features (0.96 MB a minute of
audio, float32) and one block. `load_audio` still gives the whole wave for training and evaluation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF
from torch import Tensor

from emotalk_cli.audio.io import MIN_SECONDS, AudioInfo, AudioReport, audio_info, sound_blocks
from emotalk_cli.errors import EmotalkError


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 16_000  # Hz the model hears
    fps: float = 25.0  # video frames per second; frame k at k / fps
    n_fft: int = 512  # 32 ms FFT
    win_length: int = 400  # 25 ms Hann window (the usual speech front end)
    hop_length: int = 160  # 10 ms: 4 mel frames per 40 ms video frame
    n_mels: int = 40  # bands from 50 Hz to 7.6 kHz
    f_min: float = 50.0
    f_max: float = 7600.0
    loud_quantile: float = 0.95  # the per-recording reference level: this quantile of frame energies
    floor_db: float = -55.0  # dB (re. a full-scale sine) below which a recording counts as silent
    range_db: float = 60.0  # features span [ref - range_db, ref + a little], mapped to about [-1.5, 0.5]

    @property
    def mels_per_frame(self) -> int:
        ratio = self.sample_rate / self.fps / self.hop_length
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError(f"hop {self.hop_length} does not divide a video frame ({self.sample_rate / self.fps} samples)")
        return int(round(ratio))

    @property
    def dim(self) -> int:
        """Feature size per video frame."""
        return self.mels_per_frame * self.n_mels


def frame_count(seconds: float, fps: float) -> int:
    """Video frames covering `seconds`: frame k shows time k / fps, T = ceil(seconds * fps) (>= 1)."""
    return max(1, int(math.ceil(seconds * fps - 1e-6)))


# ---------------------------------------------------------------------------------------------
# Loading


def _sanitise(block: np.ndarray, report: AudioReport | None = None) -> np.ndarray:
    """[n, channels] any float -> [n] mono float32, finite, in [-1, 1]; NaN/inf samples become 0
    (silence) and are counted in `report`."""
    block = block.astype(np.float32, copy=False)
    if report is not None:
        report.samples += block.size
    finite = np.isfinite(block)
    if not finite.all():
        if report is not None:
            report.nonfinite += int(block.size - np.count_nonzero(finite))
        block = np.where(finite, block, np.float32(0.0))
    return np.clip(block.mean(axis=1), -1.0, 1.0)


def load_audio(path: str | os.PathLike, sample_rate: int = 16_000, block_seconds: float = 20.0) -> Tensor:
    """Read an audio file (wav/flac/ogg, m4a/mp3/opus/webm, a video's sound, ...; any rate, any channels)
    -> mono [N] float32 at `sample_rate`.

    Raises EmotalkError (one line with a fix) for a missing, unreadable, empty or too short file."""
    info = checked_audio_info(path)
    out = _Filler(resampled_length(info.frames, info.sample_rate, sample_rate))
    for piece in iter_audio(info, sample_rate, block_seconds):
        out.add(piece)
    return out.result()


def checked_audio_info(source: str | os.PathLike | AudioInfo) -> AudioInfo:
    """audio_info (or an AudioInfo already opened), refusing clips shorter than MIN_SECONDS
    (EmotalkError, one line with a fix)."""
    info = source if isinstance(source, AudioInfo) else audio_info(source)
    if info.seconds < MIN_SECONDS:
        raise EmotalkError(f"{info.label}: the audio lasts {info.seconds:.3f} s; give a recording at least {MIN_SECONDS} s long")
    return info


def resampled_length(frames: int, orig: int, new: int) -> int:
    """Samples at `new` Hz that `frames` samples at `orig` Hz become (load_audio's length)."""
    return frames if orig == new else math.ceil(frames * new / orig)


def iter_audio(info: AudioInfo, sample_rate: int = 16_000, block_seconds: float = 20.0,
               report: AudioReport | None = None) -> Iterator[Tensor]:
    """load_audio's samples as a stream of mono float32 blocks [n] at `sample_rate` (finite, in [-1, 1]):
    concatenated they are load_audio's result, but only one block is held at a time (an ffmpeg source
    is decoded on a pipe as it is read). info: audio.io.AudioInfo (checked_audio_info); `report`
    counts the samples that were NaN or infinite."""
    g = math.gcd(info.sample_rate, sample_rate)
    step_in, step_out = info.sample_rate // g, sample_rate // g  # phase period of the resampler
    block = step_in * max(1, round(block_seconds * info.sample_rate / step_in))
    reader = (_sanitise(b, report) for b in sound_blocks(info, block))
    if step_in == step_out:
        yield from (torch.from_numpy(b) for b in reader)
    else:
        yield from _resample_stream(reader, info.sample_rate, sample_rate)


class _Filler:
    """A 1-D float32 array filled piece by piece, preallocated for the expected length (grows if a
    decoder delivers more), so no list of pieces and no concatenated copy is ever held."""

    def __init__(self, capacity: int):
        self.buffer, self.count = torch.empty(max(1, capacity)), 0

    def add(self, piece: Tensor) -> None:
        end = self.count + piece.shape[0]
        if end > self.buffer.shape[0]:
            grown = torch.empty(max(end, 2 * self.buffer.shape[0]))
            grown[: self.count] = self.buffer[: self.count]
            self.buffer = grown
        self.buffer[self.count : end] = piece
        self.count = end

    def result(self) -> Tensor:
        return self.buffer[: self.count]


def _resample_stream(blocks: Iterable[np.ndarray], orig: int, new: int) -> Iterator[Tensor]:
    """Resample a stream of mono blocks [n] (all of one length, a multiple of the resampler's phase
    period orig / gcd, but the last) from `orig` to `new` Hz, yielding the resampled blocks.

    Each output block is made from its input block plus `margin` samples either side (zeros at the
    ends, as torchaudio pads), with the margin a multiple of the phase period, so the pieces line up
    exactly with resampling everything at once (tested); ceil(total * new / orig) samples in all."""
    g = math.gcd(orig, new)
    step_in, step_out = orig // g, new // g
    margin = step_in * math.ceil(256 / step_in)
    out_margin = margin // step_in * step_out
    buffer = np.zeros(margin, np.float32)  # what precedes the current block (zeros at the start)
    pending: np.ndarray | None = None
    for chunk in blocks:
        if pending is not None:
            window = np.concatenate([buffer, pending, chunk[:margin]])
            if len(chunk) < margin:  # tiny last chunk: the window needs zeros after it too
                window = np.concatenate([window, np.zeros(margin - len(chunk), np.float32)])
            yield _resample_window(window, orig, new, out_margin, len(pending) // step_in * step_out)
            buffer = np.concatenate([buffer, pending])[-margin:]
        pending = chunk
    if pending is not None:
        window = np.concatenate([buffer, pending, np.zeros(margin, np.float32)])
        yield _resample_window(window, orig, new, out_margin, math.ceil(len(pending) * step_out / step_in))


def _resample_window(window: np.ndarray, orig: int, new: int, start: int, count: int) -> Tensor:
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(window)), orig, new)
    return out[start : start + count].clamp_(-1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Features


def _mel_filters(config: FeatureConfig) -> Tensor:
    return AF.melscale_fbanks(config.n_fft // 2 + 1, config.f_min, config.f_max, config.n_mels, config.sample_rate,
                              norm="slaney", mel_scale="slaney")  # [freqs, mels]


def _full_scale_power(config: FeatureConfig) -> float:
    """Mean mel power per band of a full-scale 1 kHz sine: the 0 dB reference."""
    t = torch.arange(config.sample_rate // 4) / config.sample_rate
    mel = _log_mel_power(torch.sin(2 * math.pi * 1000 * t), config).exp()
    return float(mel[:, 5:-5].sum(0).mean() / config.n_mels)


def _log_mel_power(wave: Tensor, config: FeatureConfig) -> Tensor:
    """[N] -> natural-log mel power [n_mels, M], M = N // hop + 1, frame j centred at sample j * hop
    (zero padding at the ends), in one block: for short signals (the 0 dB reference)."""
    half = config.n_fft // 2
    padded = torch.nn.functional.pad(wave.float(), (half, half))
    return _log_mel_block(padded, wave.shape[0] // config.hop_length + 1, config)


def _log_mel_block(padded: Tensor, frames: int, config: FeatureConfig) -> Tensor:
    """Natural-log mel power [n_mels, frames] of the STFT frames j = 0 .. frames - 1 of `padded`,
    frame j reading padded[j * hop : j * hop + n_fft]."""
    window = torch.hann_window(config.win_length)
    seg = padded[: (frames - 1) * config.hop_length + config.n_fft]
    spec = torch.stft(seg, config.n_fft, config.hop_length, config.win_length, window, center=False,
                      return_complex=True)
    power = spec.real**2 + spec.imag**2  # [freqs, frames]
    return torch.log(_mel_filters(config).T @ power + 1e-14)


_REFERENCE: dict[FeatureConfig, float] = {}


def audio_features(wave: Tensor, num_frames: int | None = None, config: FeatureConfig = FeatureConfig()) -> Tensor:
    """Mono audio [N] at config.sample_rate -> features [T, config.dim], T = num_frames (default: the
    frames covering the audio; shorter audio is padded with silence, longer is cut)."""
    if wave.dim() != 1:
        raise ValueError(f"expected mono audio [N], got {tuple(wave.shape)}")
    if num_frames is None:
        num_frames = frame_count(wave.shape[0] / config.sample_rate, config.fps)
    return stream_features([wave], num_frames, config)


def file_features(source: str | os.PathLike | AudioInfo, num_frames: int | None = None,
                  config: FeatureConfig = FeatureConfig(), block_seconds: float = 20.0,
                  report: AudioReport | None = None) -> Tensor:
    """audio_features(load_audio(source), num_frames) without ever holding the whole wave: features [T, dim]
    from the file (a path, or an AudioInfo from audio.io.opened_audio) read, resampled and analysed
    block by block (memory: the features and one block). `report` counts NaN/inf samples."""
    info = checked_audio_info(source)
    if num_frames is None:
        num_frames = frame_count(info.seconds, config.fps)
    return stream_features(iter_audio(info, config.sample_rate, block_seconds, report), num_frames, config)


def stream_features(blocks: Iterable[Tensor], num_frames: int, config: FeatureConfig = FeatureConfig(),
                    block_frames: int = 3000) -> Tensor:
    """Features [num_frames, config.dim] of the mono audio that `blocks` (pieces [n] at config.sample_rate,
    in order) make up; blocks past the frames' end are read and dropped, a short stream is padded with
    silence. The same numbers however the audio is cut into blocks (tested)."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    per, hop, n_fft = config.mels_per_frame, config.hop_length, config.n_fft
    if config not in _REFERENCE:
        _REFERENCE[config] = math.log(_full_scale_power(config))
    reference = _REFERENCE[config]
    need = num_frames * per * hop  # samples the frames cover (silence past the audio's end)
    # video frame k <- mel frames centred at samples (per*k - per/2 ... per*k + per/2 - 1) * hop:
    # `lead` zeros before the start put mel frame j at column j + per/2; `half` zeros either side
    # centre the STFT frames. The stream is read through a window of that padded signal: mel frames
    # are computed as soon as their samples are in, and samples no frame needs any more are dropped.
    half, lead = n_fft // 2, per // 2 * hop
    columns = num_frames * per
    logmel = torch.empty(columns, config.n_mels)  # mel frame-major: the result is a view of it
    frame_db = torch.empty(columns)  # per mel frame: dB re. full scale, averaged over bands
    pending = torch.zeros(half + lead)  # padded signal from sample `offset` of the padded stream on
    offset, done, taken = 0, 0, 0

    def analyse(final: bool) -> None:
        nonlocal pending, offset, done
        while done < columns:
            ready = (offset + pending.shape[0] - n_fft) // hop + 1 - done  # frames whose samples are all in
            count = min(ready, columns - done, block_frames)
            if count <= 0 or (count < block_frames and count < columns - done and not final):
                return
            start = done * hop - offset
            block = _log_mel_block(pending[start:], count, config)
            logmel[done : done + count] = block.T
            frame_db[done : done + count] = 10 * torch.log10(torch.exp(block - reference).mean(0) + 1e-12)
            done += count
            drop = done * hop - offset  # samples before the next frame's start
            pending, offset = pending[drop:], offset + drop

    for piece in blocks:
        if piece.dim() != 1:
            raise ValueError(f"expected mono audio pieces [n], got {tuple(piece.shape)}")
        piece = piece[: max(0, need - taken)].float()
        if piece.shape[0] == 0:
            continue  # past the frames' end (the stream is still drained, as a reader would be)
        taken += piece.shape[0]
        piece = torch.nan_to_num(piece, nan=0.0, posinf=0.0, neginf=0.0).clamp_(-1.0, 1.0)
        pending = torch.cat([pending, piece])
        analyse(final=False)
    pending = torch.cat([pending, torch.zeros(need - taken + half)])  # silence to the end, then the pad
    analyse(final=True)

    ref = max(float(torch.quantile(frame_db, config.loud_quantile)), config.floor_db)
    db = 10.0 / math.log(10.0)  # natural log power -> dB
    # level (dB re. full scale, per band) -> loud ~ 0.5, ref - range -> -1.5; in place
    feats = logmel.sub_(reference).mul_(db).sub_(ref).div_(config.range_db).mul_(2.0).add_(0.5).clamp_(-1.5, 0.75)
    return feats.reshape(num_frames, per * config.n_mels)
