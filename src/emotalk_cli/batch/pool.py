"""A pool of local worker processes, each keeping its models and compiled rasterizer across jobs.

Not concurrent.futures.ProcessPoolExecutor: there one dead worker breaks the whole pool. Here each
worker is a process of our own ('spawn': torch and fork do not mix), with a pipe to the parent, and
in a process group of its own (with the ffmpeg it starts), so that:
- a worker that dies mid-job (killed, out of memory) is noticed by its sentinel; its group is
  killed (no ffmpeg left writing), the job's partial files are deleted, the job goes back to the
  front of the queue once (status line "retried": true) and a fresh worker takes the dead one's place;
  a job that kills its worker twice fails alone;
- Ctrl-C reaches the parent only: it sends SIGINT to the busy workers' groups, whose commands stop
  and delete their temporary files, waits a few seconds for them, then kills what is left and
  deletes any partial file itself. Finished outputs stay; a rerun skips them.
A SIGTERM sent to a worker stops its job the same way (the temporary file is deleted); the worker
then exits and the job is retried as for a death.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait

from emotalk_cli.batch.jobs import Job, job_result as _result, remove_partials

INTERRUPTED = 130  # worker.INTERRUPTED (not imported: that module is the worker's)
MEMORY_PER_WORKER = 1.5e9  # bytes a worker may need at the default 512 px (animate peaks near 0.8 GB, plus ffmpeg)
INTERRUPT_GRACE = 10.0  # seconds busy workers get to stop cleanly after Ctrl-C
MAX_START_FAILURES = 3  # workers dying before they are ready, in a row, before the batch gives up


def default_workers(cores: int | None = None, memory: float | None = None) -> int:
    """One worker per core (each on one thread), as many as the memory allows.

    Measured on this project's 2-core machine (2026-12-07, six 4 s animate jobs at 512 px, three
    alternating rounds, other work on the machine at load 1.4-2.4): 2 workers of 1 thread 20.5-22.1 s,
    1 worker of 2 threads 26.7-27.9 s. Motion sampling, text reading, frame encoding and Python's own
    work are serial within a job, so two jobs side by side keep both cores busier than one job whose
    rasterizer alone spreads over both (and numba's even split of each frame waits on its slowest
    thread when another process takes a core)."""
    cores = cores or os.cpu_count() or 1
    memory = memory if memory is not None else _available_memory()
    by_memory = int(memory // MEMORY_PER_WORKER) if memory else cores
    return max(1, min(cores, by_memory))


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def _available_memory() -> float | None:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class BatchInterrupted(Exception):
    """Ctrl-C stopped the batch; every unfinished job's partial files are gone."""


@dataclass
class _Worker:
    index: int
    process: multiprocessing.process.BaseProcess
    conn: object
    ready: bool = False
    job: Job | None = None
    attempt: int = 0
    since: float = 0.0

    @property
    def name(self) -> str:
        return f"local-{self.index}"


