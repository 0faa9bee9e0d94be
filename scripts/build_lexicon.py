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
A lemma is kept when it has an affective sense, and so is every adjective (its first sense) and
every verb of verb.body ("quake", "retch": bodily signs of feelings), except where the word's base
form has an affective sense (then run time finds the base: "exalted" -> "exalt"). Senses are stored most
relevant first: affective senses by part of speech (adjective, verb, noun, adverb) and WordNet's
sense order.
Each sense stores its first definition (examples dropped) and its synonyms, then for a satellite
adjective its cluster head ("lugubrious": "excessively mournful"; sorrowful).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from emotalk_cli.text2au.lexicon import save_lexicon  # noqa: E402

POS = ("adj", "verb", "noun", "adv")  # priority order of parts of speech within one lemma
POS_LETTER = {"a": "adj", "s": "adj", "v": "verb", "n": "noun", "r": "adv"}
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


def build(folder: Path) -> tuple[dict, dict]:
    synsets = read_data(folder)
    index = read_index(folder)
    affective = affective_synsets(synsets, index)
    entries: dict[str, list] = {}
    for lemma, senses in index.items():
        chosen = [key for key in senses if key in affective][:SENSES_PER_LEMMA]
        if not chosen:  # no affective sense: every adjective still describes, and bodily verbs show feelings,
            # unless the word's base form has an affective sense ("exalted" is read as the verb "exalt")
            if any(any(k in affective for k in index.get(b, ())) for b in _base_forms(lemma)[1:]):
                continue
            chosen = [key for key in senses if key[0] == "adj" or synsets[key]["lexfile"] == BODY_VERBS][:1]
        if not chosen:
            continue
        out = []
        for key in chosen:
            s = synsets[key]
            synonyms = [w for w in s["words"] if w != lemma]
            if s["type"] == "s":
                heads = [synsets[("adj", o)]["words"][0] for sym, p, o in s["pointers"] if sym == "&" and p == "adj"]
                synonyms += [h for h in heads if h != lemma and h not in synonyms]
            out.append([s["definition"], synonyms[:6]])
        entries[lemma] = out
    exceptions = {}
    for pos in POS:
        with open(folder / f"{pos}.exc", encoding="latin-1") as handle:
            for line in handle:
                f = line.split()
                if len(f) >= 2 and clean(f[1]) in entries:
                    exceptions[clean(f[0])] = clean(f[1])
    return entries, exceptions


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
    args = parser.parse_args(argv)
    if not (args.wordnet / "data.adj").is_file():
        raise SystemExit(f"{args.wordnet}/data.adj not found: apt-get install wordnet-base (or pass --wordnet)")
    entries, exceptions = build(args.wordnet)
    notice = licence_text(args.copyright)  # holds "WordNet 3.0 Copyright 2006 by Princeton University. ..."
    source = "WordNet 3.0 (Princeton University), Debian package wordnet-base; affective senses, adjectives and bodily verbs, built by scripts/build_lexicon.py"
    save_lexicon(args.out, entries, exceptions, source, notice)
    licence_file = Path(args.out).with_suffix(".LICENSE")  # the notice beside the data, as the licence asks
    licence_file.write_text(f"{Path(args.out).name} holds data derived from WordNet 3.0 (glosses and synonyms of affective "
                            f"senses, adjectives and bodily verbs), built by scripts/build_lexicon.py.\n\n{notice}\n", encoding="utf-8")
    size = Path(args.out).stat().st_size
    print(f"wrote {args.out}: {len(entries)} lemmas, {len(exceptions)} exceptions, {size / 1e6:.2f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
