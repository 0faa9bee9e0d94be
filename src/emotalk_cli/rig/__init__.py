"""The rigged head: template mesh with ARKit blendshapes, eyes, jaw and neck, and the pose -> mesh map."""

from emotalk_cli.rig.deform import pose_vertices
from emotalk_cli.rig.template import (
    HEAD_TEMPLATE,
    PART_NAMES,
    HeadTemplate,
    default_template_path,
    load_head_template,
)

__all__ = [
    "HEAD_TEMPLATE",
    "PART_NAMES",
    "HeadTemplate",
    "default_template_path",
    "load_head_template",
    "pose_vertices",
]
