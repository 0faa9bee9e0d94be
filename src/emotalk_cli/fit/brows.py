"""Readable brows: trim a fringe off a fitted avatar's brows and darken faint brows, so a face
tracker (and a viewer) can read brow expressions.

    avatar = clear_fringe(avatar, load_landmark_map(), clearance=0.025)  # fit-avatar --clear-fringe 25
    avatar = define_brows(avatar, load_landmark_map(), strength=1.0)    # fit-avatar --define-brows 1

Why: brow expressions (AU4 brow lowerer = ARKit browDownLeft/Right; AU1/AU2 raises) are read from
where the brows sit against the eyes. A portrait with faint, fair brows (the default avatar's, NASA's
astronaut.png) gives an avatar whose lowered brows MediaPipe FaceLandmarker barely sees (browDown
read-out 0.07-0.31 at full weight), though the geometry moves 6-14 mm. Filling in the brows is what
make-up does for the same reason on camera; here it is an explicit, recorded option of the fit
(`meta["brows"]`), off unless asked for. Measured on the default avatar (`make weights-avatar` uses
strength 1; `python evals/eval_readability.py`): browDown's read-out rise over neutral goes from 0.15
/ 0.31 / 0.07 (frontal / -20 / +20 degrees yaw) to 0.40 / 0.55 / 0.28; at +20 MediaPipe still moved
the face's left brow landmarks half as far as the right ones, which no brow colour, width or hair
colour tried changed. The cause was the portrait's fringe, which falls to that brow: `clear_fringe`
(fit-avatar --clear-fringe 25, also in `make weights-avatar`) trims it to 25 mm above the brows, and
the rise becomes 0.77 / 0.63 / 0.61.

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
FALLBACK_SKIN_RGB = (0.75, 0.6, 0.5)  # when it recorded no skin colour: a light skin tone


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


@torch.no_grad()
def neutral_means(avatar: Avatar) -> Tensor:
    """[N, 3] the Gaussians' centres on the avatar at rest (no expression, pose or gaze)."""
    zeros3 = torch.zeros(1, 3)
    return pose_gaussians(avatar, torch.zeros(1, 52), zeros3, zeros3, torch.zeros(1, 2))[0][0]


def brow_weights(avatar: Avatar, landmark_map: LandmarkMap) -> Tensor:
    """[N] each Gaussian's brow weight in [0, 1] on the neutral avatar (face skin only: not the
    scalp's hair, eyes, lashes or lids' insides)."""
    from emotalk_cli.fit.photometric import hair_region

    template = avatar.template
    means = neutral_means(avatar)
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


BROW_RISE_GOAL = 0.3  # browDown at full weight must rise this much over rest in the tracker's read
AUTO_STRENGTHS = (0.5, 1.0)  # strengths `readable_brows` tries, weakest first
MIN_BROW_GAIN = 0.1  # where no strength reaches the goal, darker brows must read at least this much better


def readable_brows(avatar: Avatar, landmark_map: LandmarkMap, seed: int = 0, goal: float = BROW_RISE_GOAL,
                   strengths=AUTO_STRENGTHS, device="cpu", model_path=None) -> tuple[Avatar, dict]:
    """fit-avatar --define-brows auto: the brows defined only as far as a face tracker needs to read
    them lowered. browDown's read rise (MediaPipe, mean of both sides, browDown at 1 against rest)
    is measured in the avatar's rest views (fit.rest.rest_views: frontal, the head alone and in its
    photo); the brows stay as fitted when it reaches `goal` in every view, else they are darkened by
    the weakest of `strengths` that reaches it; when none does, by the one that reads best, if it reads
    MIN_BROW_GAIN better than the brows as fitted (else darker brows cost the likeness for nothing).
    Returns the avatar and the figures (the rise per strength tried, the strength chosen)."""
    from emotalk_cli import facs
    from emotalk_cli.fit.rest import read_rest, readable_views, rest_views

    rows = torch.zeros(2, len(facs.ARKIT_NAMES))
    sides = [facs.ARKIT_INDEX[c] for c in ("browDownLeft", "browDownRight")]
    rows[1, sides] = 1.0
    views = readable_views(avatar, rest_views(avatar), device, model_path)
    rises, candidates = {}, {}
    for strength in (0.0, *strengths):
        candidates[strength] = define_brows(avatar, landmark_map, strength, seed=seed)
        reads = read_rest(candidates[strength], rows, views, device, model_path)  # [V, 2, 52]
        rises[strength] = round(float((reads[:, 1, sides].mean(-1) - reads[:, 0, sides].mean(-1)).min()), 3)  # worst view
        if rises[strength] >= goal:
            break
    best = next((s for s, rise in rises.items() if rise >= goal), None)
    if best is None:  # none reads: the strongest only if it reads clearly better than the brows as fitted
        strongest = max(rises, key=rises.get)
        best = strongest if rises[strongest] >= rises[0.0] + MIN_BROW_GAIN else 0.0
    chosen = candidates[best]
    figures = {"goal": goal, "views": list(views), "rise_by_strength": {f"{k:g}": v for k, v in rises.items()},
               "strength": best, "how": "emotalk_cli.fit.brows.readable_brows"}
    meta = dict(chosen.meta)
    meta["brows_auto"] = figures
    return replace(chosen, meta=meta), figures


