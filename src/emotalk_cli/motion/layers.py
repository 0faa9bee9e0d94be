"""What the face does besides speaking: emotion AU layers, blinks, head motion and gaze. All seeded.

    au = emotion_layer(T, fps, rng, "happiness", 0.7)[0]        # [T, 24] AU intensities
    eyes = blink_track(T, fps, rng)[0]                          # [T, 2] eyeBlinkLeft/Right
    rotation, translation = head_motion(T, fps, energy, rng)    # [T, 3] rad, [T, 3] m
    gaze = gaze_track(T, fps, rng)                              # [T, 2] yaw, pitch rad
    arkit = compose(mouth, au, eyes)                            # [T, 52] in [0, 1]

Sources
- Emotion layers: EMFACS prototypes (Friesen & Ekman 1983, `facs.EMOTION_PROTOTYPES`) at a random
  intensity, with FACS's onset - apex - offset time course (Ekman & Friesen 1978; expressions of
  ~0.5-4 s, onsets ~0.2-0.8 s, offsets slower than onsets).
- Blinks: spontaneous blink rate ~15-20 per minute in conversation and durations of ~150-250 ms,
  the lid closing faster than it reopens (Doughty 2001, "Consideration of three types of spontaneous
  eyeblink activity"; Bentivoglio et al. 1997, "Analysis of blink rate patterns in normal subjects").
- Head motion: a few degrees, slow, and tied to prosody: nods follow loudness/stress (Graf et al.
  2002, "Visual prosody: facial movements accompanying speech"; Busso et al. 2007, "Rigid head
  motion in expressive speech animation").
- Gaze: fixations of ~0.3-2 s separated by saccades of ~30-60 ms (Lee, Badler & Badler 2002,
  "Eyes alive").
"""

from __future__ import annotations

import math

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.facs import ARKIT_INDEX

NEUTRAL = "neutral"
EMOTION_CHOICES: tuple[str, ...] = (NEUTRAL,) + facs.EMOTIONS


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def envelope(num_frames: int, fps: float, start: float, onset: float, apex: float, offset: float) -> np.ndarray:
    """Onset-apex-offset time course [T] in [0, 1]: rises from `start` over `onset` s (smoothstep),
    holds for `apex` s, falls over `offset` s. Frame k is at time k / fps."""
    t = np.arange(num_frames) / fps
    rise = _smoothstep((t - start) / max(onset, 1e-6))
    fall = 1.0 - _smoothstep((t - start - onset - apex) / max(offset, 1e-6))
    return rise * fall


def emotion_layer(
    num_frames: int,
    fps: float,
    rng: np.random.Generator,
    emotion: str | None = None,
    intensity: float | None = None,
) -> tuple[np.ndarray, dict]:
    """An emotion's AU layer [T, 24] in [0, 1] with its envelope, and what was drawn (JSON-able).

    Draws, where not given: the emotion (neutral included), intensity U(0.3, 1), per-AU jitter of
    +-15 %, start in the first quarter, onset 0.2-0.8 s, and either a hold to the end (half the
    time) or an apex then an offset of 0.3-1.2 s.
    """
    duration = num_frames / fps
    emotion = emotion or str(rng.choice(EMOTION_CHOICES))
    intensity = float(rng.uniform(0.3, 1.0)) if intensity is None else float(intensity)
    start = float(rng.uniform(0.0, 0.25 * duration))
    onset = float(rng.uniform(0.2, 0.8))
    offset = float(rng.uniform(0.3, 1.2))
    if rng.random() < 0.5:
        apex = duration  # held to the end of the utterance
    else:
        apex = float(rng.uniform(0.3, max(0.31, duration - start - onset - offset)))
    info = {"emotion": emotion, "intensity": intensity, "start": start, "onset": onset, "apex": apex, "offset": offset}
    if emotion == NEUTRAL:
        return np.zeros((num_frames, facs.NUM_AUS), np.float32), {**info, "intensity": 0.0}
    proto = facs.prototype_vector(emotion).numpy().astype(np.float64)
    jitter = np.where(proto > 0, rng.uniform(0.85, 1.15, proto.shape), 0.0)
    env = envelope(num_frames, fps, start, onset, apex, offset)
    wobble = 1.0 + 0.05 * _smooth_noise(num_frames, fps, 0.5, rng)  # the apex is never perfectly flat
    au = env[:, None] * wobble[:, None] * (intensity * proto * jitter)[None, :]
    return np.clip(au, 0.0, 1.0).astype(np.float32), info


