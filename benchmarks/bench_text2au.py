"""Speed and memory of `emotalk text2au` on this machine: cold start (a fresh `python -m emotalk_cli text2au TEXT --json`
process, start to exit), throughput in one process at several batch sizes, throughput of a whole
process answering prompts on stdin (JSON Lines), and the peak memory of those processes. Prints one
JSON object per line. Goals (issue 4): cold start <= 3 s, >= 100 prompts/s batched. The fresh
processes are the ones `make eval-text2au` times (text2au.evaluate.cold_start, stdin_throughput),
with more runs.

Run: .venv/bin/python benchmarks/bench_text2au.py   (part of `make bench`; about a minute)
"""

from __future__ import annotations

import json
import resource
import statistics
import time


def children_peak_mib() -> float:
    """Peak resident memory of the largest child process run so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    import torch

    from emotalk_cli.text2au import DEFAULT_WEIGHTS, InferOptions, load_model, text_to_keyframes
    from emotalk_cli.text2au.evaluate import cold_start, speed_prompts, stdin_throughput

    cold_start(DEFAULT_WEIGHTS, runs=1)  # warm-up: the files into the page cache
    times = cold_start(DEFAULT_WEIGHTS, runs=7)
    print(json.dumps({"bench": "text2au cold start", "command": "python -m emotalk_cli text2au 'gently amused' --json",
                      "median_seconds": round(statistics.median(times), 2), "best_seconds": round(min(times), 2),
                      "worst_seconds": round(max(times), 2), "runs": len(times), "goal_seconds": 3.0,
                      "peak_rss_mib": round(children_peak_mib())}), flush=True)

    rate = stdin_throughput(DEFAULT_WEIGHTS, speed_prompts(1000))  # before this process loads the model
    print(json.dumps({"bench": "text2au stdin -> JSON Lines, whole process", "prompts": 1000,
                      "prompts_per_second": round(rate), "peak_rss_mib": round(children_peak_mib())}), flush=True)

    model = load_model()
    texts = speed_prompts(2000)
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
