"""Running jobs inside a long-lived worker (a local worker process or a Ray actor).

A worker sets its thread counts before torch and numba start, turns on the model cache
(emotalk_cli.cache), warms the rasterizer's compiled code and the default models once, and then
runs job after job through the real command (`make_context` + `invoke`), so each job gets exactly
the command line's checks, atomic writes and one-line errors.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import traceback
from typing import Callable

from emotalk_cli.batch.jobs import Job, outputs_exist, remove_partials

Listener = Callable[[str, float, "float | None"], None]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def set_threads(threads: int) -> None:
    """This worker's share of the cores, for torch and numba alike; call before either is imported
    (numba reads NUMBA_NUM_THREADS once; with it set, the renderer leaves numba's count alone)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


def warm_up(commands: set[str]) -> None:
    """Load what the jobs' commands will use, once: the rasterizer's compiled code (numba's cache,
    read on first call), the default avatar, motion and text2au models (kept by emotalk_cli.cache).
    Anything missing is left for the job itself to report."""
    steps: list[Callable[[], None]] = []
    if commands & {"animate", "text2au"}:
        steps.append(_warm_text2au)
    if "animate" in commands:
        steps.append(_warm_motion)
    if commands & {"animate", "render", "fit-avatar"}:
        steps.append(_warm_renderer)
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - a job that needs it reports the problem in its own words
            pass


def _warm_text2au() -> None:
    from emotalk_cli.text2au import load_model

    load_model()


def _warm_motion() -> None:
    from emotalk_cli.motion.denoiser import load_model

    load_model(None, "cpu")


def _warm_renderer() -> None:
    """Two 64 px frames of the default avatar on the CPU rasterizer (posing, binding, rasterizing)."""
    import torch

    from emotalk_cli.avatar import DEFAULT_AVATAR, load_avatar
    from emotalk_cli.render.frames import ViewOptions, render_avatar

    if not DEFAULT_AVATAR.is_file():
        return
    avatar = load_avatar(DEFAULT_AVATAR)
    zeros = torch.zeros
    frames = render_avatar(avatar, ViewOptions(width=64, height=64), zeros(2, 52), zeros(2, 3), zeros(2, 3), zeros(2, 2),
                           backend="cpu", device=torch.device("cpu"))
    for _ in frames:
        pass


class JobRunner:
    """Runs jobs through the emotalk commands in this process."""

    def __init__(self) -> None:
        import typer.main

        from emotalk_cli.cli.app import app

        self.group = typer.main.get_command(app)

    def run(self, job: Job, force: bool = False, listener: Listener | None = None) -> dict:
        """Run one job; returns its result {job, command, output, status, error, seconds, warnings}.
        status: ok, error, skipped, or interrupted (Ctrl-C or SIGTERM reached it; nothing was written)."""
        from emotalk_cli.cli import common

        started = time.perf_counter()
        result = {"job": job.number, "command": job.command, "output": job.output, "status": "ok", "error": None}
        warnings: list[str] = []
        if job.error is not None:
            result.update(status="error", error=job.error)
        elif not (force or job.force) and outputs_exist(job):
            result["status"] = "skipped"
        else:
            remove_partials(job)  # what an earlier, killed run of this job left
            said = io.StringIO()
            previous = common.progress_listener
            common.progress_listener = listener or (lambda *_: None)
            try:
                with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
                    status, error = self._invoke(job)
            finally:
                common.progress_listener = previous
            text = said.getvalue()
            warnings = [line[len("emotalk: warning: "):] for line in text.splitlines() if line.startswith("emotalk: warning: ")]
            if status == "error" and error is None:
                error = _last_error(text) or "failed without a message"
            if status == "ok":
                missing = [path for path in job.outputs if not os.path.exists(path)]
                if missing:
                    status, error = "error", f"finished but did not write {', '.join(missing)}"
            result.update(status=status, error=error)
        result["seconds"] = round(time.perf_counter() - started, 2)
        result["warnings"] = warnings
        return result

    def _invoke(self, job: Job) -> tuple[str, str | None]:
        import typer

        command = self.group.commands[job.command]
        try:
            ctx = command.make_context(job.command, job.argv())
            with ctx:
                command.invoke(ctx)
        except typer.Exit as done:
            if done.exit_code == 0:
                return "ok", None
            if done.exit_code == 130:
                return "interrupted", "interrupted; nothing was written"
            return "error", getattr(done, "message", None)
        except SystemExit as done:
            return ("ok", None) if done.code in (0, None) else ("error", str(done.code) if isinstance(done.code, str) else None)
        except typer.TyperException as err:
            return "error", " ".join(err.format_message().split())
        except KeyboardInterrupt:
            return "interrupted", "interrupted; nothing was written"
        except Exception as err:  # noqa: BLE001 - a bug in a command: one line for the job, the traceback on stderr
            traceback.print_exc(file=sys.__stderr__)  # not into the captured job output
            first = str(err).splitlines()[0] if str(err) else ""
            return "error", f"internal error: {type(err).__name__}{': ' + first if first else ''} (traceback above on stderr)"
        return "ok", None


def _last_error(text: str) -> str | None:
    lines = [line[len("emotalk: error: "):] for line in text.splitlines() if line.startswith("emotalk: error: ")]
    return lines[-1] if lines else None


class Throttle:
    """Calls `send(description, completed, total)` at most every `seconds`, and always when a bar completes."""

    def __init__(self, send: Listener, seconds: float = 0.25):
        self.send = send
        self.seconds = seconds
        self.last = 0.0

    def __call__(self, description: str, completed: float, total: float | None) -> None:
        now = time.monotonic()
        if now - self.last >= self.seconds or (total is not None and completed >= total):
            self.last = now
            self.send(description, completed, total)


__all__ = ["JobRunner", "Throttle", "set_threads", "warm_up"]
