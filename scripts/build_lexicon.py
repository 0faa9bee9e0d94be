"""Build weights/lexicon.safetensors: a compact gloss lexicon of affective senses from WordNet 3.0.

    python scripts/build_lexicon.py --out weights/lexicon.safetensors [--wordnet /usr/share/wordnet]

Writes the lexicon and, beside it, weights/lexicon.LICENSE (WordNet's copyright notice and licence).

Needs the Debian package wordnet-base (`make weights-lexicon` installs it when missing); the product
itself only reads the built file. Source: WordNet 3.0, Princeton University, under the WordNet 3.0
licence (permissive, redistribution allowed with its copyright notice, which is copied into the
file's `licence` metadata). File layout (the data.*, index.* and *.exc files) as documented in
wndb(5WN); the parser is our own.

Which senses count as affective (no labels, WordNet's own structure only):
1. synsets in the lexicographer files noun.feeling (12) and verb.emotion (37);
2. any synset linked to one of those by a derivation (+), attribute (=) or pertainym (\\) pointer,
   or a satellite adjective whose cluster head (&) is affective;
3. any adjective, verb or adverb synset (or noun of noun.act, noun.attribute, noun.communication,
   noun.state) whose definition mentions a word whose most frequent sense is a feeling from 1-2
   ("excessively mournful": "mournful" is derived from noun.feeling "mourning").
Which sense glosses a word (chosen at build time, so run time stays a dictionary lookup):
- candidates: every sense of a lemma that is an adjective or a verb, or is affective by 1-3; an
  inflected form also gets its base verb's senses ("thrilled" -> thrill, "shuddering" -> shudder), so a
  participle is read as the adjective or as the verb, whichever is the feeling (its own adjective
  senses first on a near tie: the verb's sense is the doer's, the participle's the sufferer's);
- each candidate is scored by the frozen text2au encoder (MiniLM, encoder.py): the cosine similarity
  of "definition; synonyms" to the nearest phrases of each emotion category, made from the
  *training* vocabulary only ("feeling furious"; held-out words and their stems are never used),
  plus a bonus when 1-3 call the sense affective, minus a penalty growing with log(1 + its place in
  WordNet's sense order), so a word whose usual sense is literal still gets its emotional sense
  ("blue": "filled with melancholy and despondency", not the colour) while near ties keep WordNet's order;
- the best senses are stored first (SENSES_PER_LEMMA, and the best non-verb sense where the best are
  all verbs: run time reads "with fear" as the noun), each with its part of speech;
- a lemma whose best sense does not read as a feeling (MIN_AFFECT; verbs and nouns outside 1-3 need
  MIN_AFFECT_OTHER) gets no entry: words such as "box" in "a box of chocolates" or "shoulder" in "a
  shoulder to cry on" are then read as written instead of through a literal, misleading gloss.
Each sense stores its first definition (examples dropped), its synonyms (for a satellite adjective
also its cluster head: "lugubrious": "excessively mournful"; sorrowful) and its part of speech.
`--cache FILE` keeps the sense embeddings between builds (`make weights-lexicon` uses build/).

Affect tags (`affect_tags`, read when a head has `tags`): a word as written -> at most three words
that say how it feels, from two permissive PyPI lexicons (build time only; the tags are copied into
the lexicon file):
- valence from VADER's lexicon (vaderSentiment 3.3.2, MIT; Hutto & Gilbert, "VADER: A Parsimonious
  Rule-based Model for Sentiment Analysis of Social Media Text", ICWSM 2014): mean rating >= 1 ->
  "positive", <= -1 -> "negative" (ratings run from -4 to 4);
- emotion from Empath's categories (empath 0.89, MIT; Fast, Chen & Bernstein, "Empath: Understanding
  Topic Signals in Large-Scale Text", CHI 2016): a word in the categories below named for one of the
  six basic emotions gets that emotion's adjective ("angry" for rage, hate, aggression ...), the two
  emotions with the most such categories first (on a tie, the one whose category comes first in Empath's
  file). No NRC data (research-only licence).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from emotalk_cli.text2au.lexicon import save_lexicon  # noqa: E402

POS = ("adj", "verb", "noun", "adv")  # priority order of parts of speech within one lemma
POS_LETTER = {"a": "adj", "s": "adj", "v": "verb", "n": "noun", "r": "adv"}
POS_CODE = {"adj": "a", "verb": "v", "noun": "n", "adv": "r"}  # stored with each sense (lexicon.py reads it)
AFFECT_LEXFILES = {12, 37}  # noun.feeling, verb.emotion
LINKS = {"+", "=", "\\"}
BODY_VERBS = 29  # verb.body: tremble, weep, retch, frown, smile
NOUN_LEXFILES_BY_DEFINITION = {4, 7, 10, 26}  # noun.act, noun.attribute, noun.communication, noun.state
SENSES_PER_LEMMA = 2
_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*")


def clean(lemma: str) -> str:
    """WordNet lemma 'down_in_the_mouth' / 'hot(a)' -> 'down in the mouth' / 'hot'."""
    return re.sub(r"\([a-z]+\)$", "", lemma).replace("_", " ").lower()


def read_data(folder: Path) -> dict[tuple[str, int], dict]:
    """(pos, offset) -> {lexfile, type, words, pointers [(symbol, pos, offset)], definition}."""
    synsets = {}
    for pos in POS:
        with open(folder / f"data.{pos}", encoding="latin-1") as handle:
            for line in handle:
                if line.startswith("  "):
                    continue  # licence header
                head, _, gloss = line.partition(" | ")
                f = head.split()
                offset, lexfile, ss_type, count = int(f[0]), int(f[1]), f[2], int(f[3], 16)
                words = [clean(f[4 + 2 * k]) for k in range(count)]
                k = 4 + 2 * count
                n_ptr = int(f[k])
                pointers = [(f[k + 1 + 4 * j], POS_LETTER[f[k + 3 + 4 * j]], int(f[k + 2 + 4 * j])) for j in range(n_ptr)]
                definition = gloss.split('"')[0].split(";")[0]
                definition = " ".join(re.sub(r"\([^()]*\)|[()]", " ", definition).split()).strip(" ;:,")  # no '(of ...)'
                synsets[(pos, offset)] = {"lexfile": lexfile, "type": ss_type, "words": words, "pointers": pointers,
                                          "definition": definition}
    return synsets


def read_index(folder: Path) -> dict[str, list[tuple[str, int]]]:
    """lemma -> its senses [(pos, offset)] in WordNet's order (most frequent first), per POS in POS order."""
    senses: dict[str, list[tuple[str, int]]] = {}
    for pos in POS:
        with open(folder / f"index.{pos}", encoding="latin-1") as handle:
            for line in handle:
                if line.startswith("  "):
                    continue
                f = line.split()
                n_senses, n_ptr = int(f[2]), int(f[3])
                offsets = [int(x) for x in f[6 + n_ptr : 6 + n_ptr + n_senses]]
                senses.setdefault(clean(f[0]), []).extend((pos, o) for o in offsets)
    return senses


