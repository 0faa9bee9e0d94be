"""motion/align_sphinx.py: pocketsphinx forced alignment -> contiguous timed phones."""

import numpy as np
import pytest

from emotalk_cli.motion.align_sphinx import align, alignment_phones, unknown_words


def test_alignment_phones_are_contiguous_and_fill_gaps_with_silence():
    words = [("<sil>", [("SIL", 0, 10)]), ("ball", [("B", 10, 5), ("AO", 15, 20), ("L", 35, 8)]),
             ("pub", [("P", 50, 5), ("AH", 55, 10), ("B", 65, 10)])]
    phones = alignment_phones(words, duration=0.9)
    assert [p for p, _, _ in phones] == ["sil", "b", "ao", "l", "sil", "p", "ah", "b", "sil"]
    assert phones[0][1] == 0.0 and phones[-1][2] == pytest.approx(0.9)
    assert all(abs(a[2] - b[1]) < 1e-9 for a, b in zip(phones, phones[1:]))
    assert phones[4][1:] == pytest.approx((0.43, 0.50))  # the gap between the words
    assert phones[3][1:] == pytest.approx((0.35, 0.43))


def test_alignment_phones_clip_to_the_audio_and_stretch_the_last():
    words = [("ball", [("B", 2, 5), ("AO", 7, 20), ("L", 27, 40)])]
    phones = alignment_phones(words, duration=0.5)  # L runs past the end
    assert phones[0] == ("sil", 0.0, pytest.approx(0.02))
    assert phones[-1][0] == "l" and phones[-1][2] == pytest.approx(0.5)
    assert alignment_phones([], duration=0.3) == [("sil", 0.0, 0.3)]


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
    phones = alignment_phones(align(wave, "bob bought a map"), duration)
    spoken = [(p, s, e) for p, s, e in phones if p != "sil"]
    truth = [(p, s, e) for p, s, e in speech.phones if p != "pau"]
    from emotalk_cli.motion.visemes import phone_visemes

    assert [phone_visemes(p) for p, _, _ in spoken] == [phone_visemes(p) for p, _, _ in truth]  # cmudict's ah = flite's ax
    starts = np.abs(np.array([s for _, s, _ in spoken]) - np.array([s for _, s, _ in truth]))
    assert np.median(starts) <= 0.03 and starts.max() <= 0.08


def test_unknown_words_are_the_ones_outside_the_dictionary():
    pytest.importorskip("pocketsphinx")
    assert unknown_words("please press one") == []
    assert unknown_words("please unmute zqxwv") == ["unmute", "zqxwv"]
