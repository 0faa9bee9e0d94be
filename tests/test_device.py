"""Device and thread choices."""

import os

import numba
import pytest

from emotalk_cli import device


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="needs Linux /proc/stat")
def test_idle_cores_is_a_share_of_the_machine():
    idle = device.idle_cores(0.05)
    assert idle is not None and 0.0 <= idle <= (os.cpu_count() or 1) + 1e-6


@pytest.mark.parametrize("idle,expected", [(0.2, 1), (1.4, 1), (1.6, 2), (64.0, None), (None, None)])
def test_numba_threads_follow_the_idle_cores_and_are_restored(monkeypatch, idle, expected):
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.setattr(device, "idle_cores", lambda sample_seconds=0.05: idle)
    pool = numba.config.NUMBA_NUM_THREADS
    before = numba.get_num_threads()
    with device.numba_threads_for_idle_cores():
        inside = numba.get_num_threads()
    assert numba.get_num_threads() == before
    if idle is None:
        assert inside == before  # unknown: left as it was
    else:
        assert inside == min(pool, expected if expected is not None else pool)


def test_a_user_setting_of_numba_threads_is_left_alone(monkeypatch):
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    monkeypatch.setattr(device, "idle_cores", lambda sample_seconds=0.05: 0.1)
    before = numba.get_num_threads()
    with device.numba_threads_for_idle_cores():
        assert numba.get_num_threads() == before


def test_rasterizer_threads_set_both_pools_on_the_cpu_only(monkeypatch):
    import torch

    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    asked = []
    monkeypatch.setattr(device, "idle_cores", lambda sample_seconds=0.05: asked.append(1) or 1.0)
    torch_before, numba_before = torch.get_num_threads(), numba.get_num_threads()
    with device.rasterizer_threads("cpu"):
        assert torch.get_num_threads() == 1 and numba.get_num_threads() == 1
    assert torch.get_num_threads() == torch_before and numba.get_num_threads() == numba_before
    with device.rasterizer_threads("cuda"):  # a GPU stage: numba's pool is not touched, nor the idle time sampled
        assert torch.get_num_threads() == torch_before and numba.get_num_threads() == numba_before
    assert asked == [1]
