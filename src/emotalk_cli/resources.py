"""Where the shipped weights and model files are: inside the installed package, or in a source checkout.

`weights/` at the top of the repository is the one source of truth. A wheel carries it as the
package folder `emotalk_cli/weights/` (setup.py copies it there at build time), read here through
importlib.resources; a source checkout or an editable install (`make setup`) reads the repository's
`weights/` directly. `$EMOTALK_WEIGHTS` points both at another folder (a test, a site mirror).
This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

ENV_WEIGHTS = "EMOTALK_WEIGHTS"
SOURCE_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"  # <repo>/weights for src/emotalk_cli/resources.py


def packaged_weights() -> Path | None:
    """emotalk_cli/weights inside an installed wheel, or None (source checkouts and editable installs have none)."""
    folder = resources.files("emotalk_cli").joinpath("weights")
    if isinstance(folder, Path) and folder.is_dir():  # a wheel unpacked on disk (pip, pipx); not a zip import
        return folder
    return None


def weights_dir() -> Path:
    """The folder the shipped weights are read from: $EMOTALK_WEIGHTS, the package's, else the checkout's."""
    if os.environ.get(ENV_WEIGHTS):
        return Path(os.environ[ENV_WEIGHTS])
    return packaged_weights() or SOURCE_WEIGHTS


def weights_path(name: str) -> Path:
    """weights_dir() / name: e.g. weights_path("motion.safetensors"). The file may be missing; callers
    say which `make` target builds it."""
    return weights_dir() / name
