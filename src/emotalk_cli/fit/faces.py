"""Every face in a photo, small ones included, and the one to fit.

    faces = find_faces(rgb)                      # list[FaceBox], left to right
    choice = choose_face(faces, number=None)     # the largest, or face `number` (1-based, left to right)
    crop = choice.crop(rgb)                      # the chosen face with head-and-shoulders room, or rgb itself

MediaPipe's FaceLandmarker first runs its face detector (BlazeFace short range) on a 128 px
letterboxed copy of the whole image, so on its own it only finds faces that fill a good part of the
frame: measured on scikit-image's astronaut and matplotlib's Grace Hopper pasted onto plain canvases,
the smallest face found is 0.11 to 0.13 of the image's longer side (a 1280 px group photo: nothing
under ~150 px). `find_faces` therefore looks twice where it has to:

1. The whole image, once. A portrait (a face found, and either the image small enough that this pass
   already reaches MIN_FACE_WIDTH_PX, or a face at least PORTRAIT_FRACTION of the longer side) stops
   here: one landmarker pass, as before.
2. Otherwise overlapping square tiles, TILE_PX (400 px) at stride TILE_PX / 2, then twice that, ...,
   until the tiles reach faces the whole-image pass already catches: 400 px tiles find faces from
   ~50-60 px to ~150 px wide, 800 px tiles ~120-300 px. When the whole image did show faces, tiles
   too small for faces under a quarter of the largest one's width are skipped (people that far behind
   are not who is meant, and a 12-megapixel photo would otherwise take some 340 passes). Tiles are cut from the photo at its own
   resolution, so the landmarks are as sharp as the photo allows. A face that touches a tile's inner
   edge is left to the neighbouring tile that holds it whole (the stride guarantees one), and a face
   seen in several tiles (or also on the whole image) is one face: boxes that overlap (IoU > 0.3) are
   merged, keeping the sighting farthest from its tile's edges. Many passes over blurred noise make
   the odd phantom face (1 on 16 noise canvases, each of 30 or 341 passes), so each face is looked at
   once more on the crop the fit would get, and kept only if it is seen there again.

A face's size is the width of its 478-landmark box (cheek to cheek), in photo pixels. The fit needs
MIN_FACE_WIDTH_PX (80) of it; the chosen face is then cut out with CROP_SCALE (2.4) times its width
of room (the face ~40 % of the crop: head, hair and some shoulders, like the portraits the fit is
tuned on) and the rest of the fit runs on that crop as it would on a portrait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from emotalk_cli.fit.tracking import TrackingError, _check_rgb, _native_stderr_silenced, _options, resolve_model_path

MIN_FACE_WIDTH_PX = 80  # narrowest face (landmark box, cheek to cheek) the fit accepts
DETECT_FRACTION = 0.15  # the smallest face one landmarker pass finds, as a fraction of the image's longer side (measured 0.11-0.13, rounded up)
PORTRAIT_FRACTION = 0.25  # a face this wide (of the longer side) on the whole-image pass: a portrait, no tiles
TILE_PX = 400  # side of the first level of tiles: faces down to ~0.15 * 400 = 60 px are found, so small ones can be named
EDGE_PX = 8  # a face closer than this to a tile's inner edge is left to a tile that holds it whole
BACKGROUND_RATIO = 4  # with faces found on the whole image, faces this many times narrower than the largest are not searched for
SAME_FACE_IOU = 0.3
CONFIRM_IOU = 0.5  # a tiled search's face must be seen again this well on its own crop  # two sightings whose boxes overlap this much are one face
FACES_PER_PASS = 16  # faces the landmarker looks for in one pass (whole image or tile)
BOX_ASPECT = 1.2  # landmark box height / width of a frontal face (astronaut 1.18, Grace Hopper 1.09)
CROP_SCALE = 2.4  # crop side / face width: the face ~40 % of the crop


@dataclass(frozen=True)
class FaceBox:
    """One face found in a photo."""

    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) of its 478 landmarks, photo pixels
    window: tuple[int, int, int, int] | None = None  # the tile (x0, y0, x1, y1) it was found in; None: the whole image
    landmarks: np.ndarray | None = field(default=None, repr=False, compare=False)  # [478, 2] photo pixels

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def box_iou(a, b) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _starts(length: int, tile: int) -> list[int]:
    """Tile origins along one axis: every tile/2, the last one flush with the far edge."""
    if tile >= length:
        return [0]
    stride = tile // 2
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def tile_windows(width: int, height: int, smallest: float = 0.0) -> list[tuple[int, int, int, int]]:
    """The tiles (x0, y0, x1, y1) `find_faces` searches when the whole image is not enough: square
    tiles of TILE_PX, 2 * TILE_PX, ... at half-tile stride, up to the size whose faces the
    whole-image pass finds by itself. `smallest`: no need to find faces narrower than this (pixels),
    so the small tiles that would are skipped."""
    longer = max(width, height)
    windows: list[tuple[int, int, int, int]] = []
    tile = TILE_PX
    while DETECT_FRACTION * tile * 2 <= smallest:
        tile *= 2
    while tile < longer:
        tw, th = min(tile, width), min(tile, height)
        windows += [(x, y, x + tw, y + th) for y in _starts(height, th) for x in _starts(width, tw)]
        widest = (tile / 2 - 2 * EDGE_PX) / BOX_ASPECT  # the widest face some tile of this size holds whole
        if widest >= DETECT_FRACTION * longer:
            break
        tile *= 2
    return windows


def whole_image_suffices(width: int, height: int, faces: list[FaceBox]) -> bool:
    """After the whole-image pass: are tiles needed to be sure of the faces the fit could use?"""
    if not faces:
        return False
    longer = max(width, height)
    reaches = DETECT_FRACTION * longer <= MIN_FACE_WIDTH_PX  # the pass itself finds faces down to the minimum
    portrait = max(f.width for f in faces) >= PORTRAIT_FRACTION * longer
    return reaches or portrait


def _detect(landmarker, rgb: np.ndarray, x0: int = 0, y0: int = 0) -> list[np.ndarray]:
    """Landmarks [478, 2] (photo pixels) of each face the landmarker finds in rgb, placed at (x0, y0)."""
    import mediapipe as mp

    height, width = rgb.shape[:2]
    result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    return [np.array([(p.x * width + x0, p.y * height + y0) for p in face], dtype=np.float32) for face in result.face_landmarks]


def _box(points: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = points.min(0)
    x1, y1 = points.max(0)
    return float(x0), float(y0), float(x1), float(y1)


def _edge_distance(face: FaceBox, width: int, height: int) -> float:
    """How far a face lies inside its tile's inner edges (the photo's own border does not count)."""
    if face.window is None:
        return float("inf")
    (x0, y0, x1, y1), (bx0, by0, bx1, by1) = face.window, face.box
    gaps = [bx0 - x0 if x0 > 0 else np.inf, by0 - y0 if y0 > 0 else np.inf,
            x1 - bx1 if x1 < width else np.inf, y1 - by1 if y1 < height else np.inf]
    return float(min(gaps))


def merge_sightings(sightings: list[FaceBox], width: int, height: int) -> list[FaceBox]:
    """One FaceBox per face: sightings cut by a tile's inner edge dropped, overlapping ones merged
    (the one farthest from its tile's edges kept), sorted left to right by the box centre."""
    whole = [s for s in sightings if _edge_distance(s, width, height) >= EDGE_PX]
    whole.sort(key=lambda s: -_edge_distance(s, width, height))
    kept: list[FaceBox] = []
    for sighting in whole:
        if all(box_iou(sighting.box, k.box) <= SAME_FACE_IOU for k in kept):
            kept.append(sighting)
    return sorted(kept, key=lambda f: f.centre[0])


def find_faces(rgb: np.ndarray, model_path: str | os.PathLike | None = None) -> list[FaceBox]:
    """Every face in an RGB uint8 [H, W, 3] photo, left to right (by the box centre), from ~50-60 px
    wide up to the whole frame (see the module's notes). An empty list when there is none."""
    from mediapipe.tasks.python import vision

    rgb = _check_rgb(rgb, "the image")
    height, width = rgb.shape[:2]
    if min(width, height) < MIN_FACE_WIDTH_PX:
        raise TrackingError(f"the image is {width}x{height} pixels: give a photo with a face at least {MIN_FACE_WIDTH_PX} px wide")
    model = resolve_model_path(model_path)
    with _native_stderr_silenced(), vision.FaceLandmarker.create_from_options(
        _options(model, video=False, num_faces=FACES_PER_PASS)
    ) as landmarker:
        found = [FaceBox(_box(p), None, p) for p in _detect(landmarker, rgb)]
        if whole_image_suffices(width, height, found):
            return sorted(found, key=lambda f: f.centre[0])
        smallest = max((f.width for f in found), default=0.0) / BACKGROUND_RATIO
        for window in tile_windows(width, height, smallest):
            x0, y0, x1, y1 = window
            found += [FaceBox(_box(p), window, p) for p in _detect(landmarker, rgb[y0:y1, x0:x1], x0, y0)]
        return [face for face in (_confirm(landmarker, rgb, f) for f in merge_sightings(found, width, height)) if face]


def _confirm(landmarker, rgb: np.ndarray, face: FaceBox) -> FaceBox | None:
    """A second look at a face found among many passes, on the crop the fit would use (the face ~40 %
    of it, where the detector is surest): the face as seen there, or None when nothing there overlaps
    it (IoU > 0.5). Blurred noise makes the odd phantom face on some tile; none of 6 survived this
    (real faces: IoU 0.86-0.95)."""
    x0, y0, x1, y1 = crop_window(face, rgb.shape[1], rgb.shape[0])
    seen = [(box_iou(_box(p), face.box), p) for p in _detect(landmarker, rgb[y0:y1, x0:x1], x0, y0)]
    iou, points = max(seen, key=lambda s: s[0], default=(0.0, None))
    return FaceBox(_box(points), face.window, points) if iou > CONFIRM_IOU else None


# ---------------------------------------------------------------------------------------------
# Choosing one face and cutting it out


def crop_window(face: FaceBox, width: int, height: int, scale: float = CROP_SCALE) -> tuple[int, int, int, int]:
    """The square (x0, y0, x1, y1) of side `scale` * the face's width around its box centre, clipped
    to the photo (so near a border it is narrower on that side)."""
    cx, cy = face.centre
    half = scale * face.width / 2
    x0, y0 = max(0, int(np.floor(cx - half))), max(0, int(np.floor(cy - half)))
    x1, y1 = min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))
    return x0, y0, x1, y1


