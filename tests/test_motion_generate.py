"""Audio features, AU prompts, windows and the sampling loop (tiny random models, CPU, fast)."""

from dataclasses import replace

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional as AF

from emotalk_cli import facs
from emotalk_cli.audio.features import (FeatureConfig, audio_features, file_features, frame_count, load_audio,
                                        stream_features)
from emotalk_cli.errors import EmotalkError
from emotalk_cli.motion.denoiser import MOTION_DIM
from emotalk_cli.motion.generate import (GenerateOptions, WindowedDenoiser, au_frames, chunk_spans, edge_envelope,
                                         feature_config,
                                         generate_motion, generate_motion_from_features, window_starts)

from test_motion_model import tiny_model

RATE = 16_000


def speechy(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Noise bursts with pauses: speech-like loudness changes."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    envelope = (np.sin(np.arange(n) / rate * 2 * np.pi * 3) > 0).astype(np.float32)
    return (0.2 * rng.standard_normal(n) * envelope).astype(np.float32)


# -- features ----------------------------------------------------------------------------------

def test_features_shape_and_frame_alignment():
    wave = torch.from_numpy(speechy(2.0))
    feats = audio_features(wave)
    assert feats.shape == (frame_count(2.0, 25), FeatureConfig().dim) == (50, 160)
    assert audio_features(wave, num_frames=60).shape == (60, 160)  # padded with silence


def test_features_are_gain_invariant_and_silence_is_floor():
    wave = torch.from_numpy(speechy(1.0))
    assert torch.allclose(audio_features(wave), audio_features(wave * 0.1), atol=1e-3)
    silence = audio_features(torch.zeros(RATE))
    assert torch.equal(silence, torch.full_like(silence, -1.5))


def test_features_survive_nan_and_clipping():
    wave = torch.from_numpy(speechy(1.0)) * 50
    wave[::7] = float("nan")
    feats = audio_features(wave)
    assert torch.isfinite(feats).all()


def reference_features(wave: torch.Tensor, num_frames: int, config: FeatureConfig = FeatureConfig()) -> torch.Tensor:
    """The features computed the obvious way, over the whole wave at once (features.py's docstring)."""
    per, hop = config.mels_per_frame, config.hop_length
    need = num_frames * per * hop
    body = torch.zeros(need)
    n = min(need, wave.shape[0])
    body[:n] = torch.nan_to_num(wave[:n], nan=0.0, posinf=0.0, neginf=0.0).clamp(-1, 1)
    padded = torch.nn.functional.pad(body, (config.n_fft // 2 + per // 2 * hop, config.n_fft // 2))
    spec = torch.stft(padded, config.n_fft, hop, config.win_length, torch.hann_window(config.win_length),
                      center=False, return_complex=True)[:, : num_frames * per]
    filters = AF.melscale_fbanks(config.n_fft // 2 + 1, config.f_min, config.f_max, config.n_mels,
                                 config.sample_rate, norm="slaney", mel_scale="slaney")
    logmel = torch.log(filters.T @ spec.abs() ** 2 + 1e-14)
    t = torch.arange(config.sample_rate // 4) / config.sample_rate
    sine = torch.stft(torch.nn.functional.pad(torch.sin(2 * np.pi * 1000 * t), (config.n_fft // 2,) * 2),
                      config.n_fft, hop, config.win_length, torch.hann_window(config.win_length), center=False,
                      return_complex=True)
    full_scale = np.log(float((filters.T @ sine.abs() ** 2 + 1e-14)[:, 5:-5].sum(0).mean() / config.n_mels))
    level = (logmel - full_scale) * 10 / np.log(10)  # dB re. a full-scale sine
    frame_db = 10 * torch.log10(torch.exp(logmel - full_scale).mean(0) + 1e-12)
    ref = max(float(torch.quantile(frame_db, config.loud_quantile)), config.floor_db)
    feats = ((level - ref) / config.range_db * 2 + 0.5).clamp(-1.5, 0.75)
    return feats.T.reshape(num_frames, -1)


@pytest.mark.parametrize("seconds,num_frames,piece", [(3.7, None, 7919), (2.0, 80, 16000), (1.0, 10, 333)])
def test_streamed_features_equal_the_whole_wave_at_once(seconds, num_frames, piece):
    """However the audio arrives in pieces (and however few mel frames are analysed at a time), the
    features are those of the whole wave: padded with silence past its end, cut at num_frames."""
    wave = torch.from_numpy(speechy(seconds, seed=3)) * 3  # some clipping
    wave[100] = float("nan")
    T = num_frames or frame_count(seconds, 25)
    want = reference_features(wave, T)
    torch.testing.assert_close(audio_features(wave, T), want, atol=1e-4, rtol=0)
    got = stream_features(torch.split(wave, piece), T, block_frames=50)
    torch.testing.assert_close(got, audio_features(wave, T), atol=1e-6, rtol=0)


def test_file_features_stream_the_file(tmp_path):
    """animate's path: features read from a 44.1 kHz stereo file in blocks equal those of load_audio's wave."""
    x = np.clip(speechy(2.3, 44100, seed=5), -1, 1)
    path = tmp_path / "a.wav"
    soundfile.write(str(path), np.stack([x, 0.5 * x], axis=1), 44100)
    want = audio_features(load_audio(path))
    got = file_features(path, block_seconds=0.3)
    assert got.shape == want.shape == (frame_count(2.3, 25), 160)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 96000])
def test_streamed_resampling_equals_resampling_at_once(tmp_path, rate):
    x = np.clip(speechy(1.3, rate, seed=rate), -1, 1)
    path = tmp_path / "a.flac"
    soundfile.write(str(path), np.stack([x, x], axis=1), rate)
    got = load_audio(path, block_seconds=0.25)
    want = AF.resample(torch.from_numpy(soundfile.read(str(path), dtype="float32")[0][:, 0].copy()), rate, RATE)
    assert got.shape == want.shape
    assert torch.allclose(got, want.clamp(-1, 1), atol=1e-5)


def test_bad_audio_files_raise_one_line(tmp_path):
    short = tmp_path / "short.wav"
    soundfile.write(str(short), np.zeros(1000, np.float32), RATE)
    with pytest.raises(EmotalkError, match="at least 0.2 s"):
        load_audio(short)
    text = tmp_path / "notes.wav"
    text.write_text("hello")
    with pytest.raises(EmotalkError, match="not a readable audio file"):
        load_audio(text)


# -- prompts and windows -----------------------------------------------------------------------

def test_au_frames_interpolates_and_holds():
    au = torch.zeros(2, facs.NUM_AUS)
    au[1, 0] = 1.0
    frames = au_frames(torch.tensor([0.0, 1.0]), au, 50, 25.0)
    assert frames[0, 0] == 0 and frames[12, 0] == pytest.approx(0.48) and (frames[25:, 0] == 1).all()
    assert au_frames(torch.tensor([0.0]), au[1:], 5, 25.0).shape == (5, facs.NUM_AUS)


def test_window_starts_cover_the_clip():
    assert window_starts(10, 16, 4) == [0]
    starts = window_starts(100, 16, 4)
    assert starts[0] == 0 and starts[-1] == 84 and all(b - a <= 12 for a, b in zip(starts, starts[1:]))


def test_edge_envelope_is_zero_at_the_ends():
    env = edge_envelope(20, 3)
    assert env[0] == 0 and env[-1] == 0 and env[3] == 1 and env[10] == 1


def test_windows_match_one_long_pass_for_a_frame_local_model():
    """A model without cross-frame context gives the same clip windowed or whole: no seams."""
    def local(x, sigma, audio, au, drop_au, drop_audio=None):
        return torch.tanh(x * 0.5 + audio[..., :1] + au[..., :1]) * sigma[:, None, None]

    x, audio, au = torch.randn(2, 100, MOTION_DIM), torch.randn(2, 100, 160), torch.rand(2, 100, 24)
    sigma = torch.tensor([0.5, 2.0])
    drop = torch.tensor([False, True])
    whole = local(x, sigma, audio, au, drop)
    windowed = WindowedDenoiser(local, window=16, overlap=5, max_batch=3)(x, sigma, audio, au, drop)
    assert torch.allclose(windowed, whole, atol=1e-6)


def test_windows_equal_the_model_when_the_clip_fits():
    model = tiny_model(window=32)
    x, audio, au = torch.randn(1, 20, MOTION_DIM), torch.randn(1, 20, 160), torch.rand(1, 20, 24)
    direct = model(x, torch.ones(1), audio=audio, au=au)
    assert torch.allclose(WindowedDenoiser(model, 32, 8)(x, torch.ones(1), audio, au), direct, atol=1e-6)


# -- sampling ----------------------------------------------------------------------------------

def test_generate_is_seeded_and_shaped():
    model = tiny_model()
    wave = torch.from_numpy(speechy(2.3))
    options = GenerateOptions(steps=4, seed=7)
    a = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
    b = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
    c = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), GenerateOptions(steps=4, seed=8))
    T = frame_count(2.3, 25)
    assert a["arkit"].shape == (T, 52) and a["head_rotation"].shape == (T, 3) and a["gaze"].shape == (T, 2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["arkit"], c["arkit"])
    assert (a["arkit"] >= 0).all() and (a["arkit"] <= 1).all()
    from_features = generate_motion_from_features(model, audio_features(wave, T, feature_config(model)),
                                                  torch.zeros(facs.NUM_AUS), options)
    assert all(torch.equal(a[k], from_features[k]) for k in a)  # animate's streamed path: the same motion


def test_long_clip_is_continuous_across_windows():
    """Neighbouring frames at the window seams differ no more than anywhere else."""
    model = tiny_model(window=16)
    wave = torch.from_numpy(speechy(4.0))
    motion = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), GenerateOptions(steps=6, overlap=6, seed=1))
    x = torch.cat([motion["arkit"], motion["head_rotation"] * 10, motion["gaze"] * 10], dim=1)
    jumps = (x[1:] - x[:-1]).abs().max(dim=1).values  # [T-1]
    starts = window_starts(x.shape[0], 16, 6)
    seams = [s + 6 for s in starts[:-1]] + [s for s in starts[1:]]  # overlap edges
    seam_jumps = torch.stack([jumps[min(i, len(jumps) - 1)] for i in seams])
    assert seam_jumps.max() <= jumps[5:-5].max() + 1e-6


