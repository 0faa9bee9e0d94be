"""Defined brows: darken a fitted avatar's eyebrows so a face tracker (and a viewer) can read them.

    avatar = define_brows(avatar, load_landmark_map(), strength=1.0)   # fit-avatar --define-brows 1

Why: brow expressions (AU4 brow lowerer = ARKit browDownLeft/Right; AU1/AU2 raises) are read from
where the brows sit against the eyes. A portrait with faint, fair brows (the default avatar's, NASA's
astronaut.png) gives an avatar whose lowered brows MediaPipe FaceLandmarker barely sees (browDown
read-out 0.07-0.31 at full weight), though the geometry moves 6-14 mm. Filling in the brows is what
make-up does for the same reason on camera; here it is an explicit, recorded option of the fit
(`meta["brows"]`), off unless asked for. Measured on the default avatar (`make weights-avatar` uses
strength 1; `python evals/eval_readability.py`): browDown's read-out rise over neutral goes from 0.15
/ 0.31 / 0.07 (frontal / -20 / +20 degrees yaw) to 0.40 / 0.55 / 0.28; at +20 MediaPipe still moves
the face's left brow landmarks half as far as the right ones (a mirrored frame reads both), which no
brow colour, width or hair colour tried changed.

What it does: the brow band is MediaPipe's brow outline (upper arc 70, 63, 105, 66, 107 and lower arc
46, 53, 52, 65, 55 on the face's right; 300, 293, 334, 296, 336 / 276, 283, 282, 295, 285 on its left,
each from the tail to the head of the brow), mapped onto the avatar's neutral surface through the
landmark map. Along the band's centre line, its half-width is `WIDTH` times half the arcs' distance,
tapered from the head (full width) to the tail (`TAIL_WIDTH` of it), as brows thin towards the
temple. Each face-skin Gaussian's colour is multiplied by a tint, the fitted hair colour's hue at
brightness `DARKNESS` (brow hair is denser and shadowed, so darker than the scalp's), mixed in by
`strength` times a weight that is 1 inside the band and falls smoothly to 0 across its edge
(`FALLOFF`), scaled per Gaussian by a random 1 - `STRAND_VARIATION`..1 so it reads as hairs. A
multiply keeps the skin's own shading under the brow; a blend towards one flat colour looked drawn
on. Only colours change: geometry, opacity and the rig are the fit's.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from emotalk_cli.avatar import Avatar, pose_gaussians
from emotalk_cli.errors import EmotalkError
from emotalk_cli.fit.correspondence import LandmarkMap

#: MediaPipe brow arcs, each from the tail (temple) to the head (nose), per side of the face.
BROW_ARCS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "right": ((70, 63, 105, 66, 107), (46, 53, 52, 65, 55)),  # (upper, lower)
    "left": ((300, 293, 334, 296, 336), (276, 283, 282, 295, 285)),
}
WIDTH = 1.2  # the band's half-width at the head, as a fraction of half the arcs' distance there
TAIL_WIDTH = 0.55  # the band's width at the tail, as a fraction of its width there from the arcs
FALLOFF = 0.6  # the soft edge: weight goes 1 -> 0 between (1 - FALLOFF/2) and (1 + FALLOFF/2) half-widths
DARKNESS = 0.5  # the brow tint: the fitted hair colour scaled to this brightness (its brightest channel)
STRAND_VARIATION = 0.3  # each Gaussian's weight is scaled by a random 1 - this..1: hairs, not a painted band
FALLBACK_HAIR_RGB = (0.35, 0.27, 0.2)  # when the fit recorded no hair colour: a mid brown


def brow_band(
    neutral_points: Tensor,  # [L, 3] the landmark map's points on the neutral avatar
    landmarks: Tensor,  # [L] int64 MediaPipe index of each point
) -> dict[str, tuple[Tensor, Tensor]]:
    """Per side, the band's centre line [5, 3] (tail to head) and tapered half-width [5] (metres)."""
    where = {int(m): i for i, m in enumerate(landmarks.tolist())}
    band = {}
    for side, (upper, lower) in BROW_ARCS.items():
        missing = [m for m in upper + lower if m not in where]
        if missing:
            raise EmotalkError(f"the landmark map has no brow landmarks {missing}: rebuild it (make weights-landmarks)")
        up = neutral_points[[where[m] for m in upper]]
        low = neutral_points[[where[m] for m in lower]]
        taper = torch.linspace(TAIL_WIDTH, 1.0, len(upper), dtype=up.dtype, device=up.device)
        band[side] = (0.5 * (up + low), 0.5 * WIDTH * (up - low).norm(dim=-1) * taper)
    return band


