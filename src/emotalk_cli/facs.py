"""The two expression spaces: FACS action units (how people speak of faces) and ARKit's 52
blendshapes (what the rig deforms and motion files carry), with the maps between them.

Sources
- FACS: Ekman, Friesen & Hager, "Facial Action Coding System" (2002). Intensities A-E are stored
  as 0.2, 0.4, 0.6, 0.8, 1.0 (`FACS_LETTER_INTENSITY`).
- AU -> ARKit: the correspondence table in the ICT-FaceKit README (USC Institute for Creative
  Technologies, MIT licence): AU1 browInnerUp, AU2 browOuterUp, AU4 browDown, AU5 eyeWide,
  AU6 cheekSquint, AU7 eyeSquint, AU9 noseSneer, AU10 mouthShrugUpper/mouthUpperUp, AU12 mouthSmile,
  AU14 mouthDimple, AU15 mouthFrown, AU16 mouthLowerDown, AU17 mouthShrugLower, AU18 mouthPucker,
  AU20 mouthStretch, AU22 mouthFunnel, AU24 mouthPress, AU26/27 jawOpen, AU28 mouthRoll, AU45 eyeBlink.
  Where ARKit has no shape for an AU the map says how it is approximated (see `AU_TO_ARKIT`).
- EMFACS emotion prototypes: Friesen & Ekman, "EMFACS-7: Emotional Facial Action Coding System"
  (1983): happiness 6+12; sadness 1+4+15; surprise 1+2+5B+26; fear 1+2+4+5+7+20+26;
  anger 4+5+7+23; disgust 9+15+16; contempt R12A+R14A.
- ARKit names and order: Apple ARFaceAnchor.BlendShapeLocation, in the column order of the
  Live Link Face CSV export (so motion files export to that layout without reordering).
"""

from __future__ import annotations

import torch
from torch import Tensor

# ---------------------------------------------------------------------------------------------
# ARKit
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
assert len(ARKIT_NAMES) == 52
ARKIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}
#: The speech channels, jawForward ... mouthUpperUpRight: what the audio decides (the motion model
#: weights them in training and takes their median over lip samples)
SPEECH_CHANNELS = slice(ARKIT_INDEX["jawForward"], ARKIT_INDEX["mouthUpperUpRight"] + 1)

# ---------------------------------------------------------------------------------------------
# FACS action units: number -> name (FACS 2002 manual)
AU_DESCRIPTIONS: dict[int, str] = {
    1: "inner brow raiser",
    2: "outer brow raiser",
    4: "brow lowerer",
    5: "upper lid raiser",
    6: "cheek raiser",
    7: "lid tightener",
    9: "nose wrinkler",
    10: "upper lip raiser",
    12: "lip corner puller",
    14: "dimpler",
    15: "lip corner depressor",
    16: "lower lip depressor",
    17: "chin raiser",
    18: "lip pucker",
    20: "lip stretcher",
    22: "lip funneler",
    23: "lip tightener",
    24: "lip pressor",
    25: "lips part",
    26: "jaw drop",
    27: "mouth stretch",
    28: "lip suck",
    43: "eyes closed",
    45: "blink",
}
AU_NUMBERS: tuple[int, ...] = tuple(AU_DESCRIPTIONS)
AU_NAMES: tuple[str, ...] = tuple(f"AU{n}" for n in AU_NUMBERS)
AU_INDEX: dict[str, int] = {name: i for i, name in enumerate(AU_NAMES)}
NUM_AUS = len(AU_NAMES)

#: AUs of the upper face (brows, lids, cheeks): speech barely moves them, so they carry emotion.
UPPER_FACE_AUS: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU43", "AU45")

#: FACS intensity letters as numbers in [0, 1].
FACS_LETTER_INTENSITY: dict[str, float] = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}


def _both(stem: str, weight: float = 1.0) -> dict[str, float]:
    return {f"{stem}Left": weight, f"{stem}Right": weight}


#: AU -> ARKit weights: an AU at intensity 1 drives each listed blendshape to its weight.
#: From the ICT-FaceKit table, except where marked "approx." (ARKit has no such shape):
#: - AU23 lip tightener narrows and thins the red of the lips: approximated by lip press plus a
#:   little lip roll (mouthPress + mouthRoll), which thins the lips the same way.
#: - AU25 lips part: a small lower-lip depression with a slight jaw drop.
#: - AU26 jaw drop vs AU27 mouth stretch: both are jawOpen in ICT; AU27 opens further and stretches.
#: - AU43 eyes closed and AU45 blink are both eyeBlink (they differ in duration, not shape).
AU_TO_ARKIT: dict[str, dict[str, float]] = {
    "AU1": {"browInnerUp": 1.0},
    "AU2": _both("browOuterUp"),
    "AU4": _both("browDown"),
    "AU5": _both("eyeWide"),
    "AU6": _both("cheekSquint"),
    "AU7": _both("eyeSquint"),
    "AU9": _both("noseSneer"),
    "AU10": {"mouthShrugUpper": 0.5, **_both("mouthUpperUp")},
    "AU12": _both("mouthSmile"),
    "AU14": _both("mouthDimple"),
    "AU15": _both("mouthFrown"),
    "AU16": _both("mouthLowerDown"),
    "AU17": {"mouthShrugLower": 1.0},
    "AU18": {"mouthPucker": 1.0},
    "AU20": _both("mouthStretch"),
    "AU22": {"mouthFunnel": 1.0},
    "AU23": {**_both("mouthPress", 0.6), "mouthRollLower": 0.3, "mouthRollUpper": 0.3},  # approx.
    "AU24": _both("mouthPress"),
    "AU25": {"jawOpen": 0.1, **_both("mouthLowerDown", 0.3)},  # approx.
    "AU26": {"jawOpen": 0.6},
    "AU27": {"jawOpen": 1.0, **_both("mouthStretch", 0.3)},
    "AU28": {"mouthRollLower": 1.0, "mouthRollUpper": 1.0},
    "AU43": _both("eyeBlink"),
    "AU45": _both("eyeBlink"),
}
assert set(AU_TO_ARKIT) == set(AU_NAMES)


