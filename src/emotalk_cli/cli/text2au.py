"""Turn free-form emotion text into FACS action units (an AU track for `animate` and `render`).

Examples:

  emotalk text2au "gently amused" -o au.safetensors

  emotalk text2au "calm at first, then furious" --duration 4 --json

  emotalk text2au "not happy at all" --json

  printf 'happy but nervous\nover the moon\n' | emotalk text2au > au.jsonl     (JSON Lines, one per prompt)

  emotalk text2au "starts sad and slowly brightens" -o - | emotalk animate --au-track - ...

A prompt that stays one emotion gives one keyframe at time 0; one that changes ("calm at first,
then furious") gives one keyframe per clause, spread over --duration (default 1 s per clause).
JSON: {"text": ..., "keyframes": [{"time": s, "au": {"AU1": 0.0, ...}}, ...]}, intensities 0..1.
Empty or non-emotional text gives a neutral face and a warning on stderr.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from emotalk_cli.cli.common import fail, reported_errors, stderr, warn

STDIN_CHUNK = 256  # prompts per model call in stdin (JSON Lines) mode


def text2au(
    text: Optional[str] = typer.Argument(None, help="Emotion text, e.g. 'gently amused'. Without it, prompts are read from stdin, one per line."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write an AU track (emotalk.au_track .safetensors); '-' writes its bytes to stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print the keyframes as JSON on stdout."),
    duration: Optional[float] = typer.Option(None, "--duration", help="Seconds the keyframes span [default: 1 s per clause]."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="text2au weights [default: weights/text2au.safetensors]."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite -o if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No report on stderr (warnings are still shown)."),
) -> None:
    if duration is not None and not duration > 0:
        raise fail(f"--duration must be > 0 seconds, got {duration}", code=2)
    if text is None:
        if output is not None:
            raise fail("-o writes one prompt's track: give TEXT, or drop -o to print JSON Lines for stdin prompts", code=2)
        if sys.stdin is None or sys.stdin.isatty():
            raise fail("no TEXT given: pass it as an argument, or pipe prompts on stdin, one per line (see --help)", code=2)
    elif output is None and not as_json:
        raise fail("nothing to write: add -o au.safetensors (or -o - for stdout), or --json", code=2)
    if output == "-" and as_json:
        raise fail("-o - and --json both write to stdout: choose one", code=2)
    with reported_errors():
        from emotalk_cli.device import resolve_device
        from emotalk_cli.text2au import InferOptions, load_model, text_to_keyframes

        model = load_model(weights, resolve_device(device))
        options = InferOptions(duration=duration)
        if text is None:
            _stdin_lines(model, options, text_to_keyframes)
            return
        [keyframes] = text_to_keyframes(model, [text], options)
        for message in keyframes.warnings:
            warn(f"{_short(text)}: {message}")
        if as_json:
            print(json.dumps(keyframes.to_json()), flush=True)
        if output is not None:
            _write_track(keyframes, output, force, weights, duration)
            if not quiet and output != "-":
                count = len(keyframes.times)
                span = f" over {duration or count:g} s" if count > 1 else ""
                stderr.print(f"wrote {output}: {count} keyframe(s){span} from {' | '.join(keyframes.clauses) or '(empty text)'}",
                             markup=False, soft_wrap=True)


def _stdin_lines(model, options, text_to_keyframes) -> None:
    """Read prompts line by line, answer each with one JSON line, a chunk of prompts per model call."""
    number = 0
    chunk: list[str] = []
    sys.stdin.reconfigure(errors="surrogateescape")  # bytes that are not UTF-8: a warning for that line, not a crash

    def flush() -> None:
        nonlocal number
        for keyframes in text_to_keyframes(model, chunk, options):
            number += 1
            for message in keyframes.warnings:
                warn(f"line {number} ({_short(keyframes.text)}): {message}")
            sys.stdout.write(json.dumps(keyframes.to_json()) + "\n")
        sys.stdout.flush()
        chunk.clear()

    for line in sys.stdin:
        chunk.append(line.rstrip("\r\n"))
        if len(chunk) >= STDIN_CHUNK:
            flush()
    if chunk:
        flush()


def _write_track(keyframes, output: str, force: bool, weights, duration) -> None:
    from emotalk_cli import artifacts, facs
    from emotalk_cli.text2au import DEFAULT_WEIGHTS

    tensors = {"times": keyframes.times, "au": keyframes.au}
    meta = {
        "command": "text2au",
        "text": keyframes.text,
        "clauses": keyframes.clauses,
        "duration": duration,
        "weights": Path(weights or DEFAULT_WEIGHTS).name,
        "au_names": list(facs.AU_NAMES),
    }
    if output != "-":
        artifacts.save_artifact(output, artifacts.AU_TRACK, tensors, meta, overwrite=force)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "au.safetensors"
        artifacts.save_artifact(path, artifacts.AU_TRACK, tensors, meta)
        sys.stdout.buffer.write(path.read_bytes())
        sys.stdout.buffer.flush()


def _short(text: str, width: int = 40) -> str:
    return repr(text if len(text) <= width else text[: width - 3] + "...")
