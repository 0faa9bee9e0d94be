"""`emotalk animate` as a user runs it: memory against audio length, and the whole command's speed.

    python benchmarks/bench_animate.py [--weights W] [--long-minutes 60] [--render-minutes 1]   (part of `make bench`)

Each case runs `emotalk animate` in a fresh child process; its peak resident memory is ru_maxrss
from os.wait4 (on Linux the largest peak among the child and its reaped descendants, checked here:
ffmpeg, which encodes beside animate, counts as a process of its own, not added to animate's), its
time the wall clock around it. Speech is examples/hello.wav looped to the length wanted, written in
blocks to a temporary folder (16 kHz mono PCM-16, as hello.wav).
- memory, motion only: `--motion-only --motion-out` for 1 minute and for `--long-minutes` (60) of
  speech. animate streams the audio (audio.features.file_features) and samples a minute at a time
  (generate.py's chunks), so memory should grow only by the clip's own arrays (features 0.96 MB a
  minute as float32, motion 0.36): the figure to read is `mb_per_audio_minute`, the peak's growth
  per extra minute, against `clip_arrays_mb_per_minute`;
- memory, with video: the full path (motion, render, encode with sound) for `--render-short-minutes`
  (0.2) and `--render-minutes` (10) at `--render-size` (64) px: do rendering and encoding stream?
  (about 5 minutes here: a 64 px frame costs ~27 CPU-ms, nearly all of it per-Gaussian work);
- memory, m4a against wav (`--m4a-minutes`, 60): the same looped speech as wav and as m4a (aac 64 kb/s,
  made by the shipped ffmpeg), each through `--motion-only --motion-out --lip-samples 1`: the m4a is
  decoded by ffmpeg on a pipe (audio.io), once to count its samples and once for the features, so its
  peak should match the wav's; and, in this process, the seconds ffmpeg takes to count the m4a's
  samples (audio_info) and to decode it block by block (audio.features.iter_audio);
- speed: the whole command for 10 s of speech at 512x512, 25 fps, --emotion "gently amused"
  (start-up, text2au, sampling, rendering, encoding; goal <= 10 s), after one warm-up run (numba's
  compile cache); and motion sampling alone for the same 10 s, in process (generate_motion, 20
  steps, 1 thread, best of 3), next to the figure animate itself prints.
One JSON object per line on stdout, a summary with the goals on stderr. Timings depend on the machine
and its load: each line carries the load average and the cores, and the child's CPU seconds (user +
system, reaped children included), which a busy machine distorts less than the wall clock.

Measured here (2026-11-24, session 3, the shipped weights/motion.safetensors; one of the 2 cores busy
with a text2au training run, load average 2-3, so times are upper bounds):
- motion only: peak RSS 695 MB for 1 min, 710 MB for 60 min: +0.26 MB per audio minute (the clip's own
  arrays are 1.32 MB a minute; before streaming and chunking it was +12 MB a minute, 1400 MB for 60 min).
  60 min took 94 s wall, 94 CPU-s;
- video at 64 px: 787 MB for 0.2 min, 768 MB for 10 min (580 s wall, 581 CPU-s): flat;
- 10 s at 512x512, machine otherwise idle (23:37): 8.96 / 9.30 / 9.14 s wall (goal <= 10 s), 15.1-15.8 CPU-s;
  animate's own clock 7.2-7.6 s (the rest is Python and torch starting); motion sampling 0.24 s. With one
  core busy elsewhere it was 15.2 s (numba on 1 thread, device.numba_threads_for_idle_cores), 21 s before.
- 2026-11-25, animate's mouth now the median of 4 samples (--lip-samples 4, the default), machine
  otherwise idle (01:19): 9.03 / 9.08 / 9.47 s wall, 14.8-15.6 CPU-s; motion sampling 0.85-0.87 s.
  Motion only: 682 MB for 1 min, 788 MB for 60 min (+1.79 MB per audio minute: the three extra
  samples' speech channels, 0.16 MB a minute each, and one sample's arrays while it is made), 353 s wall.
  Video at 64 px: 757 MB for 0.2 min, 771 MB for 10 min (326 s wall).
- 2026-12-07, issue #22 (any audio): `--skip memory video speed` (the m4a case alone), load average 5-9
  on the 2 cores (other sessions' tests and fits), so times are upper bounds: 60 min of looped speech,
  `--motion-only --lip-samples 1`: peak RSS 971 MB from the m4a (aac 64 kb/s, 31.7 MB) against 976 MB
  from the wav (115 MB), 258 / 272 s wall, 140 / 138 CPU-s: decoding through ffmpeg costs no memory.
  Decoding the hour of m4a in this process: 1.64 s to count its samples, 1.95 s streamed through
  iter_audio (about 2000x real time). (The wav's 976 MB is not the 710 MB measured on 2026-11-24 with
  one lip sample: the tree just before this change gives the same, 966 MB against 967 MB with it, on
  one 60-min wav run side by side; 1 min now peaks at 776 MB.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
EMOTALK = Path(sys.executable).parent / "emotalk"
SPEECH = ROOT / "examples" / "hello.wav"
MOTION_MB_PER_MINUTE = (1500 * 160 * 4 + 1500 * 60 * 4) / 1e6  # features + motion, float32 (the wave is streamed)


def looped_speech(path: Path, seconds: float, source: Path = SPEECH, block_seconds: float = 60.0) -> Path:
    """Write `seconds` of `source` looped end to end to `path` (same rate, PCM-16), a block at a time."""
    speech, rate = soundfile.read(str(source), dtype="float32", always_2d=True)
    total = int(round(seconds * rate))
    block = int(block_seconds * rate)
    reps = int(np.ceil(block / len(speech))) + 1
    tile = np.tile(speech, (reps, 1))
    with soundfile.SoundFile(str(path), "w", samplerate=rate, channels=speech.shape[1], subtype="PCM_16") as out:
        written = 0
        while written < total:
            n = min(block, total - written)
            offset = written % len(speech)
            out.write(tile[offset: offset + n])
            written += n
    return path


def to_m4a(wav: Path, m4a: Path, bitrate: str = "64k") -> Path:
    """Encode `wav` as aac in an m4a with the shipped ffmpeg."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
                    "-c:a", "aac", "-b:a", bitrate, str(m4a)], check=True)
    return m4a