def au_to_arkit_matrix() -> Tensor:
    """The linear map as a matrix M [A, 52]: arkit = clamp(au @ M, 0, 1)."""
    matrix = torch.zeros(NUM_AUS, len(ARKIT_NAMES))
    for au, targets in AU_TO_ARKIT.items():
        for shape, weight in targets.items():
            matrix[AU_INDEX[au], ARKIT_INDEX[shape]] = weight
    return matrix


def au_to_arkit(au: Tensor) -> Tensor:
    """AU intensities [..., A] in [0, 1] -> ARKit blendshape weights [..., 52] in [0, 1]."""
    if au.shape[-1] != NUM_AUS:
        raise ValueError(f"expected AU intensities [..., {NUM_AUS}], got {tuple(au.shape)}")
    return (au @ au_to_arkit_matrix().to(au)).clamp(0.0, 1.0)


def arkit_to_au(arkit: Tensor) -> Tensor:
    """Read AUs out of ARKit weights [..., 52] -> [..., A] in [0, 1].

    Each AU is the least-squares projection of the weights onto its own ARKit direction
    (sum_j M_ij w_j / sum_j M_ij^2), so an AU made alone by `au_to_arkit` reads back exactly.
    AUs that share their shapes (AU26/AU27, AU43/AU45, AU23/AU24) read each other too.
    """
    if arkit.shape[-1] != len(ARKIT_NAMES):
        raise ValueError(f"expected ARKit weights [..., 52], got {tuple(arkit.shape)}")
    matrix = au_to_arkit_matrix().to(arkit)
    return ((arkit @ matrix.T) / (matrix**2).sum(dim=1)).clamp(0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# EMFACS prototypes (Friesen & Ekman 1983), unilateral and letter intensities made numeric:
# "5B" -> AU5 at 0.4; contempt's R12A+R14A (right side, trace) -> 0.2 on both sides, as the AU
# list here is bilateral. Other AUs at full prototype intensity 1.0.
EMOTION_PROTOTYPES: dict[str, dict[str, float]] = {
    "happiness": {"AU6": 1.0, "AU12": 1.0},
    "sadness": {"AU1": 1.0, "AU4": 1.0, "AU15": 1.0},
    "surprise": {"AU1": 1.0, "AU2": 1.0, "AU5": 0.4, "AU26": 1.0},
    "fear": {"AU1": 1.0, "AU2": 1.0, "AU4": 1.0, "AU5": 1.0, "AU7": 1.0, "AU20": 1.0, "AU26": 1.0},
    "anger": {"AU4": 1.0, "AU5": 1.0, "AU7": 1.0, "AU23": 1.0},
    "disgust": {"AU9": 1.0, "AU15": 1.0, "AU16": 1.0},
    "contempt": {"AU12": 0.2, "AU14": 0.2},
}
EMOTIONS: tuple[str, ...] = tuple(EMOTION_PROTOTYPES)


def prototype_vector(emotion: str) -> Tensor:
    """The EMFACS prototype of `emotion` as AU intensities [A]."""
    if emotion not in EMOTION_PROTOTYPES:
        raise ValueError(f"unknown emotion {emotion!r}: one of {', '.join(EMOTIONS)}")
    return au_vector(EMOTION_PROTOTYPES[emotion])


def au_vector(values: dict[str, float]) -> Tensor:
    """{'AU12': 0.8, ...} -> AU intensities [A]; unknown names raise ValueError naming the known ones."""
    vector = torch.zeros(NUM_AUS)
    for name, value in values.items():
        key = normalize_au_name(name)
        vector[AU_INDEX[key]] = float(value)
    return vector


def normalize_au_name(name: str) -> str:
    """'au12', 'AU12', '12' -> 'AU12'; raises ValueError for AUs this tool does not model."""
    text = name.strip().upper()
    if not text.startswith("AU"):
        text = "AU" + text
    if text not in AU_INDEX:
        raise ValueError(f"unknown action unit {name!r}: known are {', '.join(AU_NAMES)}")
    return text


def arkit_vector(values: dict[str, float]) -> Tensor:
    """{'jawOpen': 1.0, ...} -> ARKit weights [52]; names are matched case-insensitively."""
    lower = {name.lower(): i for name, i in ARKIT_INDEX.items()}
    vector = torch.zeros(len(ARKIT_NAMES))
    for name, value in values.items():
        index = lower.get(name.strip().lower())
        if index is None:
            raise ValueError(f"unknown ARKit blendshape {name!r}: see emotalk_cli.facs.ARKIT_NAMES")
        vector[index] = float(value)
    return vector