# ---------------------------------------------------------------------------------------------
# A fringe off the brows

#: How far above each brow's top edge a fringe is trimmed by default (`make weights-avatar`), metres.
#: Measured on the default avatar (evals/eval_readability.py, browDown's rise at +20 degrees yaw, 0.3
#: needed): none 0.28, 10 mm 0.28, 15 mm 0.29, 20 mm 0.56, 25 mm 0.61, 30 mm 0.62 (its fringe ends
#: 15-20 mm above the left brow); 25 mm stays clear of that step, and 35 mm bared so much forehead
#: that the hair looked faded.
FRINGE_CLEARANCE = 0.025
FRINGE_SIDE_MARGIN = 0.005  # the cleared strip reaches this far past each brow's head and tail
FRONT_Z = 0.06  # face skin in front of this depth: the forehead, not the temples' sides (as photometric.face_region)
FILL_NEIGHBOURS = 12  # each recoloured Gaussian takes the mean colour of this many nearest skin Gaussians
FILL_TOLERANCE = 1e-6  # the fill's iteration stops when no colour moves more than this
FILL_MAX_ITERATIONS = 2000


def fringe_mask(avatar: Avatar, landmark_map: LandmarkMap, clearance: float = FRINGE_CLEARANCE) -> Tensor:
    """[N] bool: the face-skin Gaussians a fringe paints over the brows: hair-coloured (nearer the
    fit's hair colour than its skin colour) and on the forehead strip from each brow band's top edge
    up to `clearance` metres above it, across the brow's width."""
    from emotalk_cli.fit.photometric import SH_C0

    template = avatar.template
    means = neutral_means(avatar)  # [N, 3]
    points = landmark_map.points(template.vertices, template.faces)
    rgb = 0.5 + SH_C0 * avatar.sh[:, 0]  # [N, 3] as fitted
    skin_rgb, hair_rgb = _skin_and_hair_rgb(avatar)
    hair_coloured = (rgb - hair_rgb).norm(dim=-1) < (rgb - skin_rgb).norm(dim=-1)
    part = template.face_part[avatar.gaussians.parent]
    front_skin = (part == template.part("skin")) & (means[:, 2] > FRONT_Z)
    x, y = means[:, 0], means[:, 1]
    strip = torch.zeros(len(avatar), dtype=torch.bool)
    for centre, half_width in brow_band(points, landmark_map.landmark).values():
        order = torch.argsort(centre[:, 0])
        top = _interp(x, centre[order, 0], centre[order, 1] + half_width[order])  # [N] the band's top edge at x
        across = (x > centre[:, 0].min() - FRINGE_SIDE_MARGIN) & (x < centre[:, 0].max() + FRINGE_SIDE_MARGIN)
        strip |= across & (y > top) & (y < top + clearance)
    return strip & front_skin & hair_coloured


