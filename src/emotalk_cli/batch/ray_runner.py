"""The same jobs on Ray (optional: `pip install "emotalk[ray]"`): worker actors that keep their models.

Each actor is a long-lived Ray worker process that sets its threads, loads the models and warms the
rasterizer once (as a local worker does), then runs one job at a time through the real commands
(batch.runner). Actors are spread over the cluster's nodes, one per `threads` CPUs. Paths in the
jobs are the paths the workers see: inputs and outputs live on storage every node mounts at the same
place. An actor that dies mid-job (node lost, killed, out of memory) costs no job: the driver
deletes the job's partial files, starts a fresh actor and retries the job once on it.

Addresses: `local` starts a Ray instance on this machine sized to its cores (and stops it after);
`auto` joins the cluster running here (`ray start --head` / `ray start --address`, as
ray.init("auto")); `ray://host:10001` connects a Ray client to a remote cluster; `host:port` joins
that cluster's head directly.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Iterator, TextIO

from emotalk_cli.batch.jobs import Job, job_result as _result, remove_partials
from emotalk_cli.batch.pool import BatchInterrupted
from emotalk_cli.errors import EmotalkError

POLL_SECONDS = 1.0  # how often the busy actors are asked how far their job is


class JobActor:
    """Runs jobs in a Ray worker process (one at a time; a second thread answers `progress`)."""

    def __init__(self, threads: int, commands: list[str], make_invoker):
        sys.stdout = sys.stderr  # stray prints stay off the driver's stdout
        from emotalk_cli import cache
        from emotalk_cli.batch.runner import set_threads, warm_up

        set_threads(threads)
        cache.enable()
        self.invoke = make_invoker()
        warm_up(set(commands))
        self.state = None

    def info(self) -> dict:
        import socket

        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname()}

    def run(self, job: Job, force: bool) -> dict:
        from emotalk_cli.batch.runner import Throttle, run_job

        self.state = None

        def listen(description, completed, total):
            self.state = (job.number, description, completed, total)

        try:
            return run_job(job, force, self.invoke, Throttle(listen, seconds=0.0))
        finally:
            self.state = None

    def progress(self):
        return self.state


@contextlib.contextmanager
def status_stdout() -> Iterator[TextIO]:
    """A stream for the status lines while Ray runs in this process. Ray's driver prints some cluster
    messages on stdout (a worker that died: "(raylet) A worker died ..."), and stdout carries the
    batch's status lines: for the duration, file descriptor 1 and sys.stdout point at stderr, and
    the status lines go to a copy of the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    previous = sys.stdout
    out = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield out
    finally:
        try:
            out.flush()
            out.close()
        except (BrokenPipeError, OSError, ValueError):
            pass
        sys.stdout = previous
        os.dup2(saved, 1)
        os.close(saved)


CLIENT_TRIES = 3  # a Ray client's server-side session can fail to start on a busy head node: try again