def _base_forms(token: str) -> list[str]:
    """A definition word and its WordNet detachment candidates ('angered' -> angered, angere, anger)."""
    out = [token]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("ly", "")):
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            out.append(token[: -len(suffix)] + repl)
    return out


def affective_synsets(synsets: dict, index: dict) -> set[tuple[str, int]]:
    core = {key for key, s in synsets.items() if s["lexfile"] in AFFECT_LEXFILES}
    linked = set(core)
    for key, s in synsets.items():
        for symbol, pos, offset in s["pointers"]:
            if (pos, offset) in core and (symbol in LINKS or (symbol == "&" and s["type"] == "s")):
                linked.add(key)
    # trigger words for definitions: lemmas whose most frequent sense is a feeling (noun.feeling,
    # verb.emotion) or an adjective linked to one ("sorrow", "anger", "mournful"; not "hold")
    triggers = set()
    for key in linked:
        if key in core or key[0] == "adj":
            for w in synsets[key]["words"]:
                first = next((k for k in index.get(w, ()) if k[0] == key[0]), None)
                if " " not in w and first == key:
                    triggers.add(w)
    result = set(linked)
    for key, s in synsets.items():
        if key in result or (key[0] == "noun" and s["lexfile"] not in NOUN_LEXFILES_BY_DEFINITION):
            continue
        tokens = _TOKEN.findall(s["definition"].lower())
        if any(b in triggers for t in tokens for b in _base_forms(t)):
            result.add(key)
    return result


def sense_text(s: dict) -> str:
    """What the encoder reads of a sense: its definition and first synonyms ("excessively mournful; sorrowful")."""
    return f"{s['definition']}; {', '.join(s['words'][:4])}"


