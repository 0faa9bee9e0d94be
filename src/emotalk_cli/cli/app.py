"""The Typer app. Each command lives in its own module and is registered here once it works."""

from __future__ import annotations

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


_register()


def main() -> None:
    app()
