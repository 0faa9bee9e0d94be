"""Lip sync on real recorded speech: the motion model against forced-aligned human recordings.

    python evals/eval_motion_real.py [--weights weights/motion.safetensors]      (make eval-motion-real)

`make eval-motion` measures lip sync on the corpus' held-out TTS voices; this asks the same of people.
Recordings (GPL data from Debian, installed by scripts/eval_data.sh, found with `dpkg -L`):
- alsa-utils' sounds/alsa: "Front Center", "Front Left", ... (8 channel names, one speaker, 48 kHz;
  Noise.wav is not speech and is left out);
- ktuberling-data's sounds/en: 72 single words ("ball", "umbrella", "pizzeria_mushroom" ...), the
  word known from the file name (scene prefix dropped, a few names spelt out: see `transcript`).

Reference: each recording is forced-aligned to its words with PyPI pocketsphinx 5.1.1 (CMU Sphinx's
en-US acoustic model and cmudict; phone boundaries in 10 ms frames), and the aligned ARPAbet phones
become the viseme mouth track exactly as the corpus turns TTS phone timings into one
(motion.visemes.mouth_track, JALI sliders at 1; the viseme of frame k is the first viseme of the phone
under time k / fps, as in motion.corpus.make_utterance). The model then animates the recording with a
neutral AU prompt, and the figures are evaluate.py's, by its own functions:
- lip_corr: Pearson r of generated vs reference lip aperture per recording, averaged (goal >= 0.7);
- bilabial_closure: share of the reference's p/b/m runs in which the generated lips close (goal >= 80 %);
- aperture_ratio: std of the generated aperture over the reference's, pooled (~1 moves as much as the
  reference, below 1 mumbles), as evaluate.py computes it;
- offset_frames: lag maximising the cross-correlation over all recordings (goal |offset| <= 1 frame).
A sanity check of the alignment itself: `loud_frames_aligned`, the share of frames within 20 dB of
a recording's peak loudness that the alignment puts under a spoken (non-silence) phone.
Beside them, two yardsticks a figure can be read against: `lip_corr_loudness`, the correlation of
the reference aperture with the recording's loudness (motion.layers.speech_energy), i.e. what
"open the mouth when it is loud" would score, and `bilabial_closure_ref`, the reference's own.
The recordings are mostly silence around one word, which flatters any correlation, so both
correlations are also given over the spoken frames alone (`*_speech`: first to last non-silence
viseme, +-2 frames).

A second set, for choosing inference settings without tuning on the one reported: `--recordings
asterisk` reads the Asterisk PBX prompts (Debian's asterisk-core-sounds-en-wav, CC-BY-SA 3.0, another
speaker, 8 kHz; the data of `make corpus-recorded`, which no shipped model trains on), with their
transcripts made speakable by motion.recorded.spoken_text; `--every 5` takes 105 of them.

Caveats: the words are short (0.5-1.5 s), so a few frames of calm start/end weigh more than in
sentences; the forced alignment itself errs by 10-40 ms (about 1 frame) at phone boundaries; 35 p/b/m
runs give the closure share a standard error of about 0.07. In three tv_* clips (car, bicycle,
train) only 58-76 % of the loud frames fall on the aligned word: likely sound effects around it (not
checked by ear).

Measured (2026-11-25, the shipped weights/motion.safetensors (90k steps, rest starts), lip strength 2
from the file, 20 steps, animate's silence pad of 2 frames, seed 0, 1 thread, 33 s; 80 recordings,
72.9 s, all aligned, 98 % of loud frames under a spoken phone), with animate's default of 4 lip
samples: lip_corr 0.708 (alsa 0.793, ktuberling 0.698; loudness alone 0.624), over the spoken frames
0.679 (loudness 0.586); bilabial_closure 0.886 of 35 (reference 1.0); aperture_ratio 0.959; offset 0
frames: all three goals met. With one sample (--lip-samples 1): lip_corr 0.679, closure 0.829.
Without the silence pad (--silence-pad 0) the model scores 0.681; the one shipped before it 0.673
(0.691 with the pad). On the validation set (--recordings asterisk --every 5, 105 prompts): 0.741,
closure 0.602 (reference 0.929). How much the reference's own error costs: evals/eval_reference.py
scores the model on held-out TTS voices against this pocketsphinx reference and against their exact
phone timings.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from emotalk_cli import facs
from emotalk_cli.motion.align_sphinx import align, alignment_phones
from emotalk_cli.motion.visemes import VISEME_INDEX, frame_count, lip_aperture, mouth_track, phone_visemes

SCENE_PREFIXES = ("egypt_", "moon_", "pizzeria_", "tv_")
#: ktuberling file names that are not a dictionary word as they stand
SPELLED_OUT = {"palmtree": "palm tree", "fallingstar": "falling star", "moonwalker": "moon walker",
               "broccolli": "broccoli", "sphynx": "sphinx"}
GOALS = {"lip_corr": 0.7, "bilabial_closure": 0.8, "offset_frames": 1}


# ---------------------------------------------------------------------------------------------
# Recordings and transcripts


def transcript(path: Path) -> str:
    """The words a recording says, from its file name: Front_Center.wav -> "front center",
    egypt_palmtree.ogg -> "palm tree"."""
    stem = path.stem.lower()
    for prefix in SCENE_PREFIXES:
        if stem.startswith(prefix):
            stem = stem[len(prefix):]
            break
    words = [SPELLED_OUT.get(w, w) for w in re.split(r"[_\-\s]+", stem) if w]
    return " ".join(words)


def package_folder(package: str, suffix: str) -> Path | None:
    """The folder ending in `suffix` that Debian package `package` installed (dpkg -L), or None."""
    try:
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    for line in listing.splitlines():
        if line.endswith(suffix) and Path(line).is_dir():
            return Path(line)
    return None


def find_recordings(which: str = "eval", every: int = 1) -> list[tuple[str, Path, str]]:
    """(source, path, transcript) of every `every`-th recording of a set: "eval" (the alsa-utils and
    ktuberling-data recordings this eval reports on) or "asterisk" (the Asterisk prompts of `make
    corpus-recorded`, another speaker: a validation set for choosing inference settings, so that
    the eval set is not tuned on); ValueError naming the fix if the packages are missing."""
    if which == "asterisk":
        from emotalk_cli.motion.recorded import find_prompts, spoken_text

        prompts = [(p, spoken_text(p.text)) for p in find_prompts()]
        return [("asterisk", p.path, said) for p, said in prompts if said is not None][::every]
    if which != "eval":
        raise ValueError(f"unknown recording set {which!r}: eval or asterisk")
    alsa = package_folder("alsa-utils", "/sounds/alsa")
    words = package_folder("ktuberling-data", "/sounds/en")
    if alsa is None or words is None:
        raise ValueError("recordings missing: run scripts/eval_data.sh (apt-get install alsa-utils ktuberling-data)")
    found = [("alsa", p, transcript(p)) for p in sorted(alsa.glob("*.wav")) if p.stem.lower() != "noise"]
    found += [("ktuberling", p, transcript(p)) for p in sorted(words.glob("*.ogg"))]
    return found[::every]


# ---------------------------------------------------------------------------------------------
# Alignment -> reference


def reference_tracks(phones: list[tuple[str, float, float]], fps: float, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Timed ARPAbet phones -> (mouth [T, 52], viseme index [T]) as motion.corpus.make_utterance makes
    them for TTS speech (JALI sliders at 1)."""
    mouth = mouth_track(phones, fps, "arpabet", num_frames)
    times = np.arange(num_frames) / fps
    ends = np.array([e for _, _, e in phones])
    phone_at = np.minimum(np.searchsorted(ends, times, side="right"), len(phones) - 1)
    viseme = np.array([VISEME_INDEX[phone_visemes(phones[i][0], "arpabet")[0]] for i in phone_at], np.int8)
    return mouth, viseme


