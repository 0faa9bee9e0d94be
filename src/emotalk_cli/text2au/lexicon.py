"""Dictionary knowledge for text2au: a compact WordNet gloss lexicon, and gloss augmentation of text.

An emotion word the head never saw in training ("lugubrious") is read through its definition:

    augment("she looks lugubrious", lexicon)  ->  "she looks lugubrious (excessively mournful; sorrowful)"

The same augmentation is applied to every training phrase (with the glosses of its own words), so
the head learns to use glosses; at run time `Text2AU.forward_texts` augments each clause before
tokenizing. The lexicon holds words with a sense that reads as a feeling, one sense chosen per word
at build time by the frozen MiniLM's similarity to the training vocabulary of each emotion category
(see scripts/build_lexicon.py); nouns such as "table" or "weather", and words with only literal
senses, stay as they are.

Reading a clause (`augment`): multi-word lemmas first ("down in the dumps"), then single words.
- A word right after a determiner, possessive or "with"/"of"/"in"/"without"/"from"/"no"/"any"
  ("her smile", "with fear", "without fear") is read as a noun or adjective: its verb senses are
  skipped (`DETERMINERS`), so the words of an idiom are not glossed by an unrelated verb.
- A hyphenated word WordNet writes run together or spaced is found that way ("heavy-hearted" ->
  heavyhearted, `Lexicon.lemma`).
- A verb idiom said inflected is found under its base form ("hitting the roof" -> hit the roof,
  `Lexicon.phrase`).
- A word the lexicon lacks that is "un"/"non" plus a word it has reads "not <word>" ("unworried"
  -> "not worried", `negated_gloss`), the form the head learned from negated phrases.
- A definition that negates a quality ("not smiling", "lacking courage", "made less hopeful") is
  replaced by the sense's synonyms where it has some (`GLOSS_NEGATIONS`, `Lexicon.gloss`): the head
  reads "not X" as the absence of X's feeling, the wrong reading of a word that means a lack.

Affect tags (`Lexicon.tags`, read when the head was trained with them, `augment(..., tags=True)`):
words as written -> a few words saying how they feel, from VADER's valence ratings and Empath's emotion
categories (scripts/build_lexicon.py, `affect_tags`): "seething (in constant agitation; agitated;
angry, disgusted)". A word with tags and no gloss is read with its tags alone. They
are a second opinion, independent of the definition, which can mislead ("capable of killing" reads
as much like fear as like anger). Training leaves a word's tags out of some phrases
(TrainConfig.p_untagged), so the head also reads each word without them, and a word without tags
reads as strongly as one with them.

Held-out words. Training must never see a held-out word, not even inside another word's gloss:
`augment(..., banned=forms)` skips every sense whose definition contains a banned form (or a word
starting with one: "sorrowfully" for "sorrow") and drops banned synonyms. `train.py` passes
`vocabulary.held_out_tokens()`; run time and evaluation pass nothing.

File format "emotalk.lexicon" (safetensors, weights/lexicon.safetensors, made by `make weights-lexicon`):
tensor `data` uint8 [N] = gzip of JSON {"entries": {lemma: [[definition, [synonym, ...], pos], ...]},
"exceptions": {inflected form: lemma}, "tags": {word: [tag, ...]} (may be absent)}; metadata `format`,
`version`, `source`, `licence` (the WordNet 3.0 licence and copyright notice, which must travel with
the data, and the MIT notices of the tags' sources), `entries` (count).

Sources: WordNet 3.0, Princeton University (Debian package wordnet-base), under the WordNet 3.0
licence (permissive; redistribution allowed with its copyright notice). Affect tags: VADER's lexicon
(Hutto & Gilbert, ICWSM 2014; PyPI vaderSentiment, MIT) and Empath's categories (Fast, Chen &
Bernstein, CHI 2016; PyPI empath, MIT). Morphology follows WordNet's documented detachment rules
(morphy(7WN)); the code here is our own.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import torch

from emotalk_cli.artifacts import atomic_output, read_safetensors
from emotalk_cli.errors import ArtifactError
from emotalk_cli.resources import weights_path
from emotalk_cli.text2au.forms import WORD, mentions, mentions_phrase

FORMAT = "emotalk.lexicon"
VERSION = 1
DEFAULT_LEXICON = weights_path("lexicon.safetensors")
MADE_BY = "make weights-lexicon (python scripts/build_lexicon.py --out weights/lexicon.safetensors)"

MAX_DEFINITION_WORDS = 14  # a gloss keeps the start of its definition
MAX_SYNONYMS = 3  # and at most this many synonyms (model.Text2AUConfig.gloss_synonyms says how many a head reads)
MAX_GLOSSES = 3  # glossed words per clause (the first ones found)
LONGEST_PHRASE = 4  # words in the longest multi-word lemma looked up ("down in the mouth")

# WordNet's detachment rules (morphy(7WN)): suffix -> replacement, tried for every part of speech.
_DETACH = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
           ("es", "e"), ("es", ""), ("s", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""), ("er", ""),
           ("est", ""), ("er", "e"), ("est", "e"), ("ly", ""), ("ily", "y"), ("ally", ""), ("ness", ""), ("iness", "y"))
# Tried only when a word is not found as written nor by _DETACH: derivations WordNet does not list
# ("mopey" -> mope, "sneery" -> sneer, "geniality" -> genial, "incredulity" -> incredulous) and the
# -ize / -ise spelling variants ("surprized" -> surprised -> surprise). Only lemmas of the lexicon are
# found, and it holds affective senses, so "holy" finds no "hole". Chosen on evals/text2au_validation.py's
# split: 10 of the vocabulary's words outside the held-out split gain a gloss (see Lexicon.lemma).
_DERIVE = (("ey", ""), ("y", ""), ("y", "e"), ("ity", ""), ("ity", "e"), ("ity", "ous"))
_SPELLINGS = (("iz", "is"), ("is", "iz"))

# Words never glossed: closed-class words and the carrier words of our phrases ("she looks ...",
# "a ... face"): their glosses would only add noise. Intensity and time words come from vocabulary.
_FUNCTION_WORDS = frozenset("""
a an the and or but yet nor so to of in on at by for with without from into onto over under up down out off
about as than then that this these those there here it its is are was were be been being am do does did
doing done have has had having i me my you your he him his she her they them their we us our one ones who
what which when while where why how not no never nothing anything something all any some each every both
either neither much many more most less least very too just only also even still again already ever
feel feels felt feeling feelings look looks looked looking seem seems seemed seeming sound sounds sounded
face faces expression expressions voice tone mood look speak speaks speaking spoke appear appears get gets
got become becomes became becoming turn turns turned turning go goes went going start starts started
today now later first end state full filled overcome half mixed same time while though please next
""".split())


# Words that negate part of a definition: such a definition is replaced by the sense's synonyms (Lexicon.gloss).
GLOSS_NEGATIONS = frozenset("not no never nor lacking lack without less scarcely hardly free devoid".split())

# Words after which English puts a noun phrase ("her smile", "with fear"): a word right after one is not read as a verb.
DETERMINERS = frozenset("a an the her his my your their our its one's this that these those every with of in "
                        "without from no any".split())


@dataclass(frozen=True)
class Lexicon:
    """lemma -> senses [(definition, synonyms)], most relevant first; inflected form -> lemma."""

    entries: dict[str, list[list]]  # lemma -> [[definition, [synonym, ...], pos], ...]; pos "a" "v" "n" "r" (may be absent)
    exceptions: dict[str, str]
    tags: dict[str, list[str]] = field(default_factory=dict)  # word as written -> affect tags ("negative", "angry")

    def word_tags(self, word: str, banned: frozenset[str] = frozenset()) -> list[str]:
        """The affect tags of a word as written, else of its lemma (none banned)."""
        found = self.tags.get(word)
        if found is None:
            lemma = self.lemma(word)
            found = self.tags.get(lemma, []) if lemma else []
        return [t for t in found if not (banned and mentions(t, banned))]

    def names_emotion(self, text: str, skip: frozenset[str] = frozenset()) -> bool:
        """Whether a word of `text` (outside `skip`) has an affect tag that names an emotion ("angry")."""
        return any(tag in EMOTION_TAGS for word in WORD.findall(text.lower()) if word not in skip and len(word) >= 3
                   for tag in self.word_tags(word))

    def lemma(self, word: str) -> str | None:
        """The lexicon key for a (possibly inflected) lower-case word, or None."""
        if word in self.entries:
            return word
        if "-" in word:  # WordNet writes many compounds run together or spaced: "heavy-hearted" -> heavyhearted
            for joined in (word.replace("-", ""), word.replace("-", " ")):
                if joined in self.entries:
                    return joined
        base = self._inflected(word)
        if base is not None or len(word) < 5:
            return base
        for written, variant in _SPELLINGS:  # "surprized" -> "surprised" -> surprise
            if written in word and (base := self._inflected(word.replace(written, variant))) is not None:
                return base
        for suffix, repl in _DERIVE:  # "mopey" -> mope
            if word.endswith(suffix) and len(word) > len(suffix) + 3:
                if (base := self._inflected(word[: -len(suffix)] + repl)) is not None:
                    return base
        if "-" in word:  # "grossed-out" -> "gross out": the phrase with its first word's base form
            first, rest = word.split("-", 1)
            for suffix, repl in _DETACH:
                if first.endswith(suffix) and len(first) > len(suffix) + 2:
                    phrase = f"{first[: -len(suffix)] + repl} {rest.replace('-', ' ')}"
                    if phrase in self.entries:
                        return phrase
        return None

    def _inflected(self, word: str) -> str | None:
        """The lemma of `word` as written or by WordNet's detachment rules (an irregular form too), or None."""
        if word in self.entries:
            return word
        base = self.exceptions.get(word)
        if base in self.entries:
            return base
        for suffix, repl in _DETACH:
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                base = word[: -len(suffix)] + repl
                if base in self.entries:
                    return base
        return None

    def senses(self, lemma: str, nominal: bool = False, sense: int = 0) -> list[list]:
        """The senses of `lemma` in the order gloss() tries them: WordNet's (build_lexicon's) order,
        the second first when `sense` is 1, verbs left out when `nominal`. gloss() uses the first."""
        senses = self.entries.get(lemma) or []
        if sense and len(senses) > 1:
            senses = senses[sense:] + senses[:sense]
        if nominal:
            senses = [entry for entry in senses if len(entry) < 3 or entry[2] != "v"]
        return senses

    def phrase(self, words: list[str]) -> str | None:
        """The lexicon key of a phrase of several words: as written, else with its first word's base
        form ("hitting the roof" -> "hit the roof", "foaming at the mouth" -> "foam at the mouth"): a
        verb idiom is listed under its base form and said inflected. None when neither is listed."""
        written = " ".join(words)
        if written in self.entries:
            return written
        first, rest = words[0], " ".join(words[1:])
        bases = [self.exceptions.get(first)]
        for suffix, repl in _DETACH:
            if first.endswith(suffix) and len(first) > len(suffix) + 1:
                base = first[: -len(suffix)] + repl
                bases.append(base)
                if len(base) >= 3 and base[-1] == base[-2] and base[-1] not in "aeiouls":  # "hitting" -> hitt -> hit
                    bases.append(base[:-1])
        for base in bases:
            if base and f"{base} {rest}" in self.entries:
                return f"{base} {rest}"
        return None

    def gloss(self, lemma: str, banned: frozenset[str] = frozenset(), skip_self: str = "",
              nominal: bool = False, sense: int = 0, synonyms: int = MAX_SYNONYMS) -> str | None:
        """The first sense of `lemma` as 'definition; syn, syn' (None when it has none); with
        `sense` 1, its second sense where it has one (the first otherwise), for the second reading.

        `nominal`: the word stands where English puts a noun (after "her", "the", "with", ...: "a smile
        on her face", "trembling with fear"), so a verb sense cannot be meant: the first sense that is
        not a verb is used, and none when all are verbs (the word is then read as written).
        A definition that negates ("not smiling", "lacking courage", "made less hopeful":
        GLOSS_NEGATIONS) gives way to the sense's synonyms when it has some: the head learned "not X"
        as the absence of X's feeling, which is the wrong reading of a word that *means* a lack.
        `banned` (training only): words of the definition that are, or start with, a banned form
        are deleted, banned synonyms dropped, and the sense is not used when a banned phrase of
        several words occurs in it or less than two words of its definition remain. Only that one
        sense is ever used, as at run time, so a word never stands for another of its meanings.
        """
        senses = self.senses(lemma, nominal, sense)
        if not senses:
            return None
        definition, listed = senses[0][0], senses[0][1]
        words = definition.split()
        if banned:
            if mentions_phrase(definition, banned):
                return None
            words = [w for w in words if not mentions(w, banned)]
            if len(words) < 2:
                return None
        spellings = {spelling_key(lemma), spelling_key(skip_self)}  # "unappetising" says nothing about "unappetizing"
        # (the synonyms' spellings of one another stay: "demoralized, demoralised"; dropping them read worse on
        # evals/text2au_validation.py's split, a pair 85.9 % against 86.7 %, within the spread of pairs)
        syns = [s for s in listed if spelling_key(s) not in spellings and not (banned and mentions(s, banned))]
        if syns and any(w.strip(",;:") in GLOSS_NEGATIONS for w in words):
            # "not smiling", "lacking courage", "made less hopeful": a negated quality the head would
            # read as a negated feeling ("not happy"); the synonyms say the same thing without one
            return ", ".join(syns[:synonyms])
        text = " ".join(words[:MAX_DEFINITION_WORDS])
        if syns:
            text = f"{text}; {', '.join(syns[:synonyms])}"
        return text