def anchor_texts() -> dict[str, list[str]]:
    """Per emotion category, the training vocabulary's words as short phrases ("feeling furious").

    Only training words (vocabulary.TRAIN_WORDS) are used, and any that mentions a held-out form
    (or its stem) is dropped, so the sense choice never sees a held-out word. "neutral" is the
    calm, emotionless end of the vocabulary (a hand-written list, checked the same way).
    """
    from emotalk_cli.text2au import vocabulary as V
    from emotalk_cli.text2au.forms import mentions

    banned = frozenset(V.held_out_tokens())
    out: dict[str, list[str]] = {}
    for w in V.TRAIN_WORDS:
        if w.emotion == "neutral":
            continue
        for form in (w.adjective, w.noun):
            if form and not mentions(form, banned):
                out.setdefault(w.emotion, []).append(f"feeling {form}" if form == w.adjective else f"full of {form}")
    out["neutral"] = [t for t in NEUTRAL_ANCHORS if not mentions(t, banned)]
    return out


# The emotionless end of the scale, for the sense choice: a calm or impassive face is also a feeling state.
NEUTRAL_ANCHORS = ("feeling calm", "showing no emotion", "unemotional", "impassive face", "emotionless",
                   "relaxed and at ease", "indifferent", "unmoved", "poker-faced", "unperturbed", "serene and calm")


def embed(texts: list[str], cache: Path | None = None, batch: int = 256):
    """Unit-length MiniLM sentence embeddings [N, 384] of `texts` (the frozen text2au encoder, mean
    pooled as sentence-transformers does); `cache` (optional .pt file) keeps them between builds."""
    import torch

    from emotalk_cli.text2au import encoder as enc

    store: dict[str, "torch.Tensor"] = {}
    if cache is not None and cache.is_file():
        store = torch.load(cache)
    todo = sorted({t for t in texts if t not in store}, key=len)
    if todo:
        model = enc.load_encoder("cpu")
        with torch.inference_mode():
            for k in range(0, len(todo), batch):
                chunk = todo[k : k + batch]
                ids, mask, _ = enc.tokenize(chunk, 64)
                vectors = torch.nn.functional.normalize(enc.mean_pool(model(ids, mask), mask), dim=-1).half()
                store.update(zip(chunk, vectors))
                if k // batch % 20 == 0:
                    print(f"  embedded {k + len(chunk)}/{len(todo)} senses", file=sys.stderr, flush=True)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            torch.save(store, cache)
    return torch.stack([store[t] for t in texts]).float()


def affect_scores(texts: list[str], cache: Path | None = None) -> dict[str, float]:
    """text -> how much it reads as a feeling: max over categories of the mean cosine similarity to
    the category's TOP_K nearest anchor phrases (anchor_texts)."""
    import torch

    anchors = anchor_texts()
    unique = sorted(set(texts))
    phrases = [p for group in anchors.values() for p in group]
    vectors = embed(unique + phrases, cache)
    senses, anchor_vectors = vectors[: len(unique)], vectors[len(unique) :]
    best = torch.full((len(unique),), -1.0)
    start = 0
    for group in anchors.values():
        sims = senses @ anchor_vectors[start : start + len(group)].T
        start += len(group)
        best = torch.maximum(best, sims.topk(min(TOP_K, sims.shape[1]), dim=1).values.mean(1))
    return dict(zip(unique, best.tolist()))


TOP_K = 5  # nearest anchor phrases averaged per category
STRUCTURE_BONUS = 0.05  # a sense WordNet's own structure calls affective (affective_synsets) gets this much
RANK_PENALTY = 0.05  # times log(1 + place in WordNet's sense order, most frequent first): a near tie goes to the usual sense
BORROWED_PENALTY = 0.05  # a participle's own adjective senses come before its base verb's ("crushed": brought low, not "press")
MIN_AFFECT = 0.30  # a sense that reads less like a feeling than this is not worth a gloss (see build)
MIN_AFFECT_OTHER = 0.40  # ... and a verb or noun outside the affective structure needs this much to be kept


def sense_score(affect: float, structural: bool, rank: int) -> float:
    """How fit a sense is to gloss an emotion word: its affect (affect_scores), a bonus when WordNet's
    structure calls it affective, and a penalty growing with its place in WordNet's sense order."""
    return affect + STRUCTURE_BONUS * structural - RANK_PENALTY * math.log1p(rank)


def worth_a_gloss(affect: float, structural: bool, pos: str) -> bool:
    """Whether a lemma's chosen sense is kept: adjectives and affective senses need MIN_AFFECT, other
    verbs and nouns MIN_AFFECT_OTHER ("box": "put into a box" is not)."""
    return affect >= (MIN_AFFECT if structural or pos == "adj" else MIN_AFFECT_OTHER)