class LocalPool:
    """`workers` processes of `threads` threads each; `run` feeds them the jobs and reports through `events`.
    `make_invoker` (picklable: a class or module-level function) makes, once in each worker, what runs
    a job there (batch.runner.Invoker; for emotalk's commands, cli.jobs.CommandInvoker)."""

    def __init__(self, make_invoker, workers: int, threads: int | None = None):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.make_invoker = make_invoker
        self.workers = workers
        self.threads = threads or threads_per_worker(workers)
        self.context = multiprocessing.get_context("spawn")
        self._count = 0

    def describe(self, jobs: int) -> str:
        count = min(self.workers, jobs)
        return f"{count} local worker{'s' * (count != 1)} of {self.threads} thread{'s' * (self.threads != 1)}"

    def _start(self, commands: set[str]) -> _Worker:
        from emotalk_cli.batch.worker import worker_main

        self._count += 1
        parent, child = self.context.Pipe()
        process = self.context.Process(target=worker_main, args=(child, self._count, self.threads, sorted(commands),
                                                                 self.make_invoker),
                                       name=f"emotalk-batch-{self._count}", daemon=True)
        process.start()
        child.close()
        return _Worker(self._count, process, parent)

    def run(self, jobs: list[Job], force: bool, events) -> None:
        if not jobs:
            return
        commands = {job.command for job in jobs}
        pending: deque[tuple[Job, int]] = deque((job, 0) for job in jobs)
        workers = [self._start(commands) for _ in range(min(self.workers, len(jobs)))]
        start_failures = 0
        try:
            while pending or any(w.job is not None for w in workers):
                for worker in workers:
                    if worker.ready and worker.job is None and pending:
                        job, attempt = pending.popleft()
                        worker.job, worker.attempt, worker.since = job, attempt, time.monotonic()
                        worker.conn.send((job, force))
                        events.started(job, worker.name, worker.process.pid, attempt > 0)
                wait([w.conn for w in workers] + [w.process.sentinel for w in workers], timeout=0.5)
                for position, worker in enumerate(workers):
                    self._drain(worker, events)
                    if worker.process.is_alive():
                        continue
                    # the worker is gone: its job (if any) is retried once, a fresh worker takes its place
                    worker.process.join()
                    _kill_group(worker.process.pid)
                    if worker.ready or worker.job is not None:
                        start_failures = 0
                    else:
                        start_failures += 1
                    cause = _death(worker.process.exitcode)
                    if worker.job is not None:
                        job = worker.job
                        remove_partials(job)
                        if worker.attempt == 0:
                            events.warning(job.number, f"worker {worker.name} (pid {worker.process.pid}) {cause} while "
                                                       f"running it: retrying it on another worker")
                            pending.appendleft((job, 1))
                        else:
                            events.finished(_result(job, "error", f"its worker {cause} again on the retry "
                                                                  f"(it was retried once): nothing was written",
                                                    time.monotonic() - worker.since, True, worker.name))
                    worker.conn.close()
                    if start_failures >= MAX_START_FAILURES:
                        for job, attempt in pending:
                            events.finished(_result(job, "error", f"no worker could start (the last {cause} "
                                                                  "before it was ready): see stderr", 0.0, attempt > 0, None))
                        pending.clear()
                    if pending or any(w.job is not None for w in workers if w is not worker):
                        workers[position] = self._start(commands)
                    else:
                        workers[position] = None  # type: ignore[assignment]
                workers = [w for w in workers if w is not None]
                events.tick()
        except KeyboardInterrupt:
            self._interrupt(workers, events)
            raise BatchInterrupted() from None
        finally:
            self._stop(workers)

    def _drain(self, worker: _Worker, events) -> None:
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                kind = message[0]
                if kind == "ready":
                    worker.ready = True
                elif kind == "progress":
                    events.progress(*message[1:])
                elif kind == "done":
                    result = message[1]
                    if result["status"] == "interrupted":  # SIGTERM: the worker exits next; retried as a death
                        continue
                    result.update(retried=worker.attempt > 0, worker=worker.name)
                    worker.job = None
                    events.finished(result)
        except (EOFError, OSError):
            pass  # the worker is gone; its sentinel says so next

    def _interrupt(self, workers: list[_Worker], events) -> None:
        """Ctrl-C: SIGINT to the busy workers (their commands delete their temporary files), a grace period
        for their last results, then whatever is left is killed and its partial files deleted."""
        busy = [w for w in workers if w.job is not None]
        for worker in busy:
            _signal_group(worker.process.pid, signal.SIGINT)
        deadline = time.monotonic() + INTERRUPT_GRACE
        try:
            while any(w.job is not None and w.process.is_alive() for w in busy) and time.monotonic() < deadline:
                wait([w.conn for w in busy if w.job is not None], timeout=0.2)
                for worker in busy:
                    try:
                        while worker.job is not None and worker.conn.poll():
                            message = worker.conn.recv()
                            if message[0] == "done":
                                job, result = worker.job, message[1]
                                worker.job = None
                                if result["status"] in ("ok", "error", "skipped"):
                                    result.update(retried=worker.attempt > 0, worker=worker.name)
                                    events.finished(result)
                                else:
                                    remove_partials(job)
                    except (EOFError, OSError):
                        break
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop waiting
        for worker in busy:
            if worker.job is not None:
                _kill_group(worker.process.pid)
                worker.process.join(timeout=5)
                remove_partials(worker.job)

    def _stop(self, workers: list[_Worker]) -> None:
        for worker in workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5
        for worker in workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _kill_group(worker.process.pid)
                worker.process.join(timeout=5)
            try:
                worker.conn.close()
            except OSError:
                pass



def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        hint = " (out of memory?)" if number == signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    if exitcode == INTERRUPTED:
        return "was stopped by SIGTERM or SIGINT"
    return f"exited with status {exitcode}"


def _signal_group(pid: int | None, sig: int) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, sig)  # the worker leads its own group (os.setpgrp in worker_main): it and its ffmpeg
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(pid: int | None) -> None:
    _signal_group(pid, signal.SIGKILL)


__all__ = ["BatchInterrupted", "LocalPool", "default_workers", "threads_per_worker"]
