"""Speak text with the machine's TTS voices and get the exact timing of every phone.

    speak("Hello there.", "flite:slt")      -> Speech(samples [N] float32, sample_rate, phones)
    speak("Guten Tag.", "espeak:de+f3")     -> the same, phones in IPA
    speak("Hello there.", "festival:ked")   -> the same, phones in ARPAbet

Voice names are "<engine>:<voice>":
- `flite:kal|kal16|awb|rms|slt`: the flite binary with `-psdur`, which prints `phone:end_time`
  pairs (seconds) for the utterance it synthesises; starts are the previous end. Phones are
  ARPAbet in lower case (`pau` for silence). Checked here: kal/kal16 print a final `pau` that
  ends after the audio (the diphone voices trim the trailing silence), so ends are clipped to the
  audio's length; energy onsets/offsets agree with the printed boundaries within one 20 ms step.
  `rate` maps to flite's `duration_stretch`, `pitch` to `int_f0_target_mean`.
- `espeak:<lang>[+variant]` (e.g. `espeak:fr`, `espeak:en+m3`): libespeak-ng through ctypes in
  synchronous mode, initialised with espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA,
  so the synthesis callback receives a phoneme event, carrying the IPA name and the sample at which
  the phoneme starts, next to the audio. Ends are the next phone's start (the last ends with the
  audio). Pauses arrive as empty names and are returned as `_`. `rate` scales espeak's words per
  minute (175 = 1.0), `pitch` is espeak's 0-100 pitch parameter. The library is process-global:
  calls are serialised with a lock, and each worker process loads its own copy.
  Timing checked against pocketsphinx 5.1.1 forced alignment (en-US model, cmudict) of the same
  audio resampled to 16 kHz, 40 grammar sentences: espeak-ng word-event starts vs pocketsphinx word
  starts, median |diff| 7 ms, 90th percentile 27-32 ms, mean offset +-4 ms (en, en-us; 198 words);
  for comparison flite's -psdur phone boundaries vs pocketsphinx phones: median 9 ms, p90 23 ms
  (slt, awb; 2279 boundaries). Pocketsphinx itself is only good to 10-40 ms, so both routes are
  within its resolution.

- `festival:ked|kal|slt`: the festival binary in batch mode on a Scheme script that synthesises
  the text, saves the wave and prints each item of the utterance's Segment relation with its `end`
  feature (seconds). Phones are festival's US "radio" set, ARPAbet as flite's (`pau` for silence).
  ked (festvox-kdlpc16k) is a diphone voice of a speaker no other engine has; kal is the flite kal
  speaker's diphone voice, slt an HTS voice of the flite slt speaker. `rate` maps to festival's
  Duration_Stretch (hts_engine's speed option for slt); `pitch` is not used. Timing checked as for
  the others (15 grammar sentences a voice, boundaries where the phone sequences match): against
  pocketsphinx, median |diff| 10 ms, p90 26 ms (ked), 20 ms (slt); flite slt on the same: 10 / 25 ms.

Sources: flite (Black & Lenzo 2001), the Festival Speech Synthesis System (Black, Taylor & Caley), eSpeak NG (Dunn et al.; the ctypes layout follows the
public `speak_lib.h` API: espeak_EVENT, espeak_Initialize, espeak_SetSynthCallback).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field

import numpy as np
import soundfile

from emotalk_cli.errors import EmotalkError


class TTSError(EmotalkError):
    """A voice is unknown, a TTS engine is missing, or synthesis failed."""


Phone = tuple[str, float, float]  # (name, start seconds, end seconds)

FLITE_VOICES: tuple[str, ...] = ("kal", "kal16", "awb", "rms", "slt")
SILENCE = "_"  # espeak's pauses, returned under this name; flite uses "pau"


@dataclass
class Speech:
    samples: np.ndarray  # [N] float32 mono in [-1, 1]
    sample_rate: int  # Hz: 8000 (flite kal), 16000 (other flite voices) or 22050 (espeak-ng)
    phones: list[Phone]  # contiguous, monotone, first start 0, last end = N / sample_rate
    voice: str  # "flite:slt", "espeak:de+f3", ...
    alphabet: str  # "arpabet" (flite) or "ipa" (espeak-ng)
    words: list[tuple[int, float]] = field(default_factory=list)  # (text position, start s); espeak only

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def speak(text: str, voice: str, rate: float = 1.0, pitch: float | None = None) -> Speech:
    """Synthesise `text` with `voice` ("flite:slt", "espeak:fr+m2"); `rate` > 1 speaks faster."""
    engine, _, name = voice.partition(":")
    if not name or not text.strip():
        raise TTSError(f"cannot speak {text!r} with voice {voice!r}: give text and '<engine>:<voice>'")
    if engine == "flite":
        return _speak_flite(text, name, rate, pitch)
    if engine == "espeak":
        return _speak_espeak(text, name, rate, pitch)
    if engine == "festival":
        return _speak_festival(text, name, rate)
    raise TTSError(f"unknown TTS engine in voice {voice!r}: use flite:<voice>, espeak:<lang>[+variant] or festival:<voice>")


def available_engines() -> dict[str, bool]:
    """Which engines can speak on this machine."""
    return {"flite": shutil.which("flite") is not None, "espeak": _espeak_library_path() is not None,
            "festival": shutil.which("festival") is not None}


def _regularise(phones: list[Phone], duration: float) -> list[Phone]:
    """Clip to [0, duration], drop empty phones, make contiguous; the last phone ends at `duration`."""
    out: list[Phone] = []
    start = 0.0
    for i, (name, _, end) in enumerate(phones):
        end = min(max(end, start), duration)
        if i == len(phones) - 1:
            end = duration
        if end - start > 1e-6:
            out.append((name, start, end))
            start = end
    if not out:
        out = [(SILENCE, 0.0, duration)]
    elif out[-1][2] < duration:
        out[-1] = (out[-1][0], out[-1][1], duration)
    return out


# ---------------------------------------------------------------------------------------------
# flite


def _speak_flite(text: str, name: str, rate: float, pitch: float | None) -> Speech:
    if name not in FLITE_VOICES:
        raise TTSError(f"unknown flite voice {name!r}: one of {', '.join(FLITE_VOICES)}")
    binary = shutil.which("flite")
    if binary is None:
        raise TTSError("flite is not installed: apt-get install flite")
    with tempfile.TemporaryDirectory(prefix="emotalk-flite-") as folder:
        wav = os.path.join(folder, "out.wav")
        command = [binary, "-voice", name, "-psdur", "--setf", f"duration_stretch={1.0 / rate:.4f}"]
        if pitch is not None:
            command += ["--setf", f"int_f0_target_mean={pitch:.1f}"]
        result = subprocess.run(command + ["-t", text, "-o", wav], capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(wav):
            raise TTSError(f"flite failed on {text!r}: {result.stderr.strip() or result.returncode}")
        samples, sample_rate = soundfile.read(wav, dtype="float32", always_2d=True)
    samples = samples.mean(axis=1)
    ends = [(phone, float(end)) for phone, sep, end in (token.rpartition(":") for token in result.stdout.split()) if sep]
    return Speech(samples, int(sample_rate), _phones_from_ends(ends, len(samples) / sample_rate), f"flite:{name}", "arpabet")


def _phones_from_ends(ends: list[tuple[str, float]], duration: float) -> list[Phone]:
    """(phone, end s) in order, as flite and festival print them -> contiguous phones over [0, duration]."""
    phones: list[Phone] = []
    start = 0.0
    for phone, end in ends:
        phones.append((phone, start, end))
        start = end
    return _regularise(phones, duration)


# ---------------------------------------------------------------------------------------------
# festival

#: festival voice name -> (Scheme voice function, Debian package)
FESTIVAL_VOICES: dict[str, tuple[str, str]] = {
    "ked": ("voice_ked_diphone", "festvox-kdlpc16k"),
    "kal": ("voice_kal_diphone", "festvox-kallpc16k"),
    "slt": ("voice_cmu_us_slt_arctic_hts", "festvox-us-slt-hts"),
}


def _festival_rate(function: str, rate: float) -> str:
    """Scheme that sets the speaking rate: diphone voices stretch festival's durations; HTS voices
    ignore that and take hts_engine's speed option (-r) instead."""
    if function.endswith("_hts"):
        return f'(set! hts_engine_params (append hts_engine_params (list (list "-r" {rate:.4f}))))\n'
    return f"(Parameter.set 'Duration_Stretch {1.0 / rate:.4f})\n"


