"""The motion model's parts apart: schedule, samplers, guidance, denoiser and its file."""

import json

import pytest
import torch
from safetensors import safe_open

from emotalk_cli.errors import ArtifactError
from emotalk_cli.motion.denoiser import (FORMAT, MOTION_DIM, MotionModel, MotionModelConfig, load_model, pack_motion,
                                         save_model, unpack_motion)
from emotalk_cli.motion.guidance import CFGDenoiser
from emotalk_cli.motion.sampler import SAMPLERS
from emotalk_cli.motion.schedule import edm_scalings, sigmas_karras, training_sigmas


def tiny_model(seed: int = 0, window: int = 16) -> MotionModel:
    """A small random model whose output head is not zero (so it does something)."""
    torch.manual_seed(seed)
    config = MotionModelConfig(width=32, layers=1, heads=2, ff_mult=2, window=window)
    model = MotionModel(config, mean=torch.rand(MOTION_DIM) * 0.1, std=torch.rand(MOTION_DIM) * 0.2 + 0.05)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    return model.eval()


def test_karras_sigmas():
    sigmas = sigmas_karras(10, 0.002, 20.0)
    assert sigmas.shape == (11,) and sigmas[-1] == 0
    assert sigmas[0] == pytest.approx(20.0) and sigmas[-2] == pytest.approx(0.002)
    assert (sigmas[1:] < sigmas[:-1]).all()


def test_training_sigmas_are_seeded_and_positive():
    a = training_sigmas(100, generator=torch.Generator().manual_seed(1))
    b = training_sigmas(100, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and (a > 0).all()


def test_edm_scalings_identity_at_zero_noise():
    c_skip, c_out, c_in, _ = edm_scalings(torch.tensor([1e-8]), 1.0)
    assert c_skip.item() == pytest.approx(1.0) and c_out.item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_samplers_reach_the_data_point(name):
    """With a perfect denoiser for data that is one point, every sampler ends on that point."""
    target = torch.randn(1, 5, 3)
    model = lambda x, sigma, **_: target.expand_as(x)  # noqa: E731
    sigmas = sigmas_karras(8, 0.002, 20.0)
    calls = []
    out = SAMPLERS[name](model, torch.randn(1, 5, 3) * 20, sigmas, callback=calls.append)
    assert torch.allclose(out, target, atol=1e-4)
    assert len(calls) == 8


def test_cfg_combines_cond_and_uncond():
    def model(x, sigma, audio, au, drop_au, drop_audio):
        return torch.where(drop_au[:, None, None], torch.zeros_like(x), torch.ones_like(x))

    x = torch.zeros(2, 4, 3)
    args = dict(audio=torch.zeros(2, 4, 1), au=torch.zeros(2, 4, 24))
    assert torch.equal(CFGDenoiser(model, 1.0)(x, torch.ones(2), **args), torch.ones_like(x))
    assert torch.allclose(CFGDenoiser(model, 2.5)(x, torch.ones(2), **args), torch.full_like(x, 2.5))
    assert torch.allclose(CFGDenoiser(model, 0.0)(x, torch.ones(2), **args), torch.zeros_like(x))


def test_cfg_on_audio_and_prompt_matches_the_formula():
    """e(0,0) + sa (e(A,0) - e(0,0)) + s (e(A,S) - e(A,0)), checked against separate calls."""
    def model(x, sigma, audio, au, drop_au, drop_audio):
        a = torch.where(drop_audio[:, None, None], torch.zeros_like(x), audio[..., :1].expand_as(x))
        s = torch.where(drop_au[:, None, None], torch.zeros_like(x), au[..., :1].expand_as(x))
        return x + 3 * a + 5 * s + a * s  # not additive, so the form matters

    x = torch.randn(2, 4, 3)
    args = dict(audio=torch.randn(2, 4, 1), au=torch.rand(2, 4, 24))
    flag = lambda v: torch.full((2,), v)
    e = lambda du, da: model(x, torch.ones(2), drop_au=flag(du), drop_audio=flag(da), **args)
    for scale, audio_scale in ((1.0, 1.0), (2.0, 1.0), (1.0, 2.5), (1.5, 0.5)):
        expected = e(True, True) + audio_scale * (e(True, False) - e(True, True)) + scale * (e(False, False) - e(True, False))
        got = CFGDenoiser(model, scale, audio_scale)(x, torch.ones(2), **args)
        assert torch.allclose(got, expected, atol=1e-5), (scale, audio_scale)


@pytest.mark.parametrize("null, flag", [("null_au", "drop_au"), ("null_audio", "drop_audio")])
def test_null_embedding_differs_from_the_condition(null, flag):
    model = tiny_model()
    torch.nn.init.normal_(getattr(model, null))
    x = torch.randn(1, 8, MOTION_DIM)
    args = dict(audio=torch.randn(1, 8, 160), au=torch.rand(1, 8, 24))
    a = model(x, torch.ones(1), **{flag: torch.tensor([False])}, **args)
    b = model(x, torch.ones(1), **{flag: torch.tensor([True])}, **args)
    assert a.shape == x.shape and not torch.allclose(a, b)


def test_shape_errors_name_the_shapes():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"\[B, T, 60\]"):
        model(torch.zeros(1, 8, 59), torch.ones(1), audio=torch.zeros(1, 8, 160), au=torch.zeros(1, 8, 24))


def test_file_round_trip_rebuilds_the_model(tmp_path):
    model = tiny_model()
    path = tmp_path / "m.safetensors"
    save_model(path, model, {"note": "test"})
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    assert meta["format"] == FORMAT and json.loads(meta["config"])["width"] == 32
    back = load_model(path)
    x = torch.randn(1, 8, MOTION_DIM)
    args = dict(audio=torch.randn(1, 8, 160), au=torch.rand(1, 8, 24))
    assert torch.equal(model(x, torch.ones(1), **args), back(x, torch.ones(1), **args))
    assert back.meta == {"note": "test"}


def test_wrong_files_say_how_to_make_the_right_one(tmp_path):
    with pytest.raises(ArtifactError, match="motion.train"):
        load_model(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a file")
    with pytest.raises(ArtifactError, match="motion.train"):
        load_model(tmp_path / "junk.safetensors")


def test_pack_unpack():
    arkit, rot, trans, gaze = torch.rand(5, 52), torch.randn(5, 3), torch.randn(5, 3), torch.randn(5, 2)
    back = unpack_motion(pack_motion(arkit, rot, trans, gaze))
    assert torch.equal(back["arkit"], arkit) and torch.equal(back["gaze"], gaze)
