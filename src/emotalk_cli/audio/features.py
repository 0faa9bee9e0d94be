"""Audio for the motion model: any soundfile-readable file -> 16 kHz mono -> log-mel per video frame.

    wave = load_audio("a.wav")                       # [N] float32 at 16 kHz, finite, in [-1, 1]
    feats = audio_features(wave, num_frames=T)       # [T, 160]: 4 log-mel frames x 40 bands per video frame

Frame k of the video shows time k / fps (25 fps: every 40 ms). Mel frames are 10 ms apart
(hop 160 at 16 kHz) and centred on their times, so video frame k owns the 4 mel frames at
k*40 - 20, -10, 0, +10 ms. Features are normalised per recording to its loud frames, so gain
does not matter, and floored at an absolute level, so silence reads as silence (not as speech
turned up). NaN/inf samples become 0, samples are clipped to [-1, 1], channels are averaged.

Reading and resampling stream in blocks into one preallocated array (memory: the 16 kHz result,
4 bytes a sample, and one block); blocks overlap by a margin wider than the resampling kernel and
are trimmed, so the result equals resampling the whole file at once (tested). Features copy the
wave once, into the padded buffer the STFT reads, and compute the mel spectrum in blocks.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF
from torch import Tensor

from emotalk_cli.audio.io import MIN_SECONDS, audio_info
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


def _sanitise(block: np.ndarray) -> np.ndarray:
    """[n, channels] any float -> [n] mono float32, finite, in [-1, 1]."""
    block = np.nan_to_num(block.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(block.mean(axis=1), -1.0, 1.0)


def load_audio(path: str | os.PathLike, sample_rate: int = 16_000, block_seconds: float = 20.0) -> Tensor:
    """Read an audio file (wav/flac/ogg/..., any rate, any channels) -> mono [N] float32 at `sample_rate`.

    Raises EmotalkError (one line with a fix) for a missing, unreadable, empty or too short file."""
    info = audio_info(path)
    if info.seconds < MIN_SECONDS:
        raise EmotalkError(f"{info.path}: the audio lasts {info.seconds:.3f} s; give a recording at least {MIN_SECONDS} s long")
    g = math.gcd(info.sample_rate, sample_rate)
    step_in, step_out = info.sample_rate // g, sample_rate // g  # phase period of the resampler
    block = step_in * max(1, round(block_seconds * info.sample_rate / step_in))
    try:
        reader = soundfile.blocks(str(info.path), blocksize=block, dtype="float32", always_2d=True)
        if step_in == step_out:
            out = _Filler(info.frames)
            for b in reader:
                out.add(torch.from_numpy(_sanitise(b)))
            return out.result()
        return _resample_stream((_sanitise(b) for b in reader), info.sample_rate, sample_rate, block,
                                expected=info.frames)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise EmotalkError(f"{info.path}: cannot decode the audio ({err}); convert it to wav, flac or ogg") from None


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


def _resample_stream(blocks, orig: int, new: int, block: int, expected: int = 0) -> Tensor:
    """Resample a stream of mono blocks [n] (all of length `block` but the last) from `orig` to `new` Hz.

    Each output block is made from its input block plus `margin` samples either side (zeros at the
    ends, as torchaudio pads), with block and margin multiples of the resampler's phase period, so
    the pieces line up exactly with resampling everything at once."""
    g = math.gcd(orig, new)
    step_in, step_out = orig // g, new // g
    margin = step_in * math.ceil(256 / step_in)
    out_margin = margin // step_in * step_out
    total = 0
    pieces = _Filler(math.ceil(expected * step_out / step_in))
    buffer = np.zeros(margin, np.float32)  # what precedes the current block (zeros at the start)
    pending: np.ndarray | None = None
    for chunk in blocks:
        total += len(chunk)
        if pending is not None:
            window = np.concatenate([buffer, pending, chunk[:margin]])
            if len(chunk) < margin:  # tiny last chunk: the window needs zeros after it too
                window = np.concatenate([window, np.zeros(margin - len(chunk), np.float32)])
            pieces.add(_resample_window(window, orig, new, out_margin, len(pending) // step_in * step_out))
            buffer = np.concatenate([buffer, pending])[-margin:]
        pending = chunk
    if pending is not None:
        window = np.concatenate([buffer, pending, np.zeros(margin, np.float32)])
        pieces.add(_resample_window(window, orig, new, out_margin, math.ceil(len(pending) * step_out / step_in)))
    wave = pieces.result() if total else torch.zeros(0)
    return wave[: math.ceil(total * new / orig)].clamp_(-1.0, 1.0)


def _resample_window(window: np.ndarray, orig: int, new: int, start: int, count: int) -> Tensor:
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(window)), orig, new)
    return out[start : start + count]


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


def _log_mel_power(wave: Tensor, config: FeatureConfig, block_frames: int = 3000) -> Tensor:
    """[N] -> natural-log mel power [n_mels, M], M = N // hop + 1, frame j centred at sample j * hop
    (zero padding at the ends); computed in blocks of mel frames to keep memory flat."""
    half = config.n_fft // 2
    padded = torch.nn.functional.pad(wave.float(), (half, half))
    return _log_mel_of_padded(padded, wave.shape[0] // config.hop_length + 1, config, block_frames)


def _log_mel_of_padded(padded: Tensor, frames: int, config: FeatureConfig, block_frames: int = 3000) -> Tensor:
    """_log_mel_power of a wave already padded with n_fft // 2 zeros at each end: [n_mels, frames]."""
    window = torch.hann_window(config.win_length)
    filters = _mel_filters(config)
    out = []
    for j0 in range(0, frames, block_frames):
        j1 = min(frames, j0 + block_frames)
        seg = padded[j0 * config.hop_length : (j1 - 1) * config.hop_length + config.n_fft]
        spec = torch.stft(seg, config.n_fft, config.hop_length, config.win_length, window, center=False,
                          return_complex=True)
        power = spec.real**2 + spec.imag**2  # [freqs, j1 - j0]
        out.append(torch.log(filters.T @ power + 1e-14))
    return torch.cat(out, dim=1)