def decode_seconds(path: Path) -> dict:
    """Seconds to count `path`'s samples (audio_info: one ffmpeg pass on a pipe) and to stream it through
    iter_audio (a second pass, as animate's features read it), with the audio's length."""
    from emotalk_cli.audio.features import iter_audio
    from emotalk_cli.audio.io import audio_info

    started = time.perf_counter()
    info = audio_info(path)
    counted = time.perf_counter() - started
    started = time.perf_counter()
    samples = sum(block.shape[0] for block in iter_audio(info))
    streamed = time.perf_counter() - started
    assert samples == info.frames, (samples, info.frames)
    return {"decoder": info.decoder, "audio_seconds": round(info.seconds, 2), "count_seconds": round(counted, 2),
            "stream_seconds": round(streamed, 2)}


def run_child(command: list[str]) -> dict:
    """Run a command; its wall time, exit status, peak RSS (MB) and its stderr's last line."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}): {stderr.strip()[-500:]}")
    lines = [line for line in stderr.splitlines() if line.strip()]
    return {"wall_seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "last_line": lines[-1] if lines else ""}


def context() -> dict:
    return {"load_average": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count()}


def animate(audio: Path, weights: Path | None, *args: str) -> list[str]:
    command = [str(EMOTALK), "animate", "--audio", str(audio), "--force"]
    return command + (["--weights", str(weights)] if weights else []) + list(args)


def sampled_seconds(line: str) -> float | None:
    """animate's closing line: '... motion sampled in 0.41 s, total 9.8 s)' -> 0.41."""
    match = re.search(r"motion sampled in ([\d.]+) s", line)
    return float(match.group(1)) if match else None


def command_seconds(line: str) -> float | None:
    """animate's closing line: '... total 9.8 s)' -> 9.8 (from its start, after Python's imports)."""
    match = re.search(r"total ([\d.]+) s\)", line)
    return float(match.group(1)) if match else None


