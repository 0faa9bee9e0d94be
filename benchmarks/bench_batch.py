"""`emotalk batch` against separate `emotalk animate` processes: six 4 s clips, same run, same machine.

    python benchmarks/bench_batch.py [--jobs 6] [--rounds 1] [--no-ray] [--workers 1,2]   (part of `make bench`)

Six animate jobs (examples/hello.wav, 4.24 s of speech; 512x512, 25 fps, the default 20 steps and
4 lip samples; each its own emotion and seed) are run
- as six `emotalk animate` processes one after another (what a CI script does today), and as six
  processes two at a time (`xargs -P 2`-style; one per core here), for reference;
- as one `emotalk batch` on the local pool (the default workers, and each --workers count asked for);
- as one `emotalk batch --ray local` (Ray started and stopped inside the timed command).
Every timing is the wall clock around whole commands, start-up included, after one untimed
`emotalk animate` (numba's compile cache on disk, files in the page cache). The goal: the batch in
at most 0.75 of the separate processes' time. One JSON object per line on stdout:
{"bench": "emotalk batch", "runner", "workers", "jobs", "separate_seconds", "batch_seconds", "ratio", ...}
the CPU seconds of the separate processes and of a local batch (its workers and their ffmpeg; a
load-robust figure of the work saved: the wall clock moves with whatever else the machine runs),
and "clips_per_hour_per_core": steady state, from the status lines' per-job seconds (each worker
holds one core's share), and from the whole batch's wall clock, start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMOTALK = Path(sys.executable).parent / "emotalk"
SPEECH = ROOT / "examples" / "hello.wav"
EMOTIONS = ["furious", "gently amused", "sad", "calm at first, then furious", "nervous", "over the moon"]
GOAL = 0.75


def animate_args(index: int, folder: Path) -> list[str]:
    return ["--audio", str(folder / "hello.wav"), "--emotion", EMOTIONS[index % len(EMOTIONS)], "--seed", str(index),
            "-o", str(folder / "out" / f"clip{index}.mp4")]


def jobs_file(count: int, folder: Path) -> Path:
    path = folder / "jobs.jsonl"
    with open(path, "w") as out:
        for i in range(count):
            out.write(json.dumps({"command": "animate", "audio": "hello.wav", "emotion": EMOTIONS[i % len(EMOTIONS)],
                                  "seed": i, "output": f"out/clip{i}.mp4"}) + "\n")
    return path


def clean(folder: Path) -> None:
    shutil.rmtree(folder / "out", ignore_errors=True)
    (folder / "out").mkdir()


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their reaped descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def separate(count: int, folder: Path, parallel: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds of `count` `emotalk animate` processes, `parallel` at a time."""
    clean(folder)
    commands = [[str(EMOTALK), "animate", *animate_args(i, folder), "--quiet"] for i in range(count)]
    cpu, start = children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda c: subprocess.run(c, check=True), commands))
    return time.perf_counter() - start, children_cpu() - cpu


def batch(jobs: Path, folder: Path, extra: list[str]) -> tuple[float, float, list[dict]]:
    """Wall seconds, CPU seconds (the batch and its worker processes, ffmpeg included; not Ray's
    processes, which are not its children) and the status lines of one `emotalk batch`."""
    clean(folder)
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run([str(EMOTALK), "batch", str(jobs), "--quiet", *extra], check=True, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    bad = [line for line in lines if line["status"] != "ok"]
    if bad or len(lines) != len(jobs.read_text().splitlines()):
        raise SystemExit(f"batch {extra}: not every job ok: {bad or lines}\n{done.stderr}")
    return seconds, cpu, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything, interleaved (the machine's load drifts)")
    parser.add_argument("--workers", default="", help="also time --workers N for each N in this comma list (e.g. 1,2)")
    parser.add_argument("--no-ray", action="store_true", help="leave out --ray local")
    parser.add_argument("--no-parallel", action="store_true", help="leave out the separate processes run side by side")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    runs: list[tuple[str, list[str]]] = [("local", [])]
    runs += [("local", ["--workers", w.strip()]) for w in args.workers.split(",") if w.strip()]
    if not args.no_ray:
        runs.append(("ray local", ["--ray", "local"]))
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        shutil.copy(SPEECH, folder / "hello.wav")
        jobs = jobs_file(args.jobs, folder)
        clean(folder)
        subprocess.run([str(EMOTALK), "animate", *animate_args(0, folder), "--quiet"], check=True)  # warm-up, untimed
        for round_ in range(1, args.rounds + 1):
            alone, alone_cpu = separate(args.jobs, folder, 1)
            side_by_side = None if args.no_parallel else separate(args.jobs, folder, cores)[0]
            for runner, extra in runs:
                seconds, cpu, lines = batch(jobs, folder, extra)
                workers = len({line["worker"] for line in lines})
                per_job = sum(line["seconds"] for line in lines) / len(lines)
                label = f"{runner} ({' '.join(extra) or 'default workers'})"
                ratios.setdefault(label, []).append(seconds / alone)
                print(json.dumps({
                    "bench": "emotalk batch", "round": round_, "runner": runner,
                    "options": " ".join(extra) or "(default workers)", "workers_used": workers, "cores": cores,
                    "jobs": args.jobs, "clip_seconds": 4.24, "size": 512,
                    "separate_seconds": round(alone, 2), "batch_seconds": round(seconds, 2),
                    "ratio": round(seconds / alone, 3), "goal_ratio": GOAL, "met": seconds / alone <= GOAL,
                    "separate_cpu_seconds": round(alone_cpu, 1),
                    **({"batch_cpu_seconds": round(cpu, 1), "cpu_ratio": round(cpu / alone_cpu, 3)}
                       if runner == "local" else {}),
                    **({} if side_by_side is None else {
                        "separate_side_by_side_seconds": round(side_by_side, 2), "side_by_side": cores,
                        "ratio_vs_side_by_side": round(seconds / side_by_side, 3)}),
                    "job_seconds_mean": round(per_job, 2),
                    "clips_per_hour_per_core": round(3600 / per_job * workers / cores, 1),
                    "clips_per_hour_per_core_with_startup": round(3600 * args.jobs / seconds / cores, 1),
                    "separate_clips_per_hour_per_core": round(3600 * args.jobs / alone / cores, 1),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                }), flush=True)
    if args.rounds > 1:
        for label, values in ratios.items():
            print(json.dumps({"bench": "emotalk batch", "summary": label, "rounds": args.rounds,
                              "ratio_median": round(statistics.median(values), 3),
                              "ratios": [round(v, 3) for v in values], "goal_ratio": GOAL}), flush=True)


if __name__ == "__main__":
    main()
