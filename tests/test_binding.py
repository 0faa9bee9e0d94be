"""Gaussians bound to mesh triangles (GaussianAvatars-style binding), on CPU."""

from __future__ import annotations

import math

import pytest
import torch

from emotalk_cli.splats.binding import (
    bind_to_world,
    init_on_surface,
    matrix_to_quat,
    quat_multiply,
    quat_to_matrix,
    triangle_frames,
)

def random_rotation(generator: torch.Generator) -> torch.Tensor:
    q = torch.randn(4, generator=generator, dtype=torch.float64)
    return quat_to_matrix(q)


def small_mesh(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A bumpy 5 x 5 grid patch of 32 triangles."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(5.0), torch.arange(5.0), indexing="ij")
    z = 0.3 * torch.rand(5, 5, generator=g, dtype=torch.float64)
    vertices = torch.stack([xs, ys, z], -1).reshape(-1, 3).double() * 0.01
    faces = []
    for r in range(4):
        for c in range(4):
            a, b, d, e = r * 5 + c, r * 5 + c + 1, (r + 1) * 5 + c, (r + 1) * 5 + c + 1
            faces += [[a, b, e], [a, e, d]]
    return vertices, torch.tensor(faces, dtype=torch.int32)  # float64 vertices: exactness checks


def local_params(bound):
    return bound.local_means, bound.local_quats, bound.local_log_scales


def random_gaussians(vertices, faces, seed=0):
    g = torch.Generator().manual_seed(seed)
    bound = init_on_surface(vertices, faces, per_triangle=3, seed=seed)
    n = len(bound)
    means = bound.local_means + 0.3 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    quats = torch.randn(n, 4, generator=g, dtype=torch.float64)
    log_scales = bound.local_log_scales + 0.5 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    return bound.parent, means, quats, log_scales


def test_quaternion_conversions_round_trip():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(500, 4, generator=g, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True)
    q = torch.where(q[:, :1] < 0, -q, q)
    torch.testing.assert_close(matrix_to_quat(quat_to_matrix(q)), q)
    # 180-degree turns and the identity (where the naive trace formula breaks down)
    special = torch.eye(4, dtype=torch.float64)
    torch.testing.assert_close(matrix_to_quat(quat_to_matrix(special)), special)
    # the product composes rotations: R(a * b) = R(a) R(b)
    a, b = q[:250], q[250:]
    torch.testing.assert_close(quat_to_matrix(quat_multiply(a, b)), quat_to_matrix(a) @ quat_to_matrix(b))


def test_triangle_frame_follows_the_paper():
    vertices = torch.tensor([[0.0, 0, 0], [2.0, 0, 0], [0.5, 1.0, 0]], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2]])
    origin, rotation, scale = triangle_frames(vertices, faces)
    torch.testing.assert_close(origin[0], torch.tensor([2.5 / 3, 1 / 3, 0], dtype=torch.float64))
    torch.testing.assert_close(rotation[0], torch.eye(3, dtype=torch.float64))  # t = +x, n = +z, b = +y
    torch.testing.assert_close(scale[0], torch.tensor(1.5, dtype=torch.float64))  # (edge 2 + height 1) / 2


def test_bound_gaussians_follow_a_rigid_transform_exactly():
    vertices, faces = small_mesh()
    parent, means_l, quats_l, log_scales_l = random_gaussians(vertices, faces)
    g = torch.Generator().manual_seed(7)
    rotation = random_rotation(g)
    shift = torch.randn(3, generator=g, dtype=torch.float64)
    moved = vertices @ rotation.T + shift
    means, quats, scales = bind_to_world(torch.stack([vertices, moved]), faces, parent, means_l, quats_l, log_scales_l)
    assert means.shape == (2, len(parent), 3) and quats.shape == (2, len(parent), 4)
    torch.testing.assert_close(means[1], means[0] @ rotation.T + shift)
    torch.testing.assert_close(quat_to_matrix(quats[1]), rotation @ quat_to_matrix(quats[0]))
    torch.testing.assert_close(scales[1], scales[0])
    torch.testing.assert_close(quats.norm(dim=-1), torch.ones(2, len(parent), dtype=torch.float64))


def test_scales_follow_a_uniform_mesh_scale():
    vertices, faces = small_mesh(1)
    parent, means_l, quats_l, log_scales_l = random_gaussians(vertices, faces, seed=1)
    means, quats, scales = bind_to_world(vertices, faces, parent, means_l, quats_l, log_scales_l)
    means2, quats2, scales2 = bind_to_world(2.5 * vertices, faces, parent, means_l, quats_l, log_scales_l)
    torch.testing.assert_close(means2, 2.5 * means)
    torch.testing.assert_close(scales2, 2.5 * scales)
    torch.testing.assert_close(quats2, quats)


