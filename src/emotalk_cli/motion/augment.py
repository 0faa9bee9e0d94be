"""Audio augmentation, so a model trained on a few synthetic voices hears past them. Seeded; torch only.

    wave16k, info = augment(wave, sample_rate, seed=7, out_rate=16000)   # [N] -> [N * 16000 / sr]
    faster = change_speed(wave, sample_rate, 1.1)                        # tempo and pitch together

The chain, each step with its own probability (`AugmentConfig`): resample to a "capture" rate of
8-48 kHz (the band a device records), pitch shift (`pitch_shift`: phase vocoder + resampling),
reverb (an exponentially decaying noise impulse response after a direct path, RT60 drawn; the
model of Schroeder-style late reverberation used by e.g. Ko et al. 2017, "A study on data
augmentation of reverberant speech for robust speech recognition"), band limits (high-pass
50-300 Hz, low-pass 2.8-7.5 kHz, telephone-like at the low end), additive white/pink/brown noise
at an SNR of 5-40 dB, gain; then back to `out_rate`. Every step keeps the timeline (no delay, same
duration), so phone timings and motion stay aligned. Speed changes do move the timeline:
`change_speed` is separate and the caller scales its timings by 1 / factor (speed perturbation,
Ko et al. 2015, "Audio augmentation for speech recognition").
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from fractions import Fraction

import torch
import torchaudio.functional as AF
from torch import Tensor

CAPTURE_RATES: tuple[int, ...] = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class AugmentConfig:
    p_capture: float = 0.6  # resample through a random capture rate (CAPTURE_RATES)
    p_pitch: float = 0.3  # phase-vocoder pitch shift
    pitch_semitones: float = 3.0  # shift drawn in +-this
    p_reverb: float = 0.4
    rt60: tuple[float, float] = (0.1, 0.8)  # s, time for the tail to fall 60 dB
    wet: tuple[float, float] = (0.1, 0.6)  # tail energy relative to the direct path
    p_band: float = 0.5
    highpass_hz: tuple[float, float] = (50.0, 300.0)
    lowpass_hz: tuple[float, float] = (2800.0, 7500.0)  # capped below the capture Nyquist
    p_noise: float = 0.6
    snr_db: tuple[float, float] = (5.0, 40.0)
    gain_db: tuple[float, float] = (-12.0, 3.0)


def change_speed(wave: Tensor, sample_rate: int, factor: float) -> tuple[Tensor, float]:
    """Play `wave` [N] about `factor` times faster (pitch rises with it): [N] -> [N / used], used.

    The factor is rounded to a ratio of small integers (so the resampling kernel stays small) and
    the factor used is returned: timings scale by 1 / used.
    """
    _check_wave(wave)
    ratio = Fraction(factor).limit_denominator(40)
    if ratio == 1:
        return wave.clone(), 1.0
    # read as sampled at p, resample to q: length * q / p, played at the same rate -> p/q faster
    out = AF.resample(wave, ratio.numerator, ratio.denominator)
    return out, float(ratio)


def pitch_shift(wave: Tensor, sample_rate: int, semitones: float, n_fft: int = 512) -> tuple[Tensor, float]:
    """Shift pitch by about `semitones`, keeping the duration: phase-vocoder stretch by the ratio
    (Flanagan & Golden 1966; `torchaudio.functional.phase_vocoder`), then resample back. The ratio
    is rounded to small integers (torchaudio's own pitch_shift builds a huge kernel for irrational
    ratios: a minute per second of audio); returns [N] and the semitones used."""
    _check_wave(wave)
    ratio = Fraction(2 ** (semitones / 12)).limit_denominator(24)
    if ratio == 1:
        return wave.clone(), 0.0
    hop = n_fft // 4
    window = torch.hann_window(n_fft)
    spec = torch.stft(wave, n_fft, hop, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * hop, spec.shape[-2])[..., None]
    stretched = AF.phase_vocoder(spec, 1.0 / float(ratio), advance)
    longer = torch.istft(stretched, n_fft, hop, window=window, length=int(round(len(wave) * float(ratio))))
    out = AF.resample(longer, ratio.numerator, ratio.denominator)
    return _fit(out, len(wave)), 12 * math.log2(float(ratio))


def augment(
    wave: Tensor, sample_rate: int, seed: int, config: AugmentConfig = AugmentConfig(), out_rate: int | None = None
) -> tuple[Tensor, dict]:
    """Augment mono `wave` [N] at `sample_rate`; returns [M] at `out_rate` (default: the same rate;
    M = round(N * out_rate / sample_rate)) and what was done (JSON-able). Same seed, same output."""
    _check_wave(wave)
    out_rate = out_rate or sample_rate
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    info: dict = {"seed": seed}
    x = wave.float()
    rate = sample_rate
    if rng.random() < config.p_capture:
        rate = rng.choice(CAPTURE_RATES)
        x = _resample(x, sample_rate, rate)
        info["capture_rate"] = rate
    if rng.random() < config.p_pitch:
        steps = rng.uniform(-config.pitch_semitones, config.pitch_semitones)
        x, steps = pitch_shift(x, rate, steps)
        info["pitch_semitones"] = round(steps, 3)
    if rng.random() < config.p_reverb:
        rt60 = rng.uniform(*config.rt60)
        wet = rng.uniform(*config.wet)
        x = reverb(x, rate, rt60, wet, gen)
        info["reverb"] = {"rt60": round(rt60, 3), "wet": round(wet, 3)}
    if rng.random() < config.p_band:
        high = rng.uniform(*config.highpass_hz)
        low = min(rng.uniform(*config.lowpass_hz), 0.45 * rate)
        x = AF.lowpass_biquad(AF.highpass_biquad(x, rate, high), rate, low)
        info["band_hz"] = [round(high), round(low)]
    if rng.random() < config.p_noise:
        snr = rng.uniform(*config.snr_db)
        colour = rng.choice(("white", "pink", "brown"))
        x = add_noise(x, snr, colour, gen)
        info["noise"] = {"snr_db": round(snr, 2), "colour": colour}
    gain = rng.uniform(*config.gain_db)
    x = x * 10 ** (gain / 20)
    info["gain_db"] = round(gain, 2)
    x = _resample(x, rate, out_rate)
    length = int(round(len(wave) * out_rate / sample_rate))
    x = _fit(x, length)
    peak = float(x.abs().max()) if len(x) else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.contiguous(), info


def reverb(wave: Tensor, sample_rate: int, rt60: float, wet: float, generator: torch.Generator) -> Tensor:
    """Convolve [N] with a synthetic room response: a unit direct path then Gaussian noise decaying
    60 dB over `rt60` s, scaled to `wet` of the direct energy. Output [N], no delay."""
    length = max(2, int(rt60 * sample_rate))
    t = torch.arange(length) / sample_rate
    tail = torch.randn(length, generator=generator) * torch.exp(-6.9078 * t / rt60)
    tail[0] = 0.0
    tail = tail * math.sqrt(wet / float((tail**2).sum() + 1e-12))
    ir = tail
    ir[0] = 1.0
    out = AF.fftconvolve(wave, ir)[: len(wave)]
    # keep the loudness of the dry signal
    return out * (wave.norm() / (out.norm() + 1e-12))


def add_noise(wave: Tensor, snr_db: float, colour: str, generator: torch.Generator) -> Tensor:
    """Add white, pink (1/f) or brown (1/f^2) noise at `snr_db` relative to the speech's power
    (measured over samples above -40 dB of the peak, so pauses do not dilute it)."""
    n = len(wave)
    noise = torch.randn(n, generator=generator)
    if colour != "white":
        exponent = {"pink": 0.5, "brown": 1.0}[colour]
        spectrum = torch.fft.rfft(noise)
        freqs = torch.arange(len(spectrum)).clamp(min=1).float()
        noise = torch.fft.irfft(spectrum / freqs**exponent, n=n)
    active = wave[wave.abs() > wave.abs().max() * 0.01]
    signal_power = float((active**2).mean()) if len(active) else 1e-8
    noise = noise * math.sqrt(signal_power / (float((noise**2).mean()) + 1e-12) / 10 ** (snr_db / 10))
    return wave + noise


def _resample(x: Tensor, source: int, target: int) -> Tensor:
    return x if source == target else AF.resample(x, source, target)


def _fit(x: Tensor, length: int) -> Tensor:
    if len(x) >= length:
        return x[:length]
    return torch.cat([x, x.new_zeros(length - len(x))])


def _check_wave(wave: Tensor) -> None:
    if wave.dim() != 1:
        raise ValueError(f"expected a mono waveform [N], got {tuple(wave.shape)}")


def config_dict(config: AugmentConfig) -> dict:
    return asdict(config)


# ---------------------------------------------------------------------------------------------
# On the features, per training batch


FLOOR, CEILING = -1.5, 0.75  # the feature range (audio.features: silence -> -1.5)


def spectral_augment(
    audio: Tensor,  # [B, W, per * n_mels] features (audio.features layout: per mel frames x n_mels bands)
    n_mels: int,
    generator: torch.Generator,
    p: float = 0.5,
    p_mask: float | None = None,  # probability of the band mask (default: p)
    warp: float = 0.1,  # band-axis stretch drawn in [1 - warp, 1 + warp] (VTLP)
    tilt_db: float = 8.0,  # spectral tilt across the bands drawn in +-this (dB), plus a random ripple
    ripple_db: float = 4.0,
    range_db: float = 60.0,  # dB per 2 feature units (FeatureConfig.range_db)
    max_mask: int = 5,  # SpecAugment frequency mask: up to this many neighbouring bands dropped
) -> Tensor:
    """Speaker and channel variety the TTS voices lack, drawn per window with probability p each:
    - vocal tract length perturbation (Jaitly & Hinton 2013, "Vocal Tract Length Perturbation (VTLP)
      improves speech recognition"): the mel-band axis stretched by a factor near 1, as a longer or
      shorter vocal tract moves the formants;
    - an equaliser: a random tilt and a smooth ripple (two cosines) across the bands, in dB, as
      microphones and rooms colour a voice;
    - a frequency mask (Park et al. 2019, "SpecAugment"): a few neighbouring bands set to silence.
    Silent bins (at the floor) stay silent; the timeline is untouched, so motion stays aligned.
    Returns a new tensor [B, W, per * n_mels].

    Measured (2026-11-24): a 25-min fine-tune of the shipped model with `--spec-augment 0.5 --spec-mask 0.5` against the
    same fine-tune without it (build/motion-ft2): real speech (evals/eval_motion_real.py) lip
    correlation 0.663 vs 0.645, but lip closure on p/b/m 74% vs 89%; held-out TTS voices 0.734 vs
    0.737 and closure 76% vs 79%. Without the band mask (`--spec-mask 0`): real speech 0.638, closure 80%;
    TTS voices 0.742, closure 78%: the real-speech gain came from the mask. Not used by the shipped
    model: neither variant raised real-speech lip sync without costing closures."""
    B, W, D = audio.shape
    if D % n_mels:
        raise ValueError(f"feature size {D} is not a multiple of {n_mels} bands")
    x = audio.reshape(B, W, D // n_mels, n_mels).clone()
    bands = torch.arange(n_mels, dtype=torch.float32)
    draw = lambda: torch.rand(B, generator=generator)  # noqa: E731
    use_warp, use_eq, use_mask = draw() < p, draw() < p, draw() < (p if p_mask is None else p_mask)
    # VTLP: band b reads the source at b * alpha (linear interpolation, clamped at the top band)
    alpha = 1.0 + (2 * draw() - 1) * warp
    pos = (bands[None, :] * alpha[:, None]).clamp(0, n_mels - 1)  # [B, n_mels]
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n_mels - 1)
    frac = (pos - lo)[:, None, None, :]
    gather = lambda idx: torch.gather(x, 3, idx[:, None, None, :].expand(B, W, x.shape[2], n_mels))  # noqa: E731
    warped = gather(lo) * (1 - frac) + gather(hi) * frac
    x = torch.where(use_warp[:, None, None, None], warped, x)
    # equaliser in dB -> feature units (2 units per range_db)
    centred = bands / (n_mels - 1) * 2 - 1  # [-1, 1]
    tilt = (2 * draw() - 1) * tilt_db
    phase = draw() * 2 * math.pi
    ripple = (2 * draw() - 1) * ripple_db
    curve = tilt[:, None] * centred[None, :] / 2 + ripple[:, None] * torch.cos(
        math.pi * (1 + draw()[:, None] * 2) * (centred[None, :] + 1) / 2 + phase[:, None])
    eq = (curve * 2 / range_db)[:, None, None, :] * use_eq[:, None, None, None]
    silent = x <= FLOOR + 1e-6
    x = torch.where(silent, x, (x + eq).clamp(FLOOR, CEILING))
    # frequency mask
    width = torch.randint(1, max_mask + 1, (B,), generator=generator)
    start = (draw() * (n_mels - width + 1)).long()
    masked = (bands[None, :] >= start[:, None]) & (bands[None, :] < (start + width)[:, None]) & use_mask[:, None]
    x = torch.where(masked[:, None, None, :], torch.full_like(x, FLOOR), x)
    return x.reshape(B, W, D)
