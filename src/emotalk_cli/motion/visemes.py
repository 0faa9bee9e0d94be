"""Timed phones -> visemes -> a smooth ARKit mouth track [T, 52] in [0, 1].

    mouth_track([("pau", 0, .2), ("b", .2, .27), ("aa", .27, .4), ...], fps=25)  # -> [T, 52]

Viseme classes are Meta/Oculus's 15 (sil PP FF TH DD kk CH SS nn RR aa E ih oh ou). ARPAbet
(flite) maps to them as Microsoft SAPI's 22 ARPAbet visemes are grouped into Oculus's set;
diphthongs (ay aw ey ow oy) are split into two halves with their own targets. espeak-ng's IPA
phone names map by their letters (diacritics and length marks dropped; affricates and diphthongs
by their parts), so every language espeak-ng speaks gets visemes.

Coarticulation: the dominance-function model of Cohen & Massaro (1993, "Modeling coarticulation
in synthetic visual speech"). Each phone s has a target T_s per articulatory parameter and a
dominance D_s(t) = a_s * exp(-theta_s * tau), tau the distance in seconds from the phone (zero on
its core: the centre for short phones, the middle part of long ones, a variation added here so
long pauses and vowels hold their shape), with a smaller theta before the phone (anticipation)
than after it (carry-over). The track is sum_s D_s T_s / sum_s D_s. Parameters come in two
groups, jaw and lips, with their own dominance as in JALI (Edwards et al. 2016, "JALI: an animator-
centric viseme model for expressive lip synchronization"): a bilabial owns the lips (they seal)
but barely the jaw, an open vowel owns the jaw; the JALI sliders `jaw` and `lips` scale the
articulation (mumbled .. hyper-articulated) and are drawn per utterance by the corpus.

Lip seal: ARKit's mouthClose closes the lips *against* jawOpen (on this project's rig it lifts the
lower lip by about as much as jawOpen drops it), so it only makes sense as mouthClose <= jawOpen.
The model therefore carries a `seal` parameter in [0, 1] (1 for p b m) and writes
mouthClose = seal * jawOpen: bilabials are sealed whatever the jaw does; `lip_aperture` reads the
opening back. Bilabials also press the lips (mouthPress) with the jaw nearly shut.
"""

from __future__ import annotations

import math
import unicodedata

import numpy as np

from emotalk_cli.facs import ARKIT_INDEX, ARKIT_NAMES

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
VISEME_INDEX = {name: i for i, name in enumerate(VISEMES)}

# ---------------------------------------------------------------------------------------------
# Phones -> visemes

ARPABET_VISEMES: dict[str, tuple[str, ...]] = {
    "pau": ("sil",), "sil": ("sil",), "sp": ("sil",), "h#": ("sil",),
    "p": ("PP",), "b": ("PP",), "m": ("PP",), "em": ("PP",),
    "f": ("FF",), "v": ("FF",),
    "th": ("TH",), "dh": ("TH",),
    "t": ("DD",), "d": ("DD",), "dx": ("DD",),
    "k": ("kk",), "g": ("kk",), "ng": ("kk",), "hh": ("kk",),
    "ch": ("CH",), "jh": ("CH",), "sh": ("CH",), "zh": ("CH",),
    "s": ("SS",), "z": ("SS",),
    "n": ("nn",), "l": ("nn",), "en": ("nn",), "el": ("nn",),
    "r": ("RR",), "er": ("RR",), "axr": ("RR",),
    "aa": ("aa",), "ae": ("aa",), "ah": ("aa",), "ax": ("aa",),
    "eh": ("E",), "ey": ("E", "ih"),
    "ih": ("ih",), "iy": ("ih",), "ix": ("ih",), "y": ("ih",),
    "ao": ("oh",), "ow": ("oh", "ou"),
    "uh": ("ou",), "uw": ("ou",), "w": ("ou",),
    "ay": ("aa", "ih"), "aw": ("aa", "ou"), "oy": ("oh", "ih"),
}

