"""evals/eval_motion_real.py's helpers: transcripts from file names, phones -> reference (the alignment: test_align_sphinx.py)."""

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


def test_the_asterisk_validation_set_is_every_nth_speakable_prompt(tmp_path, monkeypatch):
    from emotalk_cli.motion import recorded

    prompts = [recorded.Prompt(f"p{i}", tmp_path / f"p{i}.wav", text)
               for i, text in enumerate(["Press 1.", "[beep]", "Goodbye!", "Call 1234.", "Thank you", "Please hold"])]
    monkeypatch.setattr(recorded, "find_prompts", lambda: prompts)
    speakable = [("asterisk", tmp_path / f"p{i}.wav", said)
                 for i, said in [(0, "press one"), (2, "goodbye"), (4, "thank you"), (5, "please hold")]]
    assert real.find_recordings("asterisk") == speakable
    assert real.find_recordings("asterisk", every=2) == speakable[::2]
    with pytest.raises(ValueError, match="eval or asterisk"):
        real.find_recordings("nonsense")


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
