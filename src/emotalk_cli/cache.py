"""Loaded models kept in memory, for long-lived worker processes (`emotalk batch`).

A one-shot command loads each model once anyway; a batch worker runs job after job and would load
the motion model, the text2au model and the avatar anew for each. The loaders
(`motion.denoiser.load_model`, `text2au.load_model`, `avatar.load_avatar`, `rig.load_head_template`,
`fit.correspondence.load_landmark_map`) route through `cached`, which returns the object loaded
earlier when the file is unchanged: same resolved path, modification time and size, same device.
A file rewritten in place between jobs is loaded again.

The cache is off unless a process turns it on (`enable()`; batch workers do). Sharing one loaded
object between callers is safe only when no caller changes it, which holds for the four commands a
batch runs (checked: `animate`, `render`, `text2au` and `fit-avatar` only read the models, avatars,
templates and landmark maps they load; fitting copies the template before changing it), but not
for every script and test in this project, so everything else keeps loading fresh objects.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")

PER_KIND = 4  # objects kept per kind, least recently used dropped first (a batch of many avatars stays bounded)

_enabled = False
_store: "OrderedDict[tuple, object]" = OrderedDict()
_lock = threading.Lock()


def enable(on: bool = True) -> None:
    """Turn caching on (or off, which also empties the cache) for this process."""
    global _enabled
    _enabled = on
    if not on:
        clear()


def enabled() -> bool:
    return _enabled


def clear() -> None:
    with _lock:
        _store.clear()


def file_key(path: str | os.PathLike | None) -> tuple | None:
    """(resolved path, mtime_ns, size) of a file, or None when it cannot be read (the loader then
    reports the problem itself, and nothing is cached)."""
    if path is None:
        return None
    try:
        resolved = Path(path).resolve()
        stat = resolved.stat()
    except OSError:
        return None
    return (str(resolved), stat.st_mtime_ns, stat.st_size)


def cached(kind: str, files: tuple, extra: Hashable, load: Callable[[], T]) -> T:
    """`load()`, or the object an earlier identical call returned while caching is on.

    `files` are the paths the object is read from (all must exist to cache); `extra` the rest of
    what makes the result differ (the device, options)."""
    if not _enabled:
        return load()
    keys = tuple(file_key(f) for f in files)
    if any(k is None for k in keys):
        return load()
    key = (kind, keys, extra)
    with _lock:
        if key in _store:
            _store.move_to_end(key)
            return _store[key]  # type: ignore[return-value]
    value = load()
    with _lock:
        _store[key] = value
        same_kind = [k for k in _store if k[0] == kind]
        for old in same_kind[:-PER_KIND]:
            del _store[old]
    return value


def device_key(device) -> str:
    """A hashable name for a torch device given as a string or a torch.device ('cpu', 'cuda:0')."""
    return str(device)


__all__ = ["cached", "clear", "device_key", "enable", "enabled", "file_key"]
