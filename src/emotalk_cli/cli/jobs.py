"""emotalk's commands as batch jobs: a jobs file's lines checked through the real commands, and
the invoker a batch worker runs them with.

One job per line, e.g.

    {"command": "animate", "audio": "a.wav", "emotion": "furious", "seed": 3, "output": "out/a.mp4"}

`command` is animate, render, text2au or fit-avatar; every other key is one of that command's long
options, written with '-' or '_' ("lip-samples", "lip_samples", "--lip-samples"), or text2au's TEXT
argument as "text". true / false turn flags on and off ("blinks": false is --no-blinks); null leaves
an option at its default. Relative paths are relative to `base` (the jobs file's folder).

Each line becomes the command's argument list and is parsed by the command itself
(`make_context`: options, types and required options), then the command's own checks run without
its work (`common.checking_only`), so a job gets exactly the command line's checks before anything
runs. What a batch cannot do is refused here too: '-' for a file (stdin and stdout belong to the
batch), text2au without TEXT or with --json, two jobs writing one file, and a job reading a file
another job writes (jobs run side by side, in any order).

`CommandInvoker` runs a job in a worker through the same command (`make_context` + `invoke`):
progress goes to the batch through `common.progress_listener`, the command's stderr is captured
(its warnings are returned, its error line rides on the Exit it raises).

This is the CLI layer's side of `emotalk batch`; the batch library (`emotalk_cli.batch`: workers,
Ray, status lines) gets the invoker as an argument and never imports the commands.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Iterable

from emotalk_cli.batch.jobs import Job, check_clashes

COMMANDS = ("animate", "render", "text2au", "fit-avatar")

# Options that name files the command writes (their parameter names); a job is done when they all exist.
OUTPUT_PARAMS = ("output", "motion_out", "csv", "preview")
# String options that are paths although typed str (they accept '-' on the command line).
STRING_PATHS = {("animate", "au_track"), ("text2au", "output")}
# Options the batch sets itself on every job.
BATCH_SET = ("force", "quiet")


def read_jobs(lines: Iterable[str], base: Path) -> list[Job]:
    """Parse every line (blank lines are skipped); then refuse clashes between jobs. Never raises for
    a bad line: that job carries the error."""
    group = _commands()
    base = Path(os.path.abspath(base))
    jobs = [parse_line(number, line, base, group) for number, line in enumerate(lines, start=1) if line.strip()]
    check_clashes(jobs)
    return jobs


def parse_line(number: int, line: str, base: Path, group=None) -> Job:
    group = group or _commands()
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as err:
        return Job(number, None, error=f"not valid JSON ({err.msg} at column {err.colno})")
    if not isinstance(entry, dict):
        return Job(number, None, error=f"a job is a JSON object like {{\"command\": \"animate\", ...}}, not {type(entry).__name__}")
    command = entry.get("command")
    if command not in COMMANDS:
        return Job(number, command if isinstance(command, str) else None,
                   error=f"unknown command {command!r}: use one of {', '.join(COMMANDS)}" if command is not None
                   else f"no \"command\": give one of {', '.join(COMMANDS)}")
    try:
        return _build(number, command, {k: v for k, v in entry.items() if k != "command"}, base, group.commands[command])
    except _Refused as refused:
        return Job(number, command, error=str(refused))


class _Refused(Exception):
    pass


def _commands():
    """The batchable commands as click commands, built from the same functions cli.app registers (their
    options, types and checks); not cli.app itself, which registers `batch` and would import this module."""
    import typer
    import typer.main

    from emotalk_cli.cli import animate, fit_avatar, render, text2au

    batchable = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    for name, function in (("animate", animate.animate), ("render", render.render), ("text2au", text2au.text2au),
                           ("fit-avatar", fit_avatar.fit_avatar)):
        batchable.command(name)(function)
    return typer.main.get_command(batchable)


def _long_names(param) -> dict[str, tuple[str, bool]]:
    """Keys a job may use for one option -> (the option as typed on the command line, is it the 'off' form)."""
    names: dict[str, tuple[str, bool]] = {}
    for opts, off in ((param.opts, False), (getattr(param, "secondary_opts", []) or [], True)):
        for opt in opts:
            if opt.startswith("--"):
                for key in (opt[2:], opt[2:].replace("-", "_"), opt):
                    names[key] = (opt, off)
    return names


def _is_path(command: str, param) -> bool:
    if (command, param.name) in STRING_PATHS:
        return True
    descriptor = getattr(param, "type_descriptor", None)  # typer >= 0.2x: the Python annotation
    if descriptor is not None:
        return getattr(descriptor, "annotation", None) is Path
    kind = getattr(param, "type", None)  # older typer: a click.Path parameter type
    return type(kind).__name__ == "Path"


def _build(number: int, command: str, entry: dict, base: Path, cmd) -> Job:
    options: dict[str, tuple[object, str, bool]] = {}  # key -> (param, opt, off)
    arguments: dict[str, object] = {}
    for param in cmd.params:
        if param.param_type_name == "argument":
            arguments[param.name] = param
        else:
            for key, (opt, off) in _long_names(param).items():
                options[key] = (param, opt, off)
    args: list[str] = []
    positional: list[str] = []
    force = False
    seen: dict[str, str] = {}
    for key, value in entry.items():
        if not isinstance(key, str):
            raise _Refused(f"option names are strings, got {key!r}")
        if key in arguments:
            param, opt, off = arguments[key], None, False
        elif key in options:
            param, opt, off = options[key]
        else:
            known = sorted({o for p in cmd.params for o in (list(p.opts) + list(getattr(p, 'secondary_opts', []) or []))
                            if o.startswith("--")} | set(arguments))
            raise _Refused(f"{command} has no option {key!r}: its options are {', '.join(k.lstrip('-') for k in known)}")
        if param.name in seen:
            raise _Refused(f"{key!r} and {seen[param.name]!r} set the same option: give one")
        seen[param.name] = key
        if value is None:
            continue  # the default
        if param.name in BATCH_SET:
            if not isinstance(value, bool):
                raise _Refused(f"{key!r} is true or false, got {json.dumps(value)}")
            force = force or (param.name == "force" and value)
            continue  # the batch passes --force and --quiet itself
        if getattr(param, "is_flag", False):
            if not isinstance(value, bool):
                raise _Refused(f"{key!r} is a flag: give true or false, not {json.dumps(value)}")
            on = value != off
            secondary = list(getattr(param, "secondary_opts", []) or [])
            if on:
                args.append(next(o for o in param.opts if o.startswith("--")))
            elif secondary:
                args.append(secondary[0])
            elif param.default:
                raise _Refused(f"{key!r} cannot be turned off")
            continue
        if isinstance(value, (list, dict)):
            raise _Refused(f"{key!r}: give a string, a number or true/false, not {json.dumps(value)}")
        text = json.dumps(value) if isinstance(value, bool) else str(value)
        if _is_path(command, param):
            text = _path(key, text, base)
        if opt is None:
            positional.append(text)
        else:
            args += [opt, text]
    job = Job(number, command, args, positional)
    import typer

    try:
        ctx = cmd.make_context(command, job.argv())
    except typer.TyperException as err:  # click's own messages: unknown option, bad value, missing option
        raise _Refused(_one_line(err.format_message())) from None
    values = ctx.params
    _batch_rules(command, values)
    _command_checks(cmd, ctx)
    if command == "animate" and not values.get("motion_only") and values.get("output") is None:
        default = str(Path(values["audio"]).with_suffix(".mp4"))  # as animate names it, made explicit for resuming
        job.args = ["--output", default] + job.args
        values = dict(values, output=default)
    job.outputs = [os.path.abspath(str(values[name])) for name in OUTPUT_PARAMS if values.get(name) is not None]
    if not job.outputs:
        raise _Refused(f"{command} writes nothing here: give \"output\"")
    job.inputs = [os.path.abspath(str(values[p.name])) for p in cmd.params
                  if p.name not in OUTPUT_PARAMS and _is_path(command, p) and values.get(p.name) is not None]
    job.force = force
    return job


def _command_checks(cmd, ctx) -> None:
    """The command's own checks of its options (ranges, combinations), run without its work: with
    `common.checking_only` set, a command stops where its work begins. Its error line is captured."""
    import contextlib
    import io

    import typer

    from emotalk_cli.cli import common

    said = io.StringIO()
    common.checking_only = True
    try:
        with contextlib.redirect_stderr(said), ctx:
            cmd.invoke(ctx)
    except common.CheckedOnly:
        return
    except typer.Exit as done:
        if done.exit_code:
            raise _Refused(getattr(done, "message", None) or _last_error(said.getvalue())
                           or f"{ctx.info_name} refused its options") from None
    except typer.TyperException as err:
        raise _Refused(_one_line(err.format_message())) from None
    except Exception as err:  # noqa: BLE001 - a command that breaks on these options fails this job alone
        raise _Refused(f"internal error while checking the options: {type(err).__name__}: {_one_line(str(err))}") from None
    finally:
        common.checking_only = False


def _last_error(text: str) -> str | None:
    lines = [line[len("emotalk: error: "):] for line in text.splitlines() if line.startswith("emotalk: error: ")]
    return lines[-1] if lines else None


def _batch_rules(command: str, values: dict) -> None:
    """What the command line allows but a batch cannot: stdin, stdout."""
    if command == "text2au":
        if values.get("text") is None:
            raise _Refused("text2au in a batch needs its \"text\" (stdin belongs to the batch)")
        if values.get("as_json"):
            raise _Refused("text2au's \"json\" prints to stdout, which carries the batch's status lines: "
                           "write the track with \"output\" instead")
        if values.get("output") is None:
            raise _Refused("text2au in a batch writes a track file: give \"output\": \"au.safetensors\"")


def _path(key: str, text: str, base: Path) -> str:
    if text == "-":
        raise _Refused(f"{key!r}: '-' (stdin or stdout) belongs to the batch: give a file")
    path = Path(os.path.expanduser(text))
    return os.path.normpath(path if path.is_absolute() else base / path)


def _one_line(message: str) -> str:
    return " ".join(message.split())


class CommandInvoker:
    """Runs jobs through the emotalk commands in this process (made once per worker: the command
    table is built once). Called as invoker(job, listener) -> (status, error, warnings); status is
    ok, error or interrupted (Ctrl-C or SIGTERM reached the command; nothing was written)."""

    def __init__(self) -> None:
        self.group = _commands()

    def __call__(self, job: Job, listener=None) -> tuple[str, str | None, list[str]]:
        from emotalk_cli.cli import common

        said = io.StringIO()
        previous = common.progress_listener
        common.progress_listener = listener or (lambda *_: None)
        try:
            with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):
                status, error = self._invoke(job)
        finally:
            common.progress_listener = previous
        text = said.getvalue()
        warnings = [line[len("emotalk: warning: "):] for line in text.splitlines() if line.startswith("emotalk: warning: ")]
        if status == "error" and error is None:
            error = _last_error(text) or "failed without a message"
        return status, error, warnings

    def _invoke(self, job: Job) -> tuple[str, str | None]:
        import typer

        command = self.group.commands[job.command]
        try:
            ctx = command.make_context(job.command, job.argv())
            with ctx:
                command.invoke(ctx)
        except typer.Exit as done:
            if done.exit_code == 0:
                return "ok", None
            if done.exit_code == 130:
                return "interrupted", "interrupted; nothing was written"
            return "error", getattr(done, "message", None)
        except SystemExit as done:
            return ("ok", None) if done.code in (0, None) else ("error", str(done.code) if isinstance(done.code, str) else None)
        except typer.TyperException as err:
            return "error", _one_line(err.format_message())
        except KeyboardInterrupt:
            return "interrupted", "interrupted; nothing was written"
        except Exception as err:  # noqa: BLE001 - a bug in a command: one line for the job, the traceback on stderr
            traceback.print_exc(file=sys.__stderr__)  # not into the captured job output
            first = str(err).splitlines()[0] if str(err) else ""
            return "error", f"internal error: {type(err).__name__}{': ' + first if first else ''} (traceback above on stderr)"
        return "ok", None


__all__ = ["COMMANDS", "CommandInvoker", "parse_line", "read_jobs"]