def build(folder: Path, cache: Path | None = None) -> tuple[dict, dict]:
    synsets = read_data(folder)
    index = read_index(folder)
    affective = affective_synsets(synsets, index)
    # candidates: every sense of a lemma that has an affective sense, is an adjective, or is a verb
    # (verbs and their participles: "shuddering", "thrilled"); nouns and adverbs only by the structure
    candidates: dict[str, list[tuple[str, int]]] = {}
    for lemma, senses in index.items():
        keys = [k for k in senses if k[0] in ("adj", "verb") or k in affective]
        if keys:
            candidates[lemma] = keys
    # a participle or inflected form also reads as its base verb: "thrilled" -> thrill, "shuddering" -> shudder
    for lemma in list(candidates):
        for base in _base_forms(lemma)[1:]:
            extra = [k for k in index.get(base, ()) if k[0] == "verb" and k not in candidates[lemma]]
            candidates[lemma] += extra
    texts = {key: sense_text(synsets[key]) for keys in candidates.values() for key in keys}
    print(f"scoring {len(texts)} senses of {len(candidates)} lemmas by affect (MiniLM)", file=sys.stderr, flush=True)
    affect = affect_scores(list(texts.values()), cache)
    entries: dict[str, list] = {}
    for lemma, keys in candidates.items():
        own = [k for k in index.get(lemma, ()) if k in keys]
        rank = {k: r for r, k in enumerate(own + [k for k in keys if k not in own])}
        borrowed = {k for k in keys if k not in own} if own else set()  # the base verb's, where the word has its own

        def score(key):
            return sense_score(affect[texts[key]], key in affective, rank[key]) - BORROWED_PENALTY * (key in borrowed)

        ordered = sorted(keys, key=score, reverse=True)
        best = ordered[0]
        structural = best in affective or synsets[best]["lexfile"] == BODY_VERBS
        if not worth_a_gloss(affect[texts[best]], structural, best[0]):
            continue  # no sense of it reads as a feeling: the word is read as written
        kept = ordered[:SENSES_PER_LEMMA]
        nominal = next((k for k in ordered if k[0] != "verb"), None)  # what the word means after "her", "with"
        if nominal is not None and nominal not in kept and all(k[0] == "verb" for k in kept):
            kept.append(nominal)
        out = []
        for key in kept:
            s = synsets[key]
            synonyms = [w for w in s["words"] if w != lemma]
            if s["type"] == "s":
                heads = [synsets[("adj", o)]["words"][0] for sym, p, o in s["pointers"] if sym == "&" and p == "adj"]
                synonyms += [h for h in heads if h != lemma and h not in synonyms]
            out.append([s["definition"], synonyms[:6], POS_CODE[key[0]]])
        entries[lemma] = out
    exceptions = {}
    for pos in POS:
        with open(folder / f"{pos}.exc", encoding="latin-1") as handle:
            for line in handle:
                f = line.split()
                if len(f) >= 2 and clean(f[1]) in entries:
                    exceptions[clean(f[0])] = clean(f[1])
    return entries, exceptions


