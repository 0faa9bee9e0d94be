"""emotalk batch: JSON Lines of jobs on a pool of local worker processes or on Ray actors, models
loaded once per worker, resumable, a bad job failing alone.

    from emotalk_cli.batch import LocalPool, Report, run_batch
    from emotalk_cli.cli.jobs import CommandInvoker, read_jobs     # emotalk's commands as jobs
    jobs = read_jobs(open("jobs.jsonl"), base=Path("."))
    code = run_batch(jobs, LocalPool(CommandInvoker, workers=2), force=False, report=Report())

Modules: jobs (a job, its status line, its outputs and partial files, clashes between jobs),
runner (a job inside a worker: skip, clean, invoke, check; thread set-up, warm-up),
pool (local worker processes: deaths, retries, Ctrl-C), worker (the local worker's loop),
ray_runner (the same on Ray actors), report (status lines on stdout, progress on stderr).
What runs a job is given to the pool or Ray runner as a factory (for emotalk,
cli.jobs.CommandInvoker, which also reads and checks jobs files through the real commands): this
library sits below the command line and never imports it. Importing it loads neither torch nor Ray.
"""

from __future__ import annotations

from emotalk_cli.batch.jobs import Job, job_result, outputs_exist
from emotalk_cli.batch.pool import BatchInterrupted, LocalPool, default_workers, threads_per_worker
from emotalk_cli.batch.report import Report


def run_batch(jobs: list[Job], runner, force: bool = False, report: Report | None = None) -> int:
    """Report the refused jobs, skip the done ones (outputs all there, unless `force` or the job's own
    "force"), run the rest on `runner` (LocalPool or RayRunner); 0 when no job failed, else 1.
    Raises BatchInterrupted on Ctrl-C (finished jobs reported, no partial file left)."""
    report = report or Report()
    todo: list[Job] = []
    for job in jobs:
        if job.error is not None:
            report.finished(job_result(job, "error", job.error))
        elif not (force or job.force) and outputs_exist(job):
            report.finished(job_result(job, "skipped"))
        else:
            todo.append(job)
    report.begin(len(jobs), len(todo), runner.describe(len(todo)) if todo else None)
    try:
        runner.run(todo, force, report)
    finally:
        report.end()
    return 1 if report.failed else 0


__all__ = ["BatchInterrupted", "Job", "LocalPool", "Report", "default_workers", "run_batch", "threads_per_worker"]