@pytest.mark.parametrize("T,chunk,overlap", [(100, 40, 8), (40, 40, 8), (41, 40, 8), (75, 40, 8), (1500, 1500, 32)])
def test_chunk_spans_cover_the_clip_with_overlaps(T, chunk, overlap):
    spans = chunk_spans(T, chunk, overlap)
    assert spans[0][0] == 0 and spans[-1][1] == T
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 - b0 == overlap and a1 - a0 <= chunk + overlap
    assert all(b - a > overlap for a, b in spans)
    assert len(spans) == 1 or T > chunk


def test_long_clips_are_sampled_in_continuous_chunks():
    """A clip longer than a chunk is sampled chunk by chunk, each continuing the one before (its first
    frames inpainted from it): the same length and calm ends, seeded, and no jump at the chunk seams
    bigger than the clip's own frame-to-frame motion."""
    model = tiny_model(window=16)
    wave = torch.from_numpy(speechy(6.0))
    options = GenerateOptions(steps=6, overlap=6, seed=2, chunk=48, chunk_overlap=8)
    motion = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
    again = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
    whole = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), replace(options, chunk=10_000))
    T = frame_count(6.0, 25)
    assert motion["arkit"].shape == whole["arkit"].shape == (T, 52)
    assert all(torch.equal(motion[k], again[k]) for k in motion)
    assert not torch.equal(motion["arkit"], whole["arkit"])  # chunks did happen
    calm = torch.ones(52, dtype=torch.bool)
    calm[facs.SPEECH_CHANNELS] = False  # the mouth may be moving at the ends (silence_pad)
    assert torch.all(motion["arkit"][[0, -1]][:, calm] == 0) and torch.all(motion["head_rotation"][[0, -1]] == 0)
    x = torch.cat([motion["arkit"], motion["head_rotation"] * 10, motion["gaze"] * 10], dim=1)
    jumps = (x[1:] - x[:-1]).abs().max(dim=1).values  # [T-1]: jumps[i] is frame i -> i + 1
    spans = chunk_spans(T, 48, 8)
    seams = [start + 8 - 1 for start, _ in spans[1:]]  # the last inpainted frame -> the first new one
    assert len(seams) >= 2
    assert max(float(jumps[i]) for i in seams) <= float(jumps[5:-5].max()) + 1e-6


