"""Every on-disk format of emotalk, in one place.

Each stage hands the next a safetensors file: tensors plus metadata. The metadata always holds
  format    e.g. "emotalk.motion"
  version   an integer, bumped on incompatible change
  meta      JSON: the producing command and its options, the emotalk version, fps, channel names, ...
Loading checks the format, version, tensor names, shapes, dtypes and finiteness, and fails with
one line that says which command makes a right file. Every write goes to a temporary file in the
target folder that is renamed over the target only when complete (`atomic_output`), so a failed or
interrupted run leaves nothing half-written, and an existing file is kept unless overwriting was
asked for.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from safetensors import safe_open
from torch import Tensor

from emotalk_cli import __version__, facs
from emotalk_cli.errors import ArtifactError


# ---------------------------------------------------------------------------------------------
# Atomic writes

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it to `path`, on failure delete it.

    The temporary name keeps the suffix (ffmpeg and image writers pick formats from it).
    Raises ArtifactError when `path` exists and `overwrite` is false, or its folder is not writable.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise ArtifactError(f"{target} already exists: pass --force to overwrite it, or choose another -o")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ArtifactError(f"cannot write {target}: folder {folder} does not exist (create it first)")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=folder)
    except OSError as err:
        raise ArtifactError(f"cannot write {target}: {err.strerror} (choose a writable -o)") from None
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the permissions open() would
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


# ---------------------------------------------------------------------------------------------
# Format specifications


@dataclass(frozen=True)
class TensorSpec:
    """A tensor's expected shape (ints, or letters for sizes shared across tensors) and dtype."""

    shape: tuple[int | str, ...]
    dtype: torch.dtype = torch.float32
    finite: bool = True  # reject NaN / inf
    value_range: tuple[float, float] | None = None  # inclusive bounds, checked when set


@dataclass(frozen=True)
class FormatSpec:
    name: str  # the "format" metadata value
    version: int  # current version written; files of other versions are refused
    made_by: str  # the command that makes a right file, for error messages
    tensors: dict[str, TensorSpec]
    optional: dict[str, TensorSpec] = field(default_factory=dict)
    nonempty: tuple[str, ...] = ()  # size letters that must be > 0


AU_TRACK = FormatSpec(
    name="emotalk.au_track",
    version=1,
    made_by="emotalk text2au TEXT -o au.safetensors",
    tensors={
        "times": TensorSpec(("K",)),  # keyframe times in seconds, increasing, first 0
        "au": TensorSpec(("K", facs.NUM_AUS), value_range=(0.0, 1.0)),  # AU intensities per keyframe
    },
    nonempty=("K",),
)

MOTION = FormatSpec(
    name="emotalk.motion",
    version=1,
    made_by="emotalk animate --audio a.wav --motion-out motion.safetensors",
    tensors={
        "arkit": TensorSpec(("T", len(facs.ARKIT_NAMES)), value_range=(0.0, 1.0)),  # blendshape weights
        "head_rotation": TensorSpec(("T", 3)),  # axis-angle, radians, in the head's frame
        "head_translation": TensorSpec(("T", 3)),  # metres, added to the head's rest position
        "gaze": TensorSpec(("T", 2)),  # eye yaw, pitch in radians (both eyes), + = left / up
    },
    nonempty=("T",),
)

SPLATS = FormatSpec(
    name="emotalk.splats",
    version=1,
    made_by="emotalk fit-avatar, or a 3D Gaussian Splatting .ply given to --avatar directly",
    tensors={
        "means": TensorSpec(("N", 3)),  # world positions
        "quats": TensorSpec(("N", 4)),  # rotations as (w, x, y, z), any norm
        "scales": TensorSpec(("N", 3)),  # standard deviations along the rotated axes (linear, > 0)
        "opacities": TensorSpec(("N",), value_range=(0.0, 1.0)),
        "sh": TensorSpec(("N", "K", 3)),  # spherical-harmonic colour coefficients, K = (degree+1)^2
    },
)

#: The rig's tensors: shared by the head template and by avatars (which carry their own fitted rig).
_RIG_TENSORS = {
    "vertices": TensorSpec(("V", 3)),  # rest positions, metres, head frame (+x head's left, +y up, +z out of the face)
    "faces": TensorSpec(("F", 3), torch.int32),  # triangles, counter-clockwise seen from outside
    "vertex_part": TensorSpec(("V",), torch.int32),  # index into the part names (rig.PART_NAMES)
    "face_part": TensorSpec(("F",), torch.int32),  # index into the part names
    "blendshapes": TensorSpec((len(facs.ARKIT_NAMES), "V", 3), torch.float16),  # metres per unit weight
    "eye_centres": TensorSpec((2, 3)),  # eyeball rotation centres (left, right), metres
    "eye_look": TensorSpec((len(facs.ARKIT_NAMES), 2, 2)),  # eye (yaw, pitch) radians per unit weight
    "neck_pivot": TensorSpec((3,)),  # head rotation centre (base of the neck), metres
    "neck_weight": TensorSpec(("V",), value_range=(0.0, 1.0)),  # share of the head rotation per vertex
}