# ---------------------------------------------------------------------------------------------
# The evaluation


def evaluate(weights: Path | None, steps: int, seed: int, limit: int | None = None, quiet: bool = False,
             lip_strength: float | None = None, lip_samples: int | None = None, silence_pad: int | None = None,
             recording_set: str = "eval", every: int = 1) -> dict:
    from emotalk_cli.audio.features import load_audio
    from emotalk_cli.motion.denoiser import load_model
    from emotalk_cli.motion.evaluate import _corr, best_lag, bilabial_closures
    from emotalk_cli.motion.generate import GenerateOptions, default_lip_strength, feature_config, generate_motion
    from emotalk_cli.motion.layers import speech_energy

    model = load_model(weights)
    feature = feature_config(model)
    fps = feature.fps
    options = replace(GenerateOptions(), steps=steps, seed=seed,
                      lip_samples=GenerateOptions().lip_samples if lip_samples is None else lip_samples,
                      lip_strength=default_lip_strength(model) if lip_strength is None else lip_strength,
                      silence_pad=GenerateOptions().silence_pad if silence_pad is None else silence_pad)
    recordings = find_recordings(recording_set, every)[:limit]
    rows, pairs, failed = [], [], []
    closed = total = closed_ref = total_ref = 0
    started = time.perf_counter()
    for i, (source, path, text) in enumerate(recordings):
        wave = load_audio(path, feature.sample_rate)
        duration = wave.shape[0] / feature.sample_rate
        T = frame_count(duration, fps)
        try:
            words = align(wave.numpy(), text, feature.sample_rate)
        except (ValueError, RuntimeError) as err:  # one recording pocketsphinx cannot align: counted, not fatal
            failed.append(f"{path.name}: {err}")
            continue
        phones = alignment_phones(words, duration)
        mouth, viseme = reference_tracks(phones, fps, T)
        motion = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), replace(options, seed=seed + i), num_frames=T)
        gen = lip_aperture(motion["arkit"].numpy())
        ref = lip_aperture(mouth)
        loud = speech_energy(wave.numpy(), feature.sample_rate, T, fps)
        pairs.append((gen, ref))
        c, t = bilabial_closures(gen, viseme)
        cr, tr = bilabial_closures(ref, viseme)
        closed, total, closed_ref, total_ref = closed + c, total + t, closed_ref + cr, total_ref + tr
        spoken = [w for w, _ in words if not w.startswith("<") and w not in ("sil",)]
        spoken_frames = np.flatnonzero(viseme != VISEME_INDEX["sil"])
        inner = slice(max(0, spoken_frames[0] - 2), spoken_frames[-1] + 3) if len(spoken_frames) else slice(0, T)
        loud_frames = loud > 0.5  # within 20 dB of the recording's peak
        covered = float((viseme[loud_frames] != VISEME_INDEX["sil"]).mean()) if loud_frames.any() else float("nan")
        rows.append({"source": source, "file": path.name, "text": text, "seconds": round(duration, 3), "frames": T,
                     "aligned_words": len(spoken), "phones": " ".join(p for p, _, _ in phones),
                     "lip_corr": round(_corr(gen, ref), 3), "lip_corr_loudness": round(_corr(loud, ref), 3),
                     "lip_corr_speech": round(_corr(gen[inner], ref[inner]), 3),
                     "lip_corr_speech_loudness": round(_corr(loud[inner], ref[inner]), 3),
                     "bilabial": [c, t], "loud_frames_aligned": round(covered, 3)})
        if not quiet:
            print(f"  {path.name:28s} {text!r:22} r={rows[-1]['lip_corr']:+.2f} pp {c}/{t}", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started

    def mean(key: str, where=lambda r: True) -> float:
        values = [r[key] for r in rows if where(r) and np.isfinite(r[key])]
        return round(float(np.mean(values)), 3) if values else float("nan")

    result = {
        "recordings": len(rows),
        "seconds_audio": round(sum(r["seconds"] for r in rows), 1),
        "lip_corr": mean("lip_corr"),
        "lip_corr_alsa": mean("lip_corr", lambda r: r["source"] == "alsa"),
        "lip_corr_ktuberling": mean("lip_corr", lambda r: r["source"] == "ktuberling"),
        "lip_corr_loudness": mean("lip_corr_loudness"),
        "lip_corr_speech": mean("lip_corr_speech"),
        "lip_corr_speech_loudness": mean("lip_corr_speech_loudness"),
        "bilabial_closure": round(closed / total, 3) if total else None,
        "bilabial_closure_ref": round(closed_ref / total_ref, 3) if total_ref else None,
        "bilabial_segments": total,
        "aperture_ratio": round(float(np.concatenate([g for g, _ in pairs]).std() / np.concatenate([r for _, r in pairs]).std()), 3)
        if pairs else None,
        "offset_frames": best_lag(pairs),
        "unaligned": [r["file"] for r in rows if r["aligned_words"] < len(r["text"].split())] + failed,
        "loud_frames_aligned": mean("loud_frames_aligned"),
        "goals": {"lip_corr": ">= 0.7", "bilabial_closure": ">= 0.8", "offset_frames": "|.| <= 1"},
        "weights": str(weights or "weights/motion.safetensors"), "steps": steps, "seed": seed,
        "recording_set": recording_set, "every": every, "silence_pad": options.silence_pad,
        "lip_strength": options.lip_strength, "lip_samples": options.lip_samples, "elapsed_s": round(elapsed, 1), "threads": torch.get_num_threads(),
        "per_recording": rows,
    }
    result["pass"] = {
        "lip_corr": bool(result["lip_corr"] >= GOALS["lip_corr"]),
        "bilabial_closure": bool(total and result["bilabial_closure"] >= GOALS["bilabial_closure"]),
        "offset_frames": bool(abs(result["offset_frames"]) <= GOALS["offset_frames"]),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python evals/eval_motion_real.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=None, help="motion model [default: weights/motion.safetensors]")
    parser.add_argument("--steps", type=int, default=20, help="sampler steps (default 20, as animate)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lip-strength", type=float, default=None,
                        help="guidance scale on the audio [default: the weights file's, as animate]")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N recordings")
    parser.add_argument("--lip-samples", type=int, default=None,
                        help="speech channels: the median of this many samples [default: animate's]")
    parser.add_argument("--silence-pad", type=int, default=None, help="frames of silence either side [default: animate's]")
    parser.add_argument("--recordings", choices=("eval", "asterisk"), default="eval",
                        help="eval: the reported set; asterisk: the validation set (Asterisk prompts, make corpus-recorded's data)")
    parser.add_argument("--every", type=int, default=1, help="use every N-th recording of the set")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no per-recording lines on stderr")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from emotalk_cli.errors import EmotalkError

    try:
        result = evaluate(args.weights, args.steps, args.seed, args.limit, args.quiet, args.lip_strength, args.lip_samples,
                          args.silence_pad, args.recordings, args.every)
    except (EmotalkError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    ok = lambda key: "PASS" if result["pass"][key] else "FAIL"  # noqa: E731
    print(f"real speech ({result['recordings']} recordings, {result['seconds_audio']} s, lip strength "
          f"{result['lip_strength']:g}): lip sync r = {result['lip_corr']} "
          f"(goal >= 0.7: {ok('lip_corr')}; alsa {result['lip_corr_alsa']}, ktuberling {result['lip_corr_ktuberling']}; "
          f"loudness alone scores {result['lip_corr_loudness']}; over the spoken frames only {result['lip_corr_speech']} vs "
          f"loudness {result['lip_corr_speech_loudness']}), bilabial closure {result['bilabial_closure']} "
          f"over {result['bilabial_segments']} p/b/m (goal >= 0.8: {ok('bilabial_closure')}; reference "
          f"{result['bilabial_closure_ref']}), aperture ratio {result['aperture_ratio']}, offset {result['offset_frames']} frames (goal |.| <= 1: "
          f"{ok('offset_frames')}); alignment: {len(result['unaligned'])} recordings missing a word, "
          f"{result['loud_frames_aligned']:.0%} of loud frames fall on a spoken phone", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