@dataclass
class FaceChoice:
    """The face chosen for the fit, among `faces` (left to right)."""

    faces: list[FaceBox]
    number: int  # 1-based, left to right
    window: tuple[int, int, int, int] | None  # (x0, y0, x1, y1) of the crop in the photo; None: the whole photo
    asked: bool = False  # the number was given (else: the largest)

    @property
    def face(self) -> FaceBox:
        return self.faces[self.number - 1]

    def crop(self, rgb: np.ndarray) -> np.ndarray:
        """The chosen face's crop of a photo (or of any frame of the same size)."""
        if self.window is None:
            return rgb
        x0, y0, x1, y1 = self.window
        return np.ascontiguousarray(rgb[y0:y1, x0:x1])

    def note(self, option: str = "--face") -> str | None:
        """One line on which face is used when there are several; None for a single face."""
        if len(self.faces) < 2:
            return None
        listed = ", ".join(f"{i} at x={f.centre[0]:.0f} ({f.width:.0f} px)" for i, f in enumerate(self.faces, 1))
        head = f"{len(self.faces)} faces found (left to right: {listed}); using face {self.number}"
        return head + (f" ({option} {self.number})" if self.asked else f", the largest: pass {option} N for another")

    def describe(self) -> dict:
        """For an artifact's metadata."""
        return {"number": self.number, "faces": len(self.faces), "chosen": "asked" if self.asked else "largest",
                "box": [round(v, 1) for v in self.face.box], "width_px": round(self.face.width, 1),
                "crop": list(self.window) if self.window is not None else None}