def test_init_on_surface_lays_flat_discs_in_the_triangles():
    vertices, faces = small_mesh(2)
    bound = init_on_surface(vertices, faces, total=1000, seed=0)
    assert len(bound) == 1000
    means, quats, scales = bind_to_world(vertices, faces, bound.parent, *local_params(bound))
    # in the parent triangle: barycentric coordinates in [0, 1]
    tri = vertices[faces.long()[bound.parent]]
    e1, e2, p = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], means - tri[:, 0]
    normal = torch.cross(e1, e2, dim=-1)
    torch.testing.assert_close((p * normal).sum(-1), torch.zeros(1000, dtype=torch.float64))  # in the plane
    def dot(a, b):
        return (a * b).sum(-1)

    gram = torch.stack([torch.stack([dot(e1, e1), dot(e1, e2)], -1), torch.stack([dot(e1, e2), dot(e2, e2)], -1)], -2)
    uv = torch.linalg.solve(gram, torch.stack([dot(p, e1), dot(p, e2)], -1))
    assert (uv >= -1e-9).all() and (uv.sum(-1) <= 1 + 1e-9).all()
    # flat discs: the thin axis (local z) is the triangle normal
    axis = quat_to_matrix(quats)[:, :, 2]
    cosine = (axis * normal / normal.norm(dim=-1, keepdim=True)).sum(-1)
    torch.testing.assert_close(cosine, torch.ones(1000, dtype=torch.float64))
    assert (scales[:, 2] < 0.2 * scales[:, 0]).all()
    # area-proportional: every triangle of this near-flat grid gets about the same count
    counts = torch.bincount(bound.parent, minlength=len(faces))
    assert counts.min() >= 1000 // len(faces) - 3 and counts.max() <= math.ceil(1000 / len(faces)) + 3
    # repeatable
    again = init_on_surface(vertices, faces, total=1000, seed=0)
    torch.testing.assert_close(again.local_means, bound.local_means)


def test_init_per_triangle_and_bad_arguments():
    vertices, faces = small_mesh(3)
    bound = init_on_surface(vertices, faces, per_triangle=2)
    assert torch.equal(torch.bincount(bound.parent), torch.full((len(faces),), 2))
    with pytest.raises(ValueError, match="exactly one"):
        init_on_surface(vertices, faces)
    with pytest.raises(ValueError, match="local_quats"):
        bind_to_world(vertices, faces, bound.parent, bound.local_means, bound.local_quats[:, :3], bound.local_log_scales)


def test_binding_is_differentiable_in_the_vertices():
    vertices, faces = small_mesh(4)
    parent, means_l, quats_l, log_scales_l = random_gaussians(vertices, faces, seed=4)
    vertices = vertices.clone().requires_grad_()
    means, quats, scales = bind_to_world(vertices, faces, parent, means_l, quats_l, log_scales_l)
    (means.sum() + quats[..., 1:].sum() + scales.sum()).backward()
    assert torch.isfinite(vertices.grad).all() and vertices.grad.abs().sum() > 0


def test_gaussians_on_the_head_follow_the_jaw():
    from emotalk_cli.facs import ARKIT_INDEX
    from emotalk_cli.rig import load_head_template, pose_vertices

    template = load_head_template().to(dtype=torch.float64)
    bound = init_on_surface(template.vertices, template.faces, total=20000, seed=0)
    arkit = torch.zeros(2, 52)
    arkit[1, ARKIT_INDEX["jawOpen"]] = 1.0
    zeros = torch.zeros(2, 3)
    posed = pose_vertices(template, arkit, zeros, zeros, torch.zeros(2, 2))
    means, _, _ = bind_to_world(posed, template.faces, bound.parent, *local_params(bound))
    part = template.face_part[bound.parent]
    lower, upper = part == template.part("lower_teeth"), part == template.part("upper_teeth")
    assert lower.any() and upper.any()
    assert (means[1, lower, 1] - means[0, lower, 1]).mean() < -0.005
    torch.testing.assert_close(means[1, upper], means[0, upper])


@pytest.mark.parametrize("frames", [1, 3])
def test_numba_binding_matches_torch(frames):
    """The fast CPU path (splats/binding_cpu.py) gives bind_to_world's numbers on a bumpy patch posed
    several ways, with unnormalised local quaternions and uneven local scales."""
    from emotalk_cli.splats.binding_cpu import bind_to_world_cpu

    vertices, faces = small_mesh(3)
    g = torch.Generator().manual_seed(4)
    bound = init_on_surface(vertices, faces, per_triangle=5, seed=2)
    local_quats = torch.randn(len(bound), 4, generator=g, dtype=torch.float64) * 3
    local_log_scales = bound.local_log_scales + torch.randn(len(bound), 3, generator=g, dtype=torch.float64)
    posed = torch.stack([vertices @ random_rotation(g).T + 0.002 * torch.randn(vertices.shape, generator=g,
                                                                                 dtype=torch.float64)
                         for _ in range(frames)]).float()
    args = (faces, bound.parent, bound.local_means.float(), local_quats.float(), local_log_scales.float())
    for slow, fast in zip(bind_to_world(posed, *args), bind_to_world_cpu(posed, *args)):
        assert fast.shape == slow.shape and fast.dtype == torch.float32
        torch.testing.assert_close(fast, slow, atol=2e-6, rtol=1e-5)


def test_pose_gaussians_takes_the_fast_path_only_without_gradients():
    """The avatar's posing uses the numba path for inference and the torch one when gradients flow."""
    from emotalk_cli.avatar import load_avatar, pose_gaussians

    avatar = load_avatar(None)
    arkit = torch.rand(2, 52, generator=torch.Generator().manual_seed(0)) * 0.6
    pose = (torch.tensor([[0.1, -0.2, 0.05], [0.0, 0.3, 0.0]]), torch.zeros(2, 3), torch.zeros(2, 2))
    with torch.no_grad():
        fast = pose_gaussians(avatar, arkit, *pose)
    arkit.requires_grad_(True)
    slow = pose_gaussians(avatar, arkit, *pose)
    assert slow[0].requires_grad and not fast[0].requires_grad
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b.detach(), atol=2e-6, rtol=1e-5)
