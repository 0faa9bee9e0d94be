"""Emotion layers, blinks, head motion, gaze, audio augmentation and a tiny corpus end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from emotalk_cli import facs
from emotalk_cli.facs import ARKIT_INDEX
from emotalk_cli.motion import layers, tts
from emotalk_cli.motion.augment import AugmentConfig, augment, change_speed, pitch_shift

FPS = 25.0
have_tts = tts.available_engines()["flite"] and tts.available_engines()["espeak"]  # what `make corpus` uses by default


def test_envelope_rises_holds_falls():
    env = layers.envelope(100, FPS, start=0.4, onset=0.6, apex=1.0, offset=0.8)
    t = np.arange(100) / FPS
    assert env[t < 0.4].max() == 0.0
    rise = env[(t >= 0.4) & (t <= 1.0)]
    assert np.all(np.diff(rise) >= 0) and rise[-1] == pytest.approx(1.0)
    assert np.all(env[(t >= 1.0) & (t <= 2.0)] > 0.99)
    fall = env[(t >= 2.0) & (t <= 2.8)]
    assert np.all(np.diff(fall) <= 0)
    assert env[t > 2.85].max() < 1e-9


def test_emotion_layer_follows_prototype():
    rng = np.random.default_rng(0)
    au, info = layers.emotion_layer(150, FPS, rng, "happiness", 0.8)
    assert au.shape == (150, facs.NUM_AUS) and au.min() >= 0 and au.max() <= 1
    peak = au.max(axis=0)
    assert peak[facs.AU_INDEX["AU12"]] > 0.6 and peak[facs.AU_INDEX["AU6"]] > 0.6
    assert peak[facs.AU_INDEX["AU4"]] == 0
    assert au[0].max() <= au.max()  # starts no higher than its apex
    neutral, _ = layers.emotion_layer(50, FPS, rng, "neutral")
    assert neutral.max() == 0


def test_emotion_layer_seeded():
    a, ia = layers.emotion_layer(80, FPS, np.random.default_rng(3))
    b, ib = layers.emotion_layer(80, FPS, np.random.default_rng(3))
    assert np.array_equal(a, b) and ia == ib


def test_blinks_at_plausible_rate_and_duration():
    rng = np.random.default_rng(1)
    minutes = 10
    frames = int(minutes * 60 * FPS)
    eyes, starts = layers.blink_track(frames, FPS, rng, rate_per_min=17.0)
    rate = len(starts) / minutes
    assert 12 <= rate <= 22, rate
    assert eyes.shape == (frames, 2) and eyes.min() >= 0 and eyes.max() <= 1
    closed = eyes[:, 0] > 0.5
    runs = np.diff(np.concatenate([[0], closed.astype(int), [0]]))
    lengths = (np.flatnonzero(runs == -1) - np.flatnonzero(runs == 1)) / FPS
    assert 0.04 <= np.median(lengths) <= 0.2  # time more than half closed, of a 150-250 ms blink
    assert eyes.max() > 0.85


def test_head_motion_small_smooth_and_follows_energy():
    rng = np.random.default_rng(2)
    frames = 250
    energy = (np.sin(np.arange(frames) / FPS * 2 * np.pi * 1.5) > 0).astype(float)
    rotation, translation = layers.head_motion(frames, FPS, energy, rng, scale=1.0)
    assert rotation.shape == (frames, 3) and translation.shape == (frames, 3)
    assert np.abs(rotation).max() < np.radians(8.01)
    assert np.degrees(np.abs(rotation).max()) > 0.5  # it does move
    assert np.abs(np.diff(rotation, axis=0)).max() < np.radians(1.5)
    assert np.abs(translation).max() < 0.02
    # nods follow loudness: the pitch angle's fast part correlates with the (slightly lagged) energy
    fast = rotation[:, 0] - np.convolve(rotation[:, 0], np.ones(25) / 25, mode="same")
    assert abs(np.corrcoef(fast, np.roll(energy, 2))[0, 1]) > 0.5


def test_gaze_saccades_and_range():
    gaze = layers.gaze_track(500, FPS, np.random.default_rng(4))
    assert gaze.shape == (500, 2) and np.abs(gaze).max() < 0.4
    jumps = np.abs(np.diff(gaze, axis=0)).max(axis=1)
    assert (jumps > 0.02).sum() >= 3  # several saccades in 20 s
    assert np.median(jumps) < 0.005  # mostly fixating


def test_compose_keeps_lip_seal_and_range():
    mouth = np.zeros((10, 52), np.float32)
    mouth[:, ARKIT_INDEX["jawOpen"]] = 0.2
    mouth[:, ARKIT_INDEX["mouthClose"]] = 0.2  # sealed bilabial
    au = np.tile(facs.prototype_vector("surprise").numpy(), (10, 1))  # AU26 drops the jaw
    eyes = np.zeros((10, 2), np.float32)
    eyes[5] = 1.0
    out = layers.compose(mouth, au, eyes)
    assert out.min() >= 0 and out.max() <= 1
    assert np.allclose(out[:, ARKIT_INDEX["mouthClose"]], out[:, ARKIT_INDEX["jawOpen"]])
    assert out[0, ARKIT_INDEX["browInnerUp"]] > 0.9
    assert out[5, ARKIT_INDEX["eyeBlinkLeft"]] == 1.0 and out[4, ARKIT_INDEX["eyeBlinkLeft"]] == 0.0


def test_augment_keeps_length_rate_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    wave = torch.sin(torch.arange(16000) / 16000 * 2 * np.pi * 220) * 0.3 + 0.01 * torch.randn(16000, generator=g)
    everything = AugmentConfig(p_capture=1, p_pitch=1, p_reverb=1, p_band=1, p_noise=1)
    a, info_a = augment(wave, 16000, seed=5, config=everything)
    b, info_b = augment(wave, 16000, seed=5, config=everything)
    c, _ = augment(wave, 16000, seed=6, config=everything)
    assert a.shape == wave.shape and torch.isfinite(a).all() and a.abs().max() <= 0.99 + 1e-6
    assert torch.equal(a, b) and info_a == info_b
    assert not torch.equal(a, c)
    assert {"capture_rate", "pitch_semitones", "reverb", "band_hz", "noise"} <= set(info_a)
    down, _ = augment(torch.zeros(22050), 22050, seed=1, out_rate=16000)
    assert down.shape == (16000,)


def test_speed_and_pitch():
    wave = torch.sin(torch.arange(32000) / 16000 * 2 * np.pi * 200) * 0.3
    fast, used = change_speed(wave, 16000, 1.1)
    assert abs(used - 1.1) < 0.02 and abs(len(fast) - 32000 / used) <= 2
    shifted, semitones = pitch_shift(wave, 16000, 2.0)
    assert shifted.shape == wave.shape and abs(semitones - 2.0) < 0.2
    peak = torch.fft.rfft(shifted).abs().argmax().item() / 2.0  # Hz: 2 s of audio
    assert abs(peak - 200 * 2 ** (semitones / 12)) < 3


def test_english_engine_shares():
    from emotalk_cli.motion.corpus import FLITE_SHARE, english_engine

    draws = np.linspace(0, 1, 1000, endpoint=False)
    # no festival share: the draw decides flite or espeak-ng exactly as before festival existed
    assert [english_engine(u, "train") for u in draws] == ["flite" if u < FLITE_SHARE else "espeak" for u in draws]
    picks = [english_engine(u, "train", 0.2) for u in draws]
    assert picks.count("festival") == 200 and abs(picks.count("flite") - 400) <= 1 and abs(picks.count("espeak") - 400) <= 1
    assert "festival" not in [english_engine(u, "eval", 0.2) for u in draws]  # no held-out festival voice


def test_festival_is_needed_only_when_asked_for(tmp_path, monkeypatch):
    from emotalk_cli.motion import corpus

    monkeypatch.setattr(corpus, "available_engines", lambda: {"flite": True, "espeak": True, "festival": False})
    monkeypatch.setattr(corpus, "make_utterance", lambda job: (_ for _ in ()).throw(RuntimeError("past the check")))
    with pytest.raises(RuntimeError, match="past the check"):  # the default corpus does not ask for festival
        corpus.build_corpus(tmp_path / "a", sentences=1, seed=0, workers=1, quiet=True)
    with pytest.raises(tts.TTSError, match="festival"):
        corpus.build_corpus(tmp_path / "b", sentences=1, seed=0, workers=1, quiet=True,
                            config=corpus.CorpusConfig(festival_share=0.5))


@pytest.mark.skipif(not have_tts, reason="flite or libespeak-ng not installed")
def test_tiny_corpus_builds_and_loads(tmp_path):
    from emotalk_cli.motion.corpus import CorpusConfig, build_corpus, load_shard, main

    config = CorpusConfig(eval_fraction=0.5)
    index = build_corpus(tmp_path / "c", sentences=4, seed=0, workers=1, shard_size=2, config=config, quiet=True)
    assert sum(index["utterances"].values()) == 4
    assert not set(index["eval_voices"]) & set(index["train_voices"])
    assert "flite:rms" in index["eval_voices"]
    total = 0
    for shard in index["shards"]:
        path = tmp_path / "c" / shard["file"]
        utterances, meta = load_shard(path)
        side = json.loads(path.with_suffix(".json").read_text())
        assert side["split"] == meta["split"] == shard["split"]
        assert meta["fps"] == 25.0 and meta["sample_rate"] == 16000 and meta["voices"] and meta["languages"]
        for u in utterances:
            frames = u["record"]["frames"]
            assert frames == int(np.ceil(u["record"]["seconds"] * 25 - 1e-6))
            assert u["arkit"].shape == (frames, 52) and u["mouth"].shape == (frames, 52)
            assert u["au"].shape == (frames, facs.NUM_AUS)
            assert u["head_rotation"].shape == (frames, 3) and u["head_translation"].shape == (frames, 3)
            assert u["gaze"].shape == (frames, 2) and u["viseme"].shape == (frames,)
            assert abs(len(u["audio"]) - u["record"]["seconds"] * 16000) <= 2 and u["audio"].dim() == 1
            assert 0 <= u["arkit"].min() and u["arkit"].max() <= 1
            assert (u["record"]["voice"] in index["eval_voices"]) == (meta["split"] == "eval")
            total += 1
    assert total == 4
    # the same seed makes the same corpus
    again = build_corpus(tmp_path / "d", sentences=4, seed=0, workers=1, shard_size=2, config=config, quiet=True)
    first, _ = load_shard(tmp_path / "c" / index["shards"][0]["file"])
    second, _ = load_shard(tmp_path / "d" / again["shards"][0]["file"])
    assert torch.equal(first[0]["arkit"], second[0]["arkit"]) and torch.equal(first[0]["audio"], second[0]["audio"])
    assert main(["--out", str(tmp_path / "e"), "--sentences", "2", "--workers", "1", "--quiet", "--languages", "xx"]) == 1
