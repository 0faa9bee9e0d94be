"""How much of the real-speech lip-sync figure is the reference's own error?

    python evals/eval_reference.py [--weights weights/motion.safetensors] [--corpus build/corpus]

`eval_motion_real.py` scores the model against a mouth track built from pocketsphinx's forced
alignment, because real recordings come with no phone timings. On the corpus' held-out English
TTS utterances the exact phone timings are known, so both references can be built for the same
audio and compared (the same functions as eval_motion_real: `align`, `alignment_phones`,
`reference_tracks`; the corpus' own `mouth` track is the exact one):
- r(exact, pocketsphinx): how well the aligned reference follows the exact one (1 = perfectly);
- r(model, exact) and r(model, pocketsphinx): the model scored against each.
The drop from the second to the third is what the aligned reference costs a model, and a real-speech
figure is best read against the model's r(model, pocketsphinx) here. Per voice: espeak-ng's held-out
f4 variant (IPA phones, mapped to ARPAbet visemes only in the aligned reference) and flite's rms (a
natural diphone speaker, ARPAbet on both sides).

Measured (2026-11-25, the shipped weights, 20 steps, seed = index, 1 thread): 71 English held-out
utterances, of which 11 (all espeak-ng f4, ordinary dictionary sentences) fail at pocketsphinx's
phone-level alignment and are left out; on the other 60: r(exact, pocketsphinx) 0.881 (rms 0.949,
en+f4 0.790, en-us+f4 0.768). With animate's 4 lip samples: r(model, exact) 0.712 (rms 0.665),
r(model, pocketsphinx) 0.602 (rms 0.596); the model's 0.673 on real speech (eval_motion_real) is
above that 0.602. With one sample: 0.676 (rms 0.627) and 0.582 (rms 0.564), against 0.637 on real speech.
The model shipped after it (rest starts, sampled with animate's silence pad): r(model, exact) 0.732
(rms 0.664), r(model, pocketsphinx) 0.637 (rms 0.602), against 0.708 on real speech.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_motion_real as real  # noqa: E402  (the same alignment and reference as the real-speech eval)

from emotalk_cli import facs  # noqa: E402
from emotalk_cli.motion.align_sphinx import align, alignment_phones  # noqa: E402
from emotalk_cli.motion.denoiser import load_model  # noqa: E402
from emotalk_cli.motion.evaluate import _corr  # noqa: E402
from emotalk_cli.motion.generate import GenerateOptions, default_lip_strength, feature_config, generate_motion  # noqa: E402
from emotalk_cli.motion.train import load_corpus  # noqa: E402
from emotalk_cli.motion.visemes import lip_aperture  # noqa: E402


def words_of(text: str) -> str:
    """A corpus sentence as the words pocketsphinx aligns: lower case, letters and apostrophes."""
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def evaluate(weights: Path | None, corpus: Path, limit: int, steps: int = 20, seed: int = 0) -> dict:
    model = load_model(weights)
    feature = feature_config(model)
    options = replace(GenerateOptions(), steps=steps, lip_strength=default_lip_strength(model))
    utterances = [u for u in load_corpus(corpus, "eval", feature, limit=limit, keep_audio=True)
                  if u.record.get("language") == "en"]
    rows, failed = [], 0
    for i, u in enumerate(utterances):
        T = u.motion.shape[0]
        duration = u.wave.shape[0] / feature.sample_rate
        try:
            words = align(u.wave.numpy(), words_of(u.record["text"]), feature.sample_rate)
        except (ValueError, RuntimeError):
            failed += 1
            continue
        mouth, _ = real.reference_tracks(alignment_phones(words, duration), feature.fps, T)
        aligned, exact = lip_aperture(mouth), lip_aperture(u.mouth.numpy())
        motion = generate_motion(model, u.wave, torch.zeros(facs.NUM_AUS), replace(options, seed=seed + i), num_frames=T)
        generated = lip_aperture(motion["arkit"].numpy())
        rows.append({"voice": u.record["voice"], "exact_vs_aligned": _corr(exact, aligned),
                     "model_vs_exact": _corr(generated, exact), "model_vs_aligned": _corr(generated, aligned)})

    def mean(key: str, voice: str | None = None) -> float:
        values = [r[key] for r in rows if voice in (None, r["voice"]) and np.isfinite(r[key])]
        return round(float(np.mean(values)), 3) if values else float("nan")

    keys = ("exact_vs_aligned", "model_vs_exact", "model_vs_aligned")
    return {"utterances": len(rows), "not_aligned": failed, **{k: mean(k) for k in keys},
            "by_voice": {v: {"utterances": sum(r["voice"] == v for r in rows), **{k: mean(k, v) for k in keys}}
                         for v in sorted({r["voice"] for r in rows})},
            "weights": str(weights or "weights/motion.safetensors"), "steps": steps, "seed": seed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None, help="motion model [default: weights/motion.safetensors]")
    parser.add_argument("--corpus", type=Path, default=Path("build/corpus"), help="corpus with eval-*.safetensors")
    parser.add_argument("--limit", type=int, default=200, help="eval utterances to read (English ones are used)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    result = evaluate(args.weights, args.corpus, args.limit)
    print(json.dumps(result))
    print(f"held-out English TTS ({result['utterances']} utterances, {result['not_aligned']} not aligned): the "
          f"pocketsphinx reference follows the exact one at r = {result['exact_vs_aligned']}; the model scores "
          f"{result['model_vs_exact']} against the exact reference and {result['model_vs_aligned']} against the "
          f"aligned one (the reference real speech is scored against)", file=sys.stderr)
    for voice, row in result["by_voice"].items():
        print(f"  {voice}: {row}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