def connect(address: str, tries: int = CLIENT_TRIES):
    """ray.init for an address as the CLI takes it; EmotalkError with the fix when it cannot. A Ray
    client (ray://) whose session the head fails to start (ConnectionAbortedError: the head's own
    per-client server timed out, as on a loaded machine) is retried `tries` times in all."""
    try:
        import ray
    except ImportError:
        raise EmotalkError('--ray needs Ray: pip install "emotalk[ray]" (or pip install ray)') from None
    if ray.is_initialized():
        return ray
    for attempt in range(1, tries + 1):
        try:
            if address == "local":
                # address="local": always a new instance, never a cluster that happens to run on this machine
                ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
            elif address == "auto":
                ray.init(address="auto", log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
            return ray
        except ConnectionAbortedError as err:
            if attempt < tries:
                print(f"emotalk: --ray {address}: the cluster did not start this client's session "
                      f"({_reason(err)}); trying again ({attempt + 1}/{tries})", file=sys.stderr, flush=True)
                with contextlib.suppress(Exception):
                    ray.shutdown()
                time.sleep(2.0 * attempt)
                continue
            raise EmotalkError(f"--ray {address}: the cluster did not start this client's session after {tries} "
                               f"tries ({_reason(err)}); see ray_client_server*.err in the head node's Ray logs") from None
        except ConnectionError as err:
            raise EmotalkError(f"--ray {address}: cannot reach a Ray cluster ({_reason(err)}); start one with "
                               "`ray start --head`, or use --ray local") from None
        except (ValueError, RuntimeError) as err:
            raise EmotalkError(f"--ray {address}: {_reason(err)}") from None
    raise AssertionError("unreachable")


def _reason(err: Exception) -> str:
    """The line of a Ray error that says why: its last non-empty line (Ray puts the server's
    traceback after a heading line), or the exception's type when it says nothing."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1] if lines else type(err).__name__


class RayRunner:
    """`run` feeds the jobs to Ray actors and reports through `events` (as LocalPool.run); each actor
    makes its invoker once with `make_invoker` (as LocalPool's workers do)."""

    def __init__(self, make_invoker, address: str, workers: int | None = None, threads: int = 1):
        self.make_invoker = make_invoker
        self.address = address
        self.threads = max(1, threads)
        self.asked_workers = workers
        self.ray = None  # connected on first use: a batch with nothing to run never starts Ray

    def _connect(self) -> None:
        if self.ray is not None:
            return
        self.ray = connect(self.address)
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.nodes = len([n for n in self.ray.nodes() if n.get("Alive")])
        self.workers = self.asked_workers or max(1, cpus // self.threads)
        self.remote = self.ray.remote(JobActor)

    def describe(self, jobs: int) -> str:
        self._connect()
        count = min(self.workers, jobs)
        return (f"{count} Ray worker{'s' * (count != 1)} of {self.threads} thread{'s' * (self.threads != 1)} "
                f"on {self.nodes} node{'s' * (self.nodes != 1)} ({self.address})")

    def close(self) -> None:
        if self.ray is not None:
            self.ray.shutdown()
            self.ray = None

    def _start(self, commands: list[str]):
        actor = self.remote.options(num_cpus=self.threads, max_concurrency=2, max_restarts=0,
                                    scheduling_strategy="SPREAD").remote(self.threads, commands, self.make_invoker)
        return actor, actor.info.remote()

    def run(self, jobs: list[Job], force: bool, events) -> None:
        if not jobs:
            return
        self._connect()
        ray = self.ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayError

        commands = sorted({job.command for job in jobs})
        pending = list((job, 0) for job in jobs)
        starting: dict = {}  # info ref -> actor
        idle: list = []  # (actor, info)
        busy: dict = {}  # run ref -> (actor, info, job, attempt, since)
        for _ in range(min(self.workers, len(jobs))):
            actor, ref = self._start(commands)
            starting[ref] = actor
        start_failures = 0
        last_poll = time.monotonic()
        try:
            while pending or busy:
                while idle and pending:
                    (actor, info), (job, attempt) = idle.pop(), pending.pop(0)
                    ref = actor.run.remote(job, force)
                    busy[ref] = (actor, info, job, attempt, time.monotonic())
                    events.started(job, _name(info), info["pid"], attempt > 0)
                if not starting and not busy and pending:
                    if start_failures >= 3:
                        for job, attempt in pending:
                            events.finished(_result(job, "error", "no Ray worker could start: see the Ray logs",
                                                    0.0, attempt > 0, None))
                        break
                    actor, ref = self._start(commands)
                    starting[ref] = actor
                refs = list(starting) + list(busy)
                done, _ = ray.wait(refs, num_returns=1, timeout=0.5) if refs else ([], [])
                for ref in done:
                    if ref in starting:
                        actor = starting.pop(ref)
                        try:
                            info = ray.get(ref)
                            idle.append((actor, info))
                            start_failures = 0
                        except RayError as err:
                            start_failures += 1
                            events.warning(None, f"a Ray worker could not start: {_first_line(err)}")
                        continue
                    actor, info, job, attempt, since = busy.pop(ref)
                    try:
                        result = ray.get(ref)
                    except RayActorError as err:  # the actor (its process or node) died mid-job
                        remove_partials(job)
                        ray.kill(actor)
                        cause = _first_line(err)
                        if attempt == 0:
                            events.warning(job.number, f"Ray worker {_name(info)} died while running it ({cause}): "
                                                       "retrying it on another worker")
                            pending.insert(0, (job, 1))
                        else:
                            events.finished(_result(job, "error", f"its Ray worker died again on the retry ({cause}): "
                                                                  "nothing was written", time.monotonic() - since, True,
                                                    _name(info)))
                        if pending:
                            new, new_ref = self._start(commands)
                            starting[new_ref] = new
                        continue
                    except RayError as err:
                        result = _result(job, "error", f"Ray: {_first_line(err)}", time.monotonic() - since,
                                         attempt > 0, _name(info))
                    result.update(retried=attempt > 0, worker=_name(info), node=info["node"])
                    idle.append((actor, info))
                    events.finished(result)
                if busy and time.monotonic() - last_poll >= POLL_SECONDS:
                    last_poll = time.monotonic()
                    polls = [actor.progress.remote() for actor, *_ in busy.values()]
                    try:
                        for state in ray.get(polls, timeout=2.0):
                            if state is not None:
                                events.progress(*state)
                    except (GetTimeoutError, RayError):
                        pass
                events.tick()
        except KeyboardInterrupt:
            self._kill_all(starting, idle, busy)
            raise BatchInterrupted() from None
        finally:
            for actor, _info in idle:
                ray.kill(actor)
            for actor in starting.values():
                ray.kill(actor)
            for actor, *_ in busy.values():
                ray.kill(actor)

    def _kill_all(self, starting, idle, busy) -> None:
        """Ctrl-C: the actors are killed; what their jobs had half-written is deleted (twice: a dying
        worker's ffmpeg may still be closing its file)."""
        for actor, *_ in list(busy.values()):
            self.ray.kill(actor)
        for _round in range(2):
            for _actor, _info, job, _attempt, _since in busy.values():
                remove_partials(job)
            time.sleep(1.0)


def _name(info: dict | None) -> str | None:
    return None if info is None else f"ray-{info['host']}-{info['pid']}"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]



__all__ = ["JobActor", "RayRunner", "connect", "status_stdout"]