def band_weight(
    points: Tensor,  # [N, 3]
    centre: Tensor,  # [K, 3] the band's centre line
    half_width: Tensor,  # [K] half-width at each centre point
    falloff: float = FALLOFF,
) -> Tensor:
    """[N] weight in [0, 1]: 1 well inside the band (a capsule chain along the centre line), 0 outside
    it, smoothstep across its edge. Each point takes the centre-line segment nearest to it."""
    start, stop = centre[:-1], centre[1:]  # [S, 3]
    seg = stop - start
    t = ((points[:, None] - start[None]) * seg[None]).sum(-1) / (seg * seg).sum(-1).clamp_min(1e-12)[None]
    t = t.clamp(0, 1)  # [N, S]
    nearest = start[None] + t[..., None] * seg[None]
    distance = (points[:, None] - nearest).norm(dim=-1)  # [N, S]
    d, s = distance.min(dim=1)
    ts = t.gather(1, s[:, None])[:, 0]
    h = half_width[s] * (1 - ts) + half_width[s + 1] * ts
    edge = ((1 + falloff / 2) - d / h.clamp_min(1e-9)) / falloff  # 1 at the soft edge's inner side, 0 at its outer
    edge = edge.clamp(0, 1)
    return edge * edge * (3 - 2 * edge)


def brow_weights(avatar: Avatar, landmark_map: LandmarkMap) -> Tensor:
    """[N] each Gaussian's brow weight in [0, 1] on the neutral avatar (face skin only: not the
    scalp's hair, eyes, lashes or lids' insides)."""
    from emotalk_cli.fit.photometric import hair_region

    template = avatar.template
    zeros3 = torch.zeros(1, 3)
    with torch.no_grad():
        means, _, _ = pose_gaussians(avatar, torch.zeros(1, 52), zeros3, zeros3, torch.zeros(1, 2))
        means = means[0]
        points = landmark_map.points(template.vertices, template.faces)
    part = template.face_part[avatar.gaussians.parent]
    skin = (part == template.part("skin")) & ~hair_region(means, part, template)
    weight = torch.zeros(len(avatar))
    for centre, half_width in brow_band(points, landmark_map.landmark).values():
        weight = torch.maximum(weight, band_weight(means, centre, half_width))
    return weight * skin


def define_brows(avatar: Avatar, landmark_map: LandmarkMap, strength: float, seed: int = 0) -> Avatar:
    """The avatar with its brows darkened by `strength` in [0, 1] (0: unchanged); a new Avatar, the
    input untouched. meta["brows"] records what was done."""
    from emotalk_cli.fit.photometric import SH_C0

    if not 0.0 <= strength <= 1.0:
        raise EmotalkError(f"brow strength {strength} is outside [0, 1]: 0 leaves the brows as fitted, 1 paints them fully")
    if strength == 0.0:
        return avatar
    hair = torch.tensor(avatar.meta.get("fit", {}).get("hair_rgb", FALLBACK_HAIR_RGB), dtype=torch.float32)
    tint = hair / hair.max().clamp_min(1e-6) * DARKNESS  # [3] the hair's hue, darkened
    weight = brow_weights(avatar, landmark_map) * strength  # [N]
    strands = torch.rand(len(avatar), generator=torch.Generator().manual_seed(seed))  # [N] hair-by-hair variation
    weight = weight * (1 - STRAND_VARIATION * strands)
    brow = weight > 0  # only these are written: the rest keep their coefficients bit for bit
    sh = avatar.sh.clone()
    rgb = 0.5 + SH_C0 * sh[brow, 0]  # the degree-0 colour; higher bands (view dependence) are kept
    shaded = rgb.clamp_min(0) * (1 + weight[brow, None] * (tint - 1))  # multiply blend: the skin's shading shows
    #                                  through (a fit's colours may dip below 0, which renders as 0)
    sh[brow, 0] = (shaded - 0.5) / SH_C0
    meta = dict(avatar.meta)
    meta["brows"] = {"strength": strength, "tint": [round(float(c), 3) for c in tint],
                     "gaussians_changed": int(brow.sum()), "tail_width": TAIL_WIDTH, "falloff": FALLOFF,
                     "darkness": DARKNESS, "strand_variation": STRAND_VARIATION, "seed": seed, "how": "emotalk_cli.fit.brows.define_brows"}
    return replace(avatar, sh=sh, meta=meta)
