"""Training plumbing on a synthetic two-shard corpus (no TTS): a run, its files, and a resume."""

import numpy as np
import pytest
import torch

from emotalk_cli.motion.corpus import CorpusConfig, write_shard
from emotalk_cli.motion.denoiser import MotionModelConfig, load_model
from emotalk_cli.motion.discriminator import CriticConfig, MotionCritic, critic_loss, generator_loss
from emotalk_cli.motion.train import TrainOptions, load_corpus, train


def fake_utterance(seed: int, seconds: float = 1.2) -> dict:
    rng = np.random.default_rng(seed)
    frames = int(np.ceil(seconds * 25))
    audio = (rng.standard_normal(int(seconds * 16000)) * 3000).astype(np.int16)
    jaw = (np.sin(np.arange(frames) / 3) > 0).astype(np.float32) * 0.5
    mouth = np.zeros((frames, 52), np.float32)
    mouth[:, 17] = jaw
    return {
        "split": "train",
        "arrays": {"audio": audio, "arkit": mouth.copy(), "mouth": mouth, "au": np.zeros((frames, 24), np.float32),
                   "head_rotation": np.zeros((frames, 3), np.float32), "head_translation": np.zeros((frames, 3), np.float32),
                   "gaze": np.zeros((frames, 2), np.float32), "viseme": np.zeros(frames, np.int8)},
        "record": {"index": seed, "frames": frames, "seconds": seconds, "voice": "fake", "language": "en",
                   "emotion": {"emotion": "neutral", "intensity": 0.0}},
    }


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    config = CorpusConfig()
    write_shard(folder / "train-00000.safetensors", [fake_utterance(i) for i in range(6)], "train", config, "test")
    write_shard(folder / "eval-00000.safetensors", [fake_utterance(100 + i) for i in range(2)], "eval", config, "test")
    return folder


def test_load_corpus(corpus):
    utterances = load_corpus(corpus, "train")
    assert len(utterances) == 6 and utterances[0].audio.shape == (30, 160) and utterances[0].motion.shape == (30, 60)


def test_train_writes_weights_and_resumes(tmp_path, corpus):
    out, ckpt = tmp_path / "m.safetensors", tmp_path / "ck.pt"
    config = MotionModelConfig(width=32, layers=1, heads=2, window=16)
    options = TrainOptions(minutes=0.02, batch=4, warmup=2)
    meta = train(corpus, out, options, config, None, ckpt)
    assert out.is_file() and ckpt.is_file() and meta["steps"] > 0
    model = load_model(out)
    assert model.config.width == 32 and model.config.feature["hop_length"] == 160
    steps = meta["steps"]
    meta2 = train(corpus, out, options, config, ckpt, ckpt)
    assert meta2["steps"] > steps
    assert torch.isfinite(load_model(out).mean).all()


def test_critic_scores_patches_and_ignores_padding():
    critic = MotionCritic(CriticConfig(motion_dim=60, audio_dim=160, width=16, layers=2))
    motion, audio = torch.randn(2, 16, 60), torch.randn(2, 16, 160)
    pad = torch.zeros(2, 16, dtype=torch.bool)
    pad[:, 12:] = True
    scores = critic(motion, audio, pad)
    assert scores.shape == (2, 4)
    changed = motion.clone()
    changed[:, 12:] += 5.0  # only padding frames differ
    assert torch.allclose(critic(changed, audio, pad), scores)


def test_least_squares_losses():
    ones, zeros = torch.ones(3, 4), torch.zeros(3, 4)
    assert critic_loss(ones, zeros).item() == 0.0 and critic_loss(zeros, ones).item() == 1.0
    assert generator_loss(ones).item() == 0.0 and generator_loss(zeros).item() == 1.0
    # per-window weights pick which windows count
    scores = torch.stack([torch.ones(4), torch.zeros(4)])
    assert generator_loss(scores, torch.tensor([1.0, 0.0])).item() == 0.0
    assert generator_loss(scores, torch.tensor([0.0, 1.0])).item() == 1.0


def test_adversarial_training_runs_resumes_and_keeps_critic(tmp_path, corpus):
    out, ckpt = tmp_path / "m.safetensors", tmp_path / "ck.pt"
    config = MotionModelConfig(width=32, layers=1, heads=2, window=16)
    options = TrainOptions(minutes=0.02, batch=4, warmup=2, adv_weight=0.1)
    meta = train(corpus, out, options, config, None, ckpt)
    state = torch.load(ckpt, weights_only=False)
    assert state["critic"] is not None and meta["steps"] > 0
    assert any("adv_loss" in h for h in meta["history"])
    meta2 = train(corpus, out, options, config, ckpt, ckpt)
    assert meta2["steps"] > meta["steps"]
    # the shipped model file holds the denoiser only
    assert not any(k.startswith("critic") for k in load_model(out).state_dict())


