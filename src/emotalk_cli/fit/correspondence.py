"""Where MediaPipe's face landmarks sit on the head template: a point on a template triangle
(triangle index + barycentric weights) for each used landmark, so the posed template gives the 3D
position of every tracked landmark.

The map `weights/landmark_map.safetensors` is built by `scripts/build_landmark_map.py` from
MediaPipe's canonical face mesh (468 vertices, read from `geometry_pipeline_metadata_landmarks.binarypb`
inside `face_landmarker.task`) aligned to the template; this module reads the canonical mesh (a
tiny protobuf reader, no protobuf dependency) and loads / applies the map.

Canonical mesh frame (MediaPipe face geometry module): centimetres, +x the face's own left, +y up,
+z out of the face: the template's axes, in other units (checked: landmark 33, the right eye's outer
corner, has x < 0; the template's right eye is at -x).
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from emotalk_cli.artifacts import LANDMARK_MAP, load_artifact, save_artifact
from emotalk_cli.errors import ArtifactError
from emotalk_cli.resources import weights_path

NUM_MESH_LANDMARKS = 468  # the face mesh; MediaPipe adds 10 iris points (468-477) after them
NUM_LANDMARKS = 478
IRIS_CENTRES = {"right": 468, "left": 473}  # iris centre landmarks, by the face's own side

def default_map_path() -> Path:
    """The shipped landmark_map.safetensors (emotalk_cli.resources: the package's or the checkout's weights/)."""
    return weights_path("landmark_map.safetensors")


@dataclass
class LandmarkMap:
    """MediaPipe landmark -> point on the template surface."""

    landmark: Tensor  # [L] int64, MediaPipe landmark index
    triangle: Tensor  # [L] int64, template triangle index
    barycentric: Tensor  # [L, 3] float32
    weight: Tensor  # [L] float32 in [0, 1]
    meta: dict = field(default_factory=dict)

    def vertex_index(self, faces: Tensor) -> Tensor:
        """The template vertices [L, 3] whose barycentric blend gives each landmark."""
        return faces[self.triangle]

    def points(self, vertices: Tensor, faces: Tensor) -> Tensor:
        """Landmark positions [..., L, 3] from template vertices [..., V, 3] and faces [F, 3]."""
        corners = vertices[..., self.vertex_index(faces), :]  # [..., L, 3, 3]
        return (corners * self.barycentric[:, :, None].to(vertices)).sum(-2)

    def to(self, device: torch.device | str) -> "LandmarkMap":
        return LandmarkMap(self.landmark.to(device), self.triangle.to(device), self.barycentric.to(device),
                           self.weight.to(device), self.meta)


def load_landmark_map(path: str | Path | None = None, num_faces: int | None = None) -> LandmarkMap:
    """Read the landmark map (default: the shipped one); `num_faces` checks it fits the template."""
    from emotalk_cli.cache import cached

    source = Path(path) if path is not None else default_map_path()
    return cached("landmark_map", (source,), num_faces, lambda: _read_landmark_map(source, num_faces))


def _read_landmark_map(source: Path, num_faces: int | None) -> LandmarkMap:
    artifact = load_artifact(source, LANDMARK_MAP)
    t, meta = artifact.tensors, artifact.meta
    hint = f"rebuild it: {LANDMARK_MAP.made_by}"
    if t["landmark"].min() < 0 or t["landmark"].max() >= NUM_LANDMARKS:
        raise ArtifactError(f"{source}: landmark indices outside [0, {NUM_LANDMARKS}); {hint}")
    if num_faces is not None and (t["triangle"].min() < 0 or t["triangle"].max() >= num_faces):
        raise ArtifactError(f"{source}: triangles outside the template's {num_faces}; {hint}")
    return LandmarkMap(t["landmark"].long(), t["triangle"].long(), t["barycentric"].float(), t["weight"].float(), meta)


def save_landmark_map(path: str | Path, lmap: LandmarkMap, overwrite: bool = False) -> None:
    tensors = {
        "landmark": lmap.landmark.int(),
        "triangle": lmap.triangle.int(),
        "barycentric": lmap.barycentric.float(),
        "weight": lmap.weight.float(),
    }
    save_artifact(path, LANDMARK_MAP, tensors, lmap.meta, overwrite=overwrite)


# ---------------------------------------------------------------------------------------------
# The canonical face mesh inside face_landmarker.task

GEOMETRY_MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"


@dataclass
class CanonicalMesh:
    vertices: np.ndarray  # [468, 3] centimetres, +x the face's left, +y up, +z out of the face
    uv: np.ndarray  # [468, 2] texture coordinates
    triangles: np.ndarray  # [898, 3] int
    procrustes: dict[int, float]  # landmark -> weight MediaPipe uses for its pose (Procrustes) fit


def read_canonical_mesh(task_path: str | Path) -> CanonicalMesh:
    """Parse MediaPipe's GeometryPipelineMetadata (mediapipe/modules/face_geometry/protos/
    geometry_pipeline_metadata.proto and mesh_3d.proto) from the .task (a zip). Field numbers as
    found in the file: 1 canonical_mesh Mesh3d {1 vertex_type, 2 primitive_type, 3 repeated float
    vertex_buffer (x y z u v per vertex), 4 repeated uint32 index_buffer}, 2 repeated
    procrustes_landmark_basis {1 landmark_id, 2 weight}, 3 input_source."""
    try:
        with zipfile.ZipFile(task_path) as archive:
            data = archive.read(GEOMETRY_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise ArtifactError(f"{task_path}: cannot read {GEOMETRY_MEMBER} ({err}); give the MediaPipe face_landmarker.task") from None
    mesh_bytes, basis = None, {}
    for number, wire, value in _fields(data):
        if number == 1 and wire == 2:
            mesh_bytes = value
        elif number == 2 and wire == 2:
            entry = {n: v for n, w, v in _fields(value)}
            basis[int(entry.get(1, 0))] = struct.unpack("<f", entry[2])[0] if 2 in entry else 0.0
    if mesh_bytes is None:
        raise ArtifactError(f"{task_path}: {GEOMETRY_MEMBER} holds no canonical mesh")
    floats: list[float] = []
    indices: list[int] = []
    for number, wire, value in _fields(mesh_bytes):
        if number == 3:
            floats.extend(np.frombuffer(value, "<f4").tolist())
        elif number == 4:
            indices.extend([value] if wire == 0 else _packed_varints(value))
    buffer = np.asarray(floats, dtype=np.float64).reshape(-1, 5)
    return CanonicalMesh(buffer[:, :3], buffer[:, 3:], np.asarray(indices, dtype=np.int64).reshape(-1, 3), basis)


def _varint(data: bytes, i: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _packed_varints(data: bytes) -> list[int]:
    out, i = [], 0
    while i < len(data):
        value, i = _varint(data, i)
        out.append(value)
    return out


def _fields(data: bytes):
    """(field number, wire type, value) of a protobuf message: varints as int, fixed32 / fixed64 /
    length-delimited as bytes (protobuf encoding spec, developers.google.com/protocol-buffers)."""
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ArtifactError(f"unsupported protobuf wire type {wire} in {GEOMETRY_MEMBER}")
        yield number, wire, value