def choose_face(faces: list[FaceBox], number: int | None = None, width: int | None = None, height: int | None = None,
                where: str = "the image", picture: str = "the photo", option: str = "--face") -> FaceChoice:
    """Face `number` (1-based, left to right), or the largest; the crop window around it when the
    photo holds several faces or the face was found only on tiles (a portrait's single face keeps the
    whole photo, as before). `width`, `height`: the photo's size (for the crop). Raises TrackingError
    (one line: what was wrong, how to fix it) for no face, a face under MIN_FACE_WIDTH_PX, or a
    number out of range."""
    need = MIN_FACE_WIDTH_PX
    if not faces:
        raise TrackingError(f"no face found in {where}: give a photo with a face at least {need} px wide, frontal and well lit")
    count = len(faces)
    if number is not None and not 1 <= number <= count:
        span = "1" if count == 1 else f"1-{count}"
        if number < 1:
            raise TrackingError(f"{option} {number}: faces are numbered from 1, left to right ({picture} has {span})")
        raise TrackingError(f"{option} {number}: {picture} has {count} face{'s' * (count != 1)} ({span}, left to right): "
                            f"pick one of those")
    asked = number is not None
    if not asked:
        number = 1 + int(np.argmax([f.width for f in faces]))
    face = faces[number - 1]
    if face.width < need:
        which = (f"face {number} in {where}" if asked else
                 "the face" + (f" in {where}" if count == 1 else f" (the largest of {count}) in {where}"))
        fix = "pick a larger face, or " if asked and max(f.width for f in faces) >= need else ""
        raise TrackingError(f"{which} is {face.width:.0f} px wide; emotalk needs at least {need}: "
                            f"{fix}use a photo taken closer or with more pixels")
    window = None
    if count > 1 or face.window is not None:
        if width is None or height is None:
            raise TrackingError("choose_face needs the photo's width and height to crop it")  # a caller's mistake
        window = crop_window(face, width, height)
    return FaceChoice(list(faces), number, window, asked)


def select_face(rgb: np.ndarray, number: int | None = None, model_path: str | os.PathLike | None = None,
                where: str = "the image", picture: str = "the photo", option: str = "--face") -> FaceChoice:
    """find_faces, then choose_face: the face to fit in a photo (or a video's first frame)."""
    faces = find_faces(rgb, model_path=model_path)
    return choose_face(faces, number, rgb.shape[1], rgb.shape[0], where=where, picture=picture, option=option)


__all__ = ["FaceBox", "FaceChoice", "MIN_FACE_WIDTH_PX", "choose_face", "crop_window", "find_faces", "merge_sightings",
           "select_face", "tile_windows", "whole_image_suffices"]