def harmonic_fill(
    colours: Tensor,  # [N, C] every Gaussian's colour
    unknown: Tensor,  # [M] int64 the Gaussians to fill
    neighbours: Tensor,  # [M, K] int64 each unknown one's neighbours (never itself)
) -> Tensor:
    """[M, C] colours for `unknown` such that each equals the mean of its neighbours' colours (the
    known ones as given): the discrete harmonic fill, by Jacobi iteration from the known mean."""
    out = colours.clone()
    known = torch.ones(len(colours), dtype=torch.bool)
    known[unknown] = False
    out[unknown] = colours[known].mean(0) if known.any() else 0
    for _ in range(FILL_MAX_ITERATIONS):
        update = out[neighbours].mean(1)  # [M, C]
        change = float((update - out[unknown]).abs().max()) if len(unknown) else 0.0
        out[unknown] = update
        if change < FILL_TOLERANCE:
            break
    return out[unknown]


def clear_fringe(avatar: Avatar, landmark_map: LandmarkMap, clearance: float = FRINGE_CLEARANCE) -> Avatar:
    """The avatar with hair trimmed off its forehead for `clearance` metres above the brows (0:
    unchanged): `fringe_mask`'s Gaussians recoloured as the skin around them (`harmonic_fill` over
    their nearest face-skin neighbours, so the forehead's shading carries on and the new hairline
    is soft). A new Avatar, the input untouched; meta["fringe"] records what was done.

    Why: a fringe that reaches the brows hides their movement. On the default avatar (astronaut.png,
    whose fringe falls to the face's left brow) MediaPipe read browDown at +20 degrees yaw with a
    rise of 0.28 over neutral; with 25 mm cleared, 0.61. Run fringe clearing before `define_brows`,
    so the brows' own dark edge is not taken for hair."""
    if not 0.0 <= clearance <= 0.05:
        raise EmotalkError(f"fringe clearance {clearance * 1000:g} mm is outside 0 to 50 mm: 0 keeps the fringe, "
                           f"{FRINGE_CLEARANCE * 1000:g} mm clears the brows")
    if clearance == 0.0:
        return avatar
    mask = fringe_mask(avatar, landmark_map, clearance)
    unknown = torch.nonzero(mask).squeeze(1)  # [M]
    template = avatar.template
    means = neutral_means(avatar)
    part = template.face_part[avatar.gaussians.parent]
    pool = torch.nonzero((part == template.part("skin")) & (means[:, 2] > FRONT_Z - 0.02)).squeeze(1)  # [P]
    sh = avatar.sh.clone()
    if len(unknown):
        distance = torch.cdist(means[unknown], means[pool])  # [M, P]
        distance[pool[None, :] == unknown[:, None]] = float("inf")  # never its own neighbour
        neighbours = pool[distance.topk(FILL_NEIGHBOURS, largest=False).indices]  # [M, K]
        sh[unknown, 0] = harmonic_fill(avatar.sh[:, 0], unknown, neighbours)
        sh[unknown, 1:] = 0  # skin seen from any side: no view-dependent colour left from the hair
    meta = dict(avatar.meta)
    meta["fringe"] = {"clearance_mm": round(clearance * 1000, 3), "gaussians_recoloured": int(len(unknown)),
                      "neighbours": FILL_NEIGHBOURS, "side_margin_mm": FRINGE_SIDE_MARGIN * 1000,
                      "how": "emotalk_cli.fit.brows.clear_fringe"}
    return replace(avatar, sh=sh, meta=meta)


def _skin_and_hair_rgb(avatar: Avatar) -> tuple[Tensor, Tensor]:
    """The fit's recorded skin and hair colours [3] each, or a mid skin tone and brown without them."""
    fit = avatar.meta.get("fit", {})
    skin = torch.tensor(fit.get("skin_rgb", FALLBACK_SKIN_RGB), dtype=torch.float32)
    hair = torch.tensor(fit.get("hair_rgb", FALLBACK_HAIR_RGB), dtype=torch.float32)
    return skin, hair


def _interp(x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """Piecewise-linear interpolation of fp over increasing xp at x [N], held flat past the ends (numpy.interp)."""
    i = torch.searchsorted(xp.contiguous(), x.contiguous()).clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    t = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0, 1)
    return f0 + t * (f1 - f0)
