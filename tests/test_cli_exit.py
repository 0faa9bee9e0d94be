"""The `emotalk` entry point leaves through os._exit once a command is done (skipping Python's slow
teardown after torch): exit statuses, error lines and every byte of output must still come through."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
ENV.pop("PYTHONUNBUFFERED", None)  # stdout to a pipe is then block-buffered, as for most users


def emotalk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emotalk_cli", *args], input=stdin, capture_output=True, text=True,
                          env=ENV, timeout=300)


def test_version_prints_and_exits_zero():
    done = emotalk("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("emotalk ")


def test_buffered_output_and_atexit_handlers_are_not_lost():
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran'))\n"  # registered first, so it runs last
        "from emotalk_cli.cli.app import main\n"
        "sys.stdout.write('x' * 20000 + ' unflushed tail\\n')\n"  # a pipe's stdout is block-buffered
        "sys.argv = ['emotalk', '--version']\n"
        "main()\n"
        "print('never reached')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(" unflushed tail")
    assert lines[1].startswith("emotalk ")
    assert lines[2:] == ["atexit ran"]


def test_bad_option_exits_with_status_two_and_one_line_on_stderr():
    done = emotalk("text2au", "happy", "--json", "--duration", "-1")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--duration must be > 0" in lines[0]


def test_every_json_line_is_flushed_before_the_process_leaves():
    prompts = [f"{word} {n}" for n, word in enumerate(["happy", "furious", "not sad", "over the moon"] * 80)]
    done = emotalk("text2au", "--quiet", stdin="\n".join(prompts) + "\n")  # 320 prompts: more than one stdin chunk
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(prompts)
    assert lines[-1].startswith('{"text": "over the moon 319"') and lines[-1].endswith("}")