def spelling_key(word: str) -> str:
    """One key for the spellings of a word WordNet lists as its synonyms: -ise / -ize, -our / -or,
    hyphened, spaced or run together ("unappetising", "heavy-hearted" -> "unappetizing", "heavyhearted")."""
    return word.lower().replace("-", "").replace(" ", "").replace("our", "or").replace("is", "iz")


GLOSS = re.compile(r"\(([^()]*)\)")  # the glosses augment() inserted: "(excessively mournful; sorrowful)"


def skip_words() -> frozenset[str]:
    """Words augment() never glosses from the dictionary: function words, the intensity, negation
    ("free from", "devoid of") and time words, and the one-word mixtures of vocabulary.MIXED (those
    get `mixture_glosses`)."""
    from emotalk_cli.text2au import vocabulary as V

    words = set(_FUNCTION_WORDS)
    # the vocabulary's mixture words: their dictionary glosses name one side only ("bittersweet":
    # "tinged with sadness"), while the word means both
    words.update(phrase for phrase, _ in V.MIXED if " " not in phrase)
    for phrase in (*V.ADVERBS, *V.NOUN_MODIFIERS, *V.TIME_PREFIXES, *V.NOUN_TIME_PREFIXES, *V.TIME_SUFFIXES, *V.NEGATIONS,
                   *V.NOUN_NEGATIONS):
        words.update(WORD.findall(phrase.replace("{x}", "").replace("{n}", "")))
    return frozenset(words)


