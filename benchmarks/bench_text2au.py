"""Speed and memory of `emotalk text2au` on this machine: cold start (a fresh `emotalk text2au TEXT --json`
process, start to exit), throughput in one process at several batch sizes, throughput of a whole
process answering prompts on stdin (JSON Lines), and the peak memory of those processes. Prints one
JSON object per line. Goals (issue 4): cold start <= 3 s, >= 100 prompts/s batched.

Run: .venv/bin/python benchmarks/bench_text2au.py   (part of `make bench`; about a minute)
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMOTALK = Path(sys.executable).parent / "emotalk"


def prompts(count: int) -> list[str]:
    """Short prompts as users write them: a modifier and an emotion word of the vocabulary."""
    from emotalk_cli.text2au import vocabulary as V

    made = [f"{a} {w.adjective}".strip() for w in V.WORDS for a in ("slightly", "very", "", "not", "then")]
    return (made * (count // len(made) + 1))[:count]


def children_peak_mib() -> float:
    """Peak resident memory of the largest child process run so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cold_starts(runs: int) -> list[float]:
    command = [str(EMOTALK), "text2au", "gently amused", "--json", "--quiet"]
    subprocess.run(command, check=True, capture_output=True)  # warm-up: the files into the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def stdin_rate(texts: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(EMOTALK), "text2au", "--quiet"], input="\n".join(texts) + "\n", check=True,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if len(done.stdout.splitlines()) != len(texts):
        raise SystemExit("bench_text2au: the stdin run did not answer one JSON line per prompt")
    return len(texts) / seconds


def main() -> None:
    import torch

    from emotalk_cli.text2au import InferOptions, load_model, text_to_keyframes

    times = cold_starts(runs=7)
    print(json.dumps({"bench": "text2au cold start", "command": "emotalk text2au 'gently amused' --json",
                      "median_seconds": round(statistics.median(times), 2), "best_seconds": round(min(times), 2),
                      "worst_seconds": round(max(times), 2), "runs": len(times), "goal_seconds": 3.0,
                      "peak_rss_mib": round(children_peak_mib())}), flush=True)

    rate = stdin_rate(prompts(1000))  # before this process loads the model: a forked child's peak would count its pages
    print(json.dumps({"bench": "text2au stdin -> JSON Lines, whole process", "prompts": 1000,
                      "prompts_per_second": round(rate), "peak_rss_mib": round(children_peak_mib())}), flush=True)

    model = load_model()
    texts = prompts(2000)
    text_to_keyframes(model, texts[:64])  # warm-up: weights paged in, kernels picked
    for batch in (16, 64, 256):
        start = time.perf_counter()
        text_to_keyframes(model, texts, InferOptions(batch_size=batch))
        rate = len(texts) / (time.perf_counter() - start)
        print(json.dumps({"bench": "text2au batched, one process", "prompts": len(texts), "batch_size": batch,
                          "prompts_per_second": round(rate), "goal_prompts_per_second": 100,
                          "threads": torch.get_num_threads(), "bfloat16": model.bf16}), flush=True)



if __name__ == "__main__":
    main()
