"""Fast CPU rasterizer: torch projection, numba binning and tile compositing, forward and backward.

Same results as `reference.py` (gsplat 1.5.3's rules) to float32 rounding. Layout:

1. `project_gaussians` (torch, differentiable) gives means2d, conics, depths, radii per camera
   when gradients are wanted; for inference `_project` does the same in one numba pass.
2. `_bin` (numba, serial): visible (camera, Gaussian) pairs sorted by depth with a stable LSD
   radix sort of the float bits, tiles per Gaussian counted with a 2D difference array, then
   `_fill_lists` (parallel over bands of tile rows) writes every tile's list in (depth, index)
   order like gsplat's sorted intersection keys. Gaussian parameters are packed in depth order
   (`params`) so tile lists read memory mostly forwards.
3. `_forward` (numba, parallel over tiles) walks each tile's list once, Gaussian-outer: the
   tile's 16 x 16 state (T, r, g, b, last) sits in one small array, and each Gaussian visits only
   the rows its alpha >= 1/255 ellipse can reach, a row's 16 pixels in SIMD lanes (512-bit
   vectors asked for on AVX-512), with gsplat's per-pixel early stop and a tile-level one.
   `_backward` (parallel over tiles) walks each row back to front as gsplat's CUDA kernel does,
   writing per (tile, Gaussian) pair gradients that are summed afterwards (no races,
   deterministic). Both use a polynomial exp (the libm call would block vectorisation) and a
   conservative per-row test that skips Gaussians whose whole row is below alpha 1/255.
4. `_RasterizeFn` (torch.autograd.Function) ties them together; torch chains the gradients of
   means2d, conics, colours and opacities back through the projection and the SH.

Threads: numba runs its parallel loops on its own "workqueue" pool, not OpenMP (unless the user
sets NUMBA_THREADING_LAYER). The OpenMP layer shares libgomp with torch: each resets the other's
thread count and their pools spin-wait against each other. On 2 busy cores the OpenMP layer gave
12.6-12.9 fps at 512x512 / 30k Gaussians against 23.5-24.0 for workqueue, and torch's per-frame
work (posing, uint8 conversion) slowed 10-20x beside it.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic
from torch import Tensor

from emotalk_cli.render.projection import project_gaussians

if "NUMBA_THREADING_LAYER" not in os.environ:  # chosen before any parallel kernel first runs
    numba.config.THREADING_LAYER = "workqueue"
from emotalk_cli.render.sh import sh_colors

TILE = 16
_F = np.float32
_HALF = _F(0.5)
_ONE = _F(1.0)
_ZERO = _F(0.0)
_MAX_ALPHA = _F(0.999)
_ALPHA_MIN = _F(1.0 / 255.0)
_T_MIN = _F(1e-4)
_TILE_F = _F(TILE)
# Slack in the row-skip test, so that float rounding of sigma never skips a drawn pixel:
# absolute, plus relative to the size of the terms of sigma inside the Gaussian's tile box.
_ROW_MARGIN = 1e-3
_ROW_MARGIN_REL = 1e-6
# exp(-s) = 2^k p(r), see `_exp_parts`; p: degree 6 with p(0) = p'(0) = 1, the rest fitted for the
# least maximum relative error on [-ln2/2, ln2/2] (3e-9); evaluated at -r, so alternating signs.
# With float32 rounding, op * exp(-sigma) is within 2 ulp of torch's, 0.1 ulp on average.
_NEG_LOG2E = _F(-1.4426950408889634)
_LN2 = _F(0.6931471805599453)
_ROUND_MAGIC = _F(12582912.0)  # 1.5 * 2^23: adding and subtracting it rounds to an integer
_EXP_MAX = _F(20.0)  # exp(-20) << 1/255 already; larger s would underflow the exponent bits
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6 = (
    _F(1.0), _F(-1.0), _F(0.499999934527913), _F(-0.16666520727562734), _F(0.041668387489532124),
    _F(-0.008368705354000158), _F(0.0013814579739021904),
)  # fmt: skip

# Forward: neither reassociation nor fused multiply-adds, so sigma is rounded exactly as in the
# torch reference (needle-thin Gaussians make it sensitive); the backward may use both.
_FWD_MATH = {"nnan", "ninf", "nsz", "arcp", "afn"}
_BWD_MATH = _FWD_MATH | {"contract", "reassoc"}
_EXP_MATH = _FWD_MATH | {"contract"}  # no reassociation: the rounding trick must survive

# Columns of the packed per-Gaussian parameters.
_MX, _MY, _CA, _CB, _CC, _OP, _R, _G, _B, _LOGOP, _ROWC, _INVA, _BOA = range(13)
_NPARAM = 13
_PIX_MARGIN = _F(0.01)  # pixels of slack in the column-skip test
_NGRAD = 9  # mx, my, a, b, c, opacity, r, g, b


@intrinsic
def _bits_to_float(typingctx, bits):
    """Reinterpret int32 bits as float32 (a free bitcast; vectorises)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def _float_bits(typingctx, x):
    """Reinterpret float32 as its int32 bits (a free bitcast; vectorises)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """float32 a * b + c with one rounding (llvm.fma; vectorises to vfmadd)."""
    if not (a == types.float32 and b == types.float32 and c == types.float32):
        return None

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f32, [f32, f32, f32]), "llvm.fma.f32")
        return builder.call(fn, args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@intrinsic
def _prefer_512(typingctx):
    """Ask LLVM for 512-bit vectors in the enclosing function (on AVX-512 CPUs LLVM otherwise
    prefers 256-bit ones): one 16-lane tile row is then one zmm register. No-op elsewhere."""

    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')  # string attribute
        return context.get_dummy_value()

    return types.none(), codegen


@njit(fastmath=_EXP_MATH, cache=True)
def _exp_parts(s):
    """exp(-s) = p * 2^k for s >= ~0, as (p, k << 23 as int32 bits): a polynomial so that loops
    around it vectorise, and 2^k left as exponent bits so a caller can fold a factor into it.

    s is clamped at 20 (exp(-20) << 1/255; lower values would underflow the exponent bits).
    k = round(-s log2 e) by adding 1.5 * 2^23 in a fused multiply-add (its low mantissa bits are
    then k), r = -s - k ln2 in one more fma (|r| <= ln2 / 2; ln2's float32 rounding costs
    < 2e-8 relative for the k that matter), exp(r) a degree-6 polynomial (relative error 3e-9;
    about 0.1 ulp from torch's float32 exp on average after rounding).
    """
    s = min(s, _EXP_MAX)
    t = _fma(s, _NEG_LOG2E, _ROUND_MAGIC)
    kf = t - _ROUND_MAGIC
    rn = _fma(kf, _LN2, s)
    p = _fma(rn, _Q6, _Q5)
    p = _fma(rn, p, _Q4)
    p = _fma(rn, p, _Q3)
    p = _fma(rn, p, _Q2)
    p = _fma(rn, p, _Q1)
    p = _fma(rn, p, _Q0)
    return p, np.int32(_float_bits(t) << np.int32(23))


@njit(fastmath=_EXP_MATH, cache=True)
def _exp(x):
    """float32 exp(x) for x <= ~0 (clamped at -20); see `_exp_parts`."""
    p, kb = _exp_parts(-x)
    return p * _bits_to_float(np.int32(kb + np.int32(0x3F800000)))


@njit(fastmath=_EXP_MATH, cache=True)
def _op_exp(s, op_bits):
    """op * exp(-s) for s >= ~0 and op >= 2^-9 given by its float32 bits: the power of two is
    added into op's exponent (one integer add instead of a multiply)."""
    p, kb = _exp_parts(s)
    return p * _bits_to_float(np.int32(op_bits + kb))


@njit(parallel=True, cache=True, error_model="numpy")
def _project(means, quats, scales, opacities, viewmats, Ks, width, height, eps2d, near, far, means2d, conics, depths, radii):
    """`projection.project_gaussians` for inference, in one float32 pass (same formulas and
    order of operations; agrees to float rounding). Outputs [C, N, ...] arrays are filled."""
    C = viewmats.shape[0]
    N = means.shape[0]
    w32 = np.float32(width)
    h32 = np.float32(height)
    for cn in prange(C * N):
        cam = cn // N
        n = cn % N
        fx, fy, cx, cy = Ks[cam, 0, 0], Ks[cam, 1, 1], Ks[cam, 0, 2], Ks[cam, 1, 2]
        qw, qx, qy, qz = quats[n, 0], quats[n, 1], quats[n, 2], quats[n, 3]
        qn = max(math.sqrt(qw * qw + qx * qx + qy * qy + qz * qz), np.float32(1e-12))
        qw, qx, qy, qz = qw / qn, qx / qn, qy / qn, qz / qn
        two = np.float32(2)
        s0, s1, s2 = scales[n, 0], scales[n, 1], scales[n, 2]
        # M = R diag(s): the Gaussian's scaled axes as columns.
        m00 = (_ONE - two * (qy * qy + qz * qz)) * s0
        m01 = (two * (qx * qy - qw * qz)) * s1
        m02 = (two * (qx * qz + qw * qy)) * s2
        m10 = (two * (qx * qy + qw * qz)) * s0
        m11 = (_ONE - two * (qx * qx + qz * qz)) * s1
        m12 = (two * (qy * qz - qw * qx)) * s2
        m20 = (two * (qx * qz - qw * qy)) * s0
        m21 = (two * (qy * qz + qw * qx)) * s1
        m22 = (_ONE - two * (qx * qx + qy * qy)) * s2
        px, py, pz = means[n, 0], means[n, 1], means[n, 2]
        v = viewmats[cam]
        x = v[0, 0] * px + v[0, 1] * py + v[0, 2] * pz + v[0, 3]
        y = v[1, 0] * px + v[1, 1] * py + v[1, 2] * pz + v[1, 3]
        z = v[2, 0] * px + v[2, 1] * py + v[2, 2] * pz + v[2, 3]
        # Rows of Mc = Rc M (camera-space scaled axes).
        c00 = v[0, 0] * m00 + v[0, 1] * m10 + v[0, 2] * m20
        c01 = v[0, 0] * m01 + v[0, 1] * m11 + v[0, 2] * m21
        c02 = v[0, 0] * m02 + v[0, 1] * m12 + v[0, 2] * m22
        c10 = v[1, 0] * m00 + v[1, 1] * m10 + v[1, 2] * m20
        c11 = v[1, 0] * m01 + v[1, 1] * m11 + v[1, 2] * m21
        c12 = v[1, 0] * m02 + v[1, 1] * m12 + v[1, 2] * m22
        c20 = v[2, 0] * m00 + v[2, 1] * m10 + v[2, 2] * m20
        c21 = v[2, 0] * m01 + v[2, 1] * m11 + v[2, 2] * m21
        c22 = v[2, 0] * m02 + v[2, 1] * m12 + v[2, 2] * m22
        depths[cam, n] = z
        radii[cam, n, 0] = 0
        radii[cam, n, 1] = 0
        if not (z >= near and z <= far):
            continue
        tan_fovx = _HALF * w32 / fx
        tan_fovy = _HALF * h32 / fy
        lim_x_pos = (w32 - cx) / fx + np.float32(0.3) * tan_fovx
        lim_x_neg = cx / fx + np.float32(0.3) * tan_fovx
        lim_y_pos = (h32 - cy) / fy + np.float32(0.3) * tan_fovy
        lim_y_neg = cy / fy + np.float32(0.3) * tan_fovy
        tx = z * min(max(x / z, -lim_x_neg), lim_x_pos)
        ty = z * min(max(y / z, -lim_y_neg), lim_y_pos)
        j00 = fx / z
        j02 = fx * tx / (z * z)
        j11 = fy / z
        j12 = fy * ty / (z * z)
        a0, a1, a2 = j00 * c00 - j02 * c20, j00 * c01 - j02 * c21, j00 * c02 - j02 * c22
        b0, b1, b2 = j11 * c10 - j12 * c20, j11 * c11 - j12 * c21, j11 * c12 - j12 * c22
        ca = a0 * a0 + a1 * a1 + a2 * a2
        cb = a0 * b0 + a1 * b1 + a2 * b2
        cc = b0 * b0 + b1 * b1 + b2 * b2
        ca += eps2d
        cc += eps2d
        det = ca * cc - cb * cb
        if not det > _ZERO:
            continue
        op = opacities[n]
        if op < _ALPHA_MIN:
            continue
        extend = min(np.float32(3.33), math.sqrt(np.float32(2) * math.log(op / _ALPHA_MIN)))
        rx = math.ceil(extend * math.sqrt(ca))
        ry = math.ceil(extend * math.sqrt(cc))
        if rx <= 0 and ry <= 0:
            continue
        mx = fx * x / z + cx
        my = fy * y / z + cy
        if mx + rx <= 0 or mx - rx >= w32 or my + ry <= 0 or my - ry >= h32:
            continue
        means2d[cam, n, 0] = mx
        means2d[cam, n, 1] = my
        conics[cam, n, 0] = cc / det
        conics[cam, n, 1] = -cb / det
        conics[cam, n, 2] = ca / det
        radii[cam, n, 0] = rx
        radii[cam, n, 1] = ry


@njit(cache=True)
def _bin(means2d, radii, depths, n_images, n_per_image, tile_w, tile_h):
    """Tile lists of the visible Gaussians.

    means2d [I*N, 2] f32, radii [I*N, 2] i32, depths [I*N] f32 (flat index = image * N + gaussian).
    Returns ids [V] (flat index of the k-th visible Gaussian in depth order), offsets
    [I*tiles + 1] (each tile's slice of the pair lists) and box [V, 4] (tile x0, x1, y0, y1);
    `_fill_lists` then writes the lists [pairs] of k's, each tile's slice in depth order.
    """
    total = means2d.shape[0]
    n_tiles = tile_w * tile_h
    vis = np.empty(total, np.int32)
    nv = 0
    for i in range(total):
        if radii[i, 0] > 0 and radii[i, 1] > 0:
            vis[nv] = i
            nv += 1
    # Stable LSD radix sort on the float bits (depths of visible Gaussians are > 0).
    keys = depths.view(np.uint32)
    ids = vis[:nv].copy()
    tmp = np.empty(nv, np.int32)
    count = np.empty(2048, np.int64)
    for shift in (0, 11, 22):
        count[:] = 0
        for k in range(nv):
            count[(keys[ids[k]] >> shift) & 2047] += 1
        acc = 0
        for d in range(2048):
            c = count[d]
            count[d] = acc
            acc += c
        for k in range(nv):
            d = (keys[ids[k]] >> shift) & 2047
            tmp[count[d]] = ids[k]
            count[d] += 1
        ids, tmp = tmp, ids
    # Tile boxes, same float32 arithmetic as gsplat's IntersectTile.cu; tiles per box counted with
    # a 2D difference array (four updates per box, then prefix sums) instead of tile by tile.
    box = np.empty((nv, 4), np.int32)
    diff = np.zeros((n_images, tile_h + 1, tile_w + 1), np.int64)
    for k in range(nv):
        i = ids[k]
        tx = means2d[i, 0] / _TILE_F
        ty = means2d[i, 1] / _TILE_F
        rx = np.float32(radii[i, 0]) / _TILE_F
        ry = np.float32(radii[i, 1]) / _TILE_F
        x0 = min(max(math.floor(tx - rx), 0), tile_w)
        x1 = min(max(math.ceil(tx + rx), 0), tile_w)
        y0 = min(max(math.floor(ty - ry), 0), tile_h)
        y1 = min(max(math.ceil(ty + ry), 0), tile_h)
        box[k, 0], box[k, 1], box[k, 2], box[k, 3] = x0, x1, y0, y1
        if x0 < x1 and y0 < y1:
            img = i // n_per_image
            diff[img, y0, x0] += 1
            diff[img, y0, x1] -= 1
            diff[img, y1, x0] -= 1
            diff[img, y1, x1] += 1
    offsets = np.empty(n_images * n_tiles + 1, np.int64)
    offsets[0] = 0
    acc = 0
    for img in range(n_images):
        for y in range(tile_h):
            run = 0  # prefix sum along the row, added to the row above's counts kept in diff[y]
            for x in range(tile_w):
                run += diff[img, y, x]
                if y > 0:
                    diff[img, y, x] = run + diff[img, y - 1, x]
                else:
                    diff[img, y, x] = run
                acc += diff[img, y, x]
                offsets[img * n_tiles + y * tile_w + x + 1] = acc
    return ids, offsets, box


@njit(parallel=True, cache=True)
def _fill_lists(ids, box, offsets, n_images, n_per_image, tile_w, tile_h, n_bands, lists):
    """Write each tile's list (k ascending, so in depth order), in parallel over bands of tile
    rows: every band walks all boxes and writes only its own tiles."""
    n_rows = n_images * tile_h
    n_bands = min(n_rows, n_bands)
    nv = ids.shape[0]
    for band in prange(n_bands):
        row0 = band * n_rows // n_bands
        row1 = (band + 1) * n_rows // n_bands
        fill = offsets[row0 * tile_w : row1 * tile_w].copy()  # next free slot of each tile
        for k in range(nv):
            g_row = (ids[k] // n_per_image) * tile_h  # the image's first row among all rows
            y0 = max(box[k, 2] + g_row, row0)
            y1 = min(box[k, 3] + g_row, row1)
            for gy in range(y0, y1):
                for x in range(box[k, 0], box[k, 1]):
                    t = (gy - row0) * tile_w + x
                    lists[fill[t]] = k
                    fill[t] += 1


@njit(parallel=True, cache=True)
def _pack(ids, means2d, radii, conics, colors, opacities):
    """Per visible Gaussian in depth order: [V, 11] float32 parameters (see _MX.._ROWC)."""
    nv = ids.shape[0]
    params = np.empty((nv, _NPARAM), np.float32)
    for k in prange(nv):
        i = ids[k]
        a, b, c = conics[i, 0], conics[i, 1], conics[i, 2]
        op = opacities[i]
        params[k, _MX] = means2d[i, 0]
        params[k, _MY] = means2d[i, 1]
        params[k, _CA] = a
        params[k, _CB] = b
        params[k, _CC] = c
        params[k, _OP] = op
        params[k, _R] = colors[i, 0]
        params[k, _G] = colors[i, 1]
        params[k, _B] = colors[i, 2]
        # Row skip: over a row at offset dy, sigma >= 0.5 dy^2 (c - b^2 / a); the row can be
        # skipped when that exceeds log(255 opacity) (every alpha below 1/255).
        # sigma's minimum over the row, 0.5 dy^2 (ac - b^2) / a, in float64 from the float32 conic.
        a64, b64, c64 = np.float64(a), np.float64(b), np.float64(c)
        span = (radii[i, 0] + 16.0) ** 2 + (radii[i, 1] + 16.0) ** 2
        margin = _ROW_MARGIN + _ROW_MARGIN_REL * (abs(a64) + abs(c64) + 2.0 * abs(b64)) * span
        params[k, _LOGOP] = math.log(max(op * 255.0, 1e-30)) + margin
        params[k, _ROWC] = 0.5 * (a64 * c64 - b64 * b64) / a64 if a64 > 0 else 0.0
        # Along a row, sigma <= L exactly for |px - (mx + b dy / a)| <= sqrt(2 (L - sigma_min) / a).
        params[k, _INVA] = 1.0 / a64 if a64 > 0 else 1e30
        params[k, _BOA] = b64 / a64 if a64 > 0 else 0.0
    return params


# Per-tile compositing state of `_forward`, one float32 array [1 + 16, 5, 16] (one array, so
# that the compiler sees its parts never alias): [0, 0] the pixel x centres, then per row of the
# tile the lanes' T (negated once the pixel has stopped), r, g, b and last drawn position.
_ST_T, _ST_R, _ST_G, _ST_B, _ST_LAST = range(5)


@njit(parallel=True, fastmath=_FWD_MATH, cache=True, error_model="numpy")
def _forward(params, offsets, lists, backgrounds, width, height, tile_w, tile_h, out_rgb, out_T, out_last):
    """Composite every tile. out_rgb [I, H, W, 3], out_T [I, H, W] final transmittance,
    out_last [I, H, W] position in the tile list of the last drawn Gaussian (-1: none).

    Gaussian-outer: the tile's 16 x 16 state stays in one small array (L1) while its list is
    walked once; for each Gaussian only the rows its alpha >= 1/255 ellipse can reach are
    visited (an interval from the row test solved for dy, then the exact per-row tests), each
    row's 16 pixels in SIMD lanes. A row leaves once all its pixels have stopped, the tile once
    all rows have.
    """
    n_tiles = tile_w * tile_h
    n_jobs = backgrounds.shape[0] * n_tiles
    for job in prange(n_jobs):
        _prefer_512()
        img = job // n_tiles
        tile = job % n_tiles
        x_start = (tile % tile_w) * TILE
        y_start = (tile // tile_w) * TILE
        start = offsets[job]
        end = offsets[job + 1]
        n_rows = min(TILE, height - y_start)
        n_cols = min(TILE, width - x_start)
        st = np.empty((1 + TILE, 5, TILE), np.float32)
        row_live = np.zeros(TILE, np.int32)  # pixels of each row not stopped yet
        for l in range(TILE):
            st[0, 0, l] = np.float32(x_start + l) + _HALF
        st[1:, _ST_R : _ST_B + 1, :] = _ZERO
        st[1:, _ST_LAST, :] = _F(-1.0)
        st[1:, _ST_T, :n_cols] = _ONE
        st[1:, _ST_T, n_cols:] = _F(-1.0)  # off-image: stopped
        for row in range(n_rows):
            row_live[row] = n_cols
        live_rows = n_rows
        x_lo = np.float32(x_start) + _HALF - _PIX_MARGIN
        x_hi = np.float32(x_start + TILE - 1) + _HALF + _PIX_MARGIN
        y_c = np.float32(y_start) + _HALF  # centre of the tile's first row
        for j in range(start, end):
            if live_rows == 0:
                break
            k = lists[j]
            my = params[k, _MY]
            logop = params[k, _LOGOP]
            rowc = params[k, _ROWC]
            # Rows whose test below can pass: rowc dy^2 <= logop, with slack for its rounding.
            r0 = 0
            r1 = n_rows - 1
            if rowc > _ZERO:
                if logop < _ZERO:
                    continue
                h = math.sqrt(np.float64(logop) / np.float64(rowc)) * 1.00001 + 1e-3
                dyc = np.float64(my) - np.float64(y_c)
                r0 = max(r0, np.int64(math.ceil(dyc - h)))
                r1 = min(r1, np.int64(math.floor(dyc + h)))
            if r0 > r1:
                continue
            mx = params[k, _MX]
            a = params[k, _CA]
            b = params[k, _CB]
            c = params[k, _CC]
            op_bits = _float_bits(params[k, _OP])
            cr = params[k, _R]
            cg = params[k, _G]
            cb = params[k, _B]
            inva = params[k, _INVA]
            boa = params[k, _BOA]
            pos = np.float32(j - start)
            for row in range(r0, r1 + 1):
                if row_live[row] == 0:
                    continue
                py = np.float32(y_start + row) + _HALF
                dy = my - py
                rem = logop - rowc * dy * dy
                if rem < _ZERO:
                    continue
                half = math.sqrt(_F(2.0) * rem * inva)
                centre = mx + boa * dy
                if centre + half < x_lo or centre - half > x_hi:
                    continue
                cdy2 = c * dy * dy
                o = np.uint64(row + 1)  # unsigned: no negative-index wraparound
                any_stop = False
                for l in range(TILE):
                    dx = mx - (np.float32(x_start + l) + _HALF)
                    sigma = _HALF * (a * dx * dx + cdy2) + b * dx * dy
                    alpha = min(_MAX_ALPHA, _op_exp(sigma, op_bits))
                    Tl = st[o, _ST_T, l]
                    live = (Tl > _ZERO) & (sigma >= _ZERO) & (alpha >= _ALPHA_MIN)
                    nT = Tl * (_ONE - alpha)
                    go = nT > _T_MIN
                    draw = live & go
                    w = alpha * Tl if draw else _ZERO
                    st[o, _ST_R, l] += w * cr
                    st[o, _ST_G, l] += w * cg
                    st[o, _ST_B, l] += w * cb
                    st[o, _ST_T, l] = (nT if go else -Tl) if live else Tl
                    st[o, _ST_LAST, l] = pos if draw else st[o, _ST_LAST, l]
                    any_stop |= live & (nT <= _T_MIN)
                if any_stop:  # a pixel stopped: is the whole row done now?
                    row_done = True
                    for l in range(TILE):
                        if st[o, _ST_T, l] > _ZERO:
                            row_done = False
                    if row_done:
                        row_live[row] = 0
                        live_rows -= 1
        bg_r = backgrounds[img, 0]
        bg_g = backgrounds[img, 1]
        bg_b = backgrounds[img, 2]
        for row in range(n_rows):
            y = y_start + row
            o = np.uint64(row + 1)  # unsigned: no negative-index wraparound
            for l in range(n_cols):
                x = x_start + l
                Tl = abs(st[o, _ST_T, l])
                out_rgb[img, y, x, 0] = st[o, _ST_R, l] + Tl * bg_r
                out_rgb[img, y, x, 1] = st[o, _ST_G, l] + Tl * bg_g
                out_rgb[img, y, x, 2] = st[o, _ST_B, l] + Tl * bg_b
                out_T[img, y, x] = Tl
                out_last[img, y, x] = np.int32(st[o, _ST_LAST, l])


@njit(parallel=True, fastmath=_BWD_MATH, cache=True, error_model="numpy")
def _backward(params, offsets, lists, backgrounds, width, height, tile_w, tile_h, T_final, last_ids, v_rgb, v_alpha, pair_grads):
    """Per (tile, Gaussian) pair gradients [pairs, 9] (mx, my, a, b, c, opacity, r, g, b),
    walking each pixel's drawn Gaussians back to front like gsplat's CUDA backward."""
    n_tiles = tile_w * tile_h
    n_jobs = backgrounds.shape[0] * n_tiles
    for job in prange(n_jobs):
        img = job // n_tiles
        tile = job % n_tiles
        x_start = (tile % tile_w) * TILE
        y_start = (tile // tile_w) * TILE
        start = offsets[job]
        end = offsets[job + 1]
        for j in range(start, end):
            for q in range(_NGRAD):
                pair_grads[j, q] = _ZERO
        if end == start:
            continue
        T = np.empty(TILE, np.float32)
        Tf = np.empty(TILE, np.float32)
        last = np.empty(TILE, np.int32)
        vr = np.empty(TILE, np.float32)
        vg = np.empty(TILE, np.float32)
        vb = np.empty(TILE, np.float32)
        vfin = np.empty(TILE, np.float32)  # d loss / d T_final through alpha and background
        br = np.empty(TILE, np.float32)
        bg_ = np.empty(TILE, np.float32)
        bb = np.empty(TILE, np.float32)
        pxs = np.empty(TILE, np.float32)
        for l in range(TILE):
            pxs[l] = np.float32(x_start + l) + _HALF
        x_lo = np.float32(x_start) + _HALF - _PIX_MARGIN
        x_hi = np.float32(x_start + TILE - 1) + _HALF + _PIX_MARGIN
        bg_r = backgrounds[img, 0]
        bg_g = backgrounds[img, 1]
        bg_b = backgrounds[img, 2]
        for row in range(TILE):
            y = y_start + row
            if y >= height:
                break
            py = np.float32(y) + _HALF
            max_last = -1
            for l in range(TILE):
                x = x_start + l
                if x < width:
                    Tl = T_final[img, y, x]
                    T[l] = Tl
                    Tf[l] = Tl
                    last[l] = last_ids[img, y, x]
                    vr[l] = v_rgb[img, y, x, 0]
                    vg[l] = v_rgb[img, y, x, 1]
                    vb[l] = v_rgb[img, y, x, 2]
                    vfin[l] = -v_alpha[img, y, x] + bg_r * vr[l] + bg_g * vg[l] + bg_b * vb[l]
                else:
                    T[l] = _ONE
                    Tf[l] = _ONE
                    last[l] = -1
                    vr[l] = _ZERO
                    vg[l] = _ZERO
                    vb[l] = _ZERO
                    vfin[l] = _ZERO
                br[l] = _ZERO
                bg_[l] = _ZERO
                bb[l] = _ZERO
                max_last = max(max_last, last[l])
            for j in range(start + max_last, start - 1, -1):
                k = lists[j]
                dy = params[k, _MY] - py
                rem = params[k, _LOGOP] - params[k, _ROWC] * dy * dy
                if rem < _ZERO:
                    continue
                mx = params[k, _MX]
                half = math.sqrt(_F(2.0) * rem * params[k, _INVA])
                centre = mx + params[k, _BOA] * dy
                if centre + half < x_lo or centre - half > x_hi:
                    continue
                a = params[k, _CA]
                b = params[k, _CB]
                c = params[k, _CC]
                op = params[k, _OP]
                op_bits = _float_bits(op)
                r = params[k, _R]
                g = params[k, _G]
                bl = params[k, _B]
                pos = np.int32(j - start)
                s_mx = _ZERO
                s_my = _ZERO
                s_a = _ZERO
                s_b = _ZERO
                s_c = _ZERO
                s_op = _ZERO
                s_r = _ZERO
                s_g = _ZERO
                s_bl = _ZERO
                for l in range(TILE):
                    dx = mx - pxs[l]
                    sigma = _HALF * (a * dx * dx + c * dy * dy) + b * dx * dy
                    ep, ekb = _exp_parts(sigma)
                    vis = ep * _bits_to_float(np.int32(ekb + np.int32(0x3F800000)))
                    ov = ep * _bits_to_float(np.int32(op_bits + ekb))  # as the forward's alpha
                    alpha = min(_MAX_ALPHA, ov)
                    valid = (pos <= last[l]) and (sigma >= _ZERO) and (alpha >= _ALPHA_MIN)
                    ra = _ONE / (_ONE - alpha)
                    Tl = T[l] * ra
                    fac = alpha * Tl
                    v_al = (r * Tl - br[l] * ra) * vr[l] + (g * Tl - bg_[l] * ra) * vg[l] + (bl * Tl - bb[l] * ra) * vb[l]
                    v_al -= Tf[l] * ra * vfin[l]
                    v_sig = -ov * v_al if ov <= _MAX_ALPHA else _ZERO
                    v_sig = v_sig if valid else _ZERO
                    fac = fac if valid else _ZERO
                    s_r += fac * vr[l]
                    s_g += fac * vg[l]
                    s_bl += fac * vb[l]
                    s_a += _HALF * v_sig * dx * dx
                    s_b += v_sig * dx * dy
                    s_c += _HALF * v_sig * dy * dy
                    s_mx += v_sig * (a * dx + b * dy)
                    s_my += v_sig * (b * dx + c * dy)
                    s_op += (vis * v_al if ov <= _MAX_ALPHA else _ZERO) if valid else _ZERO
                    br[l] += fac * r
                    bg_[l] += fac * g
                    bb[l] += fac * bl
                    T[l] = Tl if valid else T[l]
                pair_grads[j, 0] += s_mx
                pair_grads[j, 1] += s_my
                pair_grads[j, 2] += s_a
                pair_grads[j, 3] += s_b
                pair_grads[j, 4] += s_c
                pair_grads[j, 5] += s_op
                pair_grads[j, 6] += s_r
                pair_grads[j, 7] += s_g
                pair_grads[j, 8] += s_bl


@njit(cache=True)
def _gather_grads(ids, lists, pair_grads, total):
    """Sum pair gradients into flat (image, Gaussian) rows: -> [I*N, 9] float32."""
    out = np.zeros((total, _NGRAD), np.float32)
    for p in range(lists.shape[0]):
        i = ids[lists[p]]
        for q in range(_NGRAD):
            out[i, q] += pair_grads[p, q]
    return out


def _np32(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to(torch.float32).cpu().numpy())


def _composite(means2d, radii, depths, conics, colors, opacities, backgrounds, width, height):
    """numpy float32 [I, N, ...] inputs -> (rgb [I,H,W,3], T_final [I,H,W], what backward needs)."""
    I, N = means2d.shape[:2]
    tile_w, tile_h = math.ceil(width / TILE), math.ceil(height / TILE)
    m2d = means2d.reshape(I * N, 2)
    rad = radii.reshape(I * N, 2)
    ids, offsets, box = _bin(m2d, rad, depths.reshape(I * N), I, N, tile_w, tile_h)
    lists = np.empty(offsets[-1], np.int32)
    _fill_lists(ids, box, offsets, I, N, tile_w, tile_h, 2 * get_num_threads(), lists)
    params = _pack(ids, m2d, rad, conics.reshape(I * N, 3), colors.reshape(I * N, 3), opacities.reshape(I * N))
    rgb = np.empty((I, height, width, 3), np.float32)
    T = np.empty((I, height, width), np.float32)
    last = np.empty((I, height, width), np.int32)
    _forward(params, offsets, lists, backgrounds, width, height, tile_w, tile_h, rgb, T, last)
    return rgb, T, (ids, offsets, lists, params, backgrounds, T, last, I, N, width, height, tile_w, tile_h)


class _RasterizeFn(torch.autograd.Function):
    """(means2d [I,N,2], conics [I,N,3], colors [I,N,3], opacities [I,N], backgrounds [I,3])
    -> rgb [I,H,W,3], alpha [I,H,W,1]; radii / depths only choose tiles and order."""

    @staticmethod
    def forward(ctx, means2d, conics, colors, opacities, backgrounds, radii, depths, width, height):
        rgb, T, saved = _composite(
            _np32(means2d), np.ascontiguousarray(radii.cpu().numpy()), _np32(depths), _np32(conics),
            _np32(colors), _np32(opacities), _np32(backgrounds), width, height,
        )  # fmt: skip
        ctx.saved = saved
        ctx.dtype = means2d.dtype
        return torch.from_numpy(rgb).to(means2d.dtype), torch.from_numpy(1.0 - T).to(means2d.dtype)[..., None]

    @staticmethod
    def backward(ctx, v_rgb, v_alpha):
        ids, offsets, lists, params, bgs, T, last, I, N, width, height, tile_w, tile_h = ctx.saved
        if v_rgb is None:
            v_rgb = torch.zeros((I, height, width, 3))
        if v_alpha is None:
            v_alpha = torch.zeros((I, height, width, 1))
        v_rgb_np = _np32(v_rgb)
        pair_grads = np.empty((lists.shape[0], _NGRAD), np.float32)
        _backward(params, offsets, lists, bgs, width, height, tile_w, tile_h, T, last,
                  v_rgb_np, _np32(v_alpha)[..., 0], pair_grads)  # fmt: skip
        g = torch.from_numpy(_gather_grads(ids, lists, pair_grads, I * N)).to(ctx.dtype).reshape(I, N, _NGRAD)
        v_bg = None
        if ctx.needs_input_grad[4]:
            v_bg = (torch.from_numpy(v_rgb_np * T[..., None])).sum(dim=(1, 2)).to(ctx.dtype)
        return g[..., 0:2], g[..., 2:5], g[..., 6:9], g[..., 5], v_bg, None, None, None, None


def rasterize_cpu(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [N, 3] or [N, K, 3] with sh_degree
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    sh_degree: int | None = None,
    background: Tensor | None = None,  # [3]
) -> tuple[Tensor, Tensor]:
    """Fast CPU rasterization (inputs already validated): -> rgb [C, H, W, 3], alpha [C, H, W, 1].

    With autograd recording and an input that needs gradients, the projection runs in torch and
    the compositing in a differentiable Function; otherwise everything runs in numba.
    """
    C, N = viewmats.shape[0], means.shape[0]
    inputs = (means, quats, scales, opacities, colors, viewmats, background)
    if sh_degree is None:
        colors_c = colors[None].expand(C, N, 3)
    else:
        colors_c = sh_colors(sh_degree, means, colors, viewmats)
    if background is None:
        bgs = torch.zeros(C, 3, dtype=means.dtype)
    else:
        bgs = background[None].expand(C, 3)
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in inputs):
        proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height)
        return _RasterizeFn.apply(
            proj.means2d, proj.conics, colors_c, opacities[None].expand(C, N), bgs,
            proj.radii, proj.depths.detach(), width, height,
        )  # fmt: skip
    means2d = np.zeros((C, N, 2), np.float32)
    conics = np.zeros((C, N, 3), np.float32)
    depths = np.zeros((C, N), np.float32)
    radii = np.zeros((C, N, 2), np.int32)
    ops = _np32(opacities)
    _project(
        _np32(means), _np32(quats), _np32(scales), ops, _np32(viewmats), _np32(Ks), width, height,
        _F(0.3), _F(0.01), _F(1e10), means2d, conics, depths, radii,
    )  # fmt: skip
    rgb, T, _ = _composite(
        means2d, radii, depths, conics, _np32(colors_c), np.ascontiguousarray(np.broadcast_to(ops, (C, N))),
        _np32(bgs), width, height,
    )  # fmt: skip
    return torch.from_numpy(rgb).to(means.dtype), torch.from_numpy(1.0 - T).to(means.dtype)[..., None]


@njit(parallel=True, cache=True)
def _to_uint8(rgb, out):
    flat_in = rgb.reshape(-1)
    flat_out = out.reshape(-1)
    for i in prange(flat_in.shape[0]):
        v = min(max(flat_in[i], _ZERO), _ONE)
        flat_out[i] = np.uint8(v * _F(255.0) + _HALF)


def to_uint8_cpu(rgb: Tensor) -> np.ndarray:
    """frames.to_uint8 for a float32 CPU tensor in one numba pass: [..., 3] in [0, 1] -> uint8, rounded
    (clamp, * 255, + 0.5, truncate: the same numbers; tested)."""
    src = np.ascontiguousarray(rgb.detach().numpy(), dtype=np.float32)
    out = np.empty(src.shape, np.uint8)
    _to_uint8(src, out)
    return out


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel with a tiny scene."""
    g = torch.Generator().manual_seed(0)
    means = torch.randn(8, 3, generator=g) * 0.2 + torch.tensor([0.0, 0.0, 2.0])
    quats = torch.randn(8, 4, generator=g)
    scales = torch.rand(8, 3, generator=g) * 0.1 + 0.02
    ops = torch.rand(8, generator=g).requires_grad_()
    cols = torch.rand(8, 3, generator=g)
    K = torch.tensor([[[40.0, 0, 16], [0, 40.0, 16], [0, 0, 1]]])
    rgb, alpha = rasterize_cpu(means, quats, scales, ops, cols, torch.eye(4)[None], K, 32, 32)
    (rgb.sum() + alpha.sum()).backward()
    with torch.no_grad():
        rasterize_cpu(means, quats, scales, ops, cols, torch.eye(4)[None], K, 32, 32)


__all__ = ["rasterize_cpu", "warm_up"]
