"""What a batch prints: one JSON status line per job on stdout as it ends, progress on stderr.

On a terminal, stderr shows a bar of jobs and one bar per running job (its frames or steps); in a
log (stderr not a terminal) a line when each job starts and ends and, every PROGRESS_EVERY seconds,
how far the running jobs are. --quiet leaves only warnings.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

PROGRESS_EVERY = 10.0  # seconds between progress lines in a log
STATUS_KEYS = ("job", "command", "output", "status", "error", "seconds", "retried", "worker", "node")


class Report:
    def __init__(self, quiet: bool = False, out=None, err=None):
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.quiet = quiet
        self.counts: Counter = Counter()
        self.started_at = time.monotonic()
        self.total = 0
        self.running: dict[int, dict] = {}  # job number -> {command, worker, description, completed, total}
        self.last_line = time.monotonic()
        self.bar = None
        self._bar_tasks: dict[int, int] = {}
        self._jobs_task = None

    # -- the batch as a whole

    def begin(self, total: int, to_run: int, where: str | None) -> None:
        self.total = total
        if self.quiet:
            return
        refused, skipped = self.counts["error"], self.counts["skipped"]
        if to_run and where:
            others = [f"{refused} refused" if refused else "", f"{skipped} done already" if skipped else ""]
            others = ", ".join(o for o in others if o)
            self._say(f"batch: {to_run} job{'s' * (to_run != 1)} to run on {where}" + (f" ({others})" if others else ""))
        if self.err.isatty() and to_run:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[unit]}"), TimeElapsedColumn(),
                                console=Console(file=self.err, highlight=False), transient=False,
                                redirect_stdout=self.out.isatty(), redirect_stderr=False)
            self.bar.start()
            self._jobs_task = self.bar.add_task("jobs", total=total, completed=sum(self.counts.values()), unit="")

    def end(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        if not self.quiet and self.total:
            seconds = time.monotonic() - self.started_at
            parts = [f"{self.counts[s]} {s}" for s in ("ok", "skipped", "error") if self.counts[s]]
            self._say(f"batch: {', '.join(parts) or 'no job finished'} in {seconds:.1f} s")

    @property
    def failed(self) -> bool:
        return self.counts["error"] > 0

    # -- events from the runners

    def started(self, job, worker: str | None, pid: int | None, retry: bool) -> None:
        self.running[job.number] = {"command": job.command, "worker": worker, "description": "starting",
                                    "completed": 0, "total": None}
        if self.quiet:
            return
        if self.bar is not None:
            self._bar_tasks[job.number] = self.bar.add_task(f"  job {job.number} {job.command}", total=None, unit="")
        else:
            again = " again" if retry else ""
            self._say(f"batch: job {job.number} ({job.command}) started{again} on {worker} (pid {pid})")

    def progress(self, number: int, description: str, completed: float, total: float | None) -> None:
        state = self.running.get(number)
        if state is None:
            return
        state.update(description=description, completed=completed, total=total)
        if self.bar is not None and number in self._bar_tasks:
            unit = "frames" if description.startswith("render") else "steps"
            self.bar.update(self._bar_tasks[number], description=f"  job {number} {state['command']}: {description}",
                            completed=completed, total=total, unit=unit)

    def warning(self, number: int | None, text: str) -> None:
        where = f"job {number}: " if number is not None else ""
        self._say(f"emotalk: warning: {where}{text}", always=True)

    def finished(self, result: dict) -> None:
        self.running.pop(result["job"], None)
        self.counts[result["status"]] += 1
        for text in result.get("warnings") or []:
            self.warning(result["job"], text)
        line = {key: result.get(key) for key in STATUS_KEYS if key != "node" or "node" in result}
        line["retried"] = bool(line["retried"])
        if result.get("warnings"):
            line["warnings"] = result["warnings"]
        try:
            self.out.write(json.dumps(line) + "\n")
            self.out.flush()
        except (BrokenPipeError, ValueError):
            pass  # the reader of stdout is gone; the batch goes on
        if self.quiet:
            return
        if self.bar is not None:
            task = self._bar_tasks.pop(result["job"], None)
            if task is not None:
                self.bar.remove_task(task)
            if self._jobs_task is not None:
                self.bar.advance(self._jobs_task)
        elif result["status"] != "skipped" and result.get("worker") is not None:
            error = f": {result['error']}" if result.get("error") else ""
            self._say(f"batch: job {result['job']} {result['status']} in {result['seconds']:.1f} s{error}")

    def tick(self) -> None:
        """Every PROGRESS_EVERY seconds in a log: jobs done and how far the running ones are."""
        if self.quiet or self.bar is not None or not self.running:
            return
        now = time.monotonic()
        if now - self.last_line < PROGRESS_EVERY:
            return
        self.last_line = now
        parts = []
        for number, state in sorted(self.running.items()):
            total = f"/{state['total']:.0f}" if state["total"] else ""
            unit = " frames" if state["description"].startswith("render") else ""
            parts.append(f"job {number} {state['description']} {state['completed']:.0f}{total}{unit}")
        self._say(f"batch: {sum(self.counts.values())}/{self.total} jobs finished; " + "; ".join(parts))

    def _say(self, text: str, always: bool = False) -> None:
        if self.quiet and not always:
            return
        self.last_line = time.monotonic()
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
            return
        try:
            self.err.write(text + "\n")
            self.err.flush()
        except (BrokenPipeError, ValueError):
            pass


__all__ = ["Report"]