# IPA letters (espeak-ng's phoneme names in IPA mode) -> viseme
_IPA_LETTERS: dict[str, str] = {}
for _viseme, _letters in {
    "PP": "pbmɓ",
    "FF": "fvɱʋɸβ",
    "TH": "θð",
    "DD": "tdʈɖɗcɟ",
    "kk": "kgɡqɢxɣχŋhɦʔħʕɧ",
    "CH": "ʃʒçʝɕʑ",
    "SS": "szʂʐ",
    "nn": "nɲɳlɫʎɭɬɮʟ",
    "RR": "rɾɹɻʀɽɚɝʁɺ",
    "aa": "aɑɐæʌä",
    "E": "eɛəɜɘɤ",
    "ih": "iɪɨjɯʲᵻ",
    "oh": "oɔɒɵøœɞ",
    "ou": "uʊyʏwɥʉ",
}.items():
    for _letter in _letters:
        _IPA_LETTERS[_letter] = _viseme
_VOWEL_VISEMES = {"aa", "E", "ih", "oh", "ou"}
_SILENCES = {"", "_", "_:", "_!", "_|", "||", "|"}


def phone_visemes(phone: str, alphabet: str = "arpabet") -> tuple[str, ...]:
    """One phone -> its viseme(s): one, or two for diphthongs. Unknown phones -> ("sil",)."""
    if alphabet == "arpabet":
        return ARPABET_VISEMES.get(phone.lower().rstrip("012"), ("sil",))
    if alphabet != "ipa":
        raise ValueError(f"unknown phone alphabet {alphabet!r}: 'arpabet' or 'ipa'")
    if phone in _SILENCES:
        return ("sil",)
    letters = [c for c in unicodedata.normalize("NFD", phone) if c in _IPA_LETTERS]
    if not letters:
        return ("sil",)
    visemes = [_IPA_LETTERS[c] for c in letters]
    if visemes[0] in _VOWEL_VISEMES:  # vowel or diphthong: up to two vowel parts
        parts = [v for v in visemes if v in _VOWEL_VISEMES]
        collapsed = [parts[0]] + [v for a, v in zip(parts, parts[1:]) if v != a]
        return tuple(collapsed[:2])
    if "CH" in visemes:  # affricates tʃ dʒ and palatalised clusters look post-alveolar
        return ("CH",)
    if "SS" in visemes:  # ts dz
        return ("SS",)
    if visemes[0] == "PP" and "FF" in visemes:  # pf
        return ("FF",)
    return (visemes[0],)


# ---------------------------------------------------------------------------------------------
# Articulatory parameters and viseme targets

PARAMS: tuple[str, ...] = (
    "jaw",  # jawOpen
    "seal",  # lips sealed against the jaw: mouthClose = seal * jawOpen
    "funnel", "pucker", "stretch", "smile", "roll_lower", "roll_upper", "press", "lower_down", "upper_up",
)
JAW_PARAMS = ("jaw",)
PARAM_INDEX = {name: i for i, name in enumerate(PARAMS)}

#: Viseme -> parameter targets (missing = 0). Poses read off the ARKit shapes' descriptions and the
#: Oculus viseme reference images; kept modest so the emotion layer still has room on top.
VISEME_TARGETS: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"jaw": 0.08, "seal": 1.0, "press": 0.45, "roll_lower": 0.12, "roll_upper": 0.05},
    "FF": {"jaw": 0.10, "seal": 0.6, "roll_lower": 0.40, "upper_up": 0.15},
    "TH": {"jaw": 0.16, "lower_down": 0.10, "upper_up": 0.05},
    "DD": {"jaw": 0.14, "lower_down": 0.08, "stretch": 0.08},
    "kk": {"jaw": 0.18, "lower_down": 0.08, "stretch": 0.05},
    "CH": {"jaw": 0.10, "funnel": 0.45, "pucker": 0.15, "upper_up": 0.10, "lower_down": 0.10},
    "SS": {"jaw": 0.06, "stretch": 0.25, "smile": 0.08, "lower_down": 0.08, "upper_up": 0.06},
    "nn": {"jaw": 0.14, "lower_down": 0.06},
    "RR": {"jaw": 0.16, "funnel": 0.25, "pucker": 0.10},
    "aa": {"jaw": 0.55, "lower_down": 0.25, "upper_up": 0.05},
    "E": {"jaw": 0.32, "stretch": 0.20, "lower_down": 0.20, "smile": 0.05},
    "ih": {"jaw": 0.18, "stretch": 0.35, "smile": 0.12, "lower_down": 0.12},
    "oh": {"jaw": 0.38, "funnel": 0.45, "pucker": 0.15},
    "ou": {"jaw": 0.14, "pucker": 0.65, "funnel": 0.30},
}

