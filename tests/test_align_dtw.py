"""DTW alignment: the warping path and time mapping on constructed sequences, and a recording end to end."""

import numpy as np
import pytest

from emotalk_cli.motion import tts
from emotalk_cli.motion.align_dtw import align_to_synthesis, dtw_path, warp_times


def test_identical_sequences_align_on_the_diagonal():
    a = np.random.default_rng(0).standard_normal((30, 13))
    path = dtw_path(a, a)
    assert np.array_equal(path, np.stack([np.arange(30), np.arange(30)], 1))


def test_a_stretched_copy_maps_times_to_twice_as_late():
    a = np.random.default_rng(1).standard_normal((40, 13))
    b = np.repeat(a, 2, axis=0)  # every frame held twice: b is a played at half speed
    path = dtw_path(a, b)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (39, 79)
    assert (np.diff(path, axis=0) >= 0).all() and (np.abs(np.diff(path, axis=0)).sum(1) > 0).all()  # monotone steps
    times = np.array([0.05, 0.1, 0.2, 0.3])
    assert np.allclose(warp_times(times, path), 2 * times, atol=0.011)  # within a frame and a half of 2t


def test_empty_sequence_is_refused():
    with pytest.raises(ValueError):
        dtw_path(np.zeros((0, 13)), np.zeros((5, 13)))


@pytest.mark.skipif(not tts.available_engines()["espeak"], reason="libespeak-ng not installed")
def test_aligned_phones_cover_the_recording_in_order():
    recording = tts.speak("Maria bought a map.", "espeak:en+m3", rate=0.8)  # another voice, slower
    phones = align_to_synthesis(recording.samples, recording.sample_rate, "Maria bought a map.", "espeak:en")
    synthesis = tts.speak("Maria bought a map.", "espeak:en")
    assert [p for p, _, _ in phones] == [p for p, s, e in synthesis.phones][: len(phones)]
    assert phones[0][1] == 0.0 and phones[-1][2] == pytest.approx(recording.duration)
    assert all(e > s for _, s, e in phones) and all(a[2] == b[1] for a, b in zip(phones, phones[1:]))
    # the bilabial /m/ of "map" falls where the recording has it, within 60 ms
    truth = [s for p, s, _ in recording.phones if p == "m"][-1]
    found = [s for p, s, _ in phones if p == "m"][-1]
    assert abs(found - truth) < 0.06
