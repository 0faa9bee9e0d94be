import numpy as np
import pytest
import torch

from emotalk_cli.audio.io import audio_info
from emotalk_cli.errors import EmotalkError, RenderError
from emotalk_cli.render.video import VideoWriter, encode_png, write_png

from conftest import probe


def gradient_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)
    frame[..., 1] = (i * 10) % 256
    return frame


def test_mp4_with_audio_is_cut_to_the_shorter(tmp_path, tone_wav):
    out = tmp_path / "v.mp4"
    with VideoWriter(out, 64, 48, fps=25, audio=audio_info(tone_wav)) as video:
        for i in range(50):  # 2 s of video, 1.3 s of audio
            video.write(gradient_frame(i))
    info = probe(out)
    assert info["audio"] and info["codec"] == "h264" and info["size"] == (64, 48)
    assert info["seconds"] == pytest.approx(1.3, abs=0.1)
    assert [p.name for p in tmp_path.iterdir()] == ["tone.wav", "v.mp4"]


def test_mp4_without_audio_has_every_frame(tmp_path):
    out = tmp_path / "v.mp4"
    with VideoWriter(out, 64, 48, fps=10) as video:
        for i in range(7):
            video.write(gradient_frame(i))
    info = probe(out)
    assert not info["audio"] and info["frames"] == 7 and info["fps"] == 10


def test_failure_midway_leaves_no_file(tmp_path):
    out = tmp_path / "v.mp4"
    with pytest.raises(KeyError):
        with VideoWriter(out, 64, 48, fps=25) as video:
            video.write(gradient_frame(0))
            raise KeyError("boom")
    assert list(tmp_path.iterdir()) == []


def test_odd_and_empty_sizes_are_refused(tmp_path):
    with pytest.raises(RenderError, match="odd"):
        VideoWriter(tmp_path / "v.mp4", 63, 48, fps=25)
    with pytest.raises(RenderError, match="empty"):
        VideoWriter(tmp_path / "v.mp4", 0, 48, fps=25)


def test_no_frames_is_an_error_and_no_file(tmp_path):
    with pytest.raises(RenderError, match="no frames"):
        with VideoWriter(tmp_path / "v.mp4", 64, 48, fps=25):
            pass
    assert list(tmp_path.iterdir()) == []


def test_png_is_decodable(tmp_path):
    import zlib

    image = gradient_frame(3)
    data = encode_png(image)
    assert data.startswith(b"\x89PNG")
    # decode our own IDAT: filter byte 0 then raw rows
    start = data.index(b"IDAT") + 4
    length = int.from_bytes(data[start - 8:start - 4], "big")
    raw = np.frombuffer(zlib.decompress(data[start:start + length]), np.uint8).reshape(48, 1 + 64 * 3)
    assert (raw[:, 0] == 0).all()
    assert np.array_equal(raw[:, 1:].reshape(48, 64, 3), image)
    write_png(tmp_path / "x.png", image)
    assert (tmp_path / "x.png").read_bytes() == data


def test_audio_errors_are_one_line(tmp_path):
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(EmotalkError, match="not a readable audio file"):
        audio_info(tmp_path / "text.wav")
    with pytest.raises(EmotalkError, match="no such audio file"):
        audio_info(tmp_path / "missing.wav")


def test_uint8_conversion_fast_path_equals_torch():
    """frames.to_uint8's numba path gives the torch reference's bytes, out-of-range values and
    rounding boundaries (k + 0.5) / 255 included."""
    from emotalk_cli.render.frames import to_uint8, to_uint8_reference

    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(37, 53, 3, generator=g) * 1.6 - 0.3
    rgb[0, :, 0] = (torch.arange(53, dtype=torch.float32) + 0.5) / 255.0
    rgb[1, :3, 1] = torch.tensor([0.0, 1.0, 254.5 / 255.0])
    fast, slow = to_uint8(rgb), to_uint8_reference(rgb)
    assert fast.dtype == np.uint8 and fast.shape == (37, 53, 3)
    np.testing.assert_array_equal(fast, slow)


def _boxes(data: bytes) -> list[str]:
    """Top-level mp4 box types; the boxes must tile the bytes exactly."""
    import struct

    types, at = [], 0
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        assert size >= 8 and at + size <= len(data)
        types.append(kind.decode("ascii"))
        at += size
    return types


def test_stream_is_fragmented_mp4_with_every_frame_and_the_sound(tmp_path, tone_wav):
    """path '-': fragmented mp4 to a stream (here one without a file descriptor, copied across by a
    thread); nothing is written to disk; frames and sound as for a file."""
    import io

    sink = io.BytesIO()
    with VideoWriter("-", 64, 48, fps=25, audio=audio_info(tone_wav), cut_to_audio=False, stream=sink) as video:
        for i in range(33):  # 1.32 s: covers the 1.3 s of sound
            video.write(gradient_frame(i))
    data = sink.getvalue()
    boxes = _boxes(data)
    assert boxes[:2] == ["ftyp", "moov"] and "moof" in boxes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tone.wav"]
    (tmp_path / "s.mp4").write_bytes(data)
    info = probe(tmp_path / "s.mp4")
    assert info["audio"] and info["frames"] == 33 and info["size"] == (64, 48)


def test_stream_failure_midway_raises_and_stops_ffmpeg(tmp_path):
    import io

    sink = io.BytesIO()
    with pytest.raises(KeyError):
        with VideoWriter("-", 64, 48, fps=25, stream=sink) as video:
            video.write(gradient_frame(0))
            raise KeyError("boom")
    assert video._process.poll() is not None  # ffmpeg is gone
    assert b"moof" not in sink.getvalue()  # killed before it wrote a fragment


def test_ffmpeg_decoded_audio_is_muxed_from_the_source(tmp_path, tone_wav):
    """An m4a source is muxed by ffmpeg itself (no PCM copy): the video carries 1.3 s of sound."""
    import subprocess

    import imageio_ffmpeg

    m4a = tmp_path / "tone.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(tone_wav), "-c:a", "aac", str(m4a)],
                   check=True)
    sound = audio_info(m4a)
    assert sound.decoder == "ffmpeg"
    out = tmp_path / "v.mp4"
    with VideoWriter(out, 64, 48, fps=25, audio=sound) as video:
        for i in range(50):
            video.write(gradient_frame(i))
    info = probe(out)
    assert info["audio"] and info["seconds"] == pytest.approx(1.3, abs=0.05)
