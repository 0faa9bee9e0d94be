"""Behaviour of the shipped text2au weights: negation, time, intensity, mixtures, idioms, neutral.
Skipped when weights/text2au.safetensors or the encoder package is absent."""

import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.errors import EmotalkError

pytest.importorskip("tokenizers")
from emotalk_cli.text2au import DEFAULT_WEIGHTS, InferOptions, load_model, text_to_keyframes  # noqa: E402
from emotalk_cli.text2au.evaluate import category  # noqa: E402

if not DEFAULT_WEIGHTS.is_file():
    pytest.skip("weights/text2au.safetensors not built (make weights-text2au)", allow_module_level=True)


@pytest.fixture(scope="module")
def model():
    try:
        return load_model()
    except EmotalkError as err:
        pytest.skip(str(err))


def frames(model, text, **kw):
    return text_to_keyframes(model, [text], InferOptions(**kw))[0]


def au(k, name, row=0):
    return float(k.au[row, facs.AU_INDEX[name]])


def test_single_emotions(model):
    for text, want in [("happy", "happiness"), ("sad", "sadness"), ("furious", "anger"), ("terrified", "fear"),
                       ("astonished", "surprise"), ("disgusted", "disgust"), ("calm", "neutral"),
                       ("over the moon", "happiness"), ("down in the dumps", "sadness")]:
        k = frames(model, text)
        assert len(k.times) == 1 and k.times.tolist() == [0.0]
        assert category(k.au[0]) == want, (text, category(k.au[0]))


def test_negation_is_not_the_emotion(model):
    for text in ("not happy at all", "not happy", "far from happy"):
        k = frames(model, text)
        assert au(k, "AU12") < 0.2 and category(k.au[0]) in ("neutral", "sadness"), text
    for text in ("not angry", "not afraid at all", "not disgusted"):
        k = frames(model, text)
        assert category(k.au[0]) == "neutral", (text, k.au[0])


def test_a_negated_noun_is_not_the_emotion(model):
    """'without fear', 'free from anger': the feeling's noun negated reads as its absence."""
    for text in ("without fear", "free from anger", "no disgust at all", "free of worry", "without any sadness"):
        k = frames(model, text)
        assert category(k.au[0]) == "neutral", (text, category(k.au[0]), k.au[0])
    for text in ("devoid of joy", "without any joy"):
        k = frames(model, text)
        assert au(k, "AU12") < 0.2 and category(k.au[0]) in ("neutral", "sadness"), text
    for text, want in (("with fear", "fear"), ("full of anger", "anger"), ("filled with joy", "happiness")):
        assert category(frames(model, text).au[0]) == want, text  # the same nouns, not negated


def test_time_varying_prompts(model):
    k = frames(model, "calm at first, then furious")
    assert k.times.tolist() == [0.0, 1.0]
    assert [category(r) for r in k.au] == ["neutral", "anger"]
    k = frames(model, "starts sad and slowly brightens", duration=6.0)
    assert k.times.tolist() == [0.0, 3.0]
    assert [category(r) for r in k.au] == ["sadness", "happiness"]
    k = frames(model, "happy, then sad, then angry")
    assert [category(r) for r in k.au] == ["happiness", "sadness", "anger"]


def test_intensity_words_order_total_intensity(model):
    texts = ["slightly annoyed", "annoyed", "angry", "furious"]
    totals = [float(frames(model, t).au.sum()) for t in texts]
    assert totals == sorted(totals), dict(zip(texts, totals))
    assert float(frames(model, "gently amused").au.sum()) < float(frames(model, "utterly delighted").au.sum())
    assert float(frames(model, "a little scared").au.sum()) < float(frames(model, "terrified").au.sum())


def test_mixtures_blend(model):
    k = frames(model, "happy but nervous")
    assert len(k.times) == 1 and au(k, "AU12") > 0.15 and au(k, "AU20") > 0.1
    k = frames(model, "bittersweet")
    assert au(k, "AU12") > 0.1 and au(k, "AU15") > 0.1


def test_non_emotional_text_is_neutral_with_a_warning(model):
    for text in ("the table is next to the window", "", "please read the report"):
        k = frames(model, text)
        assert float(k.au.max()) == 0.0 and k.warnings, text
    assert not frames(model, "furious").warnings


def test_values_in_range_for_odd_input(model):
    for text in ("!!!", "happy " * 300, "😀", "AU12"):
        k = frames(model, text)
        assert torch.isfinite(k.au).all() and ((k.au >= 0) & (k.au <= 1)).all()


def test_bfloat16_reading_agrees_with_float32(model):
    """The bfloat16 fast path (on where the CPU computes it natively) reads as float32 does: the same
    category and AU within 0.02, on words, negations, mixtures and idioms."""
    texts = ["happy", "slightly annoyed", "utterly terrified", "not angry at all", "happy but nervous", "bittersweet",
             "down in the dumps", "lugubrious", "seething with rage", "the table is next to the window"]
    fast = model.bf16
    try:
        model.bf16 = False
        exact = torch.stack([k.au[0] for k in text_to_keyframes(model, texts)])
        model.bf16 = True
        quick = torch.stack([k.au[0] for k in text_to_keyframes(model, texts)])
    finally:
        model.bf16 = fast
    assert float((quick - exact).abs().max()) < 0.02
    assert [category(a) for a in quick] == [category(a) for a in exact]


def test_validation_subsets_score_as_each_ensemble_built_alone(model):
    """evals/text2au_validation.py --subsets (encoder outputs kept between ensembles) scores every subset of
    the shipped heads as that ensemble does when built on its own with a fresh encoder."""
    import sys
    from itertools import combinations
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evals"))
    import text2au_validation as tv

    from emotalk_cli.text2au import encoder as enc
    from emotalk_cli.text2au.evaluate import category_accuracy

    items = [("seething", "anger"), ("a little forlorn", "sadness"), ("she looks aghast", "fear"), ("very calm", "neutral"),
             ("feeling elated", "happiness"), ("full of revulsion", "disgust"), ("he seems flabbergasted", "surprise"),
             ("pensive", "neutral"), ("down in the dumps", "sadness"), ("jittery", "fear")]
    heads = tv.load_heads([str(DEFAULT_WEIGHTS)])[:3]
    read = {"second_sense_weight": 0.25, "tags_reading_weight": 0.5}
    fast = tv.subset_accuracies(heads, read, model.lexicon, lambda m: category_accuracy(m, items)[0])
    assert sorted(fast) == [1, 2, 3] and [len(fast[k]) for k in (1, 2, 3)] == [3, 3, 1]
    for k in (1, 2, 3):
        slow = [category_accuracy(tv.averaged_model([heads[i] for i in chosen], read, enc.load_encoder("cpu"), model.lexicon),
                                  items)[0]
                for chosen in combinations(range(3), k)]
        assert fast[k] == slow, (k, fast[k], slow)
    # the heads differ: not every subset can score alike by construction
    outputs = [tv.averaged_model([h], read, enc.load_encoder("cpu"), model.lexicon).forward_texts(["pensive"])[0] for h in heads]
    assert not torch.equal(outputs[0], outputs[1])
