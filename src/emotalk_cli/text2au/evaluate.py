"""Measure the text2au controller and print the figures.

    python -m emotalk_cli.text2au.evaluate --weights weights/text2au.safetensors

- Category accuracy on held-out words and idioms (never in training, vocabulary.HELD_OUT, nor in
  any training phrase's glosses; at run time they are read with their own WordNet glosses): a
  predicted AU vector is "neutral" when its strongest AU is under 0.2, otherwise the EMFACS
  prototype (joy = happiness, sadness, anger, fear, surprise, disgust) with the highest cosine
  similarity, i.e. the nearest prototype *line* (min over s >= 0 of |au - s * prototype|), so
  intensity does not change the category. Contempt (R12A+R14A, a trace prototype) is left out
  of this test: at most 0.2 per AU it sits on the neutral threshold. With it, a 95% bootstrap
  interval over the held-out words and idioms (entry_interval): a word's phrases are mostly all
  right or all wrong, so the ~170 entries, not the ~890 phrases, are the sample size.
- Intensity order: for held-out pairs ("slightly X" / "extremely X", "slightly miffed" / "livid"),
  the share where the stronger phrase has the larger total AU intensity.
- Behaviour: negation, mixtures and time-varying prompts (the same checks as the tests).
- Speed: cold start (a fresh `python -m emotalk_cli text2au TEXT --json` process, start to
  answer) and throughput (prompts per second, batched in one process and through stdin JSONL).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.errors import EmotalkError
from emotalk_cli.text2au import corpus as C
from emotalk_cli.text2au import vocabulary as V
from emotalk_cli.text2au.infer import InferOptions, text_to_keyframes
from emotalk_cli.text2au.forms import mentions
from emotalk_cli.text2au.lexicon import DEFAULT_LEXICON
from emotalk_cli.text2au.model import DEFAULT_WEIGHTS, load_model

EVAL_EMOTIONS = ("happiness", "sadness", "anger", "fear", "surprise", "disgust")
NEUTRAL_MAX_AU = 0.2


def category(au: Tensor) -> str:
    """AU intensities [A] -> 'neutral' or the nearest EMFACS prototype line (cosine)."""
    if float(au.max()) < NEUTRAL_MAX_AU:
        return "neutral"
    protos = torch.stack([facs.prototype_vector(e) for e in EVAL_EMOTIONS])
    cos = (protos @ au) / (protos.norm(dim=1) * au.norm() + 1e-9)
    return EVAL_EMOTIONS[int(cos.argmax())]


def _first(model, texts: list[str]) -> Tensor:
    return torch.stack([k.au[0] for k in text_to_keyframes(model, texts)])


def category_accuracy(model, items: list[tuple[str, str]]) -> tuple[float, list[tuple[str, str, str]], Counter, Counter]:
    au = _first(model, [t for t, _ in items])
    wrong, per_total, per_right = [], Counter(), Counter()
    for (text, want), row in zip(items, au):
        got = category(row)
        per_total[want] += 1
        if got == want:
            per_right[want] += 1
        else:
            wrong.append((text, want, got))
    return 1 - len(wrong) / max(len(items), 1), wrong, per_right, per_total


def item_correct(items: list[tuple[str, str]], wrong: list[tuple[str, str, str]]) -> list[bool]:
    """Per item of `items`, whether category_accuracy got it right (its `wrong` list; phrases are unique)."""
    missed = {text for text, _, _ in wrong}
    return [text not in missed for text, _ in items]


def entry_interval(correct: list[bool], entries: list[str], draws: int = 2000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float]:
    """A bootstrap interval of category accuracy over the vocabulary entries the items come from.

    The items are not independent: a word's six phrases are mostly all right or all wrong, so the
    unit of sampling is the entry (word or idiom), drawn with replacement `draws` times, and the
    interval holds the middle `level` of those accuracies."""
    return _entry_bootstrap([float(c) for c in correct], entries, draws, seed, level)


def entry_difference_interval(correct_a: list[bool], correct_b: list[bool], entries: list[str], draws: int = 2000,
                              seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """A paired bootstrap interval of accuracy(b) - accuracy(a) on the same items, resampling entries."""
    if len(correct_a) != len(correct_b):
        raise ValueError("both models must be scored on the same items")
    return _entry_bootstrap([float(b) - float(a) for a, b in zip(correct_a, correct_b)], entries, draws, seed, level)


def _entry_bootstrap(values: list[float], entries: list[str], draws: int, seed: int, level: float) -> tuple[float, float]:
    if len(values) != len(entries) or not values:
        raise ValueError("one entry per item, and at least one item")
    names = sorted(set(entries))
    index = {name: k for k, name in enumerate(names)}
    groups = torch.tensor([index[e] for e in entries])
    sums = torch.zeros(len(names), dtype=torch.float64).index_add_(0, groups, torch.tensor(values, dtype=torch.float64))
    counts = torch.zeros(len(names), dtype=torch.float64).index_add_(0, groups, torch.ones(len(values), dtype=torch.float64))
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(names), (draws, len(names)), generator=generator)  # [draws, entries] drawn with replacement
    means = sums[picks].sum(1) / counts[picks].sum(1)  # [draws] mean over the drawn entries' items
    tail = (1 - level) / 2
    low, high = torch.quantile(means, torch.tensor([tail, 1 - tail], dtype=torch.float64)).tolist()
    return low, high


def intensity_order(model, pairs: list[tuple[str, str]]) -> tuple[float, list[tuple[str, str, float, float]]]:
    weak = _first(model, [w for w, _ in pairs]).sum(1)
    strong = _first(model, [s for _, s in pairs]).sum(1)
    bad = [(w, s, float(a), float(b)) for (w, s), a, b in zip(pairs, weak, strong) if not b > a]
    return 1 - len(bad) / max(len(pairs), 1), bad


def behaviour(model) -> list[tuple[str, bool, str]]:
    """Named checks of negation, mixture and time: (name, passed, detail)."""
    def one(text):
        return text_to_keyframes(model, [text])[0]

    checks = []
    for text in ("not happy at all", "not happy", "far from happy", "not angry", "not afraid at all"):
        k = one(text)
        checks.append((f"negation {text!r}: no smile, not its emotion", float(k.au[0, facs.AU_INDEX["AU12"]]) < 0.2
                       and category(k.au[0]) not in ("happiness",) and (text.split()[-1] in ("happy",) or category(k.au[0]) == "neutral"
                       or "happy" in text), category(k.au[0])))
    for text in ("without fear", "free from anger", "no disgust at all"):
        got = category(one(text).au[0])
        checks.append((f"negation {text!r}: neutral", got == "neutral", got))
    for text, want in (("calm at first, then furious", ["neutral", "anger"]),
                       ("starts sad and slowly brightens", ["sadness", "happiness"]),
                       ("happy, then sad, then angry", ["happiness", "sadness", "anger"]),
                       ("goes from terrified to relieved", ["fear", "happiness"])):
        k = one(text)
        got = [category(row) for row in k.au]
        checks.append((f"time {text!r}: {len(want)} keyframes {want}", got == want, f"{got} at {k.times.tolist()}"))
    k = one("happy but nervous")
    au = k.au[0]
    checks.append(("mixture 'happy but nervous': smile and fear AUs", len(k.times) == 1 and float(au[facs.AU_INDEX["AU12"]]) > 0.15
                   and float(au[facs.AU_INDEX["AU20"]]) > 0.1, f"AU12 {float(au[facs.AU_INDEX['AU12']]):.2f} AU20 {float(au[facs.AU_INDEX['AU20']]):.2f}"))
    k = one("bittersweet")
    au = k.au[0]
    checks.append(("mixture 'bittersweet': smile and frown", float(au[facs.AU_INDEX["AU12"]]) > 0.15 and float(au[facs.AU_INDEX["AU15"]]) > 0.15,
                   f"AU12 {float(au[facs.AU_INDEX['AU12']]):.2f} AU15 {float(au[facs.AU_INDEX['AU15']]):.2f}"))
    for text, want in (("over the moon", "happiness"), ("down in the dumps", "sadness"), ("the table is next to the window", "neutral")):
        got = category(one(text).au[0])
        checks.append((f"{text!r} -> {want}", got == want, got))
    return checks


def speed_prompts(count: int = 2000) -> list[str]:
    """Short prompts as users write them, for the speed figures: a modifier and a vocabulary word."""
    return [f"{a} {w.adjective}" for w in V.WORDS for a in ("slightly", "very", "", "not", "then")][:count]


def cold_start(weights: Path, runs: int = 3) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "emotalk_cli", "text2au", "gently amused", "--json", "--weights", str(weights), "--quiet"],
                       check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return times


def stdin_throughput(weights: Path, prompts: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "emotalk_cli", "text2au", "--weights", str(weights), "--quiet"],
                         input="\n".join(prompts) + "\n", check=True, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t
    assert len(out.stdout.splitlines()) == len(prompts), "one JSON line per prompt"
    return len(prompts) / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Evaluate text2au weights on the held-out split and measure speed.")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--lexicon", type=Path, default=DEFAULT_LEXICON, help="gloss lexicon (speed runs use the default)")
    parser.add_argument("--no-speed", action="store_true", help="skip the cold-start and throughput runs")
    args = parser.parse_args(argv)

    t = time.perf_counter()
    try:
        model = load_model(args.weights, lexicon_path=args.lexicon)
    except EmotalkError as err:
        sys.exit(f"emotalk: error: {err}")
    print(f"text2au evaluation of {args.weights} (model mapped in {time.perf_counter() - t:.2f}s, weights page in on first use; {torch.get_num_threads()} threads)")
    if model.config.glosses:
        print(f"reads glosses: {len(model.lexicon.entries)} WordNet 3.0 lemmas ({args.lexicon}), "
              f"e.g. {model.reading(['feeling lugubrious'])[0]!r}")
    if model.config.tags:
        print(f"reads affect tags of {len(model.lexicon.tags)} words (VADER valence, Empath emotion categories), "
              f"e.g. {model.reading(['seething'])[0]!r}")
    if model.config.members > 1 or model.config.second_sense_weight:
        print(f"{model.config.members} heads averaged; second-sense reading weighs {model.config.second_sense_weight}, "
              f"tags reading {model.config.tags_reading_weight} (e.g. {model.reading(['seething'], definitions=False)[0]!r})")
    print(f"held-out split: {len(V.TEST_WORDS)} words and {len(V.TEST_IDIOMS)} idioms never in training "
          f"({len(V.TRAIN_WORDS)} words, {len(V.TRAIN_IDIOMS)} idioms in the vocabulary for training)")

    entries = C.heldout_category_entries()
    items = [(phrase, want) for phrase, want, _ in entries]
    acc, wrong, right, total = category_accuracy(model, items)
    low, high = entry_interval(item_correct(items, wrong), [e for _, _, e in entries])
    print(f"\ncategory accuracy, held-out words and phrases: {acc:.2%} ({len(items) - len(wrong)}/{len(items)}; "
          f"goal >= 90%: {'PASS' if acc >= 0.90 else 'FAIL'})")
    print(f"  95% interval, the {len(set(e for _, _, e in entries))} held-out words and idioms resampled: "
          f"{low:.1%}-{high:.1%}")
    print("  " + ", ".join(f"{e} {right[e]}/{total[e]}" for e in (*EVAL_EMOTIONS, "neutral") if total[e]))
    for text, want, got in wrong[:12]:
        print(f"  miss: {model.reading([text])[0]!r}: {want} -> {got}")
    held_forms = frozenset(V.held_out_tokens())  # training leaves out the held-out words' stem relatives too
    seen = [(f"feeling {w.adjective}", w.emotion) for w in V.TRAIN_WORDS
            if w.emotion != "contempt" and not mentions(w.adjective, held_forms)]
    seen_acc, *_ = category_accuracy(model, seen)
    print(f"category accuracy, training words (for comparison): {seen_acc:.1%} ({len(seen)})")

    pairs = C.intensity_pairs()
    order, bad = intensity_order(model, pairs)
    print(f"\nintensity order, held-out pairs: {order:.2%} ({len(pairs) - len(bad)}/{len(pairs)}; "
          f"goal >= 95%: {'PASS' if order >= 0.95 else 'FAIL'})")
    for w, s, a, b in bad[:8]:
        print(f"  miss: {w!r} sum {a:.2f} >= {s!r} sum {b:.2f}")

    print("\nbehaviour:")
    for name, ok, detail in behaviour(model):
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}")

    if not args.no_speed:
        prompts = speed_prompts(2000)
        text_to_keyframes(model, prompts[:64])
        t = time.perf_counter()
        text_to_keyframes(model, prompts, InferOptions(batch_size=64))
        batch_rate = len(prompts) / (time.perf_counter() - t)
        starts = cold_start(args.weights)
        rate = stdin_throughput(args.weights, prompts[:1000])
        print("\nspeed (this CPU):")
        print(f"  cold start, `emotalk text2au TEXT --json` in a fresh process: {min(starts):.2f}s best, "
              f"{sum(starts) / len(starts):.2f}s mean of {len(starts)} (goal <= 3 s)")
        print(f"  throughput, batched in one process: {batch_rate:.0f} prompts/s ({len(prompts)} prompts; goal >= 100)")
        print(f"  throughput, 1000 prompts on stdin -> JSON Lines, whole process: {rate:.0f} prompts/s")


if __name__ == "__main__":
    main()