def _scheme_string(text: str) -> str:
    """text as a Scheme string literal (backslashes and quotes escaped, control characters as spaces)."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _speak_festival(text: str, name: str, rate: float) -> Speech:
    if name not in FESTIVAL_VOICES:
        raise TTSError(f"unknown festival voice {name!r}: one of {', '.join(FESTIVAL_VOICES)}")
    binary = shutil.which("festival")
    function, package = FESTIVAL_VOICES[name]
    if binary is None:
        raise TTSError(f"festival is not installed: apt-get install festival {package}")
    with tempfile.TemporaryDirectory(prefix="emotalk-festival-") as folder:
        wav, script = os.path.join(folder, "out.wav"), os.path.join(folder, "say.scm")
        with open(script, "w", encoding="utf-8") as f:
            f.write(f"({function})\n" + _festival_rate(function, rate) +
                    f"(set! utt (Utterance Text {_scheme_string(text)}))\n"
                    "(utt.synth utt)\n"
                    f"(utt.save.wave utt {_scheme_string(wav)} 'riff)\n"
                    '(mapcar (lambda (s) (format t "%s %f\\n" (item.name s) (item.feat s "end")))'
                    " (utt.relation.items utt 'Segment))\n")
        result = subprocess.run([binary, "-b", script], capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(wav):
            detail = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
            raise TTSError(f"festival failed on {text!r} with voice {name} ({detail}); is {package} installed?")
        samples, sample_rate = soundfile.read(wav, dtype="float32", always_2d=True)
    samples = samples.mean(axis=1)
    ends = [(parts[0], float(parts[1])) for parts in map(str.split, result.stdout.splitlines())
            if len(parts) == 2 and re.fullmatch(r"[0-9.]+", parts[1])]
    return Speech(samples, int(sample_rate), _phones_from_ends(ends, len(samples) / sample_rate), f"festival:{name}", "arpabet")


# ---------------------------------------------------------------------------------------------
# espeak-ng through ctypes

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
_ESPEAK_DEFAULT_WPM = 175


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms, rounded down; `sample` is exact
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Espeak:
    """The process-wide libespeak-ng, initialised once; `synth` is serialised by a lock."""

    def __init__(self, path: str):
        self.lib = ctypes.CDLL(path)
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        flags = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, flags)
        if self.sample_rate <= 0:
            raise TTSError("libespeak-ng failed to initialise: reinstall espeak-ng-data")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, str]] = []
        self._callback = _Callback(self._on_audio)  # kept referenced: the library holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _on_audio(self, wav, count, events) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                name = bytes(event.id.string).split(b"\0")[0].decode("utf-8", errors="ignore")
                self._events.append((_EVENT_PHONEME, event.sample, event.text_position, name))
            elif event.type == _EVENT_WORD:
                self._events.append((_EVENT_WORD, event.sample, event.text_position, ""))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: float, pitch: float | None):
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise TTSError(f"espeak-ng has no voice {voice!r}: see `espeak-ng --voices` and --voices=variant")
            self.lib.espeak_SetParameter(_PARAM_RATE, int(round(_ESPEAK_DEFAULT_WPM * rate)), 0)
            self.lib.espeak_SetParameter(_PARAM_PITCH, int(round(50 if pitch is None else pitch)), 0)
            self._chunks, self._events = [], []
            data = text.encode("utf-8") + b"\0"
            status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
            if status != 0:
                raise TTSError(f"espeak-ng failed on {text!r} (status {status})")
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
            return samples, list(self._events)


_ESPEAK: _Espeak | None = None


def _espeak_library_path() -> str | None:
    for candidate in ("libespeak-ng.so.1", ctypes.util.find_library("espeak-ng")):
        if not candidate:
            continue
        try:
            ctypes.CDLL(candidate)
            return candidate
        except OSError:
            continue
    return None


def _espeak() -> _Espeak:
    global _ESPEAK
    if _ESPEAK is None:
        path = _espeak_library_path()
        if path is None:
            raise TTSError("libespeak-ng is not installed: apt-get install espeak-ng")
        _ESPEAK = _Espeak(path)
    return _ESPEAK


def _speak_espeak(text: str, name: str, rate: float, pitch: float | None) -> Speech:
    engine = _espeak()
    raw, events = engine.synth(text, name, rate, pitch)
    sample_rate = engine.sample_rate
    duration = len(raw) / sample_rate
    if duration == 0:
        raise TTSError(f"espeak-ng made no audio for {text!r} with voice {name!r}")
    phones: list[Phone] = []
    words: list[tuple[int, float]] = []
    starts = [(sample / sample_rate, phone) for kind, sample, _, phone in events if kind == _EVENT_PHONEME]
    words = [(position, sample / sample_rate) for kind, sample, position, _ in events if kind == _EVENT_WORD]
    if not starts or starts[0][0] > 1e-6:
        starts.insert(0, (0.0, SILENCE))
    for i, (start, phone) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else duration
        phones.append((phone or SILENCE, start, end))
    phones = _merge_silences(_regularise(phones, duration))
    samples = (raw.astype(np.float32) / 32768.0).astype(np.float32)
    return Speech(samples, sample_rate, phones, f"espeak:{name}", "ipa", words)


def _merge_silences(phones: list[Phone]) -> list[Phone]:
    out: list[Phone] = []
    for phone in phones:
        if out and phone[0] == SILENCE and out[-1][0] == SILENCE:
            out[-1] = (SILENCE, out[-1][1], phone[2])
        else:
            out.append(phone)
    return out
