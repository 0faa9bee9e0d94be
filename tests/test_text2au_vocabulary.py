"""The held-out split and the training-only vocabulary: the split is pinned, and the extras never touch it."""

import hashlib

import torch

from emotalk_cli.text2au import vocabulary as V


def test_held_out_split_is_pinned():
    """The held-out split is the one fixed before any training (WORDS and IDIOMS hashed by crc32)."""
    digest = hashlib.sha256("\n".join(sorted(V.HELD_OUT)).encode()).hexdigest()
    assert (len(V.HELD_OUT), len(V.TEST_WORDS), len(V.TEST_IDIOMS)) == (175, 141, 34)
    assert digest == "d3d3f6ebfb88029355937788c024de196a757c59db3f1cba05d487ff3d75569a"


def test_training_only_extras_stay_out_of_the_split():
    V.check_extra()  # no extra word, noun or idiom mentions a held-out form or repeats an entry
    held = {w.adjective for w in V.TEST_WORDS}
    assert not held & {w.adjective for w in V.TRAIN_WORDS}
    assert not {p for p, _ in V.TEST_IDIOMS} & {p for p, _ in V.TRAIN_IDIOMS}
    assert set(V.EXTRA_WORDS) <= set(V.TRAIN_WORDS) and not set(V.EXTRA_WORDS) & set(V.WORDS)
    for word in V.EXTRA_WORDS:
        assert word.emotion in V.CATEGORIES and 0.0 <= word.intensity <= 1.0
        assert (word.intensity == 0.0) == (word.emotion == "neutral"), word


def test_dictionary_synonyms_inherit_the_label_and_skip_held_out_forms(tmp_path):
    from emotalk_cli.text2au import corpus as C
    from emotalk_cli.text2au import lexicon as L
    from emotalk_cli.text2au.vocabulary import Word

    held = V.TEST_WORDS[0].adjective  # a held-out word listed as a synonym must never become a training word
    entries = {
        "gloomy": [["depressingly dark", ["dim", "somber", "blue-grey", held], "a"]],
        "snarl": [["utter in an angry tone", ["growl"], "v"]],  # verb senses give no adjective synonyms
        "sunny": [["bright and cheerful", ["dim", "bright"], "a"]],  # "dim" comes from two emotions: dropped
    }
    path = tmp_path / "lexicon.safetensors"
    L.save_lexicon(path, entries, {}, source="test", licence="test")
    lex = L.load_lexicon(path)
    words = [Word("gloomy", None, "sadness", 0.6), Word("snarl", None, "anger", 0.8), Word("sunny", None, "happiness", 0.55)]
    found = {w.adjective: w for w in C.synonym_words(lex, words)}
    assert set(found) == {"blue-grey", "bright"}
    assert found["blue-grey"].emotion == "sadness" and found["blue-grey"].intensity == 0.6
    assert found["bright"].emotion == "happiness"
    phrases = C.synonym_corpus(list(found.values()), per_word=4)
    assert phrases and all(held not in e.text for e in phrases)
    assert any(e.text.startswith("not") or "not " in e.text for e in phrases)


def test_the_validation_split_leaves_training_and_never_touches_the_held_out_words():
    """evals/text2au_validation.py rebinds the split in its own process: checked in a fresh one."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import sys; sys.path.insert(0, 'evals')
from emotalk_cli.text2au import vocabulary as V
from emotalk_cli.text2au.forms import mentions
real = {w.adjective for w in V.TEST_WORDS}
import text2au_validation as tv
n_words, n_idioms = tv.use_validation_split()
val = {w.adjective for w in V.TEST_WORDS}
train = {w.adjective for w in V.TRAIN_WORDS}
assert n_words == len(val) > 50 and n_idioms > 5
assert not (val & real) and not (val & train) and not (real & train)
banned = frozenset(V.held_out_tokens())
assert real <= banned and val <= banned
assert not any(mentions(w, banned) for w in train)
print('ok')
"""
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_negated_nouns_are_labelled_as_negations():
    """'free from anger' is neutral, 'devoid of joy' a mild sadness (corpus.negated), never the feeling."""
    from emotalk_cli import facs
    from emotalk_cli.text2au import corpus as C

    examples = C.build_corpus(0, per_word=8)
    negated = [e for e in examples if any(e.text.startswith(n.split("{n}")[0]) for n in V.NOUN_NEGATIONS
                                          if not n.startswith("{n}"))]
    assert len(negated) > 100
    nouns = {w.noun: w.emotion for w in V.TRAIN_WORDS if w.noun and w.emotion not in ("neutral",)}
    checked = 0
    for e in negated:
        noun = next((n for n in nouns if e.text.endswith(" " + n)), None)
        if noun is None:
            continue
        checked += 1
        if nouns[noun] == "happiness":
            assert torch.allclose(e.au, C.label((("sadness", C.MIN_INTENSITY, 1.0),))), e.text
        else:
            assert float(e.au.max()) == 0.0, e.text
    assert checked > 50


def test_neutral_plain_sets_how_often_a_neutral_word_takes_an_intensity_adverb():
    """corpus._word_phrase / build_corpus(neutral_plain=p): a neutral word goes without an adverb with chance p and
    keeps its zero label with one ("very calm" is a calm face); an emotional word's phrases are untouched."""
    import random

    from emotalk_cli.text2au import corpus as C
    from emotalk_cli.text2au.vocabulary import Word

    calm, angry, sad = Word("calm", None, "neutral", 0.0), Word("angry", None, "anger", 0.7), Word("sad", None, "sadness", 0.6)
    always = [C._word_phrase(random.Random(k), calm, p_none_neutral=0.0) for k in range(50)]
    never = [C._word_phrase(random.Random(k), calm, p_none_neutral=1.0) for k in range(50)]
    assert all(text != "calm" and text.endswith(" calm") and i == 0.0 for text, i in always)
    assert all(text == "calm" and i == 0.0 for text, i in never)
    assert [C._word_phrase(random.Random(k), angry, p_none_neutral=0.0) for k in range(50)] == \
        [C._word_phrase(random.Random(k), angry, p_none_neutral=1.0) for k in range(50)]

    def adverbed_calm(p: float) -> int:  # phrases saying an intensity adverb right before "calm"
        corpus = C.build_corpus(0, words=[calm, angry, sad], idioms=list(V.TRAIN_IDIOMS[:2]), per_word=60,
                                neutral_lines=0, neutral_plain=p)
        return sum(any(f"{a} calm" in e.text for a in V.ADVERBS) for e in corpus)

    assert adverbed_calm(0.0) > adverbed_calm(1.0) + 30
