"""The standard 3D Gaussian Splatting .ply layout (Kerbl et al., SIGGRAPH 2023, the Inria code's
export), so splats made by other tools render here and ours open in their viewers.

Per vertex: x y z, [nx ny nz], f_dc_0..2 (SH degree 0), f_rest_0..(3*(K-1)-1) (higher SH bands,
stored channel-major: all of red's K-1 coefficients, then green's, then blue's), opacity (as a
logit), scale_0..2 (as logs), rot_0..3 (quaternion w, x, y, z, unnormalised).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from emotalk_cli.artifacts import atomic_output
from emotalk_cli.errors import ArtifactError
from emotalk_cli.splats.gaussians import Splats

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}
_REQUIRED = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
             "rot_0", "rot_1", "rot_2", "rot_3"]
_HINT = "expected a 3D Gaussian Splatting .ply (x y z f_dc_* opacity scale_* rot_*), as the Inria code exports"


def load_ply(path: str | os.PathLike) -> Splats:
    """Read a 3DGS .ply (binary little/big endian or ascii) into activated Splats."""
    source = Path(path)
    if not source.is_file():
        raise ArtifactError(f"{source}: no such file (pass a .ply scene or an avatar .safetensors to --avatar)")
    with open(source, "rb") as handle:
        if handle.readline().strip() != b"ply":
            raise ArtifactError(f"{source}: not a .ply file (it does not start with 'ply'); {_HINT}")
        encoding, count, properties, in_vertex = None, None, [], False
        while True:
            line = handle.readline()
            if not line:
                raise ArtifactError(f"{source}: the .ply header has no end_header line; the file is cut or corrupt")
            words = line.decode("ascii", "replace").split()
            if not words or words[0] in ("comment", "obj_info"):
                continue
            if words[0] == "format":
                encoding = words[1]
            elif words[0] == "element":
                in_vertex = words[1] == "vertex"
                if in_vertex:
                    count = int(words[2])
                elif count is None:
                    raise ArtifactError(f"{source}: elements before 'vertex' are not supported; {_HINT}")
            elif words[0] == "property" and in_vertex:
                if words[1] == "list" or words[1] not in _PLY_TYPES:
                    raise ArtifactError(f"{source}: vertex property {' '.join(words[1:])} is not supported; {_HINT}")
                properties.append((words[2], _PLY_TYPES[words[1]]))
            elif words[0] == "end_header":
                break
        names = [name for name, _ in properties]
        missing = [name for name in _REQUIRED if name not in names]
        if count is None or missing:
            raise ArtifactError(f"{source}: missing vertex properties {', '.join(missing) or 'vertex'}; {_HINT}")
        if encoding == "ascii":
            data = np.loadtxt(handle, dtype=np.float64, max_rows=count, ndmin=2)
            if data.shape != (count, len(names)) and count:
                raise ArtifactError(f"{source}: ascii body holds {data.shape} values, header says {count} x {len(names)}")
            columns = {name: data[:, i] for i, name in enumerate(names)} if count else {n: np.zeros(0) for n in names}
        elif encoding in ("binary_little_endian", "binary_big_endian"):
            order = "<" if encoding == "binary_little_endian" else ">"
            dtype = np.dtype([(name, order + kind) for name, kind in properties])
            body = handle.read(dtype.itemsize * count)
            if len(body) < dtype.itemsize * count:
                raise ArtifactError(f"{source}: the file is cut short ({len(body)} of {dtype.itemsize * count} bytes)")
            records = np.frombuffer(body, dtype=dtype, count=count)
            columns = {name: records[name] for name in names}
        else:
            raise ArtifactError(f"{source}: unknown ply format {encoding!r}; {_HINT}")

    def stack(keys: list[str]) -> torch.Tensor:
        return torch.from_numpy(np.stack([np.asarray(columns[k], dtype=np.float32) for k in keys], axis=-1))

    rest_names = sorted((n for n in names if n.startswith("f_rest_")), key=lambda n: int(n[7:]))
    rest_per_channel, leftover = divmod(len(rest_names), 3)
    degree = math.isqrt(rest_per_channel + 1) - 1
    if leftover or (degree + 1) ** 2 != rest_per_channel + 1 or degree > 3:
        raise ArtifactError(f"{source}: {len(rest_names)} f_rest_* properties do not make SH of degree 0-3; {_HINT}")
    dc = stack(["f_dc_0", "f_dc_1", "f_dc_2"])[:, None, :]  # [N, 1, 3]
    if rest_names:
        rest = stack(rest_names).reshape(count, 3, rest_per_channel).transpose(1, 2)  # [N, K-1, 3]
        sh = torch.cat([dc, rest], dim=1)
    else:
        sh = dc
    splats = Splats(
        means=stack(["x", "y", "z"]),
        quats=stack(["rot_0", "rot_1", "rot_2", "rot_3"]),
        scales=torch.exp(stack(["scale_0", "scale_1", "scale_2"])),
        opacities=torch.sigmoid(stack(["opacity"])[:, 0]),
        sh=sh.contiguous(),
    )
    splats.check_finite(str(source))
    if count == 0:
        raise ArtifactError(f"{source}: the scene holds no Gaussians")
    return splats


def save_ply(path: str | os.PathLike, splats: Splats, overwrite: bool = False) -> None:
    """Write splats in the standard 3DGS .ply layout (binary little endian), atomically."""
    n, k = len(splats), splats.sh.shape[1]
    eps = 1e-7
    opacity = splats.opacities.detach().double().clamp(eps, 1 - eps)
    columns = {
        "x": splats.means[:, 0], "y": splats.means[:, 1], "z": splats.means[:, 2],
        "nx": torch.zeros(n), "ny": torch.zeros(n), "nz": torch.zeros(n),
    }
    for c in range(3):
        columns[f"f_dc_{c}"] = splats.sh[:, 0, c]
    rest = splats.sh[:, 1:, :].transpose(1, 2).reshape(n, 3 * (k - 1))
    for i in range(3 * (k - 1)):
        columns[f"f_rest_{i}"] = rest[:, i]
    columns["opacity"] = torch.log(opacity / (1 - opacity))
    for i in range(3):
        columns[f"scale_{i}"] = torch.log(splats.scales[:, i].clamp_min(1e-12))
    for i in range(4):
        columns[f"rot_{i}"] = splats.quats[:, i]
    dtype = np.dtype([(name, "<f4") for name in columns])
    records = np.empty(n, dtype=dtype)
    for name, values in columns.items():
        records[name] = values.detach().cpu().float().numpy()
    header = ["ply", "format binary_little_endian 1.0", "comment made by emotalk", f"element vertex {n}"]
    header += [f"property float {name}" for name in columns] + ["end_header"]
    with atomic_output(path, overwrite=overwrite) as temp:
        with open(temp, "wb") as handle:
            handle.write(("\n".join(header) + "\n").encode("ascii"))
            handle.write(records.tobytes())