def blink_track(
    num_frames: int, fps: float, rng: np.random.Generator, rate_per_min: float | None = None
) -> tuple[np.ndarray, list[float]]:
    """Spontaneous blinks -> eyeBlinkLeft/Right [T, 2] in [0, 1], and the blink start times (s).

    Intervals are exponential at `rate_per_min` (drawn U(14, 22) if not given) with a 0.4 s refractory
    gap; each blink lasts U(0.15, 0.25) s, closes in its first 40 % and reopens in the rest.
    """
    rate = float(rng.uniform(14.0, 22.0)) if rate_per_min is None else rate_per_min
    duration = num_frames / fps
    t = np.arange(num_frames) / fps
    out = np.zeros((num_frames, 2))
    starts: list[float] = []
    # start part-way through an interval, so short clips are not biased towards an early blink
    now = float(rng.exponential(60.0 / rate)) * float(rng.uniform(0.2, 1.0))
    while now < duration:
        length = float(rng.uniform(0.15, 0.25))
        depth = float(rng.uniform(0.85, 1.0))
        close = 0.4 * length
        phase = t - now
        shape = np.where(phase < close, _smoothstep(phase / close), 1.0 - _smoothstep((phase - close) / (length - close)))
        shape = np.where((phase >= 0) & (phase <= length), shape, 0.0)
        for side in range(2):
            out[:, side] = np.maximum(out[:, side], depth * float(rng.uniform(0.95, 1.0)) * shape)
        starts.append(now)
        now += length + 0.4 + float(rng.exponential(60.0 / rate))
    return out.astype(np.float32), starts