@pytest.mark.parametrize("silence_pad", [0, 2])
def test_calm_ends_still_head_and_no_blinks(silence_pad):
    model = tiny_model()
    wave = torch.from_numpy(speechy(1.5))
    options = GenerateOptions(steps=3, head_motion=0.0, blinks=False, silence_pad=silence_pad)
    motion = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
    for name, tensor in motion.items():
        if name == "arkit" and silence_pad:  # all but the mouth, which may be moving when the audio starts
            tensor = torch.cat([tensor[:, : facs.SPEECH_CHANNELS.start], tensor[:, facs.SPEECH_CHANNELS.stop :]], 1)
        assert tensor[0].abs().max() == 0 and tensor[-1].abs().max() == 0, name
    assert motion["head_rotation"].abs().max() == 0 and motion["head_translation"].abs().max() == 0
    blink = [facs.ARKIT_INDEX["eyeBlinkLeft"], facs.ARKIT_INDEX["eyeBlinkRight"]]
    assert motion["arkit"][:, blink].abs().max() == 0


def test_silence_pad_is_sampling_the_clip_with_silence_either_side():
    """silence_pad p: the same as sampling [silence x p, clip, silence x p] with no pad and keeping the
    middle, except that head, eyes and brows ease to rest at the clip's own ends."""
    from emotalk_cli.motion.generate import silence_features

    model = tiny_model()
    config = feature_config(model)
    wave = torch.from_numpy(speechy(1.5))
    T, p = frame_count(1.5, 25), 3
    feats = audio_features(wave, T, config)
    prompt = torch.zeros(facs.NUM_AUS)
    options = GenerateOptions(steps=3, seed=4, lip_samples=2)
    padded = generate_motion_from_features(model, feats, prompt, replace(options, silence_pad=p))
    silence = silence_features(config, p)
    assert silence.shape == (p, config.dim) and torch.equal(silence, audio_features(torch.zeros(RATE), 25, config)[:p])
    by_hand = generate_motion_from_features(model, torch.cat([silence, feats, silence]), prompt, replace(options, silence_pad=0))
    mouth = facs.SPEECH_CHANNELS
    assert padded["arkit"].shape == (T, 52)
    assert torch.allclose(padded["arkit"][:, mouth], by_hand["arkit"][p:-p, mouth], atol=1e-6)
    ease = edge_envelope(T, options.calm_frames) / edge_envelope(T + 2 * p, options.calm_frames)[p:-p]
    assert torch.allclose(padded["head_rotation"], by_hand["head_rotation"][p:-p] * ease[:, None], atol=1e-6)
    assert padded["arkit"][0, mouth].abs().max() > 0  # the mouth is not pinned shut at the first frame
    with pytest.raises(ValueError, match="silence_pad"):
        generate_motion_from_features(model, feats, prompt, replace(options, silence_pad=-1))


