"""What fills the frame behind the subject, parsed here once for every command (`--background`).

A colour (white, black, #rrggbb, #rgb, or R,G,B in 0..1) is composited under the Gaussians as
before; `transparent` leaves the background out and frames come out as straight (not premultiplied)
RGBA; `photo` is the background layer of an avatar fitted from a photo with its scene (the default
for such avatars; refused, with the reason, for a head alone). Only that layer is replaced by the
other forms: the person's hair, neck and clothes stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emotalk_cli.errors import RenderError

FORMS = "white, black, #rrggbb, #rgb, R,G,B in 0..1 (e.g. 0.2,0.2,0.25), transparent or photo"
NAMED = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Background:
    """rgb: the colour composited under the subject (RGB in [0, 1]); transparent: no colour, RGBA
    frames (rgb is then black, the premultiplied colour's base); photo: the avatar's photo scene."""

    rgb: tuple[float, float, float] = (1.0, 1.0, 1.0)
    transparent: bool = False
    photo: bool = False
    text: str = "white"  # as the user wrote it, for messages

    @property
    def alpha(self) -> bool:
        """Whether frames carry an alpha channel (RGBA, [H, W, 4])."""
        return self.transparent


WHITE = Background()
TRANSPARENT = Background(rgb=(0.0, 0.0, 0.0), transparent=True, text="transparent")
PHOTO = Background(photo=True, text="photo")


def parse_background(text: str) -> Background:
    """--background's value -> Background. Raises RenderError naming the accepted forms."""
    word = text.strip().lower()
    if word in NAMED:
        return Background(rgb=NAMED[word], text=text)
    if word == "transparent":
        return TRANSPARENT
    if word == "photo":
        return PHOTO
    if _HEX.fullmatch(word):
        digits = word[1:]
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return Background(rgb=tuple(int(digits[i:i + 2], 16) / 255.0 for i in (0, 2, 4)), text=text)
    parts = word.split(",")
    if len(parts) == 3:
        try:
            values = tuple(float(v) for v in parts)
        except ValueError:
            values = ()
        if len(values) == 3 and all(0.0 <= v <= 1.0 for v in values):
            return Background(rgb=values, text=text)
    raise RenderError(f"--background {text!r} is not a background: use {FORMS}")


def has_photo_scene(subject) -> bool:
    """Whether `subject` (an Avatar, or a static Splats scene) carries a photo scene to render around
    the head (an avatar fitted from a photo with its scene: avatar.scene)."""
    return getattr(subject, "scene", None) is not None


def resolve_background(background: Background | None, subject, label: str = "the avatar") -> Background:
    """The background to render `subject` on. None (no --background given): its photo scene when it
    has one, else white. `photo` for a subject without a scene raises RenderError."""
    if background is None:
        return PHOTO if has_photo_scene(subject) else WHITE
    if background.photo and not has_photo_scene(subject):
        raise RenderError(f"--background photo: {label} has no photo scene (it is a head alone): refit it from the "
                          "photo with emotalk fit-avatar (the scene is kept by default), or use white, black, #rrggbb, "
                          "R,G,B or transparent")
    return background