def motion_sampling(weights: Path | None, seconds: float = 10.0, runs: int = 3) -> float:
    """Best-of-`runs` seconds of generate_motion over `seconds` of looped speech, 1 torch thread."""
    import torch

    from emotalk_cli import facs
    from emotalk_cli.audio.features import load_audio
    from emotalk_cli.motion.denoiser import load_model
    from emotalk_cli.motion.generate import GenerateOptions, default_lip_strength, generate_motion

    torch.set_num_threads(1)
    model = load_model(weights)
    options = GenerateOptions(lip_strength=default_lip_strength(model))  # as animate samples
    wave = load_audio(SPEECH)
    wave = wave.repeat(int(np.ceil(seconds * 16_000 / wave.shape[0])))[: int(seconds * 16_000)]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        generate_motion(model, wave, torch.zeros(facs.NUM_AUS), options)
        times.append(time.perf_counter() - started)
    return min(times)


def emit(record: dict) -> dict:
    print(json.dumps({**record, **context()}), flush=True)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_animate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, default=None, help="motion model [default: weights/motion.safetensors]")
    parser.add_argument("--long-minutes", type=float, default=60.0, help="long clip for the motion-only memory case (default 60)")
    parser.add_argument("--render-minutes", type=float, default=10.0,
                        help="long clip for the video memory case (default 10; 0 skips)")
    parser.add_argument("--render-short-minutes", type=float, default=0.2, help="short clip for the video memory case (default 0.2)")
    parser.add_argument("--render-size", type=int, default=64, help="frame size for the video memory case (default 64)")
    parser.add_argument("--m4a-minutes", type=float, default=60.0, help="clip for the m4a-against-wav memory case (default 60)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("memory", "m4a", "video", "speed"), help="cases to leave out")
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench_animate_") as scratch:
        folder = Path(scratch)
        if "memory" not in args.skip:
            for minutes in (1.0, args.long_minutes):
                audio = looped_speech(folder / f"speech_{minutes:g}min.wav", minutes * 60)
                out = run_child(animate(audio, args.weights, "--motion-only", "--motion-out", str(folder / "m.safetensors"), "--quiet"))
                results[f"motion_{minutes:g}"] = emit({"bench": "animate --motion-only", "audio_minutes": minutes,
                                                       "peak_rss_mb": out["peak_rss_mb"], "wall_seconds": out["wall_seconds"],
                                                       "cpu_seconds": out["cpu_seconds"]})
                audio.unlink()
            short, long_ = results["motion_1"], results[f"motion_{args.long_minutes:g}"]
            growth = (long_["peak_rss_mb"] - short["peak_rss_mb"]) / max(args.long_minutes - 1.0, 1e-9)
            results["motion_growth"] = emit({"bench": "animate --motion-only memory growth", "mb_per_audio_minute": round(growth, 2),
                                             "clip_arrays_mb_per_minute": round(MOTION_MB_PER_MINUTE, 2),
                                             "ratio_long_to_short": round(long_["peak_rss_mb"] / short["peak_rss_mb"], 2)})
        if "m4a" not in args.skip:
            wav = looped_speech(folder / "speech.wav", args.m4a_minutes * 60)
            m4a = to_m4a(wav, folder / "speech.m4a")
            for kind, audio in (("wav", wav), ("m4a", m4a)):
                out = run_child(animate(audio, args.weights, "--motion-only", "--motion-out", str(folder / "m.safetensors"),
                                        "--lip-samples", "1", "--quiet"))
                results[f"m4a_{kind}"] = emit({"bench": "animate --motion-only --lip-samples 1", "audio": kind,
                                               "audio_minutes": args.m4a_minutes, "file_mb": round(audio.stat().st_size / 1e6, 1),
                                               "peak_rss_mb": out["peak_rss_mb"], "wall_seconds": out["wall_seconds"],
                                               "cpu_seconds": out["cpu_seconds"]})
            results["m4a_decode"] = emit({"bench": "decode m4a (ffmpeg on a pipe)", **decode_seconds(m4a)})
            wav.unlink()
            m4a.unlink()
        if "video" not in args.skip and args.render_minutes > 0:
            for minutes in (args.render_short_minutes, args.render_minutes):
                audio = looped_speech(folder / f"speech_{minutes:g}min.wav", minutes * 60)
                out = run_child(animate(audio, args.weights, "--size", str(args.render_size), "-o", str(folder / "v.mp4"), "--quiet"))
                results[f"video_{minutes:g}"] = emit({"bench": "animate video", "audio_minutes": minutes, "size": args.render_size,
                                                      "peak_rss_mb": out["peak_rss_mb"], "wall_seconds": out["wall_seconds"],
                                                      "cpu_seconds": out["cpu_seconds"], "mp4_mb": round((folder / "v.mp4").stat().st_size / 1e6, 2)})
                audio.unlink()
        if "speed" not in args.skip:
            audio = looped_speech(folder / "ten_seconds.wav", 10.0)
            command = animate(audio, args.weights, "--emotion", "gently amused", "--size", "512", "-o", str(folder / "ten.mp4"))
            run_child(command)  # warm-up: numba's compile cache, text2au's encoder files in the page cache
            out = run_child(command)
            results["speed"] = emit({"bench": "emotalk animate", "clip_seconds": 10.0, "fps_out": 25, "width": 512, "height": 512,
                                     "wall_seconds": out["wall_seconds"], "realtime_factor": round(10.0 / out["wall_seconds"], 2),
                                     "cpu_seconds": out["cpu_seconds"],
                                     "motion_sampled_seconds_cli": sampled_seconds(out["last_line"]),
                                     "animate_total_seconds_cli": command_seconds(out["last_line"]),
                                     "peak_rss_mb": out["peak_rss_mb"], "goal_wall_seconds": 10.0})
            results["sampling"] = emit({"bench": "generate_motion", "clip_seconds": 10.0, "steps": 20, "threads": 1,
                                        "seconds": round(motion_sampling(args.weights), 3)})
    summary = []
    if "motion_growth" in results:
        g = results["motion_growth"]
        summary.append(f"motion-only peak RSS {results['motion_1']['peak_rss_mb']:.0f} MB for 1 min vs "
                       f"{results[f'motion_{args.long_minutes:g}']['peak_rss_mb']:.0f} MB for {args.long_minutes:g} min "
                       f"(+{g['mb_per_audio_minute']} MB per audio minute; the clip's own arrays are "
                       f"{g['clip_arrays_mb_per_minute']} MB a minute)")
    if "m4a_decode" in results:
        d = results["m4a_decode"]
        summary.append(f"{args.m4a_minutes:g} min motion-only (1 lip sample): peak RSS {results['m4a_m4a']['peak_rss_mb']:.0f} MB "
                       f"from m4a vs {results['m4a_wav']['peak_rss_mb']:.0f} MB from wav "
                       f"({results['m4a_m4a']['wall_seconds']:.0f} vs {results['m4a_wav']['wall_seconds']:.0f} s); "
                       f"decoding the m4a: {d['count_seconds']} s to count, {d['stream_seconds']} s streamed")
    if f"video_{args.render_minutes:g}" in results:
        summary.append(f"video at {args.render_size}px: peak RSS {results[f'video_{args.render_short_minutes:g}']['peak_rss_mb']:.0f} MB "
                       f"for {args.render_short_minutes:g} min vs "
                       f"{results[f'video_{args.render_minutes:g}']['peak_rss_mb']:.0f} MB for {args.render_minutes:g} min "
                       f"({results[f'video_{args.render_minutes:g}']['wall_seconds']:.0f} s)")
    if "speed" in results:
        s = results["speed"]
        summary.append(f"10 s of speech at 512x512: {s['wall_seconds']} s whole command (goal <= 10 s: "
                       f"{'PASS' if s['wall_seconds'] <= 10 else 'FAIL'}), motion sampling {results['sampling']['seconds']} s "
                       f"(animate says {s['motion_sampled_seconds_cli']} s of its {s['animate_total_seconds_cli']} s; "
                       f"{s['cpu_seconds']} CPU-s in all)")
    print("; ".join(summary) + f"; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
