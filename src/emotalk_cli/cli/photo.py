"""The command-line options about an avatar's photo, shared by render and animate: --as-photo, the head
turn (--head-yaw, --head-pitch), --framing and the frame size in the photo's aspect."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from emotalk_cli.errors import EmotalkError


@dataclass(frozen=True)
class PhotoOptions:
    """The options about an avatar's photo: --as-photo, the head turn, --framing and the frame size asked for."""

    as_photo: bool = False
    head_yaw: float = 0.0
    head_pitch: float = 0.0
    framing: str = "auto"  # photo, head, or auto: photo when the avatar has a scene and the camera is not moved
    size: Optional[int] = None  # --size as given
    width: Optional[int] = None
    height: Optional[int] = None
    head_path: object = None  # render.camera_path.CameraPath: keyframed head yaw and pitch (--head-path)
    fps: float = 25.0  # the clip's frame rate, for the keyframes' times


def load_head_path(path) -> object:
    """--head-path FILE: keyframes of the head's yaw and pitch in degrees over time, in --camera's JSON
    ({"keyframes": [{"time": 0, "yaw": -15}, {"time": 2, "yaw": 15, "pitch": 5}]}); zoom is the camera's."""
    from emotalk_cli.render.camera_path import load_camera_path

    loaded = load_camera_path(path, what="head path")
    if bool((loaded.zoom != 1.0).any()):
        raise EmotalkError(f"head path {path}: zoom moves the camera, not the head: leave it out (or use --camera)")
    return loaded


def photo_framing(subject, photo: PhotoOptions, label: str, camera_options: list[str]) -> bool:
    """Whether to render in the photo's camera and scene (--framing), checking what goes with it; one
    line for what does not (no scene, camera options that would move the photo's camera)."""
    from emotalk_cli.avatar import Avatar

    scene = getattr(subject, "scene", None) if isinstance(subject, Avatar) else None
    if photo.framing not in ("auto", "photo", "head"):
        raise EmotalkError(f"--framing {photo.framing}: use photo, head or auto")
    if (photo.head_yaw or photo.head_pitch or photo.head_path is not None) and not isinstance(subject, Avatar):
        raise EmotalkError(f"--head-yaw/--head-pitch/--head-path turn a rigged avatar's head; {label} is a static scene: "
                           "use --yaw/--pitch or --camera")
    if photo.as_photo and scene is None:
        raise EmotalkError(f"--as-photo: {label} has no photo (a head alone, or a scene): fit one with "
                           "`emotalk fit-avatar --image photo.jpg -o avatar.safetensors`")
    if photo.framing == "photo" and scene is None:
        raise EmotalkError(f"--framing photo: {label} has no photo scene: refit it from the photo with emotalk fit-avatar, or use --framing head")
    if photo.framing == "photo" and camera_options:
        raise EmotalkError(f"{', '.join(camera_options)} move the camera, but the photo's camera holds still: turn the "
                           "head with --head-yaw/--head-pitch, or use --framing head to see the head alone from anywhere")
    if photo.as_photo and (photo.framing == "head" or camera_options):
        raise EmotalkError("--as-photo shows the photo's own framing: leave out "
                           + (", ".join(camera_options) if camera_options else "--framing head"))
    # auto: the photo's framing, unless camera options ask to move the camera: then the head alone
    use = scene is not None and photo.framing != "head" and not (photo.framing == "auto" and camera_options)
    return use


TURNED_PHOTO_DEG = 25.0  # render notes when a photo's head is turned further than this from the camera


def photo_frame_size(scene, photo: PhotoOptions, still: bool = False) -> tuple[int, int]:
    """(width, height): --width and --height as given (one of them: the other in the photo's aspect), else
    the photo's aspect with --size as the long side (even numbers, as video needs); --as-photo without
    any size: the photo's own size (for video an odd side rounded to even; a still keeps it exactly)."""
    photo_width, photo_height = (int(round(float(v))) for v in scene.photo_size)
    if still and photo.as_photo and not (photo.width or photo.height or photo.size):
        return photo_width, photo_height
    if photo.width and photo.height:
        return photo.width, photo.height
    if photo.width:  # the other side in the photo's aspect
        return photo.width, max(2, 2 * round(photo.width * photo_height / photo_width / 2))
    if photo.height:
        return max(2, 2 * round(photo.height * photo_width / photo_height / 2)), photo.height
    if photo.size is None:
        long_side = max(photo_width, photo_height) if photo.as_photo else 512
    else:
        long_side = photo.size
    scale = long_side / max(photo_width, photo_height)
    return max(2, 2 * round(photo_width * scale / 2)), max(2, 2 * round(photo_height * scale / 2))




def posed_channels(subject, channels: dict, expression, photo: PhotoOptions, in_photo: bool, around: str) -> dict:
    """The avatar's per-frame expression and head pose: --au/--arkit added (with --as-photo: replacing the
    photo's expression), --head-yaw/--head-pitch turning the head; in the photo's framing the pose is
    placed in the photo: the photo's own with --as-photo; else the clip's pose about the head facing the
    camera (around="rest": render) or about the photo's own pose (around="photo": animate, so the body
    stays natural), where the photo has the head."""
    import torch

    from emotalk_cli.photo_scene import compose_rotations, head_turn, scene_head_pose

    channels = dict(channels)
    frames = channels["arkit"].shape[0]
    turned = bool(photo.head_yaw or photo.head_pitch or photo.head_path is not None)
    turn = None
    if turned:
        yaw, pitch = torch.full((frames,), float(photo.head_yaw)), torch.full((frames,), float(photo.head_pitch))
        if photo.head_path is not None:
            from emotalk_cli.render.camera_path import sample_camera_path

            path_yaw, path_pitch, _ = sample_camera_path(photo.head_path, torch.arange(frames, dtype=torch.float64) / photo.fps)
            yaw, pitch = yaw + path_yaw, pitch + path_pitch
        turn = head_turn(yaw, pitch)
    if photo.as_photo:
        scene = subject.scene
        channels["arkit"] = expression.expand(frames, -1).clone() if expression is not None else scene.arkit.expand(frames, -1).clone()
        channels["gaze"] = scene.gaze.expand(frames, -1).clone()
        if turned:  # the head turn replaces the photo's pose: from facing the camera
            channels["head_rotation"], channels["head_translation"] = scene_head_pose(
                scene, torch.zeros(frames, 3), torch.zeros(frames, 3), "rest", turn)
        else:
            channels["head_rotation"] = scene.head_rotation.expand(frames, -1).clone()
            channels["head_translation"] = scene.head_translation.expand(frames, -1).clone()
        return channels
    if expression is not None:
        channels["arkit"] = (channels["arkit"] + expression).clamp(0.0, 1.0)
    if in_photo:
        channels["head_rotation"], channels["head_translation"] = scene_head_pose(
            subject.scene, channels["head_rotation"].float(), channels["head_translation"].float(), around, turn)
    elif turned:
        channels["head_rotation"] = torch.stack([compose_rotations(turn[t:t + 1], r)[0]
                                                 for t, r in enumerate(channels["head_rotation"].float())])
    return channels
