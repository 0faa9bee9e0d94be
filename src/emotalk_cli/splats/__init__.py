"""Gaussian splats: the static scene container, .ply import/export, and (rig) binding to meshes."""
