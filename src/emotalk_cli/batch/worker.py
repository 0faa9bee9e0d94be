"""The local worker process: `worker_main` runs in each process LocalPool spawns.

Kept apart from pool.py so the parent imports nothing heavy; the worker imports torch only after
its thread counts are set.

`make_invoker` (picklable: a class or module-level function) makes, once, what runs a job in this
process (batch.runner.Invoker). Messages to the parent: ("ready", pid) once warm; ("progress", job, description, completed, total)
while a job runs; ("done", result) when it ends. From the parent: (job, force) or None to stop.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback


INTERRUPTED = 130  # the worker's exit status after a job was stopped by SIGINT or SIGTERM


def _terminate(signum, frame):  # SIGTERM: stop the job as Ctrl-C would (temporary files deleted), then exit
    raise KeyboardInterrupt


def worker_main(conn, index: int, threads: int, commands: list[str], make_invoker) -> None:
    os.setpgrp()  # a group of its own (with its ffmpeg): the parent can stop or kill the two together
    os.dup2(2, 1)  # stray prints go to stderr; stdout carries the batch's status lines
    sys.stdout = sys.stderr
    signal.signal(signal.SIGTERM, _terminate)
    code = 0
    try:
        from emotalk_cli import cache
        from emotalk_cli.batch.runner import Throttle, run_job, set_threads, warm_up

        set_threads(threads)
        cache.enable()
        invoke = make_invoker()
        warm_up(set(commands))
        conn.send(("ready", os.getpid()))
        while True:
            message = conn.recv()
            if message is None:
                break
            job, force = message
            listener = Throttle(lambda description, completed, total, n=job.number:
                                conn.send(("progress", n, description, completed, total)))
            result = run_job(job, force, invoke, listener)
            conn.send(("done", result))
            if result["status"] == "interrupted":
                code = INTERRUPTED  # SIGTERM or SIGINT reached the job: leave; the parent retries it or is stopping
                break
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # Ctrl-C while idle, or the parent is gone
    except BaseException:  # noqa: BLE001 - a worker that cannot start: say why, the parent reports it
        traceback.print_exc()
        code = 1
    try:
        conn.close()
        sys.stderr.flush()
    except OSError:
        pass
    # nothing is left to tidy: outputs are renamed into place when complete, and Python's teardown after
    # torch takes half a second a worker
    os._exit(code)


__all__ = ["worker_main"]
