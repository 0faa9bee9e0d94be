"""The Typer app. Each command lives in its own module and is registered here once it works."""

from __future__ import annotations

import atexit
import os
import sys

import typer

from emotalk_cli import __version__

app = typer.Typer(
    name="emotalk",
    help="Talking 3D Gaussian heads from speech audio and an emotion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emotalk {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Talking 3D Gaussian heads from speech audio and an emotion (EmoDiffTalk)."""


def _register() -> None:
    # One line per command; import inside so `emotalk --help` stays fast.
    from emotalk_cli.cli import render

    app.command("render", help=render.__doc__, no_args_is_help=True)(render.render)
    from emotalk_cli.cli import text2au

    app.command("text2au", help=text2au.__doc__)(text2au.text2au)
    from emotalk_cli.cli import animate

    app.command("animate", help=animate.__doc__, no_args_is_help=True)(animate.animate)
    from emotalk_cli.cli import fit_avatar

    app.command("fit-avatar", help=fit_avatar.__doc__, no_args_is_help=True)(fit_avatar.fit_avatar)
    from emotalk_cli.cli import batch

    app.command("batch", help=batch.__doc__, no_args_is_help=True)(batch.batch)
    from emotalk_cli.cli import doctor

    app.command("doctor", help=doctor.__doc__)(doctor.doctor)


_register()


def main() -> None:
    """Run the command, then leave at once with its exit status.

    Python's own teardown after torch has been imported (clearing thousands of modules, unloading
    the CUDA libraries a CUDA build of torch loads even on a CPU machine) takes about 0.5 s on our
    2-core CI machine, a sixth of `emotalk text2au`'s cold-start budget, and does nothing a
    finished command needs: its files are closed and its temporary folders gone when its `with`
    blocks end. So once the command has finished we run the atexit handlers, flush stdout and stderr
    (a closed pipe, as in `emotalk text2au < prompts | head`, is not an error), and call os._exit.
    An exception other than SystemExit still takes the normal path, traceback and all.
    """
    try:
        app()
        code = 0
    except SystemExit as done:
        code = _exit_status(done.code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # reader gone, or stream already closed
            pass
    os._exit(code)


def _exit_status(code: object) -> int:
    """SystemExit's code -> a process status, as Python reports it (a message prints, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
