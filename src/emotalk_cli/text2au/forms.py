"""Word forms: does a text mention a banned form (a held-out word, its stem, or a phrase)?

The leak checks of the text2au split (vocabulary.check_extra, corpus.training_corpus, the lexicon's
glosses) share this one reading of "mentions", so a word held out for evaluation never reaches
training in any form. Plain string work: this module imports nothing of the project.
"""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")  # a lower-case word, with inner apostrophes and hyphens


def mentions(text: str, banned: frozenset[str]) -> bool:
    """Whether `text` mentions a banned form: a banned phrase, a banned word, or a word starting
    with the stem of a banned word of 4+ letters ("sickening" for "sick", "astounding" for
    "astounded", "pleasant" for "pleased"). Hyphens and spaces are one: "stomach-churning"
    mentions "stomach churning" and "stomach turning" mentions "stomach-turning"."""
    words = WORD.findall(text.lower())
    exact, prefixes = _banned_words(banned)
    if any(w in exact or w.startswith(prefixes) for w in words):
        return True
    return mentions_phrase(text, banned)


def mentions_phrase(text: str, banned: frozenset[str]) -> bool:
    joined = " " + " ".join(WORD.findall(text.lower().replace("-", " "))) + " "
    return any(" " + b.replace("-", " ") + " " in joined for b in banned if " " in b or "-" in b)


_SUFFIXES = ("ation", "ment", "ness", "ied", "ful", "ing", "ion", "ity", "ous", "ed", "er", "ly", "y", "e", "s")


def _stem(word: str) -> str:
    """'astounded' -> 'astound', 'pleased' -> 'pleas', 'satisfied' -> 'satisf': one suffix off,
    at least 5 letters kept; words that start with the stem count as mentions of the form."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 5:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=8)
def _banned_words(banned: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    single = frozenset(b for b in banned if " " not in b and "-" not in b)
    hyphened = frozenset(b for b in banned if " " not in b and "-" in b)
    return single | hyphened, tuple(sorted({_stem(b) for b in single if len(b) >= 4}))