# (jaw dominance, lip dominance, theta in 1/s): how strongly and how locally each viseme holds
# its target. Lip-critical consonants own the lips; tongue consonants leave lips and jaw to their
# neighbours (their lips take the next vowel's rounding, as in Cohen & Massaro's /s/ example).
VISEME_DOMINANCE: dict[str, tuple[float, float, float]] = {
    "sil": (0.8, 0.8, 14.0),
    "PP": (0.8, 5.0, 32.0),
    "FF": (0.6, 3.0, 30.0),
    "TH": (0.5, 0.6, 22.0),
    "DD": (0.35, 0.25, 22.0),
    "kk": (0.30, 0.20, 22.0),
    "CH": (0.5, 2.0, 20.0),
    "SS": (0.6, 0.8, 22.0),
    "nn": (0.30, 0.25, 22.0),
    "RR": (0.4, 0.8, 20.0),
    "aa": (1.5, 1.0, 16.0),
    "E": (1.2, 1.0, 16.0),
    "ih": (1.0, 1.0, 16.0),
    "oh": (1.2, 1.5, 16.0),
    "ou": (1.0, 2.0, 16.0),
}
ANTICIPATION = 0.75  # theta before a phone is this times theta after it: gestures start early
WEAK_PHONES = {"hh": 0.25, "ax": 0.5, "h": 0.25, "ə": 0.5, "ɦ": 0.25, "ʲ": 0.3}  # reduced phones: dominance scale
CORE_MARGIN = 0.04  # s: a phone's dominance core spans its middle, this far from each edge


def _target_matrix() -> np.ndarray:
    targets = np.zeros((len(VISEMES), len(PARAMS)), np.float64)
    for viseme, values in VISEME_TARGETS.items():
        for name, value in values.items():
            targets[VISEME_INDEX[viseme], PARAM_INDEX[name]] = value
    return targets


def viseme_pose(viseme: str) -> np.ndarray:
    """A viseme's ARKit pose [52] (what the track shows when the viseme is held alone)."""
    return params_to_arkit(_target_matrix()[VISEME_INDEX[viseme]][None])[0]


def params_to_arkit(params: np.ndarray) -> np.ndarray:
    """Articulatory parameters [T, P] -> ARKit weights [T, 52] in [0, 1]."""
    p = np.clip(params, 0.0, 1.0)
    out = np.zeros((p.shape[0], len(ARKIT_NAMES)), np.float64)
    get = lambda name: p[:, PARAM_INDEX[name]]  # noqa: E731
    out[:, ARKIT_INDEX["jawOpen"]] = get("jaw")
    out[:, ARKIT_INDEX["mouthClose"]] = get("seal") * get("jaw")
    out[:, ARKIT_INDEX["mouthFunnel"]] = get("funnel")
    out[:, ARKIT_INDEX["mouthPucker"]] = get("pucker")
    out[:, ARKIT_INDEX["mouthRollLower"]] = get("roll_lower")
    out[:, ARKIT_INDEX["mouthRollUpper"]] = get("roll_upper")
    for stem, name in (("mouthStretch", "stretch"), ("mouthSmile", "smile"), ("mouthPress", "press"),
                       ("mouthLowerDown", "lower_down"), ("mouthUpperUp", "upper_up")):
        out[:, ARKIT_INDEX[f"{stem}Left"]] = get(name)
        out[:, ARKIT_INDEX[f"{stem}Right"]] = get(name)
    return out.clip(0.0, 1.0)