@pytest.mark.parametrize("chunk", [1500, 16])  # one chunk, and several (the median is taken chunk by chunk)
def test_lip_samples_take_the_median_mouth_and_keep_the_rest_of_the_first_sample(chunk):
    from emotalk_cli.motion.generate import LIP_SEED_STRIDE, SPEECH_CHANNELS

    model = tiny_model()
    wave = torch.from_numpy(speechy(1.5))
    prompt = torch.zeros(facs.NUM_AUS)
    options = GenerateOptions(steps=3, seed=5, chunk=chunk, chunk_overlap=4)
    singles = [generate_motion(model, wave, prompt, replace(options, seed=5 + k * LIP_SEED_STRIDE, lip_samples=1))
               for k in range(3)]
    merged = generate_motion(model, wave, prompt, replace(options, lip_samples=3))
    # slow, obviously right: the per-frame, per-channel middle of three values, by sorting
    expected = torch.stack([m["arkit"][:, SPEECH_CHANNELS] for m in singles]).sort(dim=0).values[1]
    assert torch.allclose(merged["arkit"][:, SPEECH_CHANNELS], expected)
    rest = torch.ones(52, dtype=torch.bool)
    rest[SPEECH_CHANNELS] = False
    assert torch.equal(merged["arkit"][:, rest], singles[0]["arkit"][:, rest])  # blinks, brows: the first sample
    assert all(torch.equal(merged[k], singles[0][k]) for k in ("head_rotation", "head_translation", "gaze"))
    with pytest.raises(ValueError, match="lip_samples"):
        generate_motion(model, wave, prompt, GenerateOptions(steps=3, lip_samples=0))


