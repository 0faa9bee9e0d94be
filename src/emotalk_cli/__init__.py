"""emotalk: talking 3D Gaussian heads from speech audio and an emotion.

Implements EmoDiffTalk (Emotion-aware Diffusion for Editable 3D Gaussian Talking Head,
arXiv 2512.05991). The library is organised one module per pipeline stage; the command
line (`emotalk_cli.cli`) is a thin layer over it.
"""

__version__ = "0.1.0"
