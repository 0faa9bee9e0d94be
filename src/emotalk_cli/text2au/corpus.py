"""Training phrases and their AU labels, generated from `vocabulary.py`; and the held-out test sets.

Labels follow the EMFACS prototypes (Friesen & Ekman 1983, `facs.EMOTION_PROTOTYPES`) scaled by
intensity on the FACS A-E scale (0.2 ... 1.0):
- one emotion at intensity i: i * prototype; a modifier multiplies i ("slightly" 0.4, "utterly"
  2.0), clamped to [0.3, 1.0] so that a named emotion never drops below a visible trace;
- negation: "not happy" -> a mild opposite (sadness at 0.3); "not angry", "not afraid", ... -> neutral;
  the same for a feeling's noun negated ("devoid of joy", "free from anger": vocabulary.NOUN_NEGATIONS);
- mixtures: a weighted sum of the parts ("and" 1:1, "but" 2:3, "with a hint of" 4:1), rescaled so
  its strongest AU equals the strongest part's intensity (a blend of two strong feelings stays strong);
- time cues ("at first", "then", "slowly") leave a clause's label unchanged: `infer.py` splits a
  prompt into clauses and gives each its own keyframe;
- non-emotional text -> all zeros and the `emotional` flag 0 (the CLI then warns).

The training corpus never contains a held-out word, noun or idiom (`vocabulary.HELD_OUT`); this is
asserted when it is built, and the training-only extras (`vocabulary.EXTRA_WORDS`, `EXTRA_IDIOMS`)
are checked not to share even a stem with one (`vocabulary.check_extra`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.text2au import vocabulary as V
from emotalk_cli.text2au.vocabulary import Word

MIN_INTENSITY = 0.3  # floor for a named emotion: between FACS A (0.2, trace) and B (0.4)
Components = tuple[tuple[str, float, float], ...]  # (emotion, intensity, weight)


@dataclass(frozen=True)
class Example:
    text: str
    au: Tensor  # [A] AU intensities in [0, 1]
    emotional: float  # 1 when the text speaks of an emotion (neutral words included), 0 otherwise


def scale_intensity(base: float, factor: float = 1.0) -> float:
    """Base intensity times a modifier factor, clamped to [MIN_INTENSITY, 1]; neutral stays 0."""
    if base <= 0.0:
        return 0.0
    return min(1.0, max(MIN_INTENSITY, base * factor))


def label(parts: Components) -> Tensor:
    """(emotion, intensity, weight) parts -> AU intensities [A]: the blend described above."""
    total = torch.zeros(facs.NUM_AUS)
    peak = 0.0
    for emotion, intensity, weight in parts:
        if emotion == "neutral" or intensity <= 0.0:
            continue
        total += weight * intensity * facs.prototype_vector(emotion)
        peak = max(peak, intensity * float(facs.prototype_vector(emotion).max()))
    if peak > 0 and float(total.max()) > 0:
        total = total * (peak / float(total.max()))
    return total.clamp(0.0, 1.0)


def negated(parts: Components) -> Components:
    """Negation: not-happy is a mild sadness; any other negated feeling is a neutral face."""
    if any(e == "happiness" and i > 0 for e, i, _ in parts):
        return (("sadness", MIN_INTENSITY, 1.0),)
    return (("neutral", 0.0, 1.0),)


ADJ_TEMPLATES = (
    "{x}", "{x}", "{x}", "feeling {x}", "i feel {x}", "she looks {x}", "he is {x}", "looking {x}",
    "a {x} face", "with a {x} expression", "they seem {x}", "sounds {x}", "speaks in a {x} voice",
    "you look {x}", "she is {x} today", "{x} tone", "a {x} look", "he seems {x}", "{x} mood",
)
NOUN_TEMPLATES = (
    "full of {n}", "filled with {n}", "a look of {n}", "overcome with {n}", "a face full of {n}",
    "in a state of {n}", "{n}", "with {n}", "speaking with {n}", "her voice full of {n}",
)
MIX_TEMPLATES = (  # (template, weight of a, weight of b)
    ("{a} but {b}", 2, 3), ("{a} and {b}", 1, 1), ("{a} yet {b}", 2, 3), ("both {a} and {b}", 1, 1),
    ("{a} but also {b}", 1, 1), ("{a}, though a little {b}", 4, 1), ("half {a}, half {b}", 1, 1),
    ("{a} and a bit {b}", 4, 1), ("{a} mixed with {bn}", 3, 2), ("{a} with a hint of {bn}", 4, 1),
    ("{a} with a touch of {bn}", 4, 1), ("{a} while also {b}", 1, 1), ("{a} and at the same time {b}", 1, 1),
)
_WORD_RE_CACHE: dict[str, re.Pattern] = {}


def _contains(text: str, form: str) -> bool:
    pattern = _WORD_RE_CACHE.get(form)
    if pattern is None:
        pattern = _WORD_RE_CACHE[form] = re.compile(r"(?<![\w-])" + re.escape(form) + r"(?![\w-])")
    return bool(pattern.search(text))


def _adverb(rng: random.Random, p_none: float) -> tuple[str, float]:
    if rng.random() < p_none:
        return "", 1.0
    name = rng.choice(list(V.ADVERBS))
    return name + " ", V.ADVERBS[name]


def _word_phrase(rng: random.Random, word: Word, p_none: float = 0.4, p_none_neutral: float = 0.8) -> tuple[str, float]:
    """'slightly annoyed' with its intensity; a neutral word goes without an adverb with chance `p_none_neutral`."""
    adv, factor = _adverb(rng, p_none if word.intensity > 0 else p_none_neutral)
    return adv + word.adjective, scale_intensity(word.intensity, factor)


def _noun_phrase(rng: random.Random, word: Word) -> tuple[str, float]:
    if rng.random() < 0.4:
        return word.noun, scale_intensity(word.intensity)
    name = rng.choice(list(V.NOUN_MODIFIERS))
    return f"{name} {word.noun}", scale_intensity(word.intensity, V.NOUN_MODIFIERS[name])


def _idiom_phrase(rng: random.Random, idiom) -> tuple[str, Components]:
    phrase, parts = idiom
    adv, factor = ("", 1.0)
    if rng.random() < 0.3:
        adv, factor = _adverb(rng, 0.0)
    return adv + phrase, tuple((e, scale_intensity(i, factor), 1.0) for e, i in parts)


def _example(text: str, parts: Components, emotional: float = 1.0) -> Example:
    return Example(" ".join(text.split()), label(parts), emotional)


def build_corpus(seed: int = 0, words=None, idioms=None, per_word: int = 40, neutral_lines: int = 1500,
                 neutral_plain: float = 0.8) -> list[Example]:
    """The training corpus (held-out entries excluded), deduplicated by text, in a fixed order.
    `neutral_plain`: the chance that a neutral word's phrase has no intensity adverb ("very calm" is still neutral)."""
    rng = random.Random(seed)
    words = list(V.TRAIN_WORDS if words is None else words)
    idioms = list(V.TRAIN_IDIOMS if idioms is None else idioms)
    nouned = [w for w in words if w.noun]
    emotive = [w for w in words if w.emotion != "neutral"]
    out: list[Example] = []

    for word in words:  # single words with modifiers in carrier sentences
        for _ in range(per_word):
            text, i = _word_phrase(rng, word, p_none_neutral=neutral_plain)
            out.append(_example(rng.choice(ADJ_TEMPLATES).format(x=text), ((word.emotion, i, 1.0),)))
    for word in nouned:
        for _ in range(per_word // 3):
            text, i = _noun_phrase(rng, word)
            out.append(_example(rng.choice(NOUN_TEMPLATES).format(n=text), ((word.emotion, i, 1.0),)))
    for idiom in idioms:
        for _ in range(per_word // 2):
            text, parts = _idiom_phrase(rng, idiom)
            template = rng.choice(("{x}", "{x}", "she is {x}", "{x} today", "looking {x}", "he was {x}"))
            out.append(_example(template.format(x=text), parts))
    for phrase, parts in V.MIXED:  # few phrases: as many examples as a word gets, so a bigger vocabulary does not drown them
        for _ in range(per_word):
            adv, factor = _adverb(rng, 0.6)
            template = rng.choice(ADJ_TEMPLATES[:10])
            out.append(_example(template.format(x=adv + phrase), tuple((e, scale_intensity(i, factor), 1.0) for e, i in parts)))
    for word in emotive:  # negations
        for _ in range(per_word // 4):
            text, i = _word_phrase(rng, word, p_none=0.8)
            negation = rng.choice(V.NEGATIONS).format(x=text)
            template = rng.choice(("{x}", "{x}", "she is {x}", "feeling {x}", "he looks {x}", "i am {x}"))
            out.append(_example(template.format(x=negation), negated(((word.emotion, i, 1.0),))))
    for word in emotive:  # negations of the feeling's noun: "without fear", "free from anger"
        if not word.noun:
            continue
        for _ in range(per_word // 4):
            negation = rng.choice(V.NOUN_NEGATIONS).format(n=word.noun)
            template = rng.choice(("{x}", "{x}", "she is {x}", "he looks on, {x}", "speaking {x}", "{x} in her voice"))
            out.append(_example(template.format(x=negation), negated(((word.emotion, word.intensity, 1.0),))))
    for idiom in idioms:
        if idiom[1][0][0] != "neutral":
            for neg in ("not {x}", "not exactly {x}", "far from {x}", "not {x} at all"):
                out.append(_example(neg.format(x=idiom[0]), negated(tuple((e, i, 1.0) for e, i in idiom[1]))))
    for _ in range(len(emotive) * per_word // 3):  # mixtures of two feelings
        a, b = rng.sample(emotive, 2)
        template, wa, wb = rng.choice(MIX_TEMPLATES)
        if "{bn}" in template and not b.noun:
            continue
        ta, ia = _word_phrase(rng, a, p_none=0.7)
        tb, ib = _word_phrase(rng, b, p_none=0.7)
        text = template.format(a=ta, b=tb, bn=b.noun)
        if "{bn}" in template:
            ib = scale_intensity(b.intensity)
        out.append(_example(text, ((a.emotion, ia, wa), (b.emotion, ib, wb))))
    for _ in range(len(words) * per_word // 4):  # time-cue clauses (one clause of a time-varying prompt)
        choice = rng.random()
        if choice < 0.15 and nouned:
            word = rng.choice(nouned)
            text, i = _noun_phrase(rng, word)
            out.append(_example(f"{rng.choice(V.NOUN_TIME_PREFIXES)} {text}", ((word.emotion, i, 1.0),)))
            continue
        if choice < 0.55:
            word = rng.choice(words)
            text, i = _word_phrase(rng, word, p_none=0.6)
            parts: Components = ((word.emotion, i, 1.0),)
        elif choice < 0.75:
            verb, emotion, value = rng.choice(V.CHANGE_VERBS)
            adv, factor = _adverb(rng, 0.6) if value > 0 else ("", 1.0)
            text, parts = adv + verb, ((emotion, scale_intensity(value, factor), 1.0),)
        else:
            text, parts = _idiom_phrase(rng, rng.choice(idioms))
        if rng.random() < 0.75:
            text = f"{rng.choice(V.TIME_PREFIXES)} {text}"
        else:
            text = f"{text} {rng.choice(V.TIME_SUFFIXES)}"
        out.append(_example(text, parts))
    for verb, emotion, value in V.CHANGE_VERBS:  # change verbs on their own
        for _ in range(per_word // 4):
            adv, factor = _adverb(rng, 0.5) if value > 0 else ("", 1.0)
            subject = rng.choice(("", "", "she ", "he ", "the face "))
            out.append(_example(f"{subject}{adv}{verb}", ((emotion, scale_intensity(value, factor), 1.0),)))
    for k in range(neutral_lines):  # text with no emotion
        if k < len(V.NEUTRAL_LINES):
            text = V.NEUTRAL_LINES[k]
        else:
            a, b = rng.sample(V.NEUTRAL_NOUNS, 2)
            text = rng.choice(V.NEUTRAL_TEMPLATES).format(a=a, b=b, n=rng.randint(1, 99))
        out.append(_example(text, (("neutral", 0.0, 1.0),), emotional=0.0))

    unique: dict[str, Example] = {}
    for example in out:
        unique.setdefault(example.text, example)
    corpus = list(unique.values())
    if words is None or words is V.TRAIN_WORDS:
        _assert_no_leak(corpus)
    return corpus


def _assert_no_leak(corpus: list[Example]) -> None:
    forms = V.held_out_tokens()
    leaks = [(ex.text, f) for ex in corpus for f in forms if _contains(ex.text, f)]
    if leaks:
        raise AssertionError(f"{len(leaks)} training phrases contain held-out forms, e.g. {leaks[:3]}")


def training_corpus(seed: int = 0, per_word: int = 40, neutral_plain: float = 0.8) -> list[Example]:
    """Training corpus with held-out forms filtered out (idioms may contain held-out words). A training
    word or idiom that shares a stem with a held-out form (forms.mentions: "panicky" for "panicked",
    "cheerful" for "cheery", "sick at heart" for "sick") is left out too, so the held-out figures
    measure words the head has not met in any form."""
    from emotalk_cli.text2au.forms import mentions

    V.check_extra()
    forms = V.held_out_tokens()
    banned = frozenset(forms)
    words = [w for w in V.TRAIN_WORDS if not (mentions(w.adjective, banned) or (w.noun and mentions(w.noun, banned)))]
    idioms = [i for i in V.TRAIN_IDIOMS if not mentions(i[0], banned)]
    corpus = build_corpus(seed, words=words, idioms=idioms, per_word=per_word, neutral_plain=neutral_plain)
    corpus = [ex for ex in corpus if not any(_contains(ex.text, f) for f in forms)]
    _assert_no_leak(corpus)
    return corpus


def synonym_words(lexicon, words=None) -> list[Word]:
    """Training words found through the dictionary: the WordNet synonyms of each training word's
    glossed sense when it is an adjective ("blue" -> "dispirited"), each with the emotion and intensity of the word it came
    from. A synonym reached from words of two emotions, already in the vocabulary (WORDS, EXTRA_WORDS,
    held out or not), or that mentions a held-out form or its stem (forms.mentions) is not used.
    Source: WordNet 3.0 (Princeton University) synsets, as stored in weights/lexicon.safetensors."""
    from emotalk_cli.text2au.forms import mentions

    banned = frozenset(V.held_out_tokens())
    known = {w.adjective for w in (*V.WORDS, *V.EXTRA_WORDS)} | {p for p, _ in (*V.IDIOMS, *V.EXTRA_IDIOMS)}
    found: dict[str, list[Word]] = {}
    for word in V.TRAIN_WORDS if words is None else words:
        lemma = lexicon.lemma(word.adjective) if " " not in word.adjective else word.adjective
        senses = lexicon.entries.get(lemma) if lemma else None
        if not senses or len(senses[0]) < 3 or senses[0][2] != "a" or mentions(word.adjective, banned):
            continue  # adjective senses only: the synonyms go into "she looks ..." templates
        for synonym in senses[0][1]:
            if len(synonym) >= 4 and synonym not in known and not mentions(synonym, banned):
                found.setdefault(synonym, []).append(word)
    out = []
    for synonym, sources in sorted(found.items()):
        if len({w.emotion for w in sources}) == 1:
            intensity = sum(w.intensity for w in sources) / len(sources)
            out.append(Word(synonym, None, sources[0].emotion, round(intensity, 3)))
    return out


def synonym_corpus(words: list[Word], seed: int = 0, per_word: int = 10) -> list[Example]:
    """Carrier phrases for dictionary-found words (synonym_words): the word with or without an
    intensity adverb in the single-word templates, and a few negations; checked for held-out forms."""
    rng = random.Random(seed + 7)
    out: list[Example] = []
    for word in words:
        for _ in range(per_word):
            text, i = _word_phrase(rng, word)
            out.append(_example(rng.choice(ADJ_TEMPLATES).format(x=text), ((word.emotion, i, 1.0),)))
        if word.emotion != "neutral":
            for _ in range(max(1, per_word // 5)):
                text, i = _word_phrase(rng, word, p_none=0.8)
                out.append(_example(rng.choice(V.NEGATIONS).format(x=text), negated(((word.emotion, i, 1.0),))))
    unique: dict[str, Example] = {}
    for example in out:
        unique.setdefault(example.text, example)
    corpus = list(unique.values())
    _assert_no_leak(corpus)
    return corpus


# ---------------------------------------------------------------------------------------------
# Held-out test sets (built from vocabulary.TEST_WORDS / TEST_IDIOMS only)

CATEGORY_TEMPLATES = ("{x}", "feeling {x}", "she looks {x}", "very {x}", "a little {x}", "he seems {x}")


def heldout_category_set() -> list[tuple[str, str]]:
    """(phrase, expected category) for held-out words and idioms; contempt left out (see evaluate)."""
    return [(phrase, category) for phrase, category, _ in heldout_category_entries()]


def heldout_category_entries() -> list[tuple[str, str, str]]:
    """heldout_category_set with the vocabulary entry each phrase comes from: (phrase, category, entry),
    entry = the word's adjective or the idiom (the unit that evaluate.entry_interval resamples)."""
    items: list[tuple[str, str, str]] = []
    for word in V.TEST_WORDS:
        if word.emotion == "contempt":
            continue
        for template in CATEGORY_TEMPLATES:
            items.append((template.format(x=word.adjective), word.emotion, word.adjective))
        if word.noun:
            items.append((f"full of {word.noun}", word.emotion, word.adjective))
    for phrase, parts in V.TEST_IDIOMS:
        if parts[0][0] != "contempt":
            items.append((phrase, parts[0][0], phrase))
    return items


def intensity_pairs() -> list[tuple[str, str]]:
    """(weaker, stronger) held-out phrase pairs of the same emotion whose labels differ clearly."""
    weak = ("slightly", "a little", "mildly", "barely", "somewhat")
    strong = ("very", "extremely", "utterly", "incredibly", "absolutely")
    pairs: list[tuple[str, str]] = []
    test = [w for w in V.TEST_WORDS if w.emotion not in ("neutral", "contempt")]
    for k, word in enumerate(test):
        w, s = weak[k % len(weak)], strong[k % len(strong)]
        if scale_intensity(word.intensity, V.ADVERBS[s]) - scale_intensity(word.intensity, V.ADVERBS[w]) >= 0.25:
            pairs.append((f"{w} {word.adjective}", f"{s} {word.adjective}"))
    for a in test:  # across words: "slightly miffed" vs "livid"
        for b in test:
            if a.emotion != b.emotion or a is b:
                continue
            ia = scale_intensity(a.intensity, V.ADVERBS["slightly"])
            if b.intensity - ia >= 0.4:
                pairs.append((f"slightly {a.adjective}", b.adjective))
    return pairs