HEAD_TEMPLATE = FormatSpec(
    name="emotalk.head_template",
    version=1,
    made_by="make weights-head",
    tensors=dict(_RIG_TENSORS),
    optional={"base_vertex_index": TensorSpec(("V",), torch.int32)},  # vertex index in the MakeHuman base mesh
    nonempty=("V", "F"),
)

AVATAR = FormatSpec(
    name="emotalk.avatar",
    version=1,
    made_by="emotalk fit-avatar --image portrait.jpg -o avatar.safetensors",
    tensors={
        **_RIG_TENSORS,  # the avatar's own rig (the template with its identity shape applied)
        # Gaussians bound to triangles (GaussianAvatars): see splats/binding.py
        "gaussian_parent": TensorSpec(("N",), torch.int32),  # parent triangle index
        "gaussian_means": TensorSpec(("N", 3)),  # position in the triangle's frame, units of its scale
        "gaussian_quats": TensorSpec(("N", 4)),  # rotation in the triangle's frame (w, x, y, z)
        "gaussian_log_scales": TensorSpec(("N", 3)),  # log(standard deviation / triangle scale)
        "gaussian_opacities": TensorSpec(("N",), value_range=(0.0, 1.0)),
        "gaussian_sh": TensorSpec(("N", "K", 3)),  # SH colour coefficients, K = (degree + 1)^2
    },
    optional={
        "base_vertex_index": TensorSpec(("V",), torch.int32),
        # the photo's scene (photo_scene.PhotoScene): its camera, pose and expression, and two grid
        # layers of Gaussians (background; person: hair, neck, clothes) at S_h x S_w of the photo
        "scene_K": TensorSpec((3, 3)),
        "scene_viewmat": TensorSpec((4, 4)),
        "scene_photo_size": TensorSpec((2,)),
        "scene_head_rotation": TensorSpec((3,)),
        "scene_head_translation": TensorSpec((3,)),
        "scene_arkit": TensorSpec((len(facs.ARKIT_NAMES),)),
        "scene_gaze": TensorSpec((2,)),
        "scene_background_rgb": TensorSpec(("S_h", "S_w", 3), torch.float16),
        "scene_background_depth": TensorSpec(("S_h", "S_w"), torch.float16),
        "scene_person_rgb": TensorSpec(("S_h", "S_w", 3), torch.float16),
        "scene_person_alpha": TensorSpec(("S_h", "S_w"), torch.float16, value_range=(0.0, 1.0)),
        "scene_person_depth": TensorSpec(("S_h", "S_w"), torch.float16),
        "scene_person_weight": TensorSpec(("S_h", "S_w"), torch.float16, value_range=(0.0, 1.0)),
        # ARKit weights held at rest to counter what the texture still says there (fit/rest.py)
        "rest_arkit": TensorSpec((len(facs.ARKIT_NAMES),), value_range=(0.0, 1.0)),
    },
    nonempty=("V", "F", "N"),
)

#: MediaPipe's face landmarks as points on the head template's triangles (for fitting).
LANDMARK_MAP = FormatSpec(
    name="emotalk.landmark_map",
    version=1,
    made_by="make weights-landmarks",
    tensors={
        "landmark": TensorSpec(("L",), torch.int32),  # MediaPipe FaceLandmarker landmark index (0..477)
        "triangle": TensorSpec(("L",), torch.int32),  # template triangle index
        "barycentric": TensorSpec(("L", 3)),  # weights of the triangle's 3 vertices, sum 1
        "weight": TensorSpec(("L",), value_range=(0.0, 1.0)),  # trust in the landmark for fitting
    },
    nonempty=("L",),
)

FORMATS = {spec.name: spec for spec in (AU_TRACK, MOTION, SPLATS, HEAD_TEMPLATE, AVATAR, LANDMARK_MAP)}


@dataclass
class Artifact:
    """Loaded tensors with their metadata."""

    tensors: dict[str, Tensor]
    meta: dict
    spec: FormatSpec


def save_artifact(
    path: str | os.PathLike,
    spec: FormatSpec,
    tensors: dict[str, Tensor],
    meta: dict,
    overwrite: bool = False,
) -> None:
    """Validate `tensors` against `spec` and write them atomically with `meta` (JSON-able)."""
    _validate(spec, tensors, where="(about to be written)")
    full_meta = {"emotalk_version": __version__, **meta}
    metadata = {"format": spec.name, "version": str(spec.version), "meta": json.dumps(full_meta)}
    payload = {name: t.detach().to("cpu", spec_dtype(spec, name)).contiguous() for name, t in tensors.items()}
    with atomic_output(path, overwrite=overwrite) as temp:
        save_file(payload, str(temp), metadata=metadata)


