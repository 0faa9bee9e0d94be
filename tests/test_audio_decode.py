"""Audio in any container the shipped ffmpeg decodes (issue #22): m4a, mp3, opus in webm/mkv, and the sound
of mp4/mov videos, against the wav they were made from; lengths counted, not taken from the container;
stdin; one-line errors; NaN/inf reported once; the user's audio in the video.

Fixtures are made on the fly with imageio-ffmpeg's binary from a generated wav (a 440 Hz tone whose
loudness swings 3 times a second, mono, 16 kHz, 1.5 s).
"""

import io
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile
import torch
from typer.testing import CliRunner

from emotalk_cli.audio.features import file_features, frame_count, iter_audio, load_audio
from emotalk_cli.audio.io import DECODE_RATE, FFMPEG, SOUNDFILE, AudioReport, audio_info, opened_audio
from emotalk_cli.cli.app import app
from emotalk_cli.errors import EmotalkError

from conftest import probe
from test_animate import tiny_animate_files

SECONDS = 1.5
RATE = 16_000
FFMPEG_EXE = imageio_ffmpeg.get_ffmpeg_exe()
runner = CliRunner()

# name -> ffmpeg output arguments from the wav (a video stream is added for the video containers)
FORMATS = {
    "m4a": ["-c:a", "aac"],
    "mp3": ["-c:a", "libmp3lame"],
    "webm": ["-c:a", "libopus"],
    "mkv": ["-c:a", "libopus"],
    "mp4": ["-c:a", "aac"],  # a video with sound
    "mov": ["-c:a", "aac"],  # a video with sound
}
VIDEOS = ("mp4", "mov")


