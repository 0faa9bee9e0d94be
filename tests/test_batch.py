"""emotalk batch: jobs files checked line by line, the local worker pool, resuming, a killed worker,
Ctrl-C, and the same jobs on Ray (a local instance and a two-node cluster on this machine)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import EXAMPLES, probe
from emotalk_cli.batch.jobs import Job, partial_files, remove_partials
from emotalk_cli.cli.jobs import read_jobs

EMOTALK = Path(sys.executable).parent / "emotalk"
TINY = {"size": 64, "steps": 2, "lip-samples": 1}  # a job of a few seconds on 2 CPU cores


def write_jobs(folder: Path, jobs: list, name: str = "jobs.jsonl") -> Path:
    path = folder / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in jobs))
    return path


def batch(*args, cwd=None, env=None, timeout=600) -> tuple[int, list[dict], str]:
    done = subprocess.run([str(EMOTALK), "batch", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return done.returncode, lines, done.stderr


def by_job(lines: list[dict]) -> dict[int, dict]:
    result = {line["job"]: line for line in lines}
    assert len(result) == len(lines), f"one status line per job: {lines}"
    return result


def no_partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".part" in p.name or p.name.endswith(".tmp")]


def ray_env() -> dict:
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    return env


# ---------------------------------------------------------------------------------------------
# Reading jobs files (no workers)


def test_read_jobs_checks_every_line_through_its_command(tmp_path):
    lines = [
        json.dumps({"command": "animate", "audio": "a.wav", "emotion": "furious", "seed": 3, "output": "out/a.mp4",
                    "blinks": False, "lip_samples": 1}),
        json.dumps({"command": "animate", "audio": "sub/b.wav"}),  # output: beside the audio, as animate names it
        json.dumps({"command": "text2au", "text": "-calm, then furious", "output": "/abs/au.safetensors", "force": True}),
        "not json",
        json.dumps({"command": "dance"}),
        json.dumps({"command": "animate", "audio": "a.wav", "output": "c.mp4", "colour": "red"}),
        json.dumps({"command": "animate", "audio": "a.wav", "output": "d.mp4", "steps": "many"}),
        json.dumps({"command": "animate", "audio": "a.wav", "output": "e.mp4", "steps": 99}),
        json.dumps({"command": "render", "output": "out/a.mp4"}),  # job 1 writes it
        json.dumps({"command": "render", "output": "-"}),
        json.dumps({"command": "text2au", "text": "sad", "json": True}),
        json.dumps({"command": "render"}),
        json.dumps({"command": "animate", "audio": "/abs/au.safetensors", "output": "f.mp4"}),  # job 3 writes its input
        "",  # blank lines are not jobs
        json.dumps({"command": "fit-avatar", "output": "me.safetensors"}),
    ]
    jobs = {job.number: job for job in read_jobs(lines, tmp_path)}
    assert sorted(jobs) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15]
    first = jobs[1]
    assert first.error is None and first.command == "animate"
    assert first.argv() == ["--audio", str(tmp_path / "a.wav"), "--emotion", "furious", "--seed", "3",
                            "--output", str(tmp_path / "out/a.mp4"), "--no-blinks", "--lip-samples", "1",
                            "--force", "--quiet"]
    assert first.outputs == [str(tmp_path / "out/a.mp4")] and first.inputs == [str(tmp_path / "a.wav")]
    assert jobs[2].outputs == [str(tmp_path / "sub/b.mp4")] and "--output" in jobs[2].argv()
    assert jobs[3].error is None and jobs[3].force
    assert jobs[3].argv()[-2:] == ["--", "-calm, then furious"]  # TEXT after --: a leading '-' is not an option
    expected = {
        4: "not valid JSON",
        5: "unknown command 'dance'",
        6: "animate has no option 'colour'",
        7: "Invalid value for '--steps'",
        8: "--steps 99 is out of range",  # the command's own check, run without its work
        9: f"writes {tmp_path / 'out/a.mp4'}, as job 1 does",
        10: "'-' (stdin or stdout) belongs to the batch",
        11: "prints to stdout",
        12: "Missing option '--output'",
        13: "which job 3 writes",
        15: "give exactly one of --image PHOTO or --video VIDEO",
    }
    for number, text in expected.items():
        assert jobs[number].error is not None and text in jobs[number].error, (number, jobs[number].error)
        assert "\n" not in jobs[number].error


def test_partial_files_are_the_temporary_files_atomic_output_makes(tmp_path):
    from emotalk_cli.artifacts import atomic_output

    target = tmp_path / "clip [1].mp4"  # glob characters in the name are matched literally
    other = tmp_path / ".clip.x.part.mp4"  # another output's temporary file is left alone
    other.write_bytes(b"")
    with atomic_output(target) as temp:
        temp.write_bytes(b"half a video")
        assert partial_files(str(target)) == [temp]
        assert remove_partials(Job(1, "render", outputs=[str(target)])) == [temp]
        assert not temp.exists()
        temp.write_bytes(b"")  # atomic_output renames it on success
    assert target.exists() and other.exists() and partial_files(str(target)) == []


def test_model_cache_shares_loads_only_when_on_and_reloads_a_changed_file(tmp_path):
    from emotalk_cli import cache
    from emotalk_cli.avatar import DEFAULT_AVATAR, load_avatar

    copy = tmp_path / "avatar.safetensors"
    shutil.copy(DEFAULT_AVATAR, copy)
    assert load_avatar(copy) is not load_avatar(copy)  # off by default: every caller gets its own
    cache.enable()
    try:
        first = load_avatar(copy)
        assert load_avatar(copy) is first and load_avatar(str(copy)) is first
        os.utime(copy, ns=(time.time_ns(), time.time_ns() + 10**9))  # rewritten: loaded again
        assert load_avatar(copy) is not first
    finally:
        cache.enable(False)
    assert load_avatar(copy) is not load_avatar(copy)


def test_batch_refuses_a_missing_jobs_file_and_bad_workers(tmp_path):
    code, lines, err = batch(tmp_path / "nope.jsonl")
    assert code == 1 and lines == [] and err.strip().splitlines() == [
        f"emotalk: error: jobs file {tmp_path / 'nope.jsonl'} not found: give a JSON Lines file of jobs (see emotalk batch --help)"]
    code, lines, err = batch(write_jobs(tmp_path, []), "--workers", "0")
    assert code == 2 and "--workers 0: give 1 or more" in err


def test_batch_of_only_refused_and_done_jobs_starts_no_worker(tmp_path):
    done = tmp_path / "done.png"
    done.write_bytes(b"already rendered")
    path = write_jobs(tmp_path, [{"command": "render", "output": "done.png"}, {"command": "render", "size": "big"}])
    started = time.perf_counter()
    code, lines, err = batch(path)
    assert time.perf_counter() - started < 15  # nothing loaded torch
    assert code == 1
    status = by_job(lines)
    assert status[1]["status"] == "skipped" and status[1]["output"] == str(done)
    assert status[2]["status"] == "error" and "Invalid value for '--size'" in status[2]["error"]
    assert done.read_bytes() == b"already rendered"


# ---------------------------------------------------------------------------------------------
# The local pool and Ray, on one mixed jobs file


def mixed_jobs(folder: Path, audio: Path) -> Path:
    (folder / "out").mkdir(exist_ok=True)
    shutil.copy(audio, folder / "speech.wav")
    return write_jobs(folder, [
        {"command": "animate", "audio": "speech.wav", "emotion": "furious", "seed": 3, "output": "out/a.mp4", **TINY},
        {"command": "animate", "audio": "speech.wav", "au": "AU12=0.6,AU6=0.4", "output": "out/b.mp4", **TINY},
        {"command": "animate", "audio": "speech.wav", "output": "out/c.mp4", "no-blinks": True, "seed": 1, **TINY},
        {"command": "render", "au": "AU12=0.8", "output": "out/still.png", "size": 64},
        {"command": "text2au", "text": "calm at first, then furious", "output": "out/au.safetensors"},
        {"command": "animate", "audio": "missing.wav", "output": "out/d.mp4", **TINY},  # fails when it runs
        {"command": "animate", "audio": "speech.wav", "output": "out/e.mp4", "lip_samples": "four"},  # refused up front
    ])


def check_mixed(folder: Path, code: int, lines: list[dict], ray: bool = False) -> None:
    assert code == 1  # one job failed, the others went on
    status = by_job(lines)
    assert sorted(status) == [1, 2, 3, 4, 5, 6, 7]
    assert lines[0]["job"] == 7  # refused before anything ran
    for number in (1, 2, 3, 4, 5):
        line = status[number]
        assert line["status"] == "ok" and line["error"] is None and line["retried"] is False, line
        assert line["seconds"] > 0 and line["worker"]
        if ray:
            assert line["node"]
    assert [status[n]["command"] for n in range(1, 8)] == ["animate"] * 3 + ["render", "text2au", "animate", "animate"]
    assert status[6]["status"] == "error" and "missing.wav" in status[6]["error"] and "\n" not in status[6]["error"]
    assert status[7]["status"] == "error" and "Invalid value for '--lip-samples'" in status[7]["error"]
    for name in ("a", "b", "c"):
        info = probe(folder / "out" / f"{name}.mp4")
        assert status[" abc".index(name)]["output"] == str(folder / "out" / f"{name}.mp4")
        assert info["video"] and info["audio"] and info["size"] == (64, 64) and info["frames"] >= 30
    assert probe(folder / "out" / "still.png")["size"] == (64, 64)
    from emotalk_cli import artifacts

    track = artifacts.load_artifact(folder / "out" / "au.safetensors", artifacts.AU_TRACK)
    assert track.tensors["au"].shape[0] == 2  # two clauses
    assert not (folder / "out" / "d.mp4").exists() and not (folder / "out" / "e.mp4").exists()
    assert no_partials(folder) == []


@pytest.mark.slow
def test_local_pool_runs_a_mixed_jobs_file_and_resumes(tmp_path, tone_wav):
    jobs = mixed_jobs(tmp_path, tone_wav)
    code, lines, err = batch(jobs, "--workers", "2")
    check_mixed(tmp_path, code, lines)
    assert "batch: 6 jobs to run on 2 local workers of 1 thread" in err
    assert "batch: 5 ok, 2 error in" in err
    assert {line["worker"] for line in lines if line["status"] == "ok"} <= {"local-1", "local-2"}

    # resumed: done jobs are skipped (nothing rewritten), the failed ones fail again
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    (tmp_path / "out" / "b.mp4").unlink()
    code, lines, err = batch(jobs, "--workers", "1", "--quiet")
    status = by_job(lines)
    assert code == 1 and "batch:" not in err  # --quiet
    assert [status[n]["status"] for n in range(1, 8)] == ["skipped", "ok", "skipped", "skipped", "skipped", "error", "error"]
    assert probe(tmp_path / "out" / "b.mp4")["frames"] >= 30
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items() if p.name != "b.mp4")

    # from stdin, relative to the current folder; --force reruns done jobs
    good = [line for line in jobs.read_text().splitlines() if "missing" not in line and "four" not in line]
    done = subprocess.run([str(EMOTALK), "batch", "-", "--force", "--quiet"], input="\n".join(good[:2]) + "\n",
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["status"] for line in done.stdout.splitlines()] == ["ok", "ok"]
    assert (tmp_path / "out" / "a.mp4").stat().st_mtime_ns != stamps[tmp_path / "out" / "a.mp4"]


@pytest.mark.slow
def test_ray_local_runs_the_same_mixed_jobs_file(tmp_path, tone_wav):
    pytest.importorskip("ray")
    jobs = mixed_jobs(tmp_path, tone_wav)
    code, lines, err = batch(jobs, "--ray", "local", env=ray_env())
    check_mixed(tmp_path, code, lines, ray=True)
    assert "Ray worker" in err and "(local)" in err
    assert all(line["worker"].startswith("ray-") for line in lines if line["status"] == "ok")
    code, lines, _ = batch(jobs, "--ray", "local", env=ray_env())
    assert code == 1 and [by_job(lines)[n]["status"] for n in range(1, 8)] == ["skipped"] * 5 + ["error", "error"]


# ---------------------------------------------------------------------------------------------
# Faults: a worker killed mid-job, Ctrl-C


def long_speech(folder: Path, seconds: float = 12.0) -> Path:
    speech, rate = soundfile.read(str(EXAMPLES / "hello.wav"), dtype="float32")
    reps = int(np.ceil(seconds * rate / len(speech)))
    path = folder / "long.wav"
    soundfile.write(str(path), np.tile(speech, reps)[: int(seconds * rate)], rate)
    return path


def kill_the_worker_mid_job(process: subprocess.Popen, folder: Path, workers) -> tuple[str, str, Path, int]:
    """Once a job's partial output shows in `folder`, SIGKILL the one worker `workers()` lists (its
    pids), then let the batch finish: (stdout, stderr, the partial file seen, the killed pid)."""
    try:
        partial = wait_for_partial(folder, process)
        found = workers()
        assert len(found) == 1, found
        os.kill(found[0], signal.SIGKILL)
        out, err = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    return out, err, partial, found[0]


def wait_for_partial(folder: Path, process: subprocess.Popen, timeout: float = 300) -> Path:
    """The first temporary output file that appears (a job is mid-write), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = no_partials(folder)
        if found:
            return found[0]
        assert process.poll() is None, f"batch ended before any job was mid-write: {process.communicate()}"
        time.sleep(0.01)
    raise AssertionError("no job started writing")


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_retried_and_leaves_no_partial_file(tmp_path):
    long_speech(tmp_path)
    (tmp_path / "out").mkdir()
    jobs = write_jobs(tmp_path, [{"command": "animate", "audio": "long.wav", "output": "out/long.mp4", "seed": 1, **TINY},
                                 {"command": "render", "au": "AU12=0.5", "output": "out/still.png", "size": 64}])
    process = subprocess.Popen([str(EMOTALK), "batch", str(jobs), "--workers", "1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    out, err, partial, _ = kill_the_worker_mid_job(process, tmp_path / "out", lambda: _workers(process.pid))
    assert partial.name.startswith(".long.") and partial.name.endswith(".part.mp4")
    assert process.returncode == 0, err
    status = by_job([json.loads(line) for line in out.splitlines()])
    assert status[1]["status"] == "ok" and status[1]["retried"] is True and status[1]["error"] is None
    assert status[2]["status"] == "ok" and status[2]["retried"] is False
    assert "was killed by SIGKILL (out of memory?) while running it: retrying it on another worker" in err
    assert "batch: job 1 (animate) started again on local-2" in err
    assert probe(tmp_path / "out" / "long.mp4")["frames"] == 300
    assert no_partials(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_without_partial_files_and_a_rerun_finishes_it(tmp_path):
    long_speech(tmp_path)
    (tmp_path / "out").mkdir()
    jobs = write_jobs(tmp_path, [
        {"command": "render", "au": "AU12=0.5", "output": "out/first.png", "size": 64},
        {"command": "animate", "audio": "long.wav", "output": "out/long.mp4", **TINY},
        {"command": "animate", "audio": "long.wav", "output": "out/later.mp4", **TINY},
    ])
    process = subprocess.Popen([str(EMOTALK), "batch", str(jobs), "--workers", "1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_partial(tmp_path / "out", process)
        workers = _workers(process.pid)
        assert len(workers) == 1
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends to the batch (its workers are in their own groups)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "emotalk: error: interrupted: 2 jobs not finished, no partial file left; run the same command again" in err
    assert [json.loads(line)["job"] for line in out.splitlines()] == [1]
    assert no_partials(tmp_path) == []
    assert not (tmp_path / "out" / "long.mp4").exists()
    assert not _alive(workers[0])  # the worker stopped with the batch
    code, lines, err = batch(jobs, "--workers", "1", "--quiet")
    assert code == 0, err
    assert [by_job(lines)[n]["status"] for n in (1, 2, 3)] == ["skipped", "ok", "ok"]
    assert probe(tmp_path / "out" / "long.mp4")["frames"] == 300


@pytest.mark.slow
def test_a_ray_worker_killed_mid_job_is_retried(tmp_path):
    pytest.importorskip("ray")
    long_speech(tmp_path)
    (tmp_path / "out").mkdir()
    jobs = write_jobs(tmp_path, [{"command": "animate", "audio": "long.wav", "output": "out/long.mp4", **TINY}])
    process = subprocess.Popen([str(EMOTALK), "batch", str(jobs), "--ray", "local"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ray_env())
    out, err, _, killed = kill_the_worker_mid_job(process, tmp_path / "out", lambda: [
        pid for pid in _descendants(process.pid) if _cmdline(pid).startswith(b"ray::JobActor.run")])
    assert process.returncode == 0, err
    [line] = [json.loads(line) for line in out.splitlines()]
    assert line["status"] == "ok" and line["retried"] is True and line["worker"] != f"ray-{socket.gethostname()}-{killed}"
    assert f"Ray worker ray-{socket.gethostname()}-{killed} died while running it" in err
    assert probe(tmp_path / "out" / "long.mp4")["frames"] == 300
    assert no_partials(tmp_path) == []


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _descendants(pid: int) -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _workers(pid: int) -> list[int]:
    """Process ids of the batch's worker processes (its children started by multiprocessing's spawn;
    not its resource tracker), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == pid and b"spawn_main" in command and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# ---------------------------------------------------------------------------------------------
# A two-node Ray cluster on this machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _FlakyRay:
    """Stands in for the ray module: ray.init fails as a Ray client does when the head cannot start
    the client's session (`fails` times), then connects."""

    def __init__(self, fails: int):
        self.fails, self.inits, self.shutdowns, self.connected = fails, 0, 0, False

    def is_initialized(self):
        return self.connected

    def init(self, address, **kwargs):
        self.inits += 1
        if self.inits <= self.fails:
            raise ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last):\n"
                                         "  ...\nRuntimeError: Starting Ray client server failed.")
        self.connected = True

    def shutdown(self):
        self.shutdowns += 1


def test_a_ray_client_session_the_head_fails_to_start_is_retried(monkeypatch, capsys):
    from emotalk_cli.batch import ray_runner
    from emotalk_cli.errors import EmotalkError

    monkeypatch.setattr(ray_runner.time, "sleep", lambda seconds: None)
    flaky = _FlakyRay(fails=2)
    monkeypatch.setitem(sys.modules, "ray", flaky)
    assert ray_runner.connect("ray://head:10001", tries=3) is flaky and flaky.inits == 3
    assert capsys.readouterr().err.count("trying again") == 2
    # a session that never starts: one line saying why (the server's reason, not its empty heading)
    monkeypatch.setitem(sys.modules, "ray", _FlakyRay(fails=5))
    with pytest.raises(EmotalkError, match=r"after 3 tries \(RuntimeError: Starting Ray client server failed\.\)"):
        ray_runner.connect("ray://head:10001", tries=3)


@pytest.mark.slow
def test_two_node_ray_cluster_runs_jobs_on_both_nodes(tmp_path, tone_wav):
    pytest.importorskip("ray")
    import tempfile

    ray_cli = Path(sys.executable).parent / "ray"
    env = ray_env()
    port, client_port = _free_port(), _free_port()
    (tmp_path / "out").mkdir()
    shutil.copy(tone_wav, tmp_path / "speech.wav")
    jobs = write_jobs(tmp_path, [{"command": "animate", "audio": "speech.wav", "seed": i, "output": f"out/{i}.mp4",
                                  **TINY, "size": 128} for i in range(6)])
    # a short folder of its own (Ray's socket paths must stay short): it marks this cluster's processes
    session = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    common = ["--num-cpus=1", "--disable-usage-stats"]
    try:
        # the head's client server waits 120 s, not Ray's 30, for a client's session to start on this loaded machine
        subprocess.run([str(ray_cli), "start", "--head", f"--port={port}", "--include-dashboard=false",
                        f"--ray-client-server-port={client_port}", f"--temp-dir={session}", *common], check=True,
                       env=dict(env, RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S="120"), capture_output=True, timeout=180)
        subprocess.run([str(ray_cli), "start", f"--address=127.0.0.1:{port}", *common], check=True, env=env,
                       capture_output=True, timeout=180)
        code, lines, err = batch(jobs, "--ray", "auto", env=dict(env, RAY_ADDRESS=f"127.0.0.1:{port}"))
        # the same cluster through a Ray client connection, two jobs rerun
        client_jobs = write_jobs(tmp_path, jobs.read_text().splitlines()[:2], name="two.jsonl")
        client_code, client_lines, client_err = batch(client_jobs, "--ray", f"ray://127.0.0.1:{client_port}", "--force",
                                                      env=env)
    finally:
        # this cluster's processes only (`ray stop` would stop every Ray instance on the machine, others' too)
        _stop_processes([session, f"127.0.0.1:{port}", f":{port} "])
        shutil.rmtree(session, ignore_errors=True)
    assert code == 0, err
    assert "2 Ray workers of 1 thread on 2 nodes (auto)" in err
    status = by_job(lines)
    assert sorted(status) == [1, 2, 3, 4, 5, 6] and all(line["status"] == "ok" for line in lines)
    assert len({line["node"] for line in lines}) == 2  # tasks ran on both nodes
    for i in range(6):
        assert probe(tmp_path / "out" / f"{i}.mp4")["size"] == (128, 128)
    assert client_code == 0, client_err
    assert [line["status"] for line in sorted(client_lines, key=lambda line: line["job"])] == ["ok", "ok"]
    assert f"on 2 nodes (ray://127.0.0.1:{client_port})" in client_err
    assert no_partials(tmp_path) == []


def _stop_processes(markers: list[str]) -> None:
    """SIGTERM, then SIGKILL, every process whose command line holds one of `markers`, and their descendants."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                table[int(entry.name)] = (parent, (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" ")
            except (OSError, ValueError, IndexError):
                continue
    found = {pid for pid, (_, command) in table.items()
             if pid != os.getpid() and any(marker.encode() in command for marker in markers)}
    frontier = set(found)
    while frontier:
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in found:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in found):
            time.sleep(0.2)