EMOTION_TAGS = frozenset({"happy", "sad", "angry", "afraid", "surprised", "disgusted"})  # build_lexicon.EMPATH_EMOTIONS' words
MIXTURE_ADJECTIVES = {"happiness": "happy", "sadness": "sad", "anger": "angry", "fear": "afraid", "surprise": "surprised",
                      "disgust": "disgusted", "contempt": "contemptuous"}


@lru_cache(maxsize=1)
def mixture_glosses() -> dict[str, str]:
    """The one-word mixtures of vocabulary.MIXED read as the feelings they mix, strongest first, a
    part under half the strongest as "a little": "bittersweet" -> "happy and sad", "heartwarming" ->
    "happy and a little sad". The head knows such pairs from the training mixtures ("happy but
    nervous"); without this gloss "bitter" pulled the reading to one side, and whether "bittersweet"
    smiled at all changed from one training run to the next (AU12 under 0.1 in 4 of 7 runs)."""
    from emotalk_cli.text2au import vocabulary as V

    out = {}
    for phrase, parts in V.MIXED:
        if " " not in phrase:
            ordered = sorted(parts, key=lambda part: -part[1])
            strongest = ordered[0][1]
            out[phrase] = " and ".join(("a little " if value < strongest / 2 else "") + MIXTURE_ADJECTIVES[emotion]
                                       for emotion, value in ordered)
    return out


