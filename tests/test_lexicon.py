"""The gloss lexicon: file format, lookup and augmentation, and that no held-out word reaches training
through a gloss. A small lexicon is written to tmp_path; the shipped one is checked when present."""

from __future__ import annotations

import random

import pytest
import torch
from safetensors.torch import save_file

from emotalk_cli.errors import ArtifactError
from emotalk_cli.text2au import lexicon as L
from emotalk_cli.text2au import vocabulary as V

ENTRIES = {
    "lugubrious": [["excessively mournful", ["sorrowful"]]],
    "annoyed": [["aroused to impatience or anger", ["irritated", "miffed", "nettled", "peeved"]]],
    "happy": [["enjoying or showing or marked by joy or pleasure", []]],
    "sadden": [["make unhappy", []]],
    "down in the mouth": [["filled with melancholy and despondency", ["gloomy", "blue"]]],
    "feeling": [["the experiencing of affective and emotional states", []]],
}
EXCEPTIONS = {"saddest": "sad"}


@pytest.fixture()
def small(tmp_path):
    path = tmp_path / "lexicon.safetensors"
    L.save_lexicon(path, ENTRIES, EXCEPTIONS, source="test", licence="WordNet 3.0 Copyright 2006 by Princeton University.")
    return path


def test_file_describes_itself_and_round_trips(small):
    from safetensors import safe_open

    with safe_open(str(small), "pt") as handle:
        meta = handle.metadata()
        data = handle.get_tensor("data")
    assert meta["format"] == L.FORMAT and meta["version"] == str(L.VERSION)
    assert "Princeton" in meta["licence"] and meta["source"] == "test" and meta["entries"] == str(len(ENTRIES))
    assert data.dtype == torch.uint8 and data.dim() == 1
    lex = L.load_lexicon(small)
    assert lex.entries["lugubrious"] == [["excessively mournful", ["sorrowful"]]]
    assert lex.exceptions == EXCEPTIONS


def test_bad_lexicon_files_fail_with_the_fix(tmp_path):
    with pytest.raises(ArtifactError, match="no such gloss lexicon file.*make weights-lexicon"):
        L.load_lexicon(tmp_path / "missing.safetensors")
    wrong = tmp_path / "wrong.safetensors"
    save_file({"data": torch.zeros(3, dtype=torch.uint8)}, str(wrong), metadata={"format": L.FORMAT, "version": str(L.VERSION)})
    with pytest.raises(ArtifactError, match="lexicon data is unreadable"):
        L.load_lexicon(wrong)


def test_lookup_and_morphology(small):
    lex = L.load_lexicon(small)
    assert lex.lemma("lugubrious") == "lugubrious"
    assert lex.lemma("saddened") == "sadden"  # detachment rule -ed
    assert lex.lemma("table") is None


def test_augment_glosses_content_words_only(small):
    lex = L.load_lexicon(small)
    assert L.augment("she looks very lugubrious", lex) == "she looks very lugubrious (excessively mournful; sorrowful)"
    assert L.augment("feeling annoyed", lex) == "feeling annoyed (aroused to impatience or anger; irritated, miffed, nettled)"
    assert L.augment("down in the mouth", lex) == "down in the mouth (filled with melancholy and despondency; gloomy, blue)"
    assert L.augment("the table is next to the window", lex) == "the table is next to the window"
    assert L.augment("", lex) == ""


def test_banned_forms_never_reach_a_gloss(small):
    lex = L.load_lexicon(small)
    banned = frozenset({"miffed", "pleased", "gloomy"})
    assert L.augment("feeling annoyed", lex, banned=banned) == "feeling annoyed (aroused to impatience or anger; irritated, nettled, peeved)"
    # 'pleasure' starts with the stem of 'pleased': deleted from the definition
    assert L.augment("happy", lex, banned=banned) == "happy (enjoying or showing or marked by joy or)"
    assert L.augment("down in the mouth", lex, banned=banned) == "down in the mouth (filled with melancholy and despondency; blue)"
    assert L.mentions("so astounding", frozenset({"astounded"})) and not L.mentions("so amazing", frozenset({"astounded"}))


def test_pseudo_words_replace_the_word_and_keep_the_gloss(small):
    lex = L.load_lexicon(small)
    out = L.augment("she looks lugubrious", lex, rng=random.Random(0), p_pseudo=1.0)
    assert out.startswith("she looks ") and "lugubrious" not in out and out.endswith("(excessively mournful; sorrowful)")


@pytest.mark.skipif(not L.DEFAULT_LEXICON.is_file(), reason="weights/lexicon.safetensors not built (make weights-lexicon)")
def test_shipped_lexicon_is_lean_and_knows_feelings():
    assert L.DEFAULT_LEXICON.stat().st_size < 3_000_000
    lex = L.load_lexicon()
    assert 2000 < len(lex.entries) < 50000
    assert "mournful" in lex.gloss("lugubrious") and "anger" in lex.gloss("furious")
    assert lex.lemma("table") is None and lex.lemma("window") is None


@pytest.mark.skipif(not L.DEFAULT_LEXICON.is_file(), reason="weights/lexicon.safetensors not built (make weights-lexicon)")
def test_no_held_out_word_reaches_training_through_a_gloss():
    """Every training word's gloss, as training builds it, is free of held-out forms (and their stems)."""
    lex = L.load_lexicon()
    forms = frozenset(V.held_out_tokens())
    skip = L.skip_words()
    texts = [w.adjective for w in V.TRAIN_WORDS] + [w.noun for w in V.TRAIN_WORDS if w.noun]
    texts += [p for p, _ in V.TRAIN_IDIOMS] + [p for p, _ in V.MIXED] + [v for v, _, _ in V.CHANGE_VERBS]
    glossed = [L.augment(t, lex, skip, banned=forms) for t in texts]
    assert sum("(" in g for g in glossed) > len(texts) // 3
    for g in glossed:
        for gloss in L.GLOSS.findall(g):
            assert not L.mentions(gloss, forms), g
    # the held-out words do have glosses at run time (the point of the lexicon)
    held = [w.adjective for w in V.TEST_WORDS]
    assert sum("(" in L.augment(h, lex) for h in held) > len(held) // 2


@pytest.mark.skipif(not L.DEFAULT_LEXICON.is_file(), reason="weights/lexicon.safetensors not built (make weights-lexicon)")
def test_glossed_training_corpus_has_no_held_out_form():
    """The corpus as training reads it (small per_word): glossed, and free of held-out forms."""
    from emotalk_cli.text2au import corpus as C
    from emotalk_cli.text2au.train import gloss_corpus

    texts = [e.text for e in C.training_corpus(0, per_word=2)]
    glossed = gloss_corpus(texts, L.load_lexicon(), seed=0, p_pseudo=0.25)  # asserts no leak itself
    assert len(glossed) == len(texts) and sum("(" in g for g in glossed) > len(texts) // 2
    forms = frozenset(V.held_out_tokens())
    for g in glossed:
        assert not any(C._contains(g, f) for f in forms), g
        assert not any(L.mentions(gloss, forms) for gloss in L.GLOSS.findall(g)), g