def lip_aperture(arkit: np.ndarray) -> np.ndarray:
    """How far the lips are apart, [..., 52] -> [...]: jawOpen - mouthClose plus the lip raisers."""
    a = np.asarray(arkit)
    lips = 0.5 * (a[..., ARKIT_INDEX["mouthLowerDownLeft"]] + a[..., ARKIT_INDEX["mouthUpperUpLeft"]])
    return a[..., ARKIT_INDEX["jawOpen"]] - a[..., ARKIT_INDEX["mouthClose"]] + lips


# ---------------------------------------------------------------------------------------------
# Coarticulation


def viseme_segments(
    phones: list[tuple[str, float, float]], alphabet: str = "arpabet"
) -> list[tuple[str, float, float, float]]:
    """Timed phones -> timed visemes (viseme, start, end, dominance scale); diphthongs split in two."""
    out = []
    for phone, start, end in phones:
        parts = phone_visemes(phone, alphabet)
        scale = WEAK_PHONES.get(phone.lower() if alphabet == "arpabet" else phone, 1.0)
        step = (end - start) / len(parts)
        for i, viseme in enumerate(parts):
            out.append((viseme, start + i * step, start + (i + 1) * step, scale))
    return out


def frame_count(duration: float, fps: float) -> int:
    """Frames covering `duration` seconds: frame k shows time k / fps; T = ceil(duration * fps)."""
    return max(1, int(math.ceil(duration * fps - 1e-6)))


def mouth_track(
    phones: list[tuple[str, float, float]],
    fps: float = 25.0,
    alphabet: str = "arpabet",
    num_frames: int | None = None,
    jaw: float = 1.0,
    lips: float = 1.0,
) -> np.ndarray:
    """Timed phones -> coarticulated ARKit mouth track [T, 52] in [0, 1], frame k at time k / fps.

    `jaw` and `lips` are JALI's articulation sliders (1 = as the targets; 0.6 mumbled, 1.3 clear);
    they scale the jaw and the lip-shape targets (not the seal: p b m stay closed).
    """
    segments = viseme_segments(phones, alphabet)
    if num_frames is None:
        num_frames = frame_count(phones[-1][2] if phones else 0.0, fps)
    times = np.arange(num_frames, dtype=np.float64) / fps
    if not segments:
        return np.zeros((num_frames, len(ARKIT_NAMES)), np.float32)
    return params_to_arkit(articulate(segments, times, jaw, lips)).astype(np.float32)


def articulate(
    segments: list[tuple[str, float, float, float]], times: np.ndarray, jaw: float = 1.0, lips: float = 1.0
) -> np.ndarray:
    """Cohen-Massaro blend of timed visemes at `times` [T] -> articulatory parameters [T, P]."""
    targets = _target_matrix()
    index = np.array([VISEME_INDEX[v] for v, *_ in segments])
    start = np.array([s for _, s, _, _ in segments])
    end = np.array([e for _, _, e, _ in segments])
    scale = np.array([k for *_, k in segments])
    dominance = np.array([VISEME_DOMINANCE[v] for v, *_ in segments])  # [S, 3]
    centre = 0.5 * (start + end)
    half_core = np.maximum(0.0, 0.5 * (end - start) - CORE_MARGIN)
    offset = times[:, None] - centre[None, :]  # [T, S]
    tau = np.maximum(0.0, np.abs(offset) - half_core[None, :])
    theta = dominance[None, :, 2] * np.where(offset < 0, ANTICIPATION, 1.0)
    shape = np.exp(-theta * tau)  # [T, S]
    d_jaw = shape * (dominance[:, 0] * scale)[None, :] + 1e-12
    d_lip = shape * (dominance[:, 1] * scale)[None, :] + 1e-12
    seg_targets = targets[index].copy()  # [S, P]
    jaw_columns = [PARAM_INDEX[p] for p in JAW_PARAMS]
    shape_columns = [i for i, p in enumerate(PARAMS) if p not in JAW_PARAMS and p != "seal"]
    seg_targets[:, jaw_columns] *= jaw
    seg_targets[:, shape_columns] *= lips
    out = np.empty((len(times), len(PARAMS)))
    for j, name in enumerate(PARAMS):
        d = d_jaw if name in JAW_PARAMS else d_lip
        out[:, j] = (d @ seg_targets[:, j]) / d.sum(axis=1)
    return out
