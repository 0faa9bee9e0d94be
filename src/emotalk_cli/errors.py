"""Errors the library raises on bad input; the CLI turns each into one line and exit code 1.

Every message says what was wrong and how to fix it, in one line.
"""


class EmotalkError(Exception):
    """Bad input or an environment problem the user can fix. `str(err)` is the one-line message."""


class ArtifactError(EmotalkError):
    """A file on disk is missing, unreadable, of the wrong format or version, or holds bad values."""


class RenderError(EmotalkError):
    """A render was asked for with impossible settings (odd frame size, no Gaussians in view, ...)."""