_REFERENCE: dict[FeatureConfig, float] = {}


def audio_features(wave: Tensor, num_frames: int | None = None, config: FeatureConfig = FeatureConfig()) -> Tensor:
    """Mono audio [N] at config.sample_rate -> features [T, config.dim], T = num_frames (default: the
    frames covering the audio; shorter audio is padded with silence, longer is cut)."""
    if wave.dim() != 1:
        raise ValueError(f"expected mono audio [N], got {tuple(wave.shape)}")
    per = config.mels_per_frame
    if num_frames is None:
        num_frames = frame_count(wave.shape[0] / config.sample_rate, config.fps)
    if config not in _REFERENCE:
        _REFERENCE[config] = math.log(_full_scale_power(config))
    need = num_frames * per * config.hop_length  # samples the frames cover (silence past the audio's end)
    # video frame k <- mel frames centred at samples (per*k - per/2 ... per*k + per/2 - 1) * hop:
    # `lead` zeros before the start put mel frame j at column j + per/2; `half` zeros either side
    # centre the STFT frames. One buffer holds it all; the wave is cleaned (NaN/inf -> 0, clipped) in it.
    half, lead = config.n_fft // 2, per // 2 * config.hop_length
    padded = torch.zeros(half + lead + need + half)
    n = min(need, wave.shape[0])
    body = padded[half + lead : half + lead + n]
    body.copy_(wave[:n])
    torch.nan_to_num_(body, nan=0.0, posinf=0.0, neginf=0.0).clamp_(-1.0, 1.0)
    logmel = _log_mel_of_padded(padded, (lead + need) // config.hop_length + 1, config)[:, : num_frames * per]
    db = 10.0 / math.log(10.0)  # natural log power -> dB
    level = (logmel - _REFERENCE[config]) * db  # dB re. full scale, per band
    frame_db = 10 * torch.log10(torch.exp(logmel - _REFERENCE[config]).mean(0) + 1e-12)  # [T * per]
    ref = max(float(torch.quantile(frame_db, config.loud_quantile)), config.floor_db)
    feats = ((level - ref) / config.range_db * 2.0 + 0.5).clamp(-1.5, 0.75)  # loud ~ 0.5, ref - range -> -1.5
    return feats.T.reshape(num_frames, per * config.n_mels).contiguous()