def _smooth_noise(num_frames: int, fps: float, cutoff_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance noise [T] low-passed at `cutoff_hz` (Gaussian kernel), zero mean."""
    sigma = fps / (2.0 * math.pi * cutoff_hz)  # frames
    pad = int(4 * sigma) + 1
    noise = rng.standard_normal(num_frames + 2 * pad)
    k = np.arange(-pad, pad + 1)
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    smooth = np.convolve(noise, kernel / kernel.sum(), mode="same")[pad:pad + num_frames]
    smooth = smooth - smooth.mean()
    return smooth / (smooth.std() + 1e-8) if num_frames > 1 else smooth


def speech_energy(samples: np.ndarray, sample_rate: int, num_frames: int, fps: float) -> np.ndarray:
    """Loudness per frame [T] in [0, 1]: RMS in a 1/fps window centred on each frame, in dB,
    mapped from [peak - 40 dB, peak] to [0, 1]."""
    hop = sample_rate / fps
    half = int(hop)
    power = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    centres = (np.arange(num_frames) * hop).astype(int)
    lo = np.clip(centres - half // 2, 0, len(samples))
    hi = np.clip(centres + half // 2, 0, len(samples))
    rms = np.sqrt((power[hi] - power[lo]) / np.maximum(hi - lo, 1))
    db = 20 * np.log10(rms + 1e-6)
    return np.clip((db - (db.max() - 40.0)) / 40.0, 0.0, 1.0)


def head_motion(
    num_frames: int, fps: float, energy: np.ndarray, rng: np.random.Generator, scale: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Head rotation [T, 3] (axis-angle, radians, small: read as pitch, yaw, roll) and translation
    [T, 3] (metres): slow drift plus nods that follow the loudness `energy` [T] (visual prosody).

    Typical amplitude a few degrees (`scale` ~ U(0.5, 1.5) times 1.5 deg drift, 2 deg nods), clamped
    to +-8 degrees; translation is the motion of the head centre when rotating about a neck pivot
    ~10 cm below it, plus ~1 mm sway.
    """
    scale = float(rng.uniform(0.5, 1.5)) if scale is None else scale
    deg = math.pi / 180.0
    drift = np.stack([_smooth_noise(num_frames, fps, f, rng) for f in (0.3, 0.25, 0.3)], axis=1)
    drift *= np.array([1.0, 1.5, 0.7]) * deg * scale
    # nods: loudness rises (stressed syllables) tip the head, smoothed over ~150 ms and lagging a little
    sigma = max(1.0, 0.15 * fps / 2)
    k = np.arange(-int(3 * sigma), int(3 * sigma) + 1)
    kernel = np.exp(-0.5 * (k / sigma) ** 2)
    loud = np.convolve(np.pad(energy, len(k) // 2, mode="edge"), kernel / kernel.sum(), mode="valid")[:num_frames]
    loud = loud - loud.mean()
    lag = max(1, int(0.06 * fps))
    loud = np.concatenate([np.full(lag, loud[0]), loud])[:num_frames]
    nod_sign = 1.0 if rng.random() < 0.5 else -1.0
    rotation = drift.copy()
    rotation[:, 0] += nod_sign * 2.0 * deg * scale * loud
    rotation[:, 1] += float(rng.uniform(-0.5, 0.5)) * deg * scale * loud
    rotation = np.clip(rotation, -8 * deg, 8 * deg)
    pivot = 0.10
    translation = np.zeros((num_frames, 3))
    translation[:, 0] = pivot * np.sin(rotation[:, 2])  # roll moves the head sideways
    translation[:, 2] = pivot * np.sin(rotation[:, 0])  # pitch moves it forward/back
    translation += 0.001 * np.stack([_smooth_noise(num_frames, fps, 0.2, rng) for _ in range(3)], axis=1)
    return rotation.astype(np.float32), translation.astype(np.float32)


def gaze_track(num_frames: int, fps: float, rng: np.random.Generator) -> np.ndarray:
    """Eye yaw, pitch [T, 2] in radians (+ = left / up): fixations of 0.3-2 s (gamma, mean ~0.9 s)
    mostly near the camera, joined by ~40 ms saccades, with slight fixational drift."""
    out = np.zeros((num_frames, 2))
    t = np.arange(num_frames) / fps
    current = np.array([rng.normal(0, 0.05), rng.normal(0, 0.03)])
    now = 0.0
    out[:] = current
    while True:
        now += float(np.clip(rng.gamma(3.0, 0.3), 0.3, 2.0))
        if now >= t[-1]:
            break
        away = rng.random() < 0.3  # a glance away from the listener
        spread = np.array([0.20, 0.10]) if away else np.array([0.05, 0.03])
        target = np.clip(rng.normal(0, 1, 2) * spread, [-0.35, -0.25], [0.35, 0.2])
        ramp = np.clip((t - now) / 0.04, 0.0, 1.0)[:, None]
        out = np.where((t >= now)[:, None], current + ramp * (target - current), out)
        current = target
    out += 0.003 * np.stack([_smooth_noise(num_frames, fps, 2.0, rng) for _ in range(2)], axis=1)
    return out.astype(np.float32)


def compose(mouth: np.ndarray, au: np.ndarray, blinks: np.ndarray) -> np.ndarray:
    """Mouth track [T, 52] + emotion AUs [T, 24] + blinks [T, 2] -> ARKit weights [T, 52] in [0, 1].

    Channels combine as 1 - (1 - a)(1 - b) (stays in [0, 1], equals either alone when the other is
    0). Speech keeps its lip seal: the emotion's lip-parting shapes are scaled down by the seal
    (mouthClose / jawOpen of the mouth track), and mouthClose is recomputed as seal times the
    combined jawOpen, so p b m stay closed even on a surprised face.
    """
    if mouth.shape[0] != au.shape[0] or mouth.shape[0] != blinks.shape[0]:
        raise ValueError(f"frame counts differ: mouth {mouth.shape}, au {au.shape}, blinks {blinks.shape}")
    emo = facs.au_to_arkit(torch.from_numpy(np.ascontiguousarray(au, dtype=np.float32))).numpy().astype(np.float64)
    m = mouth.astype(np.float64)
    jaw, close = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"]
    seal = np.clip(m[:, close] / np.maximum(m[:, jaw], 1e-6), 0.0, 1.0)
    for name in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
                 "mouthStretchLeft", "mouthStretchRight"):
        emo[:, ARKIT_INDEX[name]] *= 1.0 - seal
    out = 1.0 - (1.0 - m) * (1.0 - emo)
    out[:, close] = seal * out[:, jaw]
    for side, name in enumerate(("eyeBlinkLeft", "eyeBlinkRight")):
        out[:, ARKIT_INDEX[name]] = 1.0 - (1.0 - out[:, ARKIT_INDEX[name]]) * (1.0 - blinks[:, side])
    return np.clip(out, 0.0, 1.0).astype(np.float32)