def test_spectral_augment_keeps_silence_timeline_and_range():
    from emotalk_cli.motion.augment import spectral_augment

    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 6, 160, generator=g) * 2.25 - 1.5
    x[:, 0] = -1.5  # a silent frame
    assert torch.equal(spectral_augment(x, 40, torch.Generator().manual_seed(1), p=0.0), x)
    y = spectral_augment(x, 40, torch.Generator().manual_seed(1), p=1.0)
    assert y.shape == x.shape and not torch.equal(y, x)
    assert torch.equal(y, spectral_augment(x, 40, torch.Generator().manual_seed(1), p=1.0))  # seeded
    assert (y[:, 0] == -1.5).all()  # silence stays silence
    assert y.min() >= -1.5 and y.max() <= 0.75
    # bands change, frames do not move: a loud frame stays louder than a quiet one in every window
    x2 = torch.full((32, 2, 160), -1.4)
    x2[:, 1] = 0.4
    y2 = spectral_augment(x2, 40, torch.Generator().manual_seed(2), p=1.0)
    assert (y2[:, 1].mean(-1) > y2[:, 0].mean(-1)).all()
    # each window gets its own draw, so windows differ
    assert not torch.allclose(y2[0], y2[1])


def test_training_with_spectral_augment_runs(tmp_path, corpus):
    out = tmp_path / "m.safetensors"
    options = TrainOptions(minutes=0.05, batch=4, spec_augment=0.5, spec_mask=0.5)
    meta = train(corpus, out, options, MotionModelConfig(width=32, layers=1, heads=2, window=16), None, tmp_path / "c.ckpt")
    assert out.exists() and meta["options"]["spec_augment"] == 0.5 and meta["steps"] > 0


def test_speech_onsets():
    from emotalk_cli.motion.train import speech_onsets

    assert speech_onsets(torch.tensor([3, 0, 0, 1, 2, 0, 0, 5, 5]), 0).tolist() == [0, 3, 7]
    assert speech_onsets(torch.tensor([0, 0, 0]), 0).tolist() == []


def test_word_clips_start_just_before_an_onset():
    from emotalk_cli.motion.train import WORD_CLIP_FRAMES, Utterance, random_batch
    from emotalk_cli.motion.visemes import VISEME_INDEX

    sil, speech = VISEME_INDEX["sil"], VISEME_INDEX["aa"]
    T = 200
    viseme = torch.full((T,), sil)
    viseme[50:90], viseme[120:170] = speech, speech  # two spoken stretches after silences
    frame = torch.arange(T, dtype=torch.float32)
    u = Utterance(audio=frame[:, None].expand(T, 4).clone(), motion=frame[:, None].expand(T, 60).clone(),
                  au=torch.zeros(T, 24), mouth=torch.zeros(T, 52), viseme=viseme, record={})
    audio, motion, au, pad = random_batch([u], torch.tensor([T]), 64, 64, torch.Generator().manual_seed(0), p_word_clip=1.0)
    starts = audio[:, 0, 0]
    lengths = (~pad).sum(1)
    # every window starts 0-2 frames before an onset, lasts a word clip, and audio and motion stay aligned
    assert all(any(0 <= onset - s <= 2 for onset in (50, 120)) for s in starts.tolist())
    assert ((lengths >= WORD_CLIP_FRAMES[0]) & (lengths <= WORD_CLIP_FRAMES[1])).all()
    assert torch.equal(audio[:, :, 0][~pad], motion[:, :, 0][~pad])
    # off by default: ordinary windows fill the whole window
    audio, motion, au, pad = random_batch([u], torch.tensor([T]), 16, 64, torch.Generator().manual_seed(0))
    assert not pad.any()


def test_extra_corpus_joins_the_training_set(tmp_path, corpus):
    out = tmp_path / "m.safetensors"
    options = TrainOptions(minutes=0.01, batch=4, warmup=2)
    meta = train(corpus, out, options, MotionModelConfig(width=32, layers=1, heads=2, window=16), None,
                 tmp_path / "c.ckpt", extra_corpora=(corpus,))
    assert meta["train_utterances"] == 12 and meta["extra_corpora"] == [str(corpus)]


def test_rest_starts_begin_on_speech_from_the_rest_pose():
    from emotalk_cli.motion.train import Utterance, random_batch
    from emotalk_cli.motion.visemes import VISEME_INDEX

    sil, speech = VISEME_INDEX["sil"], VISEME_INDEX["aa"]
    T = 200
    viseme = torch.full((T,), sil)
    viseme[50:90], viseme[120:170] = speech, speech
    frame = torch.arange(T, dtype=torch.float32) + 1.0  # no frame's motion is 0 of itself
    u = Utterance(audio=frame[:, None].expand(T, 4).clone(), motion=frame[:, None].expand(T, 60).clone(),
                  au=torch.zeros(T, 24), mouth=torch.zeros(T, 52), viseme=viseme, record={})
    audio, motion, au, pad = random_batch([u], torch.tensor([T]), 64, 64, torch.Generator().manual_seed(0), p_rest_start=1.0)
    starts = audio[:, 0, 0].long() - 1
    assert (viseme[starts] == speech).all()  # every window starts on a spoken frame
    assert (motion[:, 0] == 0).all()  # from the rest pose
    assert torch.equal(audio[:, 1:, 0][~pad[:, 1:]], motion[:, 1:, 0][~pad[:, 1:]])  # then the utterance's own motion
    # half of them: the others are ordinary windows, whose first frame is the utterance's
    audio, motion, au, pad = random_batch([u], torch.tensor([T]), 400, 64, torch.Generator().manual_seed(1), p_rest_start=0.5)
    assert 0.4 < float((motion[:, 0, 0] == 0).float().mean()) < 0.6
