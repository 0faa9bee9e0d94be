import numpy as np
import pytest
import torch

from emotalk_cli.errors import ArtifactError
from emotalk_cli.splats.io import load_splats, save_splats
from emotalk_cli.splats.ply import load_ply, save_ply

from conftest import EXAMPLES, small_splats


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_ply_round_trip(tmp_path, degree):
    splats = small_splats(50, sh_degree=degree)
    save_ply(tmp_path / "s.ply", splats)
    back = load_ply(tmp_path / "s.ply")
    assert back.sh_degree == degree
    for name in ("means", "quats", "scales", "opacities", "sh"):
        assert torch.allclose(getattr(back, name), getattr(splats, name), rtol=1e-5, atol=1e-6), name


def test_ply_rest_coefficients_are_channel_major(tmp_path):
    """The Inria layout stores f_rest as all red coefficients, then green, then blue."""
    splats = small_splats(3, sh_degree=1)
    save_ply(tmp_path / "s.ply", splats)
    text = (tmp_path / "s.ply").read_bytes()
    header, body = text.split(b"end_header\n")
    names = [line.split()[-1].decode() for line in header.splitlines() if line.startswith(b"property")]
    records = np.frombuffer(body, dtype=np.dtype([(n, "<f4") for n in names]))
    # f_rest_0..2 are red's three degree-1 coefficients, f_rest_3 is green's first
    assert records["f_rest_1"][0] == pytest.approx(splats.sh[0, 2, 0].item())
    assert records["f_rest_3"][0] == pytest.approx(splats.sh[0, 1, 1].item())


def test_ascii_ply_is_read(tmp_path):
    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
             "rot_0", "rot_1", "rot_2", "rot_3"]
    header = ["ply", "format ascii 1.0", "element vertex 2"] + [f"property float {n}" for n in names] + ["end_header"]
    rows = ["0 0 0 0.1 0.2 0.3 0 -5 -5 -5 1 0 0 0", "1 2 3 0 0 0 2 -4 -4 -4 0 1 0 0"]
    (tmp_path / "a.ply").write_text("\n".join(header + rows) + "\n")
    splats = load_ply(tmp_path / "a.ply")
    assert splats.means[1].tolist() == [1, 2, 3]
    assert splats.opacities[0] == pytest.approx(0.5)
    assert splats.scales[0, 0] == pytest.approx(np.exp(-5), rel=1e-5)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a ply", "does not start with 'ply'"),
        (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nend_header\n", "missing vertex properties"),
        (b"ply\nformat binary_little_endian 1.0\n", "no end_header"),
    ],
)
def test_bad_ply_is_one_line_error(tmp_path, content, message):
    (tmp_path / "bad.ply").write_bytes(content)
    with pytest.raises(ArtifactError, match=message) as caught:
        load_ply(tmp_path / "bad.ply")
    assert "\n" not in str(caught.value)


def test_truncated_and_nan_ply(tmp_path):
    save_ply(tmp_path / "s.ply", small_splats(20))
    data = (tmp_path / "s.ply").read_bytes()
    (tmp_path / "cut.ply").write_bytes(data[:-10])
    with pytest.raises(ArtifactError, match="cut short"):
        load_ply(tmp_path / "cut.ply")
    splats = small_splats(20)
    splats.means[0, 0] = float("nan")
    save_ply(tmp_path / "nan.ply", splats)
    with pytest.raises(ArtifactError, match="NaN"):
        load_ply(tmp_path / "nan.ply")


def test_safetensors_scene_round_trip(tmp_path):
    splats = small_splats(30, sh_degree=2)
    save_splats(tmp_path / "s.safetensors", splats, {"command": "test"})
    back = load_splats(tmp_path / "s.safetensors")
    assert torch.equal(back.sh, splats.sh)
    with pytest.raises(ArtifactError, match="unknown scene type"):
        load_splats(tmp_path / "s.obj")


def test_example_scene_loads():
    splats = load_ply(EXAMPLES / "scene.ply")
    assert len(splats) > 10_000
    assert splats.sh_degree == 0
