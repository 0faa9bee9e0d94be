"""Training speech that a person recorded: the Asterisk PBX core prompts in US English, forced-aligned
to their transcripts, turned into motion exactly as the TTS corpus turns synthetic speech into it.

    python -m emotalk_cli.motion.recorded --out build/corpus-recorded --copies 3     (make corpus-recorded)

Why: every voice of the TTS corpus (corpus.py) is synthetic, and the model hears real people less
well than the held-out synthetic voices (evals/eval_motion_real.py). The recordings: Debian's
asterisk-core-sounds-en-wav, 568 prompts ("Please enter your password followed by the pound key."),
25 min, 8 kHz, spoken by Allison Smith (CC-BY-SA 3.0, upstream's CREDITS; nothing of them ships: they
are read at build time only), with the transcript of each prompt in asterisk-core-sounds-en's
core-sounds-en.txt. Neither is a voice of the real-speech evaluation (alsa-utils' and ktuberling's
speakers), which stays held out.

Each prompt: its transcript made speakable (`spoken_text`: single digits spelt out; prompts with
longer numbers, bracketed sounds or words outside pocketsphinx's dictionary are skipped), aligned
with pocketsphinx (align_sphinx.py: ARPAbet phones, 10 ms frames), checked (at least
`MIN_LOUD_ALIGNED` of the frames within 20 dB of the peak must fall under a spoken phone, or the
prompt is skipped as misaligned), then made into `copies` training utterances by
corpus.speech_utterance, each with its own speed perturbation, audio augmentation, emotion layer,
blinks and head motion. All go to the train split; shards and index.json as corpus.py writes them,
so `motion.train --extra-corpus build/corpus-recorded` adds them to training.

Measured (2026-11-25; 4 copies: 488 of 568 prompts used; skipped: 40 with words outside the
dictionary such as "unmute", 17 bracketed sounds or numbers of several digits, 11 pocketsphinx could
not align, 12 misaligned by the loud-frame check; 1952 utterances, 68 min of audio, built in 156 s
on 2 workers). Fine-tuned for 25 min from the shipped
model's checkpoint beside the TTS corpus (half of the training audio), the model scored lip sync r
0.671 (adversarial loss on) and 0.682 (off) on real speech (shipped 0.673), but its held-out TTS
figures fell: r 0.744 / 0.746 against 0.761 and bilabial closure 76 % / 77 % against 80.8 % (goal
80 %). So the shipped model does not use it; the corpus stays for later models.

Caveat: the references of the real-speech evaluation are pocketsphinx alignments too, so a model
trained on these could learn pocketsphinx's habits rather than better lip sync; the held-out TTS
voices, scored against their exact phone timings (motion.evaluate, evals/eval_reference.py), are the
check that does not share them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio.functional as AF

from emotalk_cli.artifacts import atomic_output
from emotalk_cli.errors import EmotalkError
from emotalk_cli.motion.align_sphinx import SAMPLE_RATE as ALIGN_RATE
from emotalk_cli.motion.align_sphinx import align, alignment_phones, unknown_words
from emotalk_cli.motion.corpus import SHARD_FORMAT, SHARD_VERSION, CorpusConfig, ShardWriter, speech_utterance, worker_results
from emotalk_cli.motion.layers import speech_energy
from emotalk_cli.motion.visemes import frame_count

SOUNDS_PACKAGE = "asterisk-core-sounds-en-wav"
TRANSCRIPT_PACKAGE = "asterisk-core-sounds-en"
VOICE = "recorded:asterisk-allison"
MIN_LOUD_ALIGNED = 0.85  # share of loud frames (within 20 dB of the peak) an alignment must put under a spoken phone
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@dataclass(frozen=True)
class Prompt:
    key: str  # the prompt's name in the transcript file: "agent-pass", "dictate/forhelp"
    path: Path  # its recording
    text: str  # the transcript as written


def _package_files(package: str) -> list[str]:
    try:
        listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    return listing.splitlines()


def find_prompts() -> list[Prompt]:
    """Every prompt that has both a recording and a transcript line, sorted by key; EmotalkError naming
    the fix when the packages are missing."""
    sounds = next((Path(f) for f in _package_files(SOUNDS_PACKAGE) if re.search(r"/sounds/en_US_f_\w+$", f)), None)
    transcript = next((Path(f) for f in _package_files(TRANSCRIPT_PACKAGE) if f.endswith("core-sounds-en.txt.gz")), None)
    if sounds is None or transcript is None or not sounds.is_dir() or not transcript.is_file():
        raise EmotalkError(f"recorded prompts missing: apt-get install {SOUNDS_PACKAGE} {TRANSCRIPT_PACKAGE} "
                           "(or run scripts/corpus_data.sh)")
    return parse_transcripts(gzip.open(transcript, "rt", encoding="utf-8", errors="replace").read(), sounds)


def parse_transcripts(text: str, sounds: Path) -> list[Prompt]:
    """core-sounds-en.txt ("key: transcript" lines, ";" comments) -> prompts whose recording
    `sounds`/key.wav exists, sorted by key."""
    prompts = {}
    for line in text.splitlines():
        if line.startswith(";") or ":" not in line:
            continue
        key, said = (part.strip() for part in line.split(":", 1))
        path = sounds / f"{key}.wav"
        if key and said and path.is_file():
            prompts[key] = Prompt(key, path, said)
    return [prompts[k] for k in sorted(prompts)]


def spoken_text(text: str) -> str | None:
    """A transcript as the words spoken, for the aligner: lower case, punctuation dropped (apostrophes
    inside words kept), hyphens and slashes as spaces, single digits spelt out ("press 1" -> "press
    one"); None when it cannot be said for sure: a bracketed sound ("[beep]"), a number of several
    digits (1234 may be said "twelve thirty-four" or digit by digit), or no words."""
    if "[" in text or re.search(r"\d\s*[\d.,]\s*\d|\d\d", text):
        return None
    text = re.sub(r"\d", lambda m: f" {DIGITS[int(m.group())]} ", text.lower())
    text = re.sub(r"[-/]", " ", text)
    words = [w.strip("'") for w in re.sub(r"[^a-z' ]", " ", text).split()]
    words = [w for w in words if w]
    return " ".join(words) or None


def loud_frames_aligned(wave: np.ndarray, phones: list[tuple[str, float, float]], fps: float) -> float:
    """Share of the frames within 20 dB of the recording's peak loudness that fall under a spoken
    (non-"sil") phone: wave [N] at 16 kHz; 1.0 when no frame is loud."""
    duration = len(wave) / ALIGN_RATE
    frames = frame_count(duration, fps)
    loud = speech_energy(wave, ALIGN_RATE, frames, fps) > 0.5
    if not loud.any():
        return 1.0
    times = np.arange(frames) / fps
    ends = np.array([e for _, _, e in phones])
    at = np.minimum(np.searchsorted(ends, times, side="right"), len(phones) - 1)
    spoken = np.array([phones[i][0] != "sil" for i in at])
    return float(spoken[loud].mean())


def prompt_utterances(job: tuple[int, Prompt, int, int, CorpusConfig]) -> tuple[list[dict], str | None]:
    """(index, prompt, seed, copies, config) -> (its training utterances, None) or ([], why skipped)."""
    index, prompt, seed, copies, config = job
    said = spoken_text(prompt.text)
    if said is None:
        return [], "not speakable"
    missing = unknown_words(said)
    if missing:
        return [], f"not in the dictionary: {' '.join(missing)}"
    samples, rate = soundfile.read(str(prompt.path), dtype="float32", always_2d=True)
    wave = torch.from_numpy(np.clip(samples.mean(axis=1), -1.0, 1.0))
    wave16 = AF.resample(wave, rate, ALIGN_RATE) if rate != ALIGN_RATE else wave
    try:
        words = align(wave16.numpy(), said, ALIGN_RATE)
    except (ValueError, RuntimeError) as err:
        return [], f"not aligned: {err}"
    duration = len(wave) / rate
    phones = alignment_phones(words, duration)
    covered = loud_frames_aligned(wave16.numpy(), phones, config.fps)
    if covered < MIN_LOUD_ALIGNED:
        return [], f"misaligned: {covered:.0%} of loud frames under a spoken phone"
    out = []
    for copy in range(copies):
        rng = np.random.default_rng([seed, index, copy])
        record = {"index": index, "text": said, "language": "en", "voice": VOICE, "source": prompt.key,
                  "copy": copy, "loud_frames_aligned": round(covered, 3)}
        out.append(speech_utterance(wave, rate, phones, "arpabet", "train", config, rng, record))
    return out, None


def build_recorded_corpus(out: Path, copies: int = 3, seed: int = 0, workers: int = 2, shard_size: int = 250,
                          limit: int | None = None, config: CorpusConfig = CorpusConfig(), quiet: bool = False,
                          command: str = "") -> dict:
    """Make `copies` augmented utterances of every usable prompt into `out`/train-NNNNN.safetensors
    and `out`/index.json (as corpus.build_corpus writes them)."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    prompts = find_prompts()[:limit]
    writer = ShardWriter(out, config, command, shard_size)
    jobs = [(i, p, seed, copies, config) for i, p in enumerate(prompts)]
    skipped: dict[str, str] = {}
    started = time.monotonic()
    for done, ((items, why), job) in enumerate(zip(worker_results(prompt_utterances, jobs, workers), jobs), 1):
        if why is not None:
            skipped[job[1].key] = why
        for item in items:
            writer.add(item)
        if not quiet and (done % 25 == 0 or done == len(jobs)):
            print(f"recorded corpus: {done}/{len(jobs)} prompts, {writer.counts['train']} utterances, {len(skipped)} skipped, "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    shards = writer.close()
    if not shards:
        raise EmotalkError("no prompt could be aligned: nothing written")
    index = {
        "format": SHARD_FORMAT, "version": SHARD_VERSION, "command": command, "seed": seed, "copies": copies,
        "source": f"Debian {SOUNDS_PACKAGE} + {TRANSCRIPT_PACKAGE} (Allison Smith, CC-BY-SA 3.0)",
        "fps": config.fps, "sample_rate": config.sample_rate, "languages": ["en"], "train_voices": [VOICE],
        "eval_voices": [], "prompts": len(prompts), "prompts_used": len(prompts) - len(skipped),
        "skipped": skipped, "utterances": writer.counts, "seconds": {k: round(v, 1) for k, v in writer.seconds.items()},
        "elapsed_s": round(time.monotonic() - started, 1), "workers": workers, "shards": shards,
    }
    with atomic_output(out / "index.json", overwrite=True) as temp:
        temp.write_text(json.dumps(index, indent=1))
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emotalk_cli.motion.recorded", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; shards in it are replaced)")
    parser.add_argument("--copies", type=int, default=3, help="augmented utterances per prompt (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed: the same seed makes the same corpus")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N prompts")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.copies < 1 or args.workers < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--copies, --workers and --limit must be at least 1")
    command = "python -m emotalk_cli.motion.recorded " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        index = build_recorded_corpus(args.out, args.copies, args.seed, args.workers, limit=args.limit,
                                      quiet=args.quiet, command=command)
    except (EmotalkError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"recorded corpus: {index['prompts_used']} of {index['prompts']} prompts, {index['utterances']['train']} "
              f"utterances, {index['seconds']['train']} s of audio -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
