"""Numba kernels for the block passes of ``nmf_blocks`` (optional: used when numba imports).

Frame-major: the kernels read ``VT`` (N, F), one contiguous spectrum per frame, and work on
exactly the components active in each block (the plan for this backend cuts the frames wherever
the active set changes). Frames are processed in tiles of up to four that share the template
loads; every inner loop runs over the F bins and is vectorised. The elementwise work is fused:
one sweep computes ``R = V / (WH + eps)`` and, when a cost is wanted, ``sum(V * log(WH + eps))``
with a vectorised float32 logarithm (bit-level split into exponent and mantissa, then a
short series; relative error about 1e-7). Kernels hold no GIL (``nogil``)
and are cached on disk (``cache=True``): the first process compiles them (a few seconds), later
ones load them.

Shapes (float32 unless noted): VT (N, F), WT (K, F), H / Hn (K, N); the plan is given as int64
``bounds`` (n_blocks + 1,), ``aptr`` (n_blocks + 1,) and ``aidx`` (concatenated active lists);
each call handles blocks ``b_lo .. b_hi - 1``, so callers can split a pass over threads.
Scratch: ``hb`` >= (max_active + 3) * max_frames, ``wh`` >= 4 * F.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_OPTS = dict(cache=True, nogil=True, fastmath=True, error_model="numpy")
_EPS = np.float32(1e-10)
_LN2 = np.float32(0.6931471805599453)
TILE = 4


@njit(**_OPTS)
def _gather_h(H, A, n0, n1, hb):
    """Hb (len(A), n1 - n0) = H[A, n0:n1], with zero rows for padding indices (A[i] >= K)."""
    B = n1 - n0
    Hb = hb[: A.shape[0] * B].reshape((A.shape[0], B))
    for i in range(A.shape[0]):
        if A[i] < H.shape[0]:
            Hb[i, :] = H[A[i], n0:n1]
        else:
            Hb[i, :] = 0.0
    return Hb


@njit(**_OPTS)
def _model_rows(WT, A, Hb, c, nc, WH, VT, n, ratio):
    """WH[j] = sum_i Hb[i, c + j] * WT[A[i]] + eps for j < nc (nc <= 4), four templates per sweep.

    With ``ratio`` the rows end as V / (WH + eps) instead (VT[n + j] is frame j's spectrum),
    fused into the last sweep when the list is a multiple of four and the tile is full.
    """
    F = WT.shape[1]
    ka = A.shape[0]
    if nc == 4 and ka >= 4 and ka % 4 == 0:
        r0, r1, r2, r3 = WH[0], WH[1], WH[2], WH[3]
        v0, v1, v2, v3 = VT[n], VT[n + 1], VT[n + 2], VT[n + 3]
        for i in range(0, ka, 4):
            wa, wb, wc, wd = WT[A[i]], WT[A[i + 1]], WT[A[i + 2]], WT[A[i + 3]]
            a0, a1, a2, a3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
            b0, b1, b2, b3 = Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3]
            c0, c1, c2, c3 = Hb[i + 2, c], Hb[i + 2, c + 1], Hb[i + 2, c + 2], Hb[i + 2, c + 3]
            d0, d1, d2, d3 = Hb[i + 3, c], Hb[i + 3, c + 1], Hb[i + 3, c + 2], Hb[i + 3, c + 3]
            last = i + 4 == ka
            if last and not ratio and i == 0:
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] = a0 * x + b0 * y + c0 * z + d0 * u + _EPS
                    r1[f] = a1 * x + b1 * y + c1 * z + d1 * u + _EPS
                    r2[f] = a2 * x + b2 * y + c2 * z + d2 * u + _EPS
                    r3[f] = a3 * x + b3 * y + c3 * z + d3 * u + _EPS
            elif last and not ratio:
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] += a0 * x + b0 * y + c0 * z + d0 * u + _EPS
                    r1[f] += a1 * x + b1 * y + c1 * z + d1 * u + _EPS
                    r2[f] += a2 * x + b2 * y + c2 * z + d2 * u + _EPS
                    r3[f] += a3 * x + b3 * y + c3 * z + d3 * u + _EPS
            elif i == 0 and not last:
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] = a0 * x + b0 * y + c0 * z + d0 * u
                    r1[f] = a1 * x + b1 * y + c1 * z + d1 * u
                    r2[f] = a2 * x + b2 * y + c2 * z + d2 * u
                    r3[f] = a3 * x + b3 * y + c3 * z + d3 * u
            elif i == 0:  # one sweep: model and ratio at once
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] = v0[f] / (a0 * x + b0 * y + c0 * z + d0 * u + _EPS)
                    r1[f] = v1[f] / (a1 * x + b1 * y + c1 * z + d1 * u + _EPS)
                    r2[f] = v2[f] / (a2 * x + b2 * y + c2 * z + d2 * u + _EPS)
                    r3[f] = v3[f] / (a3 * x + b3 * y + c3 * z + d3 * u + _EPS)
            elif last:
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] = v0[f] / (r0[f] + a0 * x + b0 * y + c0 * z + d0 * u + _EPS)
                    r1[f] = v1[f] / (r1[f] + a1 * x + b1 * y + c1 * z + d1 * u + _EPS)
                    r2[f] = v2[f] / (r2[f] + a2 * x + b2 * y + c2 * z + d2 * u + _EPS)
                    r3[f] = v3[f] / (r3[f] + a3 * x + b3 * y + c3 * z + d3 * u + _EPS)
            else:
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] += a0 * x + b0 * y + c0 * z + d0 * u
                    r1[f] += a1 * x + b1 * y + c1 * z + d1 * u
                    r2[f] += a2 * x + b2 * y + c2 * z + d2 * u
                    r3[f] += a3 * x + b3 * y + c3 * z + d3 * u
        return
    for j in range(nc):
        WH[j, :] = 0.0
    for i in range(ka):
        w = WT[A[i]]
        for j in range(nc):
            h = Hb[i, c + j]
            r = WH[j]
            for f in range(F):
                r[f] += h * w[f]
    for j in range(nc):
        if ratio:
            _ratio_row(VT[n + j], WH[j])
        else:
            WH[j, :] += _EPS


@njit(**_OPTS)
def _ratio_row(v, w):
    for f in range(w.shape[0]):
        w[f] = v[f] / (w[f] + _EPS)


@intrinsic
def _f32_bits(typingctx, x):
    """The bits of a float32 as an int32 (a bitcast, which LLVM vectorises)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))
    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, x):
    """The float32 whose bits are the int32 ``x``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return types.float32(types.int32), codegen


@njit(**_OPTS)
def _ratio_log_row(v, w):
    """w <- v / w; returns sum(v * log(w)). w holds WH + eps (> 0)."""
    acc = np.float32(0.0)
    for f in range(w.shape[0]):
        x = w[f]
        b = _f32_bits(x)  # x = m * 2**e with m in [sqrt(1/2), sqrt(2))
        e = (b - np.int32(0x3F3504F3)) >> np.int32(23)
        m = _bits_f32(np.int32(b - (e << np.int32(23))))
        t = (m - np.float32(1.0)) / (m + np.float32(1.0))
        t2 = t * t
        lm = np.float32(2.0) * t * (np.float32(1.0) + t2 * (np.float32(1.0 / 3.0) + t2 * (
            np.float32(0.2) + t2 * (np.float32(1.0 / 7.0) + t2 * np.float32(1.0 / 9.0)))))
        acc += v[f] * (np.float32(e) * _LN2 + lm)
        w[f] = v[f] / x
    return acc


@njit(**_OPTS)
def _dots(w, R, nc, out):
    """out[j] = w · R[j] for j < nc."""
    F = w.shape[0]
    if nc == 4:
        s0 = s1 = s2 = s3 = np.float32(0.0)
        r0, r1, r2, r3 = R[0], R[1], R[2], R[3]
        for f in range(F):
            wf = w[f]
            s0 += wf * r0[f]
            s1 += wf * r1[f]
            s2 += wf * r2[f]
            s3 += wf * r3[f]
        out[0], out[1], out[2], out[3] = s0, s1, s2, s3
    else:
        for j in range(nc):
            s = np.float32(0.0)
            r = R[j]
            for f in range(F):
                s += w[f] * r[f]
            out[j] = s


@njit(**_OPTS)
def _dots2(w, v, R, out):
    """out[0, j] = w · R[j], out[1, j] = v · R[j] for four rows of R."""
    F = w.shape[0]
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = np.float32(0.0)
    r0, r1, r2, r3 = R[0], R[1], R[2], R[3]
    for f in range(F):
        wf = w[f]
        vf = v[f]
        x0, x1, x2, x3 = r0[f], r1[f], r2[f], r3[f]
        a0 += wf * x0
        a1 += wf * x1
        a2 += wf * x2
        a3 += wf * x3
        b0 += vf * x0
        b1 += vf * x1
        b2 += vf * x2
        b3 += vf * x3
    out[0, 0], out[0, 1], out[0, 2], out[0, 3] = a0, a1, a2, a3
    out[1, 0], out[1, 1], out[1, 2], out[1, 3] = b0, b1, b2, b3


@njit(**_OPTS)
def _axpy_rows(dst, Hb, i, c, nc, R):
    """dst += sum_j Hb[i, c + j] * R[j] for j < nc."""
    F = dst.shape[0]
    if nc == 4:
        h0, h1, h2, h3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
        r0, r1, r2, r3 = R[0], R[1], R[2], R[3]
        for f in range(F):
            dst[f] += h0 * r0[f] + h1 * r1[f] + h2 * r2[f] + h3 * r3[f]
    else:
        for j in range(nc):
            h = Hb[i, c + j]
            r = R[j]
            for f in range(F):
                dst[f] += h * r[f]


@njit(**_OPTS)
def h_pass_kl(VT, WTx, H, Hn, bounds, aptr, aidx, b_lo, b_hi, inv, want_cost, hb, wh):
    """KL H update into Hn; returns sum(V log(WH + eps)) over all frames when ``want_cost``.

    WTx (K + 1, F): the templates and a zero row K, which pads the active lists to multiples of 4.
    """
    F = VT.shape[1]
    K = H.shape[0]
    WH = wh[: TILE * F].reshape((TILE, F))
    s = np.zeros((2, TILE), np.float32)
    acc = 0.0
    for b in range(b_lo, b_hi):
        n0, n1 = bounds[b], bounds[b + 1]
        A = aidx[aptr[b]: aptr[b + 1]]
        Hb = _gather_h(H, A, n0, n1, hb)
        for c in range(0, n1 - n0, TILE):
            nc = min(TILE, n1 - n0 - c)
            _model_rows(WTx, A, Hb, c, nc, WH, VT, n0 + c, not want_cost)
            if want_cost:
                for j in range(nc):
                    acc += _ratio_log_row(VT[n0 + c + j], WH[j])
            i = 0
            while i < A.shape[0] and A[i] < K:
                pair = nc == 4 and i + 1 < A.shape[0] and A[i + 1] < K
                if pair:
                    _dots2(WTx[A[i]], WTx[A[i + 1]], WH, s)
                else:
                    _dots(WTx[A[i]], WH, nc, s[0])
                for q in range(2 if pair else 1):
                    k = A[i + q]
                    for j in range(nc):
                        Hn[k, n0 + c + j] = Hb[i + q, c + j] * s[q, j] * inv[k]
                i += 2 if pair else 1
    return acc


@njit(**_OPTS)
def w_num_kl(VT, WTx, H, NW, bounds, aptr, aidx, b_lo, b_hi, hb, wh):
    """NW (K, F) += the KL W-update numerator (R Hᵀ)ᵀ, with R = V / (WH + eps); WTx as for h_pass_kl."""
    F = VT.shape[1]
    K = H.shape[0]
    WH = wh[: TILE * F].reshape((TILE, F))
    for b in range(b_lo, b_hi):
        n0, n1 = bounds[b], bounds[b + 1]
        A = aidx[aptr[b]: aptr[b + 1]]
        if A.shape[0] == 0:
            continue
        Hb = _gather_h(H, A, n0, n1, hb)
        for c in range(0, n1 - n0, TILE):
            nc = min(TILE, n1 - n0 - c)
            _model_rows(WTx, A, Hb, c, nc, WH, VT, n0 + c, True)
            for i in range(A.shape[0]):
                if A[i] < K:
                    _axpy_rows(NW[A[i]], Hb, i, c, nc, WH)


@njit(**_OPTS)
def h_pass_eu(VT, WT, WtW, H, Hn, bounds, aptr, aidx, b_lo, b_hi, want_cost, hb, wh):
    """Euclidean H update into Hn; returns (<V, WH>, ||WH||²) when ``want_cost``."""
    s = np.zeros(TILE, np.float32)
    cross = 0.0
    quad = 0.0
    for b in range(b_lo, b_hi):
        n0, n1 = bounds[b], bounds[b + 1]
        A = aidx[aptr[b]: aptr[b + 1]]
        ka = A.shape[0]
        Hb = _gather_h(H, A, n0, n1, hb)
        for c in range(0, n1 - n0, TILE):
            nc = min(TILE, n1 - n0 - c)
            Vt = VT[n0 + c: n0 + c + nc]
            for i in range(ka):
                k = A[i]
                _dots(WT[k], Vt, nc, s)
                for j in range(nc):
                    den = np.float32(0.0)
                    for m in range(ka):
                        den += WtW[k, A[m]] * Hb[m, c + j]
                    h = Hb[i, c + j]
                    if want_cost:
                        cross += h * s[j]
                        quad += h * den
                    Hn[k, n0 + c + j] = h * s[j] / (den + _EPS)
    return cross, quad


@njit(**_OPTS)
def w_num_eu(VT, H, NW, HHt, bounds, aptr, aidx, b_lo, b_hi, hb):
    """NW (K, F) += (V Hᵀ)ᵀ and HHt (K, K) += H Hᵀ."""
    for b in range(b_lo, b_hi):
        n0, n1 = bounds[b], bounds[b + 1]
        A = aidx[aptr[b]: aptr[b + 1]]
        ka = A.shape[0]
        Hb = _gather_h(H, A, n0, n1, hb)
        for c in range(0, n1 - n0, TILE):
            nc = min(TILE, n1 - n0 - c)
            for i in range(ka):
                _axpy_rows(NW[A[i]], Hb, i, c, nc, VT[n0 + c: n0 + c + nc])
        for i in range(ka):
            for m in range(ka):
                acc = np.float32(0.0)
                for j in range(n1 - n0):
                    acc += Hb[i, j] * Hb[m, j]
                HHt[A[i], A[m]] += acc


KERNELS = (h_pass_kl, w_num_kl, h_pass_eu, w_num_eu)


def compiled_on_disk() -> bool:
    """Whether every kernel has an up-to-date compiled version in numba's on-disk cache.

    Reads numba's cache index (an internal API: any surprise counts as "not compiled").
    """
    try:
        return all(len(k._cache._cache_file._load_index()) > 0 for k in KERNELS)
    except Exception:  # noqa: BLE001 - a numba internal changed: compile as if cold
        return False


def warm() -> None:
    """Compile every kernel (for the argument types the engine uses) and store them on disk."""
    from .nmf_blocks import Scratch, h_pass, plan_blocks, w_pass

    rng = np.random.default_rng(0)
    F, N, K = 16, 24, 5
    VT = rng.random((N, F), dtype=np.float32)
    H = rng.random((K, N), dtype=np.float32)
    WTx = np.zeros((K + 1, F), np.float32)
    WTx[:-1] = rng.random((K, F), dtype=np.float32)
    s = Scratch(plan_blocks(H, n_bins=F, min_frames=4, max_frames=8), F, __import__(__name__, fromlist=["_"]))
    for kl in (True, False):
        h_pass(VT, WTx, H, H.copy(), s, kl=kl, want_cost=True, const=0.0)
        w_pass(VT, WTx, H, s, kl=kl)


if __name__ == "__main__":  # python -m stemroll.core.nmf_numba: fill the on-disk cache
    warm()
