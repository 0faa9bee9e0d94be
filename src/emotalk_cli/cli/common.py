"""What every command shares: error reporting, progress on stderr, option parsing helpers."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from emotalk_cli.errors import EmotalkError

stderr = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `emotalk: error: message` on stderr as one line and return the Exit to raise."""
    stderr.print(f"emotalk: error: {message}", markup=False, soft_wrap=True)
    return typer.Exit(code)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn library errors into one stderr line and exit code 1; Ctrl-C into exit 130."""
    try:
        yield
    except EmotalkError as err:
        raise fail(str(err)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing was written", code=130) from None


def refuse_existing(*paths, force: bool) -> None:
    """Before any work: an output that exists is an error unless --force (None entries are skipped)."""
    for path in paths:
        if path is not None and path.exists() and not force:
            raise EmotalkError(f"{path} already exists: pass --force to overwrite it, or choose another name")


def warn(message: str) -> None:
    stderr.print(f"emotalk: warning: {message}", markup=False, soft_wrap=True)


def progress(quiet: bool) -> Progress:
    """A rich progress bar on stderr, silent with --quiet or when stderr is not a terminal."""
    disabled = quiet or not sys.stderr.isatty()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=disabled,
        transient=False,
    )


def parse_assignments(text: str, option: str) -> dict[str, float]:
    """'AU12=0.8,AU6=0.6' -> {'AU12': 0.8, 'AU6': 0.6}; raises EmotalkError naming `option`."""
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            values[name.strip()] = float(number)
        except ValueError:
            raise EmotalkError(f"{option}: cannot read {item!r}: write NAME=VALUE pairs like {option} AU12=0.8,AU6=0.6") from None
    return values
