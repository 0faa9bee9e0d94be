"""Run many emotalk jobs from a JSON Lines file: models loaded once per worker, resumable, a bad job failing alone.

Examples:

  emotalk batch jobs.jsonl > status.jsonl

  emotalk batch jobs.jsonl --workers 2 --quiet

  emotalk batch jobs.jsonl --ray local       (Ray started on this machine)

  emotalk batch jobs.jsonl --ray auto        (the Ray cluster this machine is in)

  emotalk batch jobs.jsonl --ray ray://head:10001

  cat jobs.jsonl | emotalk batch -

One job per line, e.g. {"command": "animate", "audio": "a.wav", "emotion": "furious", "seed": 3,
"output": "out/a.mp4"}: "command" is animate, render, text2au or fit-avatar; the other keys are that
command's long options ("lip-samples" or "lip_samples"; true/false for flags, "blinks": false is
--no-blinks), text2au's TEXT is "text", "output" is -o. Relative paths are relative to the jobs
file's folder (the current folder for stdin). Every line is checked by its command before any job
runs; a bad line is that job's error. Jobs run side by side in any order: a job must not read
another's output.

stdout: one JSON line per job as it ends: {"job": LINE, "command", "output", "status": "ok" | "error"
| "skipped", "error": the one-line message or null, "seconds", "retried", "worker"}. stderr: progress
(jobs, and each running job's frames). Exit 0 when every job is ok or skipped, 1 when any failed,
130 on Ctrl-C.

A job whose outputs all exist is skipped unless --force (or "force": true on its line); outputs are
written atomically, so rerunning a stopped batch finishes it. A worker that dies mid-job (killed,
out of memory) loses nothing: the job is retried once on another worker ("retried": true).

--ray runs the jobs on Ray actors (pip install "emotalk\\[ray]"): local starts Ray on this machine,
auto joins the running cluster, ray://host:port connects a client. Paths are those the Ray workers
see: put inputs and outputs on storage every node mounts at the same path.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Optional

import typer

from emotalk_cli.cli.common import fail, stderr


def batch(
    jobs: str = typer.Argument(..., metavar="JOBS", help="JSON Lines file of jobs, or '-' to read them from stdin."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (with --ray: actors) "
                                          "(default: one per core, as memory allows; with --ray: one per cluster CPU)."),
    ray: Optional[str] = typer.Option(None, "--ray", help="Run on Ray: local, auto, ray://host:port (or host:port). "
                                      "Paths are those the workers see (shared storage)."),
    force: bool = typer.Option(False, "--force", "-f", help="Run every job, overwriting outputs that exist."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr (warnings are still shown)."),
) -> None:
    if workers is not None and workers < 1:
        raise fail(f"--workers {workers}: give 1 or more", code=2)
    from emotalk_cli.batch import BatchInterrupted, LocalPool, Report, default_workers, run_batch
    from emotalk_cli.cli.jobs import CommandInvoker, read_jobs
    from emotalk_cli.errors import EmotalkError

    if jobs == "-":
        lines, base = sys.stdin.read().splitlines(), Path.cwd()
    else:
        source = Path(jobs)
        try:
            lines, base = source.read_text(encoding="utf-8").splitlines(), source.resolve().parent
        except FileNotFoundError:
            raise fail(f"jobs file {jobs} not found: give a JSON Lines file of jobs (see emotalk batch --help)") from None
        except (OSError, UnicodeDecodeError) as err:
            raise fail(f"cannot read jobs file {jobs}: {getattr(err, 'strerror', None) or err}") from None
    parsed = read_jobs(lines, base)
    if not parsed and not quiet:
        stderr.print(f"batch: {jobs} holds no jobs", markup=False)
    with contextlib.ExitStack() as stack:
        if ray is not None:
            from emotalk_cli.batch.ray_runner import RayRunner, status_stdout

            out = stack.enter_context(status_stdout())  # Ray prints on stdout; the status lines keep it
            runner = RayRunner(CommandInvoker, ray, workers)
            stack.callback(runner.close)
        else:
            out = sys.stdout
            runner = LocalPool(CommandInvoker, workers or default_workers())
        report = Report(quiet=quiet, out=out)
        try:
            code = run_batch(parsed, runner, force=force, report=report)
        except EmotalkError as err:
            raise fail(str(err)) from None
        except (BatchInterrupted, KeyboardInterrupt):
            left = len(parsed) - sum(report.counts.values())
            raise fail(f"interrupted: {left} job{'s' * (left != 1)} not finished, no partial file left; "
                       "run the same command again to finish them", code=130) from None
    if code:
        raise typer.Exit(code)
