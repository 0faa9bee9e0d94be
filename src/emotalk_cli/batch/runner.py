"""Running jobs inside a long-lived worker (a local worker process or a Ray actor).

A worker sets its thread counts before torch and numba start, turns on the model cache
(emotalk_cli.cache), warms the rasterizer's compiled code and the default models once, makes its
invoker once (for emotalk, cli.jobs.CommandInvoker: the real commands, so each job gets exactly the
command line's checks, atomic writes and one-line errors), and then runs job after job.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from emotalk_cli.batch.jobs import Job, outputs_exist, remove_partials

Listener = Callable[[str, float, "float | None"], None]
#: Runs a job in this process: invoke(job, listener) -> (status, error, warnings). Made once per worker
#: by a factory the batch is given (emotalk's is cli.jobs.CommandInvoker, the real commands).
Invoker = Callable[[Job, "Listener | None"], "tuple[str, str | None, list[str]]"]

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


def run_job(job: Job, force: bool, invoke: Invoker, listener: Listener | None = None) -> dict:
    """Run one job in this worker; returns its result {job, command, output, status, error, seconds,
    warnings}. A job whose outputs all exist is skipped (unless `force` or the job's own "force");
    otherwise what an earlier, killed run of it left is deleted first, and `invoke(job, listener)`
    runs it -> (status, error, warnings) with status ok, error or interrupted. A job that says ok
    but left an output unwritten is an error."""
    started = time.perf_counter()
    result = {"job": job.number, "command": job.command, "output": job.output, "status": "ok", "error": None}
    warnings: list[str] = []
    if job.error is not None:
        result.update(status="error", error=job.error)
    elif not (force or job.force) and outputs_exist(job):
        result["status"] = "skipped"
    else:
        remove_partials(job)
        status, error, warnings = invoke(job, listener)
        if status == "ok":
            missing = [path for path in job.outputs if not os.path.exists(path)]
            if missing:
                status, error = "error", f"finished but did not write {', '.join(missing)}"
        result.update(status=status, error=error)
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["warnings"] = warnings
    return result


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


__all__ = ["Invoker", "Listener", "Throttle", "run_job", "set_threads", "warm_up"]
