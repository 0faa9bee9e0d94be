"""Loading and saving static Gaussian scenes: the 3DGS .ply layout or our emotalk.splats safetensors."""

from __future__ import annotations

import os
from pathlib import Path

from emotalk_cli import artifacts
from emotalk_cli.errors import ArtifactError
from emotalk_cli.splats.gaussians import Splats
from emotalk_cli.splats.ply import load_ply, save_ply


def load_splats(path: str | os.PathLike) -> Splats:
    """A .ply (3DGS layout) or an emotalk.splats .safetensors -> Splats (validated)."""
    source = Path(path)
    if source.suffix.lower() == ".ply":
        return load_ply(source)
    if source.suffix.lower() == ".safetensors":
        loaded = artifacts.load_artifact(source, artifacts.SPLATS)
        splats = Splats(**{name: loaded.tensors[name] for name in ("means", "quats", "scales", "opacities", "sh")})
        if len(splats) == 0:
            raise ArtifactError(f"{source}: the scene holds no Gaussians")
        return splats
    raise ArtifactError(f"{source}: unknown scene type {source.suffix!r}: give a 3DGS .ply or an emotalk .safetensors")


def save_splats(path: str | os.PathLike, splats: Splats, meta: dict, overwrite: bool = False) -> None:
    target = Path(path)
    if target.suffix.lower() == ".ply":
        save_ply(target, splats, overwrite=overwrite)
    else:
        tensors = {"means": splats.means, "quats": splats.quats, "scales": splats.scales,
                   "opacities": splats.opacities, "sh": splats.sh}
        artifacts.save_artifact(target, artifacts.SPLATS, tensors, meta, overwrite=overwrite)
