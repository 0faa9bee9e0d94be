"""Measure the motion model on the corpus' held-out voices: lip sync, emotion, speed.

    python -m emotalk_cli.motion.evaluate --weights weights/motion.safetensors --corpus build/corpus

Figures (printed as one JSON object on stdout, a summary on stderr):
- lip_corr: Pearson correlation, per utterance then averaged, between the generated lip aperture
  (visemes.lip_aperture: jawOpen - mouthClose + lip raisers) and the reference viseme track's,
  generated with a neutral AU prompt (goal >= 0.7);
- bilabial_closure: share of the reference's p/b/m segments (viseme PP) during which (+-1 frame)
  the generated lips close (aperture <= CLOSED); the reference itself scores `bilabial_closure_ref`
  (goal >= 0.8);
- aperture_ratio: std of the generated lip aperture over the reference's (pooled over utterances):
  ~1 moves as much as the reference, below 1 mumbles, above 1 exaggerates (guidance raises it);
- lip_corr_by_voice: lip_corr per held-out voice ({voice: [r, utterances]}): the espeak-ng f4
  variant shares its synthesiser with the training voices, flite's rms is the one natural (diphone)
  speaker held out, and the harder test of the two;
- offset_frames: the lag (frames, + = generated late) maximising the cross-correlation of
  generated and reference aperture over all utterances (goal |offset| <= 1);
- au_mae_upper: mean |AU read-out (facs.arkit_to_au) - prompt| over the upper-face AUs the prompt
  drives (facs.UPPER_FACE_AUS without the lid closures AU43/AU45, which blinks own), generated with
  the utterance's own emotion prompt at `--strength`, excluding the prompt's fade at the ends
  (goal <= 0.1); au_mae_upper_all includes AU43/AU45; *_ref: the corpus motion itself;
- seconds_10s: wall-clock seconds to sample 10 s of speech (goal <= 2 on the 2-core CPU).

Measured (2026-11-25, weights/motion.safetensors: 35k steps, a 25-min fine-tune with audio dropout
and the adversarial loss, then 87 min with rest starts, 90k steps in all (Makefile weights-motion);
all 200 eval utterances, dpmpp_2m 20 steps, strength 1, lip strength 2 from the file, animate's
silence pad of 2 frames, 1 thread) with animate's default of 4 lip samples: lip_corr 0.821,
bilabial_closure 0.816 (reference 0.949), aperture_ratio 1.00, offset 0 frames, au_mae_upper 0.015,
seconds_10s 0.94 (on a busy CPU). One sample (--lip-samples 1): lip_corr 0.798, bilabial_closure
0.813, seconds_10s 0.24. The model before the rest starts scored 0.761 / 0.808 without the silence
pad and 0.808 / 0.811 with it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.errors import EmotalkError
from emotalk_cli.motion.denoiser import load_model
from emotalk_cli.motion.generate import GenerateOptions, default_lip_strength, feature_config, generate_motion
from emotalk_cli.motion.train import load_corpus
from emotalk_cli.motion.visemes import VISEME_INDEX, lip_aperture

CLOSED = 0.12  # lip aperture at or below which the lips count as closed (the reference track reaches it on ~93 % of p/b/m)
MAX_LAG = 6  # frames searched for the audio-to-motion offset


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a**2).sum() * (b**2).sum())
    return float((a * b).sum() / denom) if denom > 1e-12 else float("nan")


def bilabial_closures(aperture: np.ndarray, viseme: np.ndarray) -> tuple[int, int]:
    """(closed, total) over the runs of PP frames: closed when min aperture over the run +-1 frame <= CLOSED."""
    pp = viseme == VISEME_INDEX["PP"]
    closed = total = 0
    k = 0
    while k < len(pp):
        if pp[k]:
            j = k
            while j < len(pp) and pp[j]:
                j += 1
            total += 1
            closed += int(aperture[max(0, k - 1) : min(len(pp), j + 1)].min() <= CLOSED)
            k = j
        else:
            k += 1
    return closed, total


def best_lag(pairs: list[tuple[np.ndarray, np.ndarray]], max_lag: int = MAX_LAG) -> int:
    """The lag L (frames) maximising sum over utterances of sum_t gen[t + L] * ref[t] (mean-removed)."""
    scores = []
    for lag in range(-max_lag, max_lag + 1):
        s = 0.0
        for gen, ref in pairs:
            g, r = gen - gen.mean(), ref - ref.mean()
            if lag >= 0:
                s += float((g[lag:] * r[: len(r) - lag]).sum())
            else:
                s += float((g[:lag] * r[-lag:]).sum())
        scores.append(s)
    return int(np.argmax(scores)) - max_lag


def evaluate(weights: Path | None, corpus: Path, limit: int, options: GenerateOptions,
             lip_strength: float | None = None) -> dict:
    """The figures above as a dict; lip_strength None uses the weights file's recorded default."""
    model = load_model(weights)
    options = replace(options, lip_strength=default_lip_strength(model) if lip_strength is None else lip_strength)
    feature = feature_config(model)
    utterances = load_corpus(corpus, "eval", feature, limit=limit, keep_audio=True)
    upper = [facs.AU_INDEX[n] for n in facs.UPPER_FACE_AUS if n not in ("AU43", "AU45")]
    upper_all = [facs.AU_INDEX[n] for n in facs.UPPER_FACE_AUS]
    ramp = int(round(options.prompt_ramp * feature.fps))
    corrs, voices, pairs, err, err_all, err_ref, err_ref_all = [], [], [], [], [], [], []
    closed = total = closed_ref = total_ref = 0
    for i, u in enumerate(utterances):
        T = u.motion.shape[0]
        neutral = generate_motion(model, u.wave, torch.zeros(facs.NUM_AUS), replace(options, seed=options.seed + i), num_frames=T)
        gen = lip_aperture(neutral["arkit"].numpy())
        ref = lip_aperture(u.mouth.numpy())
        corrs.append(_corr(gen, ref))
        voices.append(u.record.get("voice", "?"))
        pairs.append((gen, ref))
        c, t = bilabial_closures(gen, u.viseme.numpy())
        closed, total = closed + c, total + t
        c, t = bilabial_closures(ref, u.viseme.numpy())
        closed_ref, total_ref = closed_ref + c, total_ref + t
        prompted = generate_motion(model, u.wave, u.au, replace(options, seed=options.seed + i), num_frames=T)
        core = slice(ramp, max(ramp + 1, T - ramp))
        readout = facs.arkit_to_au(prompted["arkit"])[core]
        readout_ref = facs.arkit_to_au(u.motion[:, :52])[core]
        prompt = u.au[core]
        err.append((readout - prompt)[:, upper].abs().mean().item())
        err_all.append((readout - prompt)[:, upper_all].abs().mean().item())
        err_ref.append((readout_ref - prompt)[:, upper].abs().mean().item())
        err_ref_all.append((readout_ref - prompt)[:, upper_all].abs().mean().item())
    wave = torch.cat([u.wave for u in utterances])
    while wave.shape[0] < 10 * feature.sample_rate:
        wave = torch.cat([wave, wave])
    wave = wave[: 10 * feature.sample_rate]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
        times.append(time.perf_counter() - started)
    return {
        "utterances": len(utterances),
        "lip_corr": round(float(np.nanmean(corrs)), 3),
        "lip_corr_by_voice": {v: [round(float(np.nanmean([c for c, w in zip(corrs, voices) if w == v])), 3),
                                  voices.count(v)] for v in sorted(set(voices))},
        "bilabial_closure": round(closed / max(total, 1), 3),
        "bilabial_closure_ref": round(closed_ref / max(total_ref, 1), 3),
        "bilabial_segments": total,
        "aperture_ratio": round(float(np.concatenate([g for g, _ in pairs]).std() / np.concatenate([r for _, r in pairs]).std()), 3),
        "offset_frames": best_lag(pairs),
        "au_mae_upper": round(float(np.mean(err)), 4),
        "au_mae_upper_all": round(float(np.mean(err_all)), 4),
        "au_mae_upper_ref": round(float(np.mean(err_ref)), 4),
        "au_mae_upper_all_ref": round(float(np.mean(err_ref_all)), 4),
        "seconds_10s": round(min(times), 3),
        "steps": options.steps, "sampler": options.sampler, "strength": options.strength,
        "lip_strength": options.lip_strength, "lip_samples": options.lip_samples, "silence_pad": options.silence_pad,
        "threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> int:
    d = GenerateOptions()
    parser = argparse.ArgumentParser(prog="python -m emotalk_cli.motion.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=None, help="motion model [default: weights/motion.safetensors]")
    parser.add_argument("--corpus", type=Path, required=True, help="corpus folder with eval-*.safetensors")
    parser.add_argument("--limit", type=int, default=60, help="eval utterances to use (default 60)")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--sampler", default=d.sampler)
    parser.add_argument("--strength", type=float, default=d.strength)
    parser.add_argument("--lip-strength", type=float, default=None,
                        help="guidance scale on the audio [default: the one the weights file records]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lip-samples", type=int, default=d.lip_samples, help="speech channels: the median of this many samples")
    parser.add_argument("--silence-pad", type=int, default=d.silence_pad, help="frames of silence either side (animate's default)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    options = replace(d, steps=args.steps, sampler=args.sampler, strength=args.strength, seed=args.seed,
                      lip_samples=args.lip_samples, silence_pad=args.silence_pad)
    try:
        result = evaluate(args.weights, args.corpus, args.limit, options, args.lip_strength)
    except (EmotalkError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    print(f"lip sync r = {result['lip_corr']} (goal >= 0.7), bilabial closure {result['bilabial_closure']:.0%} "
          f"(reference {result['bilabial_closure_ref']:.0%}, goal >= 80%), aperture ratio {result['aperture_ratio']} "
          f"(lip strength {result['lip_strength']:g}), offset {result['offset_frames']} frames "
          f"(goal |.| <= 1); upper-face AU MAE {result['au_mae_upper']} (goal <= 0.1; corpus motion "
          f"{result['au_mae_upper_ref']}); 10 s sampled in {result['seconds_10s']} s (goal <= 2)", file=sys.stderr)
    print("lip sync r by held-out voice: " + ", ".join(f"{v} {r} ({n} utterances)" for v, (r, n) in result["lip_corr_by_voice"].items()),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
