"""evals/eval_motion_real.py's helpers: transcripts from file names, alignment -> phones -> reference."""

import sys
from pathlib import Path

import numpy as np
import pytest

from emotalk_cli.motion.visemes import VISEME_INDEX, lip_aperture, mouth_track

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "evals"))
import eval_motion_real as real  # noqa: E402


@pytest.mark.parametrize("name, words", [
    ("Front_Center.wav", "front center"), ("Rear_Left.wav", "rear left"), ("ball.ogg", "ball"),
    ("egypt_palmtree.ogg", "palm tree"), ("pizzeria_broccolli.ogg", "broccoli"), ("tv_car.ogg", "car"),
    ("moon_fallingstar.ogg", "falling star"),
])
def test_transcript_from_file_name(name, words):
    assert real.transcript(Path(name)) == words


def test_alignment_phones_are_contiguous_and_fill_gaps_with_silence():
    words = [("<sil>", [("SIL", 0, 10)]), ("ball", [("B", 10, 5), ("AO", 15, 20), ("L", 35, 8)]),
             ("pub", [("P", 50, 5), ("AH", 55, 10), ("B", 65, 10)])]
    phones = real.alignment_phones(words, duration=0.9)
    assert [p for p, _, _ in phones] == ["sil", "b", "ao", "l", "sil", "p", "ah", "b", "sil"]
    assert phones[0][1] == 0.0 and phones[-1][2] == pytest.approx(0.9)
    assert all(abs(a[2] - b[1]) < 1e-9 for a, b in zip(phones, phones[1:]))
    assert phones[4][1:] == pytest.approx((0.43, 0.50))  # the gap between the words
    assert phones[3][1:] == pytest.approx((0.35, 0.43))


def test_alignment_phones_clip_to_the_audio_and_stretch_the_last():
    words = [("ball", [("B", 2, 5), ("AO", 7, 20), ("L", 27, 40)])]
    phones = real.alignment_phones(words, duration=0.5)  # L runs past the end
    assert phones[0] == ("sil", 0.0, pytest.approx(0.02))
    assert phones[-1][0] == "l" and phones[-1][2] == pytest.approx(0.5)
    assert real.alignment_phones([], duration=0.3) == [("sil", 0.0, 0.3)]


def test_reference_tracks_follow_the_phones():
    phones = [("sil", 0.0, 0.2), ("m", 0.2, 0.32), ("aa", 0.32, 0.6), ("sil", 0.6, 0.8)]
    mouth, viseme = real.reference_tracks(phones, 25.0, 20)
    assert mouth.shape == (20, 52) and viseme.shape == (20,)
    np.testing.assert_array_equal(mouth, mouth_track(phones, 25.0, "arpabet", 20))
    assert viseme[0] == VISEME_INDEX["sil"] and viseme[6] == VISEME_INDEX["PP"] and viseme[10] == VISEME_INDEX["aa"]
    aperture = lip_aperture(mouth)
    assert aperture[6] < 0.12 < aperture[11]  # lips closed on m, open on aa


def test_offset_is_found_from_a_shifted_reference():
    """The eval's offset figure (evaluate.best_lag) on tracks made by these helpers: a delay shows."""
    from emotalk_cli.motion.evaluate import best_lag

    phones = [("sil", 0.0, 0.1), ("b", 0.1, 0.2), ("aa", 0.2, 0.45), ("m", 0.45, 0.55), ("iy", 0.55, 0.8), ("sil", 0.8, 1.2)]
    ref = lip_aperture(real.reference_tracks(phones, 25.0, 30)[0])
    late = np.concatenate([np.zeros(2), ref[:-2]])
    assert best_lag([(late, ref)]) == 2 and best_lag([(ref, ref)]) == 0


