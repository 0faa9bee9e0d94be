"""Choosing the torch device a stage computes on."""

import contextlib

import torch

from emotalk_cli.errors import EmotalkError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is an error, not a silent fallback."""
    if name not in DEVICE_CHOICES:
        raise EmotalkError(f"unknown device {name!r}: use one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EmotalkError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
    return torch.device(name)


@contextlib.contextmanager
def torch_threads_beside_numba(device: torch.device | str):
    """One torch thread on the CPU for the duration, the setting restored after.

    The CPU rasterizer's numba kernels run on every core; torch's own thread pool, used for the small
    tensor work between frames (posing, colour conversion), then spin-waits against them: measured on
    2 busy cores, converting a 512x512 frame to uint8 took 33 ms with 2 torch threads and 2 ms with one."""
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def idle_cores(sample_seconds: float = 0.05) -> float | None:
    """How many CPU cores sat idle over the next `sample_seconds` (Linux: /proc/stat's idle and iowait
    time across all cores); None where that cannot be read."""
    import os
    import time

    def read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as stat:
                fields = stat.readline().split()
        except OSError:
            return None
        if not fields or fields[0] != "cpu" or len(fields) < 6:
            return None
        ticks = [int(v) for v in fields[1:]]
        return ticks[3] + ticks[4], sum(ticks[:8])  # idle + iowait, all (guest time is inside user)

    first = read()
    if first is None:
        return None
    time.sleep(sample_seconds)
    second = read()
    if second is None or second[1] <= first[1]:
        return None
    # /proc/stat's first line sums over every core of the machine
    return (second[0] - first[0]) / (second[1] - first[1]) * (os.cpu_count() or 1)


@contextlib.contextmanager
def numba_threads_for_idle_cores():
    """numba's parallel kernels on as many threads as there are idle cores (at least 1, at most numba's
    pool), the setting restored after; left alone when the user set NUMBA_NUM_THREADS.

    Why: numba splits each parallel loop evenly between its threads up front, so one thread that has
    to share its core with another process holds the whole loop up. Measured on this 2-core machine
    with one core busy with a training run: rendering 512x512 frames of the default avatar took
    69.5 ms a frame on 2 threads and 46.6 ms on 1 (about 25 ms on 2 threads when both are idle)."""
    import os

    import numba

    if "NUMBA_NUM_THREADS" in os.environ:
        yield
        return
    before = numba.get_num_threads()
    idle = idle_cores()
    if idle is not None:
        numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, int(idle + 0.5))))
    try:
        yield
    finally:
        numba.set_num_threads(before)


@contextlib.contextmanager
def rasterizer_threads(device: torch.device | str):
    """The thread settings for a stretch of CPU rasterizing: one torch thread (torch_threads_beside_numba)
    and numba on the idle cores (numba_threads_for_idle_cores); on another device torch's alone."""
    with torch_threads_beside_numba(device):
        if torch.device(device).type != "cpu":
            yield
            return
        with numba_threads_for_idle_cores():
            yield
