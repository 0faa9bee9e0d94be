"""Copy MediaPipe's selfie segmentation model (person vs background) into weights/, checked against
its known sha256.

mediapipe 0.10.14's wheel on PyPI (Apache-2.0) carries Google's model as
`mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite`; mediapipe 1.x's
`tasks.vision.ImageSegmenter` loads it as it is. `make weights-segmenter` downloads that wheel
(`pip download --no-deps`, PyPI only) into a temporary folder and runs this on it, so the model
ships inside emotalk's own package and nothing is fetched at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

MEMBER = "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"
SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"  # 249,505 bytes, 256x256 input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="mediapipe-0.10.14-*.whl")
    parser.add_argument("--out", type=Path, default=Path("weights/selfie_segmentation.tflite"))
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        data = wheel.read(MEMBER)
        licence = wheel.read("mediapipe-0.10.14.dist-info/LICENSE")
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        sys.exit(f"{args.wheel}:{MEMBER} has sha256 {digest}, expected {SHA256}: not the file this project was built with")
    args.out.write_bytes(data)
    args.out.with_suffix(".LICENSE").write_bytes(licence)
    print(f"wrote {args.out} ({len(data)} bytes, sha256 {digest[:12]}...) and its licence")


if __name__ == "__main__":
    main()
