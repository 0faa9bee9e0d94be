"""Check this installation: versions, device, rasterizer backends, weights, ffmpeg encoders, threads.

Examples:

  emotalk doctor

  emotalk doctor --json | jq .ok

Prints one screen on stdout: each check with [ok], [--] (not available: the product still runs,
slower or with a format fewer) or [FAIL] (the product cannot run until it is fixed, with how).
gsplat's CUDA kernels are not built by this command: where they are not built yet it says whether
they can be (CUDA toolkit and C++ compiler found) or why not. Exits 0 when emotalk can run here,
1 with the reasons on stderr otherwise.
"""

from __future__ import annotations

import typer

from emotalk_cli.cli.common import fail


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON instead of text."),
) -> None:
    from emotalk_cli.doctor import as_json as to_json
    from emotalk_cli.doctor import diagnose, problems

    checks = diagnose()
    if as_json:
        typer.echo(to_json(checks))
    else:
        section = None
        for check in checks:
            if check.section != section:
                section = check.section
                typer.echo(f"{section}:")
            mark = "ok" if check.ok else ("FAIL" if check.required else "--")
            typer.echo(f"  [{mark:>4}] {check.name:<28} {check.detail}")
    bad = problems(checks)
    if bad:
        raise fail("emotalk cannot run here: " + "; ".join(f"{c.name}: {c.detail}" for c in bad))