NEGATING_PREFIXES = ("un", "non")  # "unworried" = not worried (English derivation; WordNet lists few such words)


def negated_gloss(word: str, lexicon: Lexicon, banned: frozenset[str] = frozenset()) -> str | None:
    """'not worried' for a word the lexicon lacks that is a negating prefix plus a word it has
    ("unworried", "unfazed"); None otherwise (the remainder must be a known lemma of 4+ letters, so
    "under" or "uncle" are left alone). The head reads it as it reads "not worried" in a phrase."""
    if lexicon.lemma(word) is not None:
        return None
    for prefix in NEGATING_PREFIXES:
        rest = word[len(prefix) :].lstrip("-")
        if word.startswith(prefix) and len(rest) >= 4 and lexicon.lemma(rest) is not None:
            if banned and mentions(rest, banned):
                return None
            return f"not {rest}"
    return None


def synonym_gloss(lexicon: Lexicon, sense: list, word: str, banned: frozenset[str], rng: random.Random,
                  synonyms: int = MAX_SYNONYMS) -> str | None:
    """The gloss of a synonym of `sense` (a lexicon sense of `word`) whose own entry defines it otherwise:
    "angry"'s ("feeling or showing anger; furious") for "furious". None when no synonym has one (banned ones
    skipped). The word may stay among the synonyms: leaving it out read worse on evals/text2au_validation.py's
    split (seeds 0 / 1: 83.1 / 84.0 % against 85.4 / 85.9 %), since the head learns there to read a list of
    synonyms, which is what an unseen word's gloss gives it."""
    spelled = spelling_key(word)
    options = []
    for synonym in sense[1]:
        lemma = lexicon.lemma(synonym) if " " not in synonym else (synonym if synonym in lexicon.entries else None)
        if lemma and spelling_key(synonym) != spelled and lexicon.entries[lemma][0][0] != sense[0] \
                and not (banned and mentions(synonym, banned)):
            options.append((synonym, lemma))
    rng.shuffle(options)
    for synonym, lemma in options:
        gloss = lexicon.gloss(lemma, banned, skip_self=synonym, synonyms=synonyms)
        if gloss:
            return gloss
    return None


