"""Forced alignment of English speech to its transcript with pocketsphinx: words and ARPAbet phones
with their times.

    words = align(wave, "front center")              # wave [N] float at 16 kHz
    phones = alignment_phones(words, duration)       # [(phone, start s, end s)], contiguous, "sil" between

PyPI pocketsphinx 5.1.1 ships CMU Sphinx's en-US acoustic model and cmudict (phone boundaries in
10 ms frames, within 10-40 ms of flite's exact timings: RESOURCES.md; 0.959 as a lip-aperture track
against exact timings, motion/align_dtw.py). Used by the real-speech evaluation
(evals/eval_motion_real.py) for its reference and by motion/recorded.py to time recorded training
speech. Words outside cmudict cannot be aligned: `unknown_words` finds them first.
"""

from __future__ import annotations

import numpy as np

ALIGN_FRAME = 0.01  # s: pocketsphinx's frame (alignment times are counted in these)
SAMPLE_RATE = 16_000  # the en-US model's rate


def unknown_words(text: str) -> list[str]:
    """The words of `text` (lower case, space-separated) that pocketsphinx's dictionary lacks."""
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL")
    return [w for w in text.split() if decoder.lookup_word(w) is None]


def align(wave: np.ndarray, text: str, sample_rate: int = SAMPLE_RATE) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Forced alignment with pocketsphinx: wave [N] float in [-1, 1] at 16 kHz, the words said ->
    [(word, [(phone, start, duration), ...]), ...], times in 10 ms frames ("<sil>" words for pauses).

    Two passes as pocketsphinx's documentation gives them: decode against the text, then
    `set_alignment()` and decode again for the phone level."""
    from pocketsphinx import Decoder

    if sample_rate != SAMPLE_RATE:
        raise ValueError("pocketsphinx's en-US model wants 16 kHz audio")
    pcm = (np.clip(wave, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    decoder = Decoder(samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL")
    decoder.set_align_text(text)
    for _ in range(2):
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if _ == 0:
            decoder.set_alignment()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise ValueError(f"pocketsphinx could not align {text!r}")
    return [(word.name, [(phone.name, int(phone.start), int(phone.duration)) for phone in word]) for word in alignment]


def alignment_phones(words: list[tuple[str, list[tuple[str, int, int]]]], duration: float,
                     frame: float = ALIGN_FRAME) -> list[tuple[str, float, float]]:
    """Aligned words -> contiguous timed ARPAbet phones [(phone, start s, end s)] covering [0, duration]:
    lower-cased, gaps (and any time before the first / after the last phone) filled with "sil",
    times clipped to the duration, the last phone stretched to it (as the corpus does)."""
    phones: list[tuple[str, float, float]] = []
    cursor = 0.0
    for _, parts in words:
        for name, start, length in parts:
            s, e = min(start * frame, duration), min((start + length) * frame, duration)
            if e <= s or e <= cursor:
                continue
            s = max(s, cursor)
            if s > cursor + 1e-9:
                phones.append(("sil", cursor, s))
            phones.append((name.lower(), s, e))
            cursor = e
    if not phones:
        return [("sil", 0.0, duration)]
    if cursor < duration - 1e-9:
        phones.append(("sil", cursor, duration))
    else:
        phones[-1] = (phones[-1][0], phones[-1][1], duration)
    return phones
