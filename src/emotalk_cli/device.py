"""Choosing the torch device a stage computes on."""

import torch

from emotalk_cli.errors import EmotalkError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is an error, not a silent fallback."""
    if name not in DEVICE_CHOICES:
        raise EmotalkError(f"unknown device {name!r}: use one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise EmotalkError("--device cuda was asked for but no CUDA GPU is visible: use --device cpu or auto")
    return torch.device(name)