def test_median_of_samples_matches_quantile():
    from emotalk_cli.motion.generate import median_of_samples

    for n in (1, 2, 3, 4, 5):
        x = torch.randn(n, 7, 3)
        assert torch.allclose(median_of_samples(x), x.quantile(0.5, dim=0))


def test_steps_are_capped():
    with pytest.raises(ValueError, match="steps"):
        generate_motion(tiny_model(), torch.zeros(RATE), torch.zeros(facs.NUM_AUS), GenerateOptions(steps=26))


def test_lip_strength_changes_motion_and_defaults_from_the_file(tmp_path):
    from emotalk_cli.motion.denoiser import load_model, save_model
    from emotalk_cli.motion.generate import default_lip_strength

    model = tiny_model()
    torch.nn.init.normal_(model.null_audio)
    wave = torch.from_numpy(speechy(1.5))
    plain = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), GenerateOptions(steps=3))
    pushed = generate_motion(model, wave, torch.zeros(facs.NUM_AUS), GenerateOptions(steps=3, lip_strength=2.0))
    assert not torch.allclose(plain["arkit"], pushed["arkit"])
    save_model(tmp_path / "m.safetensors", model, {"lip_strength": 2.0})
    assert default_lip_strength(load_model(tmp_path / "m.safetensors")) == 2.0
    save_model(tmp_path / "n.safetensors", model, {})
    assert default_lip_strength(load_model(tmp_path / "n.safetensors")) == 1.0


def test_a_file_without_null_audio_cannot_be_audio_guided(tmp_path):
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open
    from emotalk_cli.motion.denoiser import load_model, save_model
    from emotalk_cli.motion.generate import default_lip_strength

    path = tmp_path / "old.safetensors"
    save_model(path, tiny_model(), {"lip_strength": 2.0})
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    state = load_file(str(path))
    del state["null_audio"]  # as files made before audio guidance
    save_file(state, str(path), metadata=metadata)
    model = load_model(path)
    assert not model.audio_guidance and default_lip_strength(model) == 1.0
    wave = torch.from_numpy(speechy(1.0))
    generate_motion(model, wave, torch.zeros(facs.NUM_AUS), GenerateOptions(steps=2))  # plain sampling works
    with pytest.raises(ValueError, match="audio dropout"):
        generate_motion(model, wave, torch.zeros(facs.NUM_AUS), GenerateOptions(steps=2, lip_strength=2.0))


def test_guiding_each_window_equals_guiding_the_clip():
    """Guidance is linear, so guiding inside the windows (memory per window batch) matches guiding the whole clip."""
    from emotalk_cli.motion.guidance import CFGDenoiser

    model = tiny_model(window=16)
    torch.nn.init.normal_(model.null_audio)
    torch.nn.init.normal_(model.null_au)
    x, audio, au = torch.randn(1, 50, MOTION_DIM), torch.randn(1, 50, 160), torch.rand(1, 50, 24)
    sigma = torch.tensor([0.7])
    whole = CFGDenoiser(WindowedDenoiser(model, 16, 5), 1.5, 2.0)(x, sigma, audio=audio, au=au)
    per_window = WindowedDenoiser(CFGDenoiser(model, 1.5, 2.0), 16, 5, max_batch=2)(x, sigma, audio=audio, au=au)
    assert torch.allclose(per_window, whole, atol=1e-5)
