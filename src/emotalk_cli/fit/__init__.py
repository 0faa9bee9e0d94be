"""Fitting an avatar to a portrait or a video: face tracking (MediaPipe FaceLandmarker), the
landmark correspondence to the head template, and the camera / pose / expression / identity solve.
"""