def spec_dtype(spec: FormatSpec, name: str) -> torch.dtype:
    return (spec.tensors.get(name) or spec.optional[name]).dtype


def read_safetensors(
    path: str | os.PathLike, format_name: str, version: int, made_by: str, device: str = "cpu"
) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors and raw metadata of a safetensors file of ours, once it is known to exist, be readable
    and carry `format_name` at `version`. Every way it can fail is an ArtifactError of one line
    that names the command making a right file (`made_by`). Models and corpus shards, whose
    tensors a FormatSpec cannot list, use this directly; `load_artifact` builds on it."""
    source = Path(path)
    hint = f"make one with: {made_by}"
    if not source.is_file():
        raise ArtifactError(f"{source}: no such file ({hint})")
    try:
        with safe_open(str(source), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(source), device=device)
    except (SafetensorError, OSError, ValueError) as err:
        raise ArtifactError(f"{source}: not a readable safetensors file ({str(err).splitlines()[0]}); {hint}") from None
    found = metadata.get("format")
    if found != format_name:
        what = f"a {found} file" if found else "not an emotalk file"
        raise ArtifactError(f"{source}: expected a {format_name} file but it is {what}; {hint}")
    if metadata.get("version") != str(version):
        raise ArtifactError(
            f"{source}: {format_name} version {metadata.get('version')} is not supported "
            f"(this emotalk reads version {version}); remake it: {made_by}"
        )
    return tensors, metadata


def load_artifact(path: str | os.PathLike, spec: FormatSpec) -> Artifact:
    """Read and validate a file of format `spec`; raise ArtifactError with a one-line fix otherwise."""
    source = Path(path)
    hint = f"make one with: {spec.made_by}"
    tensors, metadata = read_safetensors(source, spec.name, spec.version, spec.made_by)
    try:
        meta = json.loads(metadata.get("meta", "{}"))
    except json.JSONDecodeError:
        raise ArtifactError(f"{source}: its metadata is not valid JSON; {hint}") from None
    _validate(spec, tensors, where=f"{source}:", hint=hint)
    return Artifact(tensors=tensors, meta=meta, spec=spec)


def _validate(spec: FormatSpec, tensors: dict[str, Tensor], where: str, hint: str = "") -> None:
    suffix = f"; {hint}" if hint else ""
    sizes: dict[str, int] = {}
    missing = [name for name in spec.tensors if name not in tensors]
    if missing:
        raise ArtifactError(f"{where} missing tensor(s) {', '.join(missing)} for {spec.name}{suffix}")
    allowed = {**spec.tensors, **spec.optional}
    for name, tensor in tensors.items():
        expected = allowed.get(name)
        if expected is None:
            raise ArtifactError(f"{where} unexpected tensor {name!r} in a {spec.name} file{suffix}")
        if tensor.dtype != expected.dtype and not (tensor.is_floating_point() and expected.dtype.is_floating_point):
            raise ArtifactError(f"{where} tensor {name!r} has dtype {tensor.dtype}, expected {expected.dtype}{suffix}")
        if tensor.dim() != len(expected.shape):
            raise ArtifactError(
                f"{where} tensor {name!r} has shape {list(tensor.shape)}, expected {list(expected.shape)}{suffix}"
            )
        for size, want in zip(tensor.shape, expected.shape):
            if isinstance(want, str):
                if sizes.setdefault(want, size) != size:
                    raise ArtifactError(
                        f"{where} tensor {name!r} has shape {list(tensor.shape)}: size {want} is {size} here "
                        f"but {sizes[want]} elsewhere{suffix}"
                    )
            elif size != want:
                raise ArtifactError(
                    f"{where} tensor {name!r} has shape {list(tensor.shape)}, expected {list(expected.shape)}{suffix}"
                )
        if expected.finite and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ArtifactError(f"{where} tensor {name!r} holds NaN or infinite values{suffix}")
        if expected.value_range is not None and tensor.numel():
            low, high = expected.value_range
            tol = 1e-6
            if tensor.min() < low - tol or tensor.max() > high + tol:
                raise ArtifactError(
                    f"{where} tensor {name!r} has values in [{tensor.min():.4g}, {tensor.max():.4g}], "
                    f"expected [{low}, {high}]{suffix}"
                )
    for letter in spec.nonempty:
        if sizes.get(letter, 1) == 0:
            raise ArtifactError(f"{where} {spec.name} file is empty (size {letter} is 0){suffix}")
