"""Jobs as the batch runs them: what a job is, its status line, and its files on disk.

A Job is one line of a jobs file, already turned into a command's argument list (by
`emotalk_cli.cli.jobs`, which checks each line through the real command); here is what the pool and
the Ray runner need of it: its outputs (a job is done when they all exist), the temporary files a
cut-short run leaves beside them, and the clashes between jobs of one batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Job:
    """One line of a jobs file, ready to run (error None) or refused (error says why)."""

    number: int  # line number in the jobs file (1-based)
    command: str | None
    args: list[str] = field(default_factory=list)  # the command's options, paths absolute (not --force/--quiet)
    positional: list[str] = field(default_factory=list)  # its arguments (text2au's TEXT)
    outputs: list[str] = field(default_factory=list)  # absolute paths of every file the job writes
    inputs: list[str] = field(default_factory=list)  # absolute paths of the files it reads
    force: bool = False  # the job's own "force": true (run even when its outputs exist)
    error: str | None = None

    @property
    def output(self) -> str | None:
        return self.outputs[0] if self.outputs else None

    def argv(self) -> list[str]:
        """The command's argument list as a batch runs it: always --force (the batch has decided to
        run it) and --quiet (progress goes to the batch)."""
        return self.args + ["--force", "--quiet"] + (["--", *self.positional] if self.positional else [])


def check_clashes(jobs: list[Job]) -> None:
    """Refuse (set .error on) a job that writes a file an earlier job writes, or reads one another job writes."""
    writers: dict[str, int] = {}
    for job in jobs:
        if job.error is not None:
            continue
        for path in job.outputs:
            if path in writers:
                job.error = f"writes {path}, as job {writers[path]} does: give each job its own output"
                break
            writers[path] = job.number
    for job in jobs:
        if job.error is not None:
            continue
        for path in job.inputs:
            if path in writers and writers[path] != job.number:
                job.error = (f"reads {path}, which job {writers[path]} writes: jobs run side by side in any order; "
                             "run the job that makes it in an earlier batch")
                break


def job_result(job: Job, status: str, error: str | None = None, seconds: float = 0.0, retried: bool = False,
               worker: str | None = None) -> dict:
    """A job's status line (as a dict) when the batch itself decides it: refused, skipped, lost."""
    return {"job": job.number, "command": job.command, "output": job.output, "status": status, "error": error,
            "seconds": round(seconds, 2), "retried": retried, "worker": worker, "warnings": []}


# ---------------------------------------------------------------------------------------------
# Files on disk: is a job done, and the partial files of one that was cut short


def outputs_exist(job: Job) -> bool:
    return bool(job.outputs) and all(os.path.exists(path) for path in job.outputs)


def partial_files(path: str) -> list[Path]:
    """Temporary files `artifacts.atomic_output` makes for `path` (.{stem}.XXXX.part{suffix} beside it)."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f".{_glob_escape(target.stem)}.*.part{_glob_escape(target.suffix)}"))


def remove_partials(job: Job) -> list[Path]:
    """Delete what a cut-short run of `job` left of its outputs; returns what was deleted. Outputs are
    unique within a batch, so these are this job's (or an earlier interrupted batch's)."""
    removed = []
    for path in job.outputs:
        for partial in partial_files(path):
            try:
                partial.unlink()
                removed.append(partial)
            except FileNotFoundError:
                pass
    return removed


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


__all__ = ["Job", "check_clashes", "job_result", "outputs_exist", "partial_files", "remove_partials"]