# Empath categories that name one of the six basic emotions (by their names; the others are topics).
EMPATH_EMOTIONS = {
    "happy": ("joy", "cheerfulness", "optimism", "contentment", "zest", "positive_emotion", "celebration", "fun",
              "affection", "love"),
    "sad": ("sadness", "suffering", "disappointment", "torment", "shame", "neglect"),
    "angry": ("anger", "rage", "hate", "aggression", "irritability", "exasperation"),
    "afraid": ("fear", "nervousness", "horror", "timidity"),
    "surprised": ("surprise",),
    "disgusted": ("disgust", "ugliness"),
}
TAGS_NOTICE = """Its affect tags are derived from the data of two packages under the MIT License:
vaderSentiment 3.3.2 (vader_lexicon.txt), Copyright (c) 2016 C.J. Hutto, and
empath 0.89 (categories.tsv), Copyright (c) 2016 Ethan Fast.

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction,
including without limitation the rights to use, copy, modify, merge, publish, distribute,
sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT
NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES
OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""
VALENCE_TAG = 1.0  # |VADER mean rating| from which a word is tagged "positive" / "negative"
_PLAIN = re.compile(r"^[a-z]+(?:-[a-z]+)*$")


def _package_file(package: str, path: str) -> Path:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        found = Path(distribution(package).locate_file(path))
    except PackageNotFoundError:
        found = None
    if found is None or not found.is_file():
        raise SystemExit(f"{package}: its data file {path} is missing: pip install --no-deps {package} (make weights-lexicon does)")
    return found


def affect_tags(vader_lexicon: str | None = None, empath_categories: str | None = None) -> dict[str, list[str]]:
    """word -> ["positive"|"negative"] + up to two of happy/sad/angry/afraid/surprised/disgusted (see
    above). The two files' texts default to the installed packages' data files."""
    if vader_lexicon is None:
        vader_lexicon = _package_file("vaderSentiment", "vaderSentiment/vader_lexicon.txt").read_text(encoding="utf-8", errors="replace")
    if empath_categories is None:
        empath_categories = _package_file("empath", "empath/data/categories.tsv").read_text(encoding="utf-8")
    valence = {}
    for line in vader_lexicon.splitlines():  # word, mean rating, standard deviation, the ten ratings
        fields = line.split("\t")
        if len(fields) > 1 and _PLAIN.match(fields[0]):
            valence[fields[0]] = float(fields[1])
    category_of = {c: adjective for adjective, categories in EMPATH_EMOTIONS.items() for c in categories}
    emotions: dict[str, dict[str, int]] = {}
    for line in empath_categories.splitlines():  # category, then its words
        name, *words = line.split("\t")
        if name in category_of:
            for word in words:
                if _PLAIN.match(word):
                    counts = emotions.setdefault(word, {})
                    counts[category_of[name]] = counts.get(category_of[name], 0) + 1
    tags = {}
    for word in sorted(set(valence) | set(emotions)):
        found = []
        if valence.get(word, 0.0) >= VALENCE_TAG:
            found.append("positive")
        elif valence.get(word, 0.0) <= -VALENCE_TAG:
            found.append("negative")
        # most categories first; a tie goes to the emotion whose category comes first in Empath's file (the
        # dict keeps that order, the sort is stable). Measured on evals/text2au_validation.py's split: two heads
        # 84.2 % against 82.3 %, three 83.8 % against 83.5 %, when ties went to the first in EMPATH_EMOTIONS'
        # order, which put "sad" before angry, afraid and disgusted ("disgust": negative, angry, sad); the first
        # tag is right for 84 of the vocabulary's 107 tagged nouns, against 80.
        ranked = sorted(emotions.get(word, {}).items(), key=lambda kv: -kv[1])
        found += [adjective for adjective, _ in ranked[:2]]
        if found:
            tags[word] = found
    return tags


def licence_text(copyright_file: Path) -> str:
    """The WordNet 3.0 licence paragraph of Debian's copyright file (it must travel with the data)."""
    text = copyright_file.read_text(encoding="utf-8")
    match = re.search(r"^License: WordNet3\.0\n(.*?)(?=\n\S|\Z)", text, flags=re.S | re.M)
    if not match:
        raise SystemExit(f"{copyright_file}: no 'License: WordNet3.0' paragraph found")
    lines = [line[1:] if line.startswith(" ") else line for line in match.group(1).splitlines()]
    return "\n".join("" if line == "." else line for line in lines).strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the gloss lexicon from WordNet 3.0 (Debian wordnet-base).")
    parser.add_argument("--out", default="weights/lexicon.safetensors")
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--copyright", type=Path, default=Path("/usr/share/doc/wordnet-base/copyright"))
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the sense embeddings in this .pt file between builds (e.g. build/lexicon_senses.pt)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads for the encoder (0 = torch's default)")
    args = parser.parse_args(argv)
    if not (args.wordnet / "data.adj").is_file():
        raise SystemExit(f"{args.wordnet}/data.adj not found: apt-get install wordnet-base (or pass --wordnet)")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    entries, exceptions = build(args.wordnet, args.cache)
    notice = licence_text(args.copyright)  # holds "WordNet 3.0 Copyright 2006 by Princeton University. ..."
    source = ("WordNet 3.0 (Princeton University), Debian package wordnet-base; one sense per word that reads as a feeling "
              "(chosen with the frozen MiniLM), built by scripts/build_lexicon.py")
    tags = affect_tags()
    source += ("; affect tags of words from VADER's lexicon (vaderSentiment 3.3.2, MIT) and Empath's emotion categories "
               "(empath 0.89, MIT)")
    save_lexicon(args.out, entries, exceptions, source, f"{notice}\n\n{TAGS_NOTICE}", tags)
    licence_file = Path(args.out).with_suffix(".LICENSE")  # the notice beside the data, as the licence asks
    licence_file.write_text(f"{Path(args.out).name} holds data derived from WordNet 3.0 (glosses and synonyms of one sense "
                            f"per word that reads as a feeling), built by scripts/build_lexicon.py.\n\n{notice}\n\n"
                            f"{TAGS_NOTICE}\n", encoding="utf-8")
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {len(entries)} lemmas, {len(exceptions)} exceptions, {len(tags)} tagged words, {size / 1e6:.2f} MB",
          file=sys.stderr)


if __name__ == "__main__":
    main()