def pseudo_word(rng: random.Random) -> str:
    """A pronounceable nonsense word ('vorlidous'): stands in for an unseen word during training."""
    onsets = ("b", "bl", "br", "d", "dr", "f", "fl", "g", "gl", "gr", "k", "l", "m", "n", "p", "pl", "pr", "r", "s",
              "sk", "sl", "sn", "st", "t", "tr", "v", "w", "z", "ch", "sh", "th")
    vowels = ("a", "e", "i", "o", "u", "ou", "ea", "ai", "y")
    endings = ("", "", "ous", "ful", "ed", "ish", "y", "ent", "ic", "ive", "ing", "ate", "id", "al", "ose")
    syllables = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 3)))
    return syllables + rng.choice(endings)


def augment(text: str, lexicon: Lexicon, skip: frozenset[str] | None = None, banned: frozenset[str] = frozenset(),
            rng: random.Random | None = None, p_pseudo: float = 0.0, sense: int = 0, tags: bool = False,
            p_untagged: float = 0.0, definitions: bool = True, p_tags_alone: float = 0.0,
            p_synonym_gloss: float = 0.0, synonyms: int = MAX_SYNONYMS) -> str:
    """text -> text with '(gloss)' after each of its first MAX_GLOSSES glossable words or phrases.

    `banned`: forms whose mention disqualifies a sense (training: the held-out forms).
    `synonyms`: at most this many of a sense's synonyms follow its definition.
    `rng`, `p_pseudo`: during training, replace a glossed word by a nonsense word with this
    probability, so the head learns to read the gloss of a word it cannot know.
    `sense`: 1 glosses each word with its second sense where it has one (Lexicon.gloss).
    `tags`: a single word's affect tags (Lexicon.tags) follow its gloss ("(... ; negative, angry)"),
    or stand alone as its gloss when the dictionary has none. `p_untagged` (training, with `rng`):
    the chance that a word's tags are left out, so the head also learns each word without them.
    `definitions` False (with `tags`): no dictionary glosses, so tagged words carry their tags alone
    ("seething (negative, angry)"); the model's tags reading (model.Text2AUConfig.tags_reading_weight).
    `p_tags_alone` (training, with `rng`): the chance that a tagged word's gloss is its tags alone, as
    in that reading. `p_synonym_gloss` (training, with `rng`): the chance that a word is glossed by one of
    its synonyms' glosses instead (`synonym_gloss`) and replaced by a nonsense word, so the head reads
    several definitions of each training word's feeling, not one it could learn by heart.
    """
    skip = skip_words() if skip is None else skip
    lowered = text.lower()
    spans = [(m.start(), m.end(), m.group()) for m in WORD.finditer(lowered)]
    pieces: list[str] = []
    last = 0
    k = 0
    glossed = 0
    while k < len(spans) and glossed < MAX_GLOSSES:
        found = None
        for n in range(min(LONGEST_PHRASE, len(spans) - k), 0, -1):
            words = [w for _, _, w in spans[k : k + n]]
            if n == 1 and words[0] in mixture_glosses():
                found = (1, mixture_glosses()[words[0]], None)
                break
            if n == 1 and (words[0] in skip or len(words[0]) < 3):
                break
            if n > 1 and all(w in skip for w in words):
                continue
            key = lexicon.phrase(words) if n > 1 else lexicon.lemma(words[0])
            if definitions and key and key in lexicon.entries:
                nominal = n == 1 and k > 0 and spans[k - 1][2] in DETERMINERS
                gloss = lexicon.gloss(key, banned, skip_self=words[-1] if n == 1 else "", nominal=nominal, sense=sense,
                                      synonyms=synonyms)
                if gloss:
                    # the sense glossed, for synonym_gloss (training only: not looked up again when reading)
                    found = (n, gloss, lexicon.senses(key, nominal, sense)[0] if n == 1 and p_synonym_gloss > 0 else None)
                    break
            if n == 1:
                gloss = negated_gloss(words[0], lexicon, banned) if definitions else None
                if gloss:
                    found = (1, gloss, None)
                    break
                if tags and lexicon.word_tags(words[0], banned):
                    found = (1, "", None)  # tags alone
                    break
        if found is None:
            k += 1
            continue
        n, gloss, used = found
        other = None
        if used is not None and rng is not None and p_synonym_gloss > 0 and rng.random() < p_synonym_gloss:
            other = synonym_gloss(lexicon, used, spans[k][2], banned, rng, synonyms)
            gloss = other or gloss
        if tags and n == 1 and not (rng is not None and rng.random() < p_untagged):
            word_tags = ", ".join(lexicon.word_tags(spans[k][2], banned))
            if word_tags and rng is not None and p_tags_alone > 0 and rng.random() < p_tags_alone:
                gloss = word_tags
            else:
                gloss = "; ".join(part for part in (gloss, word_tags) if part)
        if not gloss:  # tags alone, left out this time
            k += n
            continue
        start, end = spans[k][0], spans[k + n - 1][1]
        surface = text[start:end]
        if n == 1 and rng is not None and (other or (p_pseudo > 0 and rng.random() < p_pseudo)):
            surface = pseudo_word(rng)  # always for a synonym's gloss: the word itself would contradict it
            while lexicon.lemma(surface) is not None or (banned and mentions(surface, banned)):
                surface = pseudo_word(rng)  # by chance a real word ("bilious"): a held-out one must not leak
        pieces.append(text[last:start] + surface + f" ({gloss})")
        last = end
        glossed += 1
        k += n
    pieces.append(text[last:])
    return "".join(pieces)


