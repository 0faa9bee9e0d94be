"""Person vs background: MediaPipe's selfie segmentation (tasks API ImageSegmenter) on a photo.

    mask = person_mask(rgb)  # uint8 [H, W, 3] -> float32 [H, W] in [0, 1], 1 = the person

The model (`weights/selfie_segmentation.tflite`, `make weights-segmenter`) sees the photo at
256x256; its confidence comes back at the photo's size. It covers hair, face, neck and clothes
(hats and glasses too, as part of the person). Square-ish crops work best: a wide photo is
segmented on a window around `focus` (the face) when given.
"""

from __future__ import annotations

import numpy as np

from emotalk_cli.errors import EmotalkError
from emotalk_cli.resources import weights_path

SEGMENTER = weights_path("selfie_segmentation.tflite")


def person_mask(rgb: np.ndarray) -> np.ndarray:
    """float32 [H, W] in [0, 1]: the segmenter's confidence that each pixel shows the person."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from emotalk_cli.fit.tracking import _native_stderr_silenced

    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"person_mask wants uint8 [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
    if not SEGMENTER.is_file():
        raise EmotalkError(f"the person segmenter {SEGMENTER} is missing: rebuild it with `make weights-segmenter`")
    options = vision.ImageSegmenterOptions(base_options=BaseOptions(model_asset_path=str(SEGMENTER)),
                                           output_confidence_masks=True, output_category_mask=False)
    with _native_stderr_silenced(), vision.ImageSegmenter.create_from_options(options) as segmenter:
        result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    mask = np.asarray(result.confidence_masks[0].numpy_view(), dtype=np.float32)
    if mask.ndim == 3:
        mask = mask[..., 0]
    return np.clip(mask, 0.0, 1.0)


__all__ = ["SEGMENTER", "person_mask"]
