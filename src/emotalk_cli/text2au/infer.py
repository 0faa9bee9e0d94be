"""Free-form emotion text -> AU keyframes: clause splitting for time, batching, neutral fallback.

    "calm at first, then furious"  -> clauses ["calm at first", "then furious"] -> 2 keyframes
    "happy but nervous"            -> one clause (a mixture, not a sequence)   -> 1 keyframe

Clause i of n gets time i * duration / n (duration defaults to 1 s per clause), so each clause
owns an equal share of the duration and a consumer interpolating between keyframes moves from one
feeling to the next across that share. All clauses of all prompts run through the model together,
in batches of similar token length (model.Text2AU.forward_texts) to keep padding small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.text2au.model import Text2AU


@dataclass(frozen=True)
class InferOptions:
    duration: float | None = None  # seconds the keyframes span; None = 1 s per clause
    max_clauses: int = 16  # clauses kept per prompt; later ones are dropped with a warning
    max_chars: int = 2000  # characters kept per prompt; the rest is cut with a warning
    emotional_threshold: float = 0.5  # P(text speaks of an emotion) under this -> neutral face
    batch_size: int = 64  # clauses per forward pass


@dataclass
class Keyframes:
    text: str
    times: Tensor  # [K] seconds, increasing, first 0
    au: Tensor  # [K, A] AU intensities in [0, 1], columns facs.AU_NAMES
    clauses: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_json(self, digits: int = 3) -> dict:
        return {
            "text": self.text,
            "keyframes": [
                {"time": round(float(t), digits), "au": {n: round(float(v), digits) for n, v in zip(facs.AU_NAMES, row)}}
                for t, row in zip(self.times, self.au)
            ],
        }


_CUE = (
    r"and then|but then|then|later on|later|afterwards|after that|after a while|eventually|finally|in the end|"
    r"until|before long|before|slowly|gradually|suddenly|soon after|soon|over time|turning into|turns into|turning|"
    r"becoming|becomes|grows|growing|ends up|ending up|ending in|gives way to|giving way to|fading into|fades into|"
    r"melting into|melts into|changing to|changes to|followed by"
)
_SPLIT = re.compile(r"\s*(?:[,;:]\s*|\s+-+\s+|\s+)(?:(?:and|but|yet)\s+)?(?=(?:" + _CUE + r")\b)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_FROM_TO = re.compile(
    r"^(?:(?:she|he|they|i|it|the face|mood)\s+)?(?:(?:goes|going|went|moves|moving|shifts|shifting|changes|changing|"
    r"swings|swinging|turns|turning|drifts|drifting|slides|sliding|gets|switches|switching)\s+)?from\s+(.+?)\s+(?:to|into)\s+(.+)$"
)
_FILLER = re.compile(r"\b(?:" + _CUE + r"|and|but|yet|at first|first|she|he|they|it|is|was|the)\b|[^\w]+")


def split_clauses(text: str) -> list[str]:
    """A prompt -> its time-ordered clauses (lower-case, whitespace normalised; [] for empty text)."""
    text = " ".join(text.lower().split()).strip(" .!?")
    if not text:
        return []
    clauses: list[str] = []
    for sentence in _SENTENCE.split(text):
        sentence = sentence.strip(" .!?,;")
        match = _FROM_TO.match(sentence)
        parts = [match.group(1), match.group(2)] if match else _SPLIT.split(sentence)
        for part in parts:
            part = part.strip(" ,;:-")
            if not part:
                continue
            if clauses and not _FILLER.sub("", part).strip():
                clauses[-1] = f"{clauses[-1]} {part}"  # "calms down slowly": "slowly" is no feeling
            else:
                clauses.append(part)
    return clauses


def valid_unicode(text: str) -> tuple[str, bool]:
    """Text that encodes as UTF-8, and whether anything had to be replaced. Bytes that were not UTF-8
    reach Python as lone surrogates (command-line arguments, and stdin read with surrogateescape);
    they become U+FFFD, as a UTF-8 decoder with errors="replace" would have read them."""
    try:
        text.encode("utf-8")
        return text, False
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), True
    except UnicodeEncodeError:  # a surrogate no byte escaped into (from JSON's \ud800, say)
        return text.encode("utf-8", "replace").decode("utf-8"), True


def keyframe_times(count: int, duration: float | None) -> Tensor:
    """Clause i of `count` at i * duration / count; duration None = 1 s per clause."""
    span = float(count) if duration is None else float(duration)
    return torch.arange(count, dtype=torch.float32) * (span / max(count, 1))


def text_to_keyframes(model: Text2AU, texts: list[str], options: InferOptions = InferOptions()) -> list[Keyframes]:
    """Prompts -> one Keyframes each (K = number of clauses, at least 1)."""
    if options.duration is not None and not options.duration > 0:
        raise ValueError(f"duration must be > 0 seconds, got {options.duration}")
    results: list[Keyframes] = []
    flat: list[tuple[int, int, str]] = []  # (prompt, clause, text)
    for p, text in enumerate(texts):
        warnings: list[str] = []
        text, replaced = valid_unicode(text)
        if replaced:
            warnings.append("prompt has bytes that are not UTF-8: each was replaced by U+FFFD")
        if len(text) > options.max_chars:
            warnings.append(f"prompt longer than {options.max_chars} characters: only its start is used")
            text_used = text[: options.max_chars]
        else:
            text_used = text
        clauses = split_clauses(text_used)
        if len(clauses) > options.max_clauses:
            warnings.append(f"prompt has {len(clauses)} clauses: only the first {options.max_clauses} are used")
            clauses = clauses[: options.max_clauses]
        if not clauses:
            warnings.append("empty prompt: using a neutral face")
        results.append(Keyframes(text, keyframe_times(max(len(clauses), 1), options.duration),
                                 torch.zeros(max(len(clauses), 1), facs.NUM_AUS), clauses, warnings))
        flat.extend((p, c, clause) for c, clause in enumerate(clauses))

    emotional = {}
    au, p_emotional, cut = model.forward_texts([c[2] for c in flat], options.batch_size)
    for (p, c, clause), row, pe, was_cut in zip(flat, au, p_emotional, cut):
        results[p].au[c] = row.clamp(0.0, 1.0)
        emotional[(p, c)] = float(pe)
        if was_cut:
            results[p].warnings.append(f"clause cut at {model.config.max_tokens} tokens: {clause[:40]!r}...")
    for p, result in enumerate(results):
        flags = [emotional[(p, c)] >= options.emotional_threshold for c in range(len(result.clauses))]
        for c, ok in enumerate(flags):
            if not ok:
                result.au[c] = 0.0
        if result.clauses and not any(flags):
            result.warnings.append("no emotion recognised: using a neutral face")
    return results
