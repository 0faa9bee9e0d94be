"""Phone timings for a recording of known text, in any language espeak-ng speaks: align the recording
to espeak-ng's synthesis of the same text by dynamic time warping, and carry the synthesis' exact
phone boundaries across the warping path.

    phones = align_to_synthesis(wave, 16_000, "parapluie", "espeak:fr")   # [(ipa phone, start s, end s)]

Why: real speech for training (and for checking a reference) needs phone timings; pocketsphinx only
knows US English and is what the real-speech evaluation scores against, so a model trained on its
alignments would share the evaluation's errors. TTS-based alignment by DTW is the approach of the
aeneas forced aligner (Pettarin, aeneas; see also Sakoe & Chiba 1978 for DTW): both signals become
13 MFCCs at 10 ms, each normalised to zero mean and unit variance per utterance (so two voices and
two channels compare), the path of least summed Euclidean distance with steps (1,0), (0,1), (1,1)
joins the two ends, and a synthesis time maps to the mean recording time the path pairs with its
frame.

How good it is (2026-11-25; 20 English grammar sentences spoken by flite rms, slt, awb and
festival ked, whose phone timings are exact; the lip-aperture track built from each set of timings
with motion.visemes.mouth_track, correlated with the exact one): DTW to espeak-ng's `en` synthesis
0.731; a linear stretch of the synthesis' timings 0.278; pocketsphinx forced alignment (ARPAbet,
eval_motion_real's reference) 0.959. Part of the gap is not timing: espeak-ng's IPA phones and
pronunciations map to other visemes than the ARPAbet phones of the exact track (on espeak-ng voices,
exact IPA against pocketsphinx ARPAbet is 0.77-0.79: evals/eval_reference.py). Not used by the
shipped model yet: meant for timing real recordings in languages pocketsphinx does not know
(ktuberling-data's words in 25 languages).
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

from emotalk_cli.motion.tts import Phone, speak

HOP_SECONDS = 0.01  # MFCC frames every 10 ms
SAMPLE_RATE = 16_000


def mfcc(wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono wave [N] -> per-utterance normalised MFCCs [frames, 13] at 10 ms (frame j centred at j * 10 ms)."""
    x = torch.as_tensor(np.asarray(wave, dtype=np.float32))
    if sample_rate != SAMPLE_RATE:
        x = torchaudio.functional.resample(x, sample_rate, SAMPLE_RATE)
    transform = torchaudio.transforms.MFCC(SAMPLE_RATE, n_mfcc=13, melkwargs={"n_fft": 400, "hop_length": 160, "n_mels": 40})
    feats = transform(x).T.numpy().astype(np.float64)  # [frames, 13]
    return (feats - feats.mean(0)) / (feats.std(0) + 1e-8)


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-cost monotone path from (0, 0) to (N-1, M-1) between feature sequences a [N, F] and
    b [M, F] (Euclidean frame distance, steps (1,0), (0,1), (1,1)) -> pairs [P, 2] of (i, j)."""
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        raise ValueError("both sequences need at least one frame")
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    total = np.full((n + 1, m + 1), np.inf)
    total[0, 0] = 0.0
    for i in range(1, n + 1):  # row by row; the inner minimum along the row is a running scan
        row, up, diag = total[i], total[i - 1, 1:], total[i - 1, :-1]
        best = np.minimum(up, diag) + cost[i - 1]
        for j in range(1, m + 1):
            row[j] = min(best[j - 1], row[j - 1] + cost[i - 1, j - 1])
    path, i, j = [], n, m
    while i > 0 and j > 0:
        path.append((i - 1, j - 1))
        steps = (total[i - 1, j - 1], total[i - 1, j], total[i, j - 1])
        k = int(np.argmin(steps))
        i, j = (i - 1, j - 1) if k == 0 else (i - 1, j) if k == 1 else (i, j - 1)
    return np.array(path[::-1])


def warp_times(times: np.ndarray, path: np.ndarray, hop: float = HOP_SECONDS) -> np.ndarray:
    """Times (s) in sequence a -> times in sequence b along a DTW path [P, 2] of frame pairs (i, j):
    a time's frame i maps to the mean j the path pairs with i (frames are `hop` apart)."""
    n = int(path[:, 0].max()) + 1
    sums, counts = np.zeros(n), np.zeros(n)
    np.add.at(sums, path[:, 0], path[:, 1])
    np.add.at(counts, path[:, 0], 1)
    mean_j = sums / np.maximum(counts, 1)
    frames = np.clip(np.asarray(times) / hop, 0, n - 1)
    return np.interp(frames, np.arange(n), mean_j) * hop


def align_to_synthesis(wave: np.ndarray, sample_rate: int, text: str, voice: str) -> list[Phone]:
    """Phones of a recording of `text` (mono [N] at `sample_rate`), timed by DTW against `voice`'s
    synthesis of the text -> contiguous [(phone, start s, end s)] over the recording, in the voice's
    alphabet (IPA for espeak-ng)."""
    synthesis = speak(text, voice)
    path = dtw_path(mfcc(synthesis.samples, synthesis.sample_rate), mfcc(wave, sample_rate))
    duration = len(wave) / sample_rate
    bounds = warp_times(np.array([s for _, s, _ in synthesis.phones] + [synthesis.phones[-1][2]]), path)
    bounds = np.clip(bounds, 0.0, duration)
    bounds[0], bounds[-1] = 0.0, duration
    bounds = np.maximum.accumulate(bounds)
    return [(p, float(s), float(e)) for (p, _, _), s, e in zip(synthesis.phones, bounds[:-1], bounds[1:]) if e > s]
