"""What every command shares: error reporting, progress on stderr, option parsing helpers."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from emotalk_cli.errors import EmotalkError

stderr = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `emotalk: error: message` on stderr as one line and return the Exit to raise (the
    message also rides on it as `.message`, for `emotalk batch`'s status lines)."""
    stderr.print(f"emotalk: error: {message}", markup=False, soft_wrap=True)
    done = typer.Exit(code)
    done.message = message
    return done


#: Set by `emotalk batch` while it checks its jobs before running any: a command then stops where its
#: work begins (here, after its own checks of the options) by raising CheckedOnly.
checking_only = False


class CheckedOnly(Exception):
    """A command's options passed its checks; raised instead of doing the work while `checking_only`."""


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn library errors into one stderr line and exit code 1; Ctrl-C into exit 130."""
    if checking_only:
        raise CheckedOnly
    try:
        yield
    except EmotalkError as err:
        raise fail(str(err)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; nothing was written", code=130) from None


def refuse_existing(*paths, force: bool) -> None:
    """Before any work: an output that exists is an error unless --force (None and '-' entries are skipped)."""
    for path in paths:
        if path is not None and str(path) != "-" and path.exists() and not force:
            raise EmotalkError(f"{path} already exists: pass --force to overwrite it, or choose another name")


def check_stdout_outputs(outputs: dict[str, object], binary: tuple[str, ...] = ()) -> None:
    """Before any work: at most one of `outputs` (option -> value) may be '-' (stdout), and a binary
    one ('-' for an option in `binary`) is refused when stdout is a terminal. Raises EmotalkError."""
    to_stdout = [option for option, value in outputs.items() if value is not None and str(value) == "-"]
    if len(to_stdout) > 1:
        both = "both write" if len(to_stdout) == 2 else "all write"
        raise EmotalkError(f"{' and '.join(o + ' -' for o in to_stdout)} {both} to stdout: send all but one to files")
    if to_stdout and to_stdout[0] in binary and sys.stdout.isatty():
        raise EmotalkError(f"{to_stdout[0]} - writes binary data to stdout, which is a terminal: redirect it "
                           f"({to_stdout[0]} - > file) or pipe it into a program")


def render_backend(backend: str, device, quiet: bool = False):
    """--backend and the resolved --device -> (the rasterizer frames use, the torch device to render on).

    On a CUDA device gsplat is used where its kernels load or build (a first build is announced on
    stderr); where they cannot, one warning says why and how to get them, and frames are rendered on
    the CPU. `--backend gsplat` where it cannot run raises the RenderError that says how to fix it."""
    import torch

    from emotalk_cli.render.rasterize import resolve_backend

    def announce(message: str) -> None:
        if not quiet:
            stderr.print(f"emotalk: {message}", markup=False, soft_wrap=True)

    chosen, warning = resolve_backend(backend, device, note=announce)
    if warning:
        warn(warning)
    return chosen, torch.device(device) if chosen == "gsplat" else torch.device("cpu")


def warn(message: str) -> None:
    stderr.print(f"emotalk: warning: {message}", markup=False, soft_wrap=True)


#: Set by `emotalk batch`'s workers: called as listener(description, completed, total) each time a
#: command's progress bar moves, so the batch can show every job's frames; the bar itself stays hidden.
progress_listener: Callable[[str, float, float | None], None] | None = None


class _ListenedProgress(Progress):
    """A hidden progress bar that reports each move to `progress_listener`."""

    def __init__(self, listener: Callable[[str, float, float | None], None]):
        super().__init__(console=stderr, disable=True)
        self._listener = listener

    def update(self, task_id, **fields) -> None:
        super().update(task_id, **fields)
        self._tell(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._tell(task_id)

    def _tell(self, task_id) -> None:
        task = next(t for t in self.tasks if t.id == task_id)
        self._listener(task.description, task.completed, task.total)


def progress(quiet: bool) -> Progress:
    """A rich progress bar on stderr, silent with --quiet or when stderr is not a terminal (inside a
    batch worker, a hidden one that tells the batch)."""
    if progress_listener is not None:
        return _ListenedProgress(progress_listener)
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
