"""Phone timings from the TTS engines, visemes and the coarticulated mouth track."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from emotalk_cli.facs import ARKIT_INDEX
from emotalk_cli.motion import tts
from emotalk_cli.motion.visemes import VISEMES, lip_aperture, mouth_track, phone_visemes, viseme_pose

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed")
needs_espeak = pytest.mark.skipif(not tts.available_engines()["espeak"], reason="libespeak-ng not installed")
needs_festival = pytest.mark.skipif(shutil.which("festival") is None, reason="festival not installed (optional, for --festival-share: apt-get install festival festvox-kdlpc16k festvox-us-slt-hts)")

FPS = 25.0


def _check_timings(speech: tts.Speech) -> None:
    starts = np.array([s for _, s, _ in speech.phones])
    ends = np.array([e for _, _, e in speech.phones])
    assert starts[0] == 0.0
    assert np.all(ends > starts), "every phone has a positive duration"
    assert np.allclose(starts[1:], ends[:-1]), "phones are contiguous"
    assert ends[-1] == pytest.approx(speech.duration, abs=1e-6), "phones cover the audio"
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert np.abs(speech.samples).max() > 0.01


@needs_flite
@pytest.mark.parametrize("voice", ["flite:slt", "flite:kal"])
def test_flite_timings_monotone_and_cover_audio(voice):
    speech = tts.speak("Bob made a map of the park.", voice)
    assert speech.alphabet == "arpabet"
    _check_timings(speech)
    names = [p for p, _, _ in speech.phones]
    assert names[0] == "pau" and "b" in names and "m" in names


@needs_flite
def test_flite_rate_changes_duration():
    slow = tts.speak("Hello there, my friend.", "flite:slt", rate=0.7)
    fast = tts.speak("Hello there, my friend.", "flite:slt", rate=1.4)
    assert slow.duration > 1.5 * fast.duration


@needs_festival
@pytest.mark.parametrize("voice", ["festival:ked", "festival:slt"])
def test_festival_timings_monotone_and_cover_audio(voice):
    speech = tts.speak('Bob said "map" to the park\'s keeper.', voice)  # quotes reach Scheme escaped
    assert speech.alphabet == "arpabet"
    _check_timings(speech)
    names = [p for p, _, _ in speech.phones]
    assert names[0] == "pau" and "b" in names and "m" in names
    assert all(phone_visemes(p, "arpabet") for p in names)
    slow = tts.speak("Hello there, my friend.", voice, rate=0.7)
    fast = tts.speak("Hello there, my friend.", voice, rate=1.4)
    assert slow.duration > 1.3 * fast.duration


@needs_espeak
@pytest.mark.parametrize("voice", ["espeak:en", "espeak:de+f3", "espeak:fr", "espeak:pl+m2"])
def test_espeak_timings_monotone_and_cover_audio(voice):
    speech = tts.speak("Maria bought bread. Maria kaufte Brot.", voice)
    assert speech.alphabet == "ipa" and speech.sample_rate == 22050
    _check_timings(speech)
    assert any(phone_visemes(p, "ipa") == ("PP",) for p, _, _ in speech.phones)
    assert speech.words and all(0 <= t <= speech.duration for _, t in speech.words)


@needs_espeak
def test_espeak_phone_onsets_match_audio_energy():
    """The audio is quiet at the first phone event of the utterance and loud inside vowels."""
    speech = tts.speak("Papa ate a banana.", "espeak:en")
    rate = speech.sample_rate

    def rms(t0, t1):
        seg = speech.samples[int(t0 * rate):int(t1 * rate)]
        return float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0

    vowels = [(s, e) for p, s, e in speech.phones if phone_visemes(p, "ipa")[0] in ("aa", "E") and e - s > 0.05]
    assert vowels
    loud = np.median([rms(s + 0.2 * (e - s), e - 0.2 * (e - s)) for s, e in vowels])
    assert rms(0.0, speech.phones[0][2] - 0.005) < 0.1 * loud  # leading pause is silent
    assert loud > 0.02


def test_unknown_voice_raises():
    with pytest.raises(tts.TTSError):
        tts.speak("hello", "nosuch:voice")
    with pytest.raises(tts.TTSError):
        tts.speak("hello", "flite:nobody")
    with pytest.raises(tts.TTSError):
        tts.speak("hello", "festival:nobody")


def test_phone_to_viseme_tables():
    assert phone_visemes("p") == ("PP",) and phone_visemes("m") == ("PP",) and phone_visemes("aa") == ("aa",)
    assert phone_visemes("ay") == ("aa", "ih")  # diphthong split
    assert phone_visemes("AY1") == ("aa", "ih")  # stress digits and case ignored
    assert phone_visemes("b", "ipa") == ("PP",)
    assert phone_visemes("tʃ", "ipa") == ("CH",)
    assert phone_visemes("aɪ", "ipa") == ("aa", "ih")
    assert phone_visemes("ɔ̃", "ipa") == ("oh",)  # nasal vowel: diacritic dropped
    assert phone_visemes("uː", "ipa") == ("ou",)
    assert phone_visemes("", "ipa") == ("sil",)
    for viseme in VISEMES:
        pose = viseme_pose(viseme)
        assert pose.shape == (52,) and pose.min() >= 0 and pose.max() <= 1
        assert pose[ARKIT_INDEX["tongueOut"]] == 0


def _toy_phones() -> list[tuple[str, float, float]]:
    seq = [("pau", 0.2), ("b", 0.08), ("aa", 0.18), ("m", 0.09), ("iy", 0.15), ("p", 0.1), ("uw", 0.2),
           ("s", 0.1), ("aa", 0.2), ("pau", 0.3)]
    phones, t = [], 0.0
    for name, d in seq:
        phones.append((name, t, t + d))
        t += d
    return phones


def test_bilabials_close_lips_and_vowels_open_jaw():
    phones = _toy_phones()
    track = mouth_track(phones, FPS)
    aperture = lip_aperture(track)
    for name, s, e in phones:
        k = int(round((s + e) / 2 * FPS))
        if name in ("b", "m", "p"):
            assert aperture[k] < 0.08, f"{name} at {k}: lips apart by {aperture[k]:.3f}"
            assert track[k, ARKIT_INDEX["mouthClose"]] > 0.5 * track[k, ARKIT_INDEX["jawOpen"]]
            assert track[k, ARKIT_INDEX["mouthPressLeft"]] > 0.25
        if name == "aa":
            assert track[k, ARKIT_INDEX["jawOpen"]] > 0.35 and aperture[k] > 0.25
        if name == "uw":
            assert track[k, ARKIT_INDEX["mouthPucker"]] > 0.3
    assert aperture[0] < 0.05  # rest during the leading pause


def test_track_smooth_and_in_range():
    track = mouth_track(_toy_phones(), FPS)
    assert track.shape == (int(np.ceil(1.6 * FPS)), 52) and track.dtype == np.float32
    assert track.min() >= 0 and track.max() <= 1
    assert np.abs(np.diff(track, axis=0)).max() < 0.25  # no jumps between 40 ms frames
    # at 100 fps the same track is smoother still, and agrees with the 25 fps one at shared times
    fine = mouth_track(_toy_phones(), 100.0)
    assert np.abs(np.diff(fine, axis=0)).max() < 0.1
    assert np.allclose(fine[::4][: len(track)], track, atol=1e-5)


def test_articulation_sliders_scale_jaw():
    phones = _toy_phones()
    low = mouth_track(phones, FPS, jaw=0.6)[:, ARKIT_INDEX["jawOpen"]]
    high = mouth_track(phones, FPS, jaw=1.3)[:, ARKIT_INDEX["jawOpen"]]
    assert high.max() > low.max() * 1.5


@needs_espeak
def test_espeak_track_for_other_languages():
    for voice in ("espeak:es", "espeak:it"):
        speech = tts.speak("Mamma mia, papà!", voice)
        track = mouth_track(speech.phones, FPS, "ipa")
        aperture = lip_aperture(track)
        centres = [int(round((s + e) / 2 * FPS)) for p, s, e in speech.phones if phone_visemes(p, "ipa") == ("PP",)]
        assert centres and np.median(aperture[np.minimum(centres, len(track) - 1)]) < 0.08
        assert aperture.max() > 0.25