def test_align_flite_speech_matches_its_own_phone_timings():
    """pocketsphinx's alignment of TTS speech lands near the synthesiser's own phone boundaries."""
    pytest.importorskip("pocketsphinx")
    from emotalk_cli.motion.tts import available_engines, speak

    if not available_engines()["flite"]:
        pytest.skip("flite not installed")
    import torch
    import torchaudio.functional as AF

    speech = speak("bob bought a map", "flite:slt")
    wave = AF.resample(torch.from_numpy(speech.samples), speech.sample_rate, 16_000).numpy()
    duration = len(wave) / 16_000
    phones = real.alignment_phones(real.align(wave, "bob bought a map"), duration)
    spoken = [(p, s, e) for p, s, e in phones if p != "sil"]
    truth = [(p, s, e) for p, s, e in speech.phones if p != "pau"]
    from emotalk_cli.motion.visemes import phone_visemes

    assert [phone_visemes(p) for p, _, _ in spoken] == [phone_visemes(p) for p, _, _ in truth]  # cmudict's ah = flite's ax
    starts = np.abs(np.array([s for _, s, _ in spoken]) - np.array([s for _, s, _ in truth]))
    assert np.median(starts) <= 0.03 and starts.max() <= 0.08


# ---------------------------------------------------------------------------------------------
# The other issue-5 measurement scripts' pure helpers (evals/eval_emotion_pixels.py, benchmarks/bench_animate.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_animate  # noqa: E402
import eval_emotion_pixels as pixels  # noqa: E402


def test_emotion_judge_needs_the_margin_and_twice_the_seed_noise():
    channels = ("browInnerUp", "mouthFrownLeft")
    quiet = {"browInnerUp": 0.01, "mouthFrownLeft": -0.01}
    assert pixels.judge({"browInnerUp": 0.10, "mouthFrownLeft": 0.06}, quiet, channels)["ok"]
    assert not pixels.judge({"browInnerUp": 0.04, "mouthFrownLeft": 0.04}, quiet, channels)["ok"]  # under the margin
    noisy = {"browInnerUp": 0.06, "mouthFrownLeft": -0.06}
    verdict = pixels.judge({"browInnerUp": 0.10, "mouthFrownLeft": 0.06}, noisy, channels)
    assert not verdict["ok"] and verdict["needed"] == pytest.approx(0.12)  # seeds alone move it by 0.06
    assert not pixels.judge({"browInnerUp": -0.2, "mouthFrownLeft": -0.2}, quiet, channels)["ok"]  # the wrong way


def test_emotion_prompts_come_from_the_prototypes():
    from emotalk_cli import facs

    joy = pixels.prompt_vector("joy", "facs", 2.0)
    assert joy[facs.AU_INDEX["AU12"]] == 1.0 and joy[facs.AU_INDEX["AU6"]] == 1.0 and joy.sum() == 2.0
    assert set(pixels.EXPECTED) == set(pixels.PROTOTYPE_OF) == {"joy", "anger", "surprise", "sadness"}


def test_looped_speech_has_the_length_asked_and_repeats_the_source(tmp_path):
    import soundfile

    source = tmp_path / "s.wav"
    clip = (0.5 * np.sin(np.arange(3000) / 7.0)).astype(np.float32)
    soundfile.write(str(source), clip, 16_000, subtype="PCM_16")
    out = bench_animate.looped_speech(tmp_path / "long.wav", 2.5, source=source, block_seconds=0.7)
    data, rate = soundfile.read(str(out), dtype="float32")
    assert rate == 16_000 and len(data) == 40_000
    original, _ = soundfile.read(str(source), dtype="float32")
    np.testing.assert_array_equal(data[:3000], original)
    np.testing.assert_array_equal(data[3000 * 7: 3000 * 8], original)  # across block boundaries too


def test_animate_closing_line_is_parsed():
    line = "wrote a.mp4 (250 frames at 25 fps for 10.00 s of audio; motion sampled in 0.41 s, total 9.8 s)"
    assert bench_animate.sampled_seconds(line) == 0.41 and bench_animate.sampled_seconds("nothing") is None
    assert bench_animate.command_seconds(line) == 9.8 and bench_animate.command_seconds("nothing") is None