def save_lexicon(path: str | os.PathLike, entries: dict, exceptions: dict, source: str, licence: str,
                 tags: dict | None = None) -> None:
    """Write the lexicon file (gzip JSON in a uint8 tensor, self-describing metadata)."""
    from safetensors.torch import save_file

    payload = gzip.compress(json.dumps({"entries": entries, "exceptions": exceptions, "tags": tags or {}}, separators=(",", ":"),
                                       sort_keys=True).encode(), mtime=0)
    data = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    metadata = {"format": FORMAT, "version": str(VERSION), "source": source, "licence": licence,
                "entries": str(len(entries)), "made_by": MADE_BY}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as temp:
        save_file({"data": data}, str(temp), metadata=metadata)


def load_lexicon(path: str | os.PathLike | None = None) -> Lexicon:
    """Read weights/lexicon.safetensors (or `path`); ArtifactError with the fix when missing or wrong."""
    source = Path(path or DEFAULT_LEXICON)
    if not source.is_file():
        raise ArtifactError(f"{source}: no such gloss lexicon file (make it with: {MADE_BY})")
    return _load_cached(str(source.resolve()), source.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _load_cached(source: str, _mtime: int) -> Lexicon:
    tensors, _ = read_safetensors(Path(source), FORMAT, VERSION, MADE_BY)
    try:
        obj = json.loads(gzip.decompress(tensors["data"].numpy().tobytes()))
        entries, exceptions = obj["entries"], obj["exceptions"]  # used as read (no copy: cold start)
        tags = obj.get("tags", {})
        if not isinstance(entries, dict) or not isinstance(exceptions, dict) or not isinstance(tags, dict):
            raise ValueError("entries, exceptions and tags must be objects")
        return Lexicon(entries, exceptions, tags)
    except (KeyError, OSError, ValueError, TypeError) as err:
        raise ArtifactError(f"{source}: its lexicon data is unreadable ({err}); remake it: {MADE_BY}") from None
