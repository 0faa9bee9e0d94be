"""motion/recorded.py: recorded prompts + transcripts -> aligned, augmented training utterances."""

import numpy as np
import pytest
import soundfile

from emotalk_cli.motion import recorded
from emotalk_cli.motion.corpus import CorpusConfig, load_shard


@pytest.mark.parametrize("text, said", [
    ("Please enter your password followed by the pound key.", "please enter your password followed by the pound key"),
    ("press 0 for help", "press zero for help"),
    ("Use the 7 key for Q and the 9 key for Z.", "use the seven key for q and the nine key for z"),
    ("Call-Forward on No Answer.", "call forward on no answer"),
    ("If you'd like to test", "if you'd like to test"),
    ("At the sound of the tone, the time will be exactly...", "at the sound of the tone the time will be exactly"),
])
def test_spoken_text_is_what_is_said(text, said):
    assert recorded.spoken_text(text) == said


@pytest.mark.parametrize("text", ["[ascending tones]", "dial 500 to attempt", "a 28.8 kilobit modem", "extension 1234", "..."])
def test_spoken_text_refuses_what_it_cannot_be_sure_of(text):
    assert recorded.spoken_text(text) is None


def test_parse_transcripts_keeps_prompts_with_a_recording(tmp_path):
    (tmp_path / "dictate").mkdir()
    for key in ("added", "dictate/pause", "auth-thankyou"):
        (tmp_path / f"{key}.wav").write_bytes(b"")
    text = "; Core Asterisk Sounds in English\n\nadded: Added.\ndictate/pause: Paused.\nmissing: Not recorded.\nauth-thankyou: Thank you.\n"
    prompts = recorded.parse_transcripts(text, tmp_path)
    assert [(p.key, p.text) for p in prompts] == [("added", "Added."), ("auth-thankyou", "Thank you."), ("dictate/pause", "Paused.")]
    assert prompts[2].path == tmp_path / "dictate" / "pause.wav"


def test_loud_frames_aligned_counts_loud_frames_under_spoken_phones():
    rate = 16_000
    t = np.arange(rate) / rate
    wave = np.where((t >= 0.4) & (t < 0.8), 0.5 * np.sin(2 * np.pi * 220 * t), 0.0).astype(np.float32)  # loud 0.4-0.8 s
    right = [("sil", 0.0, 0.4), ("aa", 0.4, 0.8), ("sil", 0.8, 1.0)]
    wrong = [("aa", 0.0, 0.4), ("sil", 0.4, 1.0)]
    assert recorded.loud_frames_aligned(wave, right, 25.0) > 0.9
    assert recorded.loud_frames_aligned(wave, wrong, 25.0) < 0.2


def test_a_recorded_prompt_becomes_aligned_training_utterances(tmp_path):
    """A prompt recorded at 8 kHz (here flite's voice, standing in for a person) -> `copies` train
    utterances at 16 kHz whose phones are the aligned ARPAbet ones, each augmented differently."""
    pytest.importorskip("pocketsphinx")
    from emotalk_cli.motion.tts import available_engines, speak

    if not available_engines()["flite"]:
        pytest.skip("flite not installed")
    import torch
    import torchaudio.functional as AF

    speech = speak("please press one", "flite:slt")
    wave8k = AF.resample(torch.from_numpy(speech.samples), speech.sample_rate, 8000).numpy()
    path = tmp_path / "press-one.wav"
    soundfile.write(path, wave8k, 8000)
    prompt = recorded.Prompt("press-one", path, "Please press 1.")
    config = CorpusConfig()
    items, why = recorded.prompt_utterances((3, prompt, 0, 2, config))
    assert why is None and len(items) == 2
    for item in items:
        record, arrays = item["record"], item["arrays"]
        assert item["split"] == "train" and record["alphabet"] == "arpabet" and record["text"] == "please press one"
        assert record["voice"] == recorded.VOICE and record["source"] == "press-one"
        assert [p for p, _, _ in record["phones"] if p != "sil"][:3] == ["p", "l", "iy"]
        assert record["phones"][-1][2] == pytest.approx(record["seconds"], abs=1e-3)
        assert arrays["arkit"].shape == (record["frames"], 52) and len(arrays["audio"]) == pytest.approx(record["seconds"] * 16_000, abs=2)
    assert items[0]["record"]["augment"] != items[1]["record"]["augment"]
    again, _ = recorded.prompt_utterances((3, prompt, 0, 2, config))
    np.testing.assert_array_equal(again[1]["arrays"]["audio"], items[1]["arrays"]["audio"])  # the same seed, the same corpus

    skipped = recorded.prompt_utterances((4, recorded.Prompt("beep", path, "[beep]"), 0, 2, config))
    assert skipped == ([], "not speakable")
    oov = recorded.prompt_utterances((5, recorded.Prompt("x", path, "Please unmute."), 0, 2, config))
    assert oov[0] == [] and "unmute" in oov[1]


def test_build_writes_train_shards_with_what_was_skipped(tmp_path, monkeypatch):
    pytest.importorskip("pocketsphinx")
    from emotalk_cli.motion.tts import available_engines, speak

    if not available_engines()["flite"]:
        pytest.skip("flite not installed")
    speech = speak("thank you", "flite:slt")
    soundfile.write(tmp_path / "thanks.wav", speech.samples, speech.sample_rate)
    prompts = [recorded.Prompt("thanks", tmp_path / "thanks.wav", "Thank you."),
               recorded.Prompt("tones", tmp_path / "thanks.wav", "[tones]")]
    monkeypatch.setattr(recorded, "find_prompts", lambda: prompts)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "index.json").write_text("{}")  # a previous corpus, whose shards must go
    (tmp_path / "out" / "train-00007.safetensors").write_bytes(b"stale")
    index = recorded.build_recorded_corpus(tmp_path / "out", copies=2, workers=1, quiet=True)
    assert not (tmp_path / "out" / "train-00007.safetensors").exists()
    assert index["utterances"] == {"train": 2, "eval": 0} and index["skipped"] == {"tones": "not speakable"}
    utterances, meta = load_shard(tmp_path / "out" / "train-00000.safetensors")
    assert len(utterances) == 2 and meta["split"] == "train" and meta["voices"] == [recorded.VOICE]
    assert not list((tmp_path / "out").glob("eval-*"))


def test_a_build_that_aligns_nothing_leaves_the_previous_corpus(tmp_path, monkeypatch):
    from emotalk_cli.errors import EmotalkError

    out = tmp_path / "out"
    out.mkdir()
    (out / "index.json").write_text("{}")
    (out / "train-00000.safetensors").write_bytes(b"previous")
    monkeypatch.setattr(recorded, "find_prompts", lambda: [recorded.Prompt("tones", tmp_path / "x.wav", "[tones]")])
    with pytest.raises(EmotalkError, match="nothing written"):
        recorded.build_recorded_corpus(out, copies=1, workers=1, quiet=True)
    assert (out / "train-00000.safetensors").read_bytes() == b"previous" and (out / "index.json").read_text() == "{}"


def test_missing_packages_name_the_fix(monkeypatch):
    from emotalk_cli.errors import EmotalkError

    monkeypatch.setattr(recorded, "_package_files", lambda package: [])
    with pytest.raises(EmotalkError, match="apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en"):
        recorded.find_prompts()