def ffmpeg(*args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run([FFMPEG_EXE, "-hide_banner", "-loglevel", "error", "-y", *args], input=stdin,
                          capture_output=True, check=True)
    return done.stdout


def tone(seconds=SECONDS, rate=RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    wav = folder / "tone.wav"
    soundfile.write(str(wav), tone(), RATE)
    made = {"wav": wav}
    for name, args in FORMATS.items():
        out = folder / f"tone.{name}"
        video = ["-f", "lavfi", "-i", f"testsrc=s=64x48:d={SECONDS}:r=25"] if name in VIDEOS else []
        maps = ["-map", "0:v", "-map", "1:a", "-c:v", "libx264"] if name in VIDEOS else []
        ffmpeg(*video, "-i", str(wav), *maps, *args, str(out))
        made[name] = out
    return made


def lag_and_error(got: torch.Tensor, want: torch.Tensor, search: int = 200) -> tuple[int, float]:
    """The shift (samples) that best lines `got` up with `want`, and the rms difference at no shift
    relative to the rms of `want`."""
    n = min(len(got), len(want))
    a, b = got[:n].double(), want[:n].double()
    scores = [float(torch.dot(a[max(0, k):n + min(0, k)], b[max(0, -k):n - max(0, k)])) for k in range(-search, search + 1)]
    return int(np.argmax(scores)) - search, float(((a - b) ** 2).mean().sqrt() / (b**2).mean().sqrt())


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_compressed_audio_decodes_like_the_wav(media, name):
    """Same length (to 1 ms: the codecs' delays and padding are undone), same samples (no shift, the
    lossy codecs' error small), nearly the same features; decoded by ffmpeg."""
    info = audio_info(media[name])
    assert info.decoder == FFMPEG and info.sample_rate == DECODE_RATE and info.channels == 1
    assert info.seconds == pytest.approx(SECONDS, abs=0.001)
    want, got = load_audio(media["wav"]), load_audio(media[name])
    assert got.shape[0] == info.frames
    lag, error = lag_and_error(got, want)
    assert lag == 0 and error < 0.15, (lag, error)
    feats, reference = file_features(media[name]), file_features(media["wav"])
    assert feats.shape == reference.shape == (frame_count(SECONDS, 25), 160)
    assert (feats - reference).abs().mean() < 0.02


def test_wav_flac_ogg_stay_on_soundfile(tmp_path):
    for name, kwargs in (("a.wav", {}), ("a.flac", {"format": "FLAC"}), ("a.ogg", {"format": "OGG", "subtype": "VORBIS"})):
        soundfile.write(str(tmp_path / name), tone(), RATE, **kwargs)
        assert audio_info(tmp_path / name).decoder == SOUNDFILE


def test_ffmpeg_source_streams_in_blocks(media):
    """Read block by block from the pipe: many blocks, none larger than asked, together load_audio's wave."""
    info = audio_info(media["m4a"])
    blocks = list(iter_audio(info, RATE, block_seconds=0.25))
    assert len(blocks) == 6 and max(b.shape[0] for b in blocks) == RATE // 4
    torch.testing.assert_close(torch.cat(blocks), load_audio(media["m4a"]), atol=0, rtol=0)
    # resampled on the way (a 44.1 kHz caller): the same length rule as for wav
    assert sum(b.shape[0] for b in iter_audio(info, 44_100, block_seconds=0.25)) == int(np.ceil(info.frames * 44_100 / RATE))


def test_length_is_counted_not_taken_from_the_container(tmp_path, media):
    """A webm streamed from a pipe (as a browser records it) has no duration; an ADTS .aac's is a
    bitrate estimate: both are counted from the decoded samples."""
    piped = tmp_path / "piped.webm"
    piped.write_bytes(ffmpeg("-i", str(media["wav"]), "-c:a", "libopus", "-f", "webm", "pipe:1"))
    listing = subprocess.run([FFMPEG_EXE, "-hide_banner", "-i", str(piped)], capture_output=True, text=True).stderr
    assert "Duration: N/A" in listing  # the container does not say
    assert audio_info(piped).seconds == pytest.approx(SECONDS, abs=0.001)
    lag, error = lag_and_error(load_audio(piped), load_audio(media["wav"]))
    assert lag == 0 and error < 0.15


def test_gaps_and_late_starts_are_filled_with_silence(tmp_path, media):
    """A track with a 0.3 s hole in its timestamps (dropped packets) is read with 0.3 s of silence there,
    so frames stay in step with the sound; samples before and after the hole are where they belong."""
    gap = tmp_path / "gap.mkv"
    ffmpeg("-i", str(media["wav"]), "-af", "asetpts='if(gte(T,0.5),PTS+0.3/TB,PTS)'", "-c:a", "libopus", str(gap))
    info = audio_info(gap)
    assert info.seconds == pytest.approx(SECONDS + 0.3, abs=0.005)
    wave, want = load_audio(gap), load_audio(media["wav"])
    hole = wave[int(0.55 * RATE):int(0.75 * RATE)]
    assert hole.abs().max() < 0.01  # silence
    after, _ = lag_and_error(wave[int(0.8 * RATE) + 4800:], want[int(0.8 * RATE):], search=400)
    assert abs(after) <= 16  # within 1 ms of 0.3 s later


def test_stdin_is_spooled_and_read_like_a_file(media):
    with opened_audio("-", stdin=io.BytesIO(media["m4a"].read_bytes())) as info:
        assert info.label == "stdin" and info.decoder == FFMPEG
        assert info.seconds == pytest.approx(SECONDS, abs=0.001)
        spooled = info.path
        assert load_audio(info).shape[0] == info.frames
    assert not spooled.exists()  # gone with the block
    with opened_audio("-", stdin=io.BytesIO(media["wav"].read_bytes())) as info:
        assert info.decoder == SOUNDFILE and info.frames == int(SECONDS * RATE)
    with pytest.raises(EmotalkError, match="nothing came on stdin"):
        with opened_audio("-", stdin=io.BytesIO(b"")):
            pass
    with pytest.raises(EmotalkError, match="^stdin: not a readable audio file"):
        with opened_audio("-", stdin=io.BytesIO(b"hello, not audio\n" * 100)):
            pass


def unusable(folder, media, case):
    if case == "silent_video":
        path = folder / "silent.mp4"
        ffmpeg("-f", "lavfi", "-i", "testsrc=s=64x48:d=1", "-c:v", "libx264", str(path))
    elif case == "text_as_m4a":
        path = folder / "notes.m4a"
        path.write_text("not audio\n" * 50)
    elif case == "random_as_mp3":
        path = folder / "noise.mp3"
        path.write_bytes(np.random.default_rng(3).integers(0, 256, 8192, dtype=np.uint8).tobytes())
    elif case == "empty_m4a":
        path = folder / "empty.m4a"
        path.write_bytes(b"")
    elif case == "truncated_m4a":  # the index (moov) is at the end: cut off
        path = folder / "cut.m4a"
        path.write_bytes(media["m4a"].read_bytes()[:4000])
    elif case == "too_short_m4a":
        short = folder / "short.wav"
        soundfile.write(str(short), tone(0.1), RATE)
        path = folder / "short.m4a"
        ffmpeg("-i", str(short), "-c:a", "aac", str(path))
    return path


UNUSABLE = {"silent_video": "no audio stream", "text_as_m4a": "not a readable audio file",
            "random_as_mp3": "not a readable audio file", "empty_m4a": "not a readable audio file",
            "truncated_m4a": "not a readable audio file", "too_short_m4a": "at least 0.2 s"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return tiny_animate_files(tmp_path_factory.mktemp("decode"), 500, seed=4)


def animate(files, *args, input=None):
    return runner.invoke(app, ["animate", "--weights", str(files["weights"]), "--steps", "2", "--lip-samples", "1",
                               *args], input=input)


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_unusable_input_is_one_line_error_and_writes_nothing(tmp_path, files, media, case):
    audio = unusable(tmp_path, media, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = animate(files, "--audio", str(audio), "-o", str(tmp_path / "out.mp4"), "--avatar", str(files["avatar"]),
                     "--size", "32", "--motion-out", str(tmp_path / "m.safetensors"), "--quiet")
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emotalk: error:") and UNUSABLE[case] in lines[0], result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def decoded_track(video, rate=RATE) -> np.ndarray:
    """The sound of a video file, mono float32 at `rate`, decoded by ffmpeg."""
    raw = ffmpeg("-i", str(video), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1")
    return np.frombuffer(raw, np.float32)


@pytest.mark.parametrize("name", ["m4a", "mp4", "webm"])
def test_animate_puts_the_users_sound_in_the_video(tmp_path, files, media, name):
    """The video's frames cover the audio, and its sound is the user's, in step (no shift)."""
    out = tmp_path / "out.mp4"
    result = animate(files, "--audio", str(media[name]), "--avatar", str(files["avatar"]), "--size", "32", "-o", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert info["audio"] and info["size"] == (32, 32) and info["frames"] == frame_count(SECONDS, 25)
    lag, error = lag_and_error(torch.from_numpy(decoded_track(out).copy()), load_audio(media["wav"]))
    assert lag == 0 and error < 0.2, (lag, error)


def test_render_muxes_compressed_audio(tmp_path, media):
    """render --audio with a video file's sound: the same video as from the wav (render cuts to the
    shorter of sound and frames), with the user's sound in step."""
    from emotalk_cli.splats.ply import save_ply

    from conftest import small_splats

    scene = tmp_path / "scene.ply"
    save_ply(scene, small_splats(100))
    infos = {}
    for name in ("wav", "mov"):
        out = tmp_path / f"{name}.mp4"
        result = runner.invoke(app, ["render", "--avatar", str(scene), "--audio", str(media[name]), "-o", str(out),
                                     "--size", "32", "--quiet"])
        assert result.exit_code == 0, result.output
        infos[name] = probe(out)
    assert infos["mov"]["audio"] and infos["mov"]["size"] == (32, 32)
    assert infos["mov"]["frames"] == infos["wav"]["frames"] in (frame_count(SECONDS, 25) - 1, frame_count(SECONDS, 25))
    lag, _ = lag_and_error(torch.from_numpy(decoded_track(tmp_path / "mov.mp4").copy()), load_audio(media["wav"]))
    assert lag == 0


def test_nan_and_inf_give_exactly_one_warning(tmp_path, files):
    """Three blocks' worth of audio with NaN and inf samples: read as silence, one warning line."""
    x = tone(2.5)
    x[::5], x[3::7] = np.nan, np.inf
    audio = tmp_path / "bad.wav"
    soundfile.write(str(audio), x, RATE, subtype="FLOAT")
    report = AudioReport()
    feats = file_features(audio, block_seconds=1.0, report=report)
    assert torch.isfinite(feats).all() and report.samples == len(x)
    assert report.nonfinite == int((~np.isfinite(x)).sum())
    result = animate(files, "--audio", str(audio), "--motion-only", "--csv", str(tmp_path / "m.csv"))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("emotalk: warning:")]
    assert len(warnings) == 1 and "NaN or infinite" in warnings[0] and "silence" in warnings[0], result.output
    clean = tmp_path / "clean.wav"
    soundfile.write(str(clean), tone(), RATE)
    result = animate(files, "--audio", str(clean), "--motion-only", "--csv", str(tmp_path / "c.csv"))
    assert result.exit_code == 0 and "warning" not in result.output
