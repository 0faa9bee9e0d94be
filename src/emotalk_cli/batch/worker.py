"""The local worker process: `worker_main` runs in each process LocalPool spawns.

Kept apart from pool.py so the parent imports nothing heavy; the worker imports torch only after
its thread counts are set.

Messages to the parent: ("ready", pid) once warm; ("progress", job, description, completed, total)
while a job runs; ("done", result) when it ends. From the parent: (job, force) or None to stop.
"""

from __future__ import annotations

import os
import signal
import sys


INTERRUPTED = 130  # the worker's exit status after a job was stopped by SIGINT or SIGTERM


def _terminate(signum, frame):  # SIGTERM: stop the job as Ctrl-C would (temporary files deleted), then exit
    raise KeyboardInterrupt


def worker_main(conn, index: int, threads: int, commands: list[str]) -> None:
    os.setpgrp()  # a group of its own (with its ffmpeg): the parent can stop or kill the two together
    os.dup2(2, 1)  # stray prints go to stderr; stdout carries the batch's status lines
    sys.stdout = sys.stderr
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from emotalk_cli.batch.runner import JobRunner, Throttle, set_threads, warm_up
        from emotalk_cli import cache

        set_threads(threads)
        cache.enable()
        runner = JobRunner()
        warm_up(set(commands))
        conn.send(("ready", os.getpid()))
        while True:
            message = conn.recv()
            if message is None:
                break
            job, force = message
            listener = Throttle(lambda description, completed, total, n=job.number:
                                conn.send(("progress", n, description, completed, total)))
            result = runner.run(job, force, listener)
            conn.send(("done", result))
            if result["status"] == "interrupted":
                conn.close()
                sys.exit(INTERRUPTED)  # SIGTERM or SIGINT reached the job: leave; the parent retries it or is stopping
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # Ctrl-C while idle, or the parent is gone
    finally:
        try:
            conn.close()
        except OSError:
            pass


__all__ = ["worker_main"]
