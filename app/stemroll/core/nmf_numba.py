"""Numba kernels for the block passes of ``nmf_blocks`` (optional: used when numba imports).

Frame-major: the kernels read ``VT`` (N, F), one contiguous spectrum per frame, and work on
exactly the components active in each block (the plan for this backend cuts the frames wherever
the active set changes). Frames are processed in tiles of up to four that share the template
loads; the inner loops run over bins and are vectorised. A template is zero outside its support
(``flo[k] .. fhi[k] - 1``, from ``nmf_blocks.template_support``), and the products with it run
over those bins only; ``VT`` may hold float16 bits as uint16 (``half_bits``). The elementwise
work is fused: one sweep computes ``R = V / (WH + eps)`` and, when a cost is wanted,
``sum(V * log(WH + eps))`` with a vectorised float32 logarithm (bit-level split into exponent
and mantissa, then a short series; relative error about 1e-7). Kernels hold no GIL (``nogil``)
and are cached on disk (``cache=True``): the first process compiles them (a few seconds), later
ones load them.

Shapes (float32 unless noted): VT (N, F), WT (K, F), H / Hn (K, N); the plan is given as int64
``bounds`` (n_blocks + 1,), ``aptr`` (n_blocks + 1,) and ``aidx`` (concatenated active lists);
each call handles blocks ``b_lo .. b_hi - 1``, so callers can split a pass over threads.
Scratch: ``hb`` >= (max_active + 3) * max_frames, ``wh`` >= 4 * F.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from .float_bits import _bits_f32, _f32, _f32_bits, flush_denormals, half_bits, restore_fp  # noqa: F401

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
def _model_rows(WT, A, Hb, c, nc, WH, VT, n, ratio, flo, fhi):
    """WH[j] = sum_i Hb[i, c + j] * WT[A[i]] + eps for j < nc (nc <= 4), four templates per sweep.

    Template k is zero outside bins ``flo[k] .. fhi[k] - 1`` (its support), so each sweep of four
    templates runs over the union of their supports only. With ``ratio`` the rows end as
    V / (WH + eps) instead (VT[n + j] is frame j's spectrum), fused into the last sweep when that
    sweep covers every bin (lists sorted by support width end with the widest templates).
    """
    F = WT.shape[1]
    ka = A.shape[0]
    if nc == 4 and ka >= 4 and ka % 4 == 0:
        r0, r1, r2, r3 = WH[0], WH[1], WH[2], WH[3]
        v0, v1, v2, v3 = VT[n], VT[n + 1], VT[n + 2], VT[n + 3]
        fused = False
        for i in range(0, ka, 4):
            ka0, kb, kc, kd = A[i], A[i + 1], A[i + 2], A[i + 3]
            lo = min(min(flo[ka0], flo[kb]), min(flo[kc], flo[kd]))
            hi = max(max(fhi[ka0], fhi[kb]), max(fhi[kc], fhi[kd]))
            if i == 0:  # rows start at zero outside the first sweep's bins
                hi = max(hi, lo)
                for r in (r0, r1, r2, r3):
                    r[:lo] = 0.0
                    r[hi:] = 0.0
            wa, wb, wc, wd = WT[ka0], WT[kb], WT[kc], WT[kd]
            a0, a1, a2, a3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
            b0, b1, b2, b3 = Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3]
            c0, c1, c2, c3 = Hb[i + 2, c], Hb[i + 2, c + 1], Hb[i + 2, c + 2], Hb[i + 2, c + 3]
            d0, d1, d2, d3 = Hb[i + 3, c], Hb[i + 3, c + 1], Hb[i + 3, c + 2], Hb[i + 3, c + 3]
            if i == 0 and i + 4 == ka and ratio and lo == 0 and hi == F:  # one sweep: model and ratio
                fused = True
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] = _f32(v0[f]) / (a0 * x + b0 * y + c0 * z + d0 * u + _EPS)
                    r1[f] = _f32(v1[f]) / (a1 * x + b1 * y + c1 * z + d1 * u + _EPS)
                    r2[f] = _f32(v2[f]) / (a2 * x + b2 * y + c2 * z + d2 * u + _EPS)
                    r3[f] = _f32(v3[f]) / (a3 * x + b3 * y + c3 * z + d3 * u + _EPS)
            elif i == 0:
                _sweep4(wa[lo:hi], wb[lo:hi], wc[lo:hi], wd[lo:hi], r0[lo:hi], r1[lo:hi], r2[lo:hi], r3[lo:hi],
                        a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3, False)
            elif i + 4 == ka and ratio and lo == 0 and hi == F:  # last sweep over every bin: fuse the ratio
                fused = True
                for f in range(F):
                    x, y, z, u = wa[f], wb[f], wc[f], wd[f]
                    r0[f] = _f32(v0[f]) / (r0[f] + a0 * x + b0 * y + c0 * z + d0 * u + _EPS)
                    r1[f] = _f32(v1[f]) / (r1[f] + a1 * x + b1 * y + c1 * z + d1 * u + _EPS)
                    r2[f] = _f32(v2[f]) / (r2[f] + a2 * x + b2 * y + c2 * z + d2 * u + _EPS)
                    r3[f] = _f32(v3[f]) / (r3[f] + a3 * x + b3 * y + c3 * z + d3 * u + _EPS)
            else:
                _sweep4(wa[lo:hi], wb[lo:hi], wc[lo:hi], wd[lo:hi], r0[lo:hi], r1[lo:hi], r2[lo:hi], r3[lo:hi],
                        a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3, True)
        if not fused:
            for j in range(4):
                if ratio:
                    _ratio_row(VT[n + j], WH[j])
                else:
                    _eps_row(WH[j])
        return
    for j in range(nc):
        WH[j, :] = 0.0
    _add_templates(WT, A, Hb, c, nc, WH, flo, fhi)
    for j in range(nc):
        if ratio:
            _ratio_row(VT[n + j], WH[j])
        else:
            _eps_row(WH[j])


@njit(**_OPTS)
def _sweep4(wa, wb, wc, wd, r0, r1, r2, r3, a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3, add):
    """Rows r_j (+)= a_j wa + b_j wb + c_j wc + d_j wd: four templates into four frames (slices)."""
    if add:
        for f in range(wa.shape[0]):
            x, y, z, u = wa[f], wb[f], wc[f], wd[f]
            r0[f] += a0 * x + b0 * y + c0 * z + d0 * u
            r1[f] += a1 * x + b1 * y + c1 * z + d1 * u
            r2[f] += a2 * x + b2 * y + c2 * z + d2 * u
            r3[f] += a3 * x + b3 * y + c3 * z + d3 * u
    else:
        for f in range(wa.shape[0]):
            x, y, z, u = wa[f], wb[f], wc[f], wd[f]
            r0[f] = a0 * x + b0 * y + c0 * z + d0 * u
            r1[f] = a1 * x + b1 * y + c1 * z + d1 * u
            r2[f] = a2 * x + b2 * y + c2 * z + d2 * u
            r3[f] = a3 * x + b3 * y + c3 * z + d3 * u


@njit(**_OPTS)
def _add_templates(WT, A, Hb, c, nc, R, flo, fhi):
    """R[j] += sum_i Hb[i, c + j] * WT[A[i]] for j < nc, one template at a time over its support."""
    for i in range(A.shape[0]):
        k = A[i]
        lo, hi = flo[k], max(flo[k], fhi[k])
        w = WT[k, lo:hi]
        for j in range(nc):
            h = Hb[i, c + j]
            r = R[j, lo:hi]
            for f in range(w.shape[0]):
                r[f] += h * w[f]


@njit(**_OPTS)
def _eps_row(w):
    for f in range(w.shape[0]):
        w[f] += _EPS


@njit(**_OPTS)
def _ratio_row(v, w):
    for f in range(w.shape[0]):
        w[f] = _f32(v[f]) / (w[f] + _EPS)


@njit(**_OPTS)
def _log_f32(x):
    """log(x) for a normal float32 x > 0, vectorisable: x = m * 2**e with m in [sqrt(1/2), sqrt(2)),
    log m = 2 atanh((m - 1) / (m + 1)) by five terms of its series (relative error about 1e-7)."""
    b = _f32_bits(x)
    e = (b - np.int32(0x3F3504F3)) >> np.int32(23)
    m = _bits_f32(np.int32(b - (e << np.int32(23))))
    t = (m - np.float32(1.0)) / (m + np.float32(1.0))
    t2 = t * t
    lm = np.float32(2.0) * t * (np.float32(1.0) + t2 * (np.float32(1.0 / 3.0) + t2 * (
        np.float32(0.2) + t2 * (np.float32(1.0 / 7.0) + t2 * np.float32(1.0 / 9.0)))))
    return np.float32(e) * _LN2 + lm


@njit(**_OPTS)
def _ratio_log_row(v, w):
    """w <- v / w; returns sum(v * log(w)). w holds WH + eps (> 0)."""
    acc = np.float32(0.0)
    for f in range(w.shape[0]):
        x = w[f]
        vf = _f32(v[f])
        acc += vf * _log_f32(x)
        w[f] = vf / x
    return acc


@njit(**_OPTS)
def _dots(w, R, nc, out, lo, hi):
    """out[j] = w · R[j] for j < nc, over bins lo .. hi - 1 (w is zero elsewhere).

    The loops here and in the other ranged helpers run over slices from 0: numba can then prove
    the indices nonnegative (no wraparound test per element) and vectorise.
    """
    w = w[lo:hi]
    if nc == 4:
        s0 = s1 = s2 = s3 = np.float32(0.0)
        r0, r1, r2, r3 = R[0, lo:hi], R[1, lo:hi], R[2, lo:hi], R[3, lo:hi]
        for f in range(w.shape[0]):
            wf = w[f]
            s0 += wf * r0[f]
            s1 += wf * r1[f]
            s2 += wf * r2[f]
            s3 += wf * r3[f]
        out[0], out[1], out[2], out[3] = s0, s1, s2, s3
    else:
        for j in range(nc):
            s = np.float32(0.0)
            r = R[j, lo:hi]
            for f in range(w.shape[0]):
                s += w[f] * r[f]
            out[j] = s


@njit(**_OPTS)
def _dots2(w, v, R, out, lo, hi):
    """out[0, j] = w · R[j], out[1, j] = v · R[j] for four rows of R, over bins lo .. hi - 1."""
    a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = np.float32(0.0)
    w, v = w[lo:hi], v[lo:hi]
    r0, r1, r2, r3 = R[0, lo:hi], R[1, lo:hi], R[2, lo:hi], R[3, lo:hi]
    for f in range(w.shape[0]):
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
def _axpy_rows(dst, Hb, i, c, nc, R, lo, hi):
    """dst += sum_j Hb[i, c + j] * R[j] for j < nc, over bins lo .. hi - 1."""
    dst = dst[lo:hi]
    if nc == 4:
        h0, h1, h2, h3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
        r0, r1, r2, r3 = R[0, lo:hi], R[1, lo:hi], R[2, lo:hi], R[3, lo:hi]
        for f in range(dst.shape[0]):
            dst[f] += h0 * r0[f] + h1 * r1[f] + h2 * r2[f] + h3 * r3[f]
    else:
        for j in range(nc):
            h = Hb[i, c + j]
            r = R[j, lo:hi]
            for f in range(dst.shape[0]):
                dst[f] += h * r[f]


@njit(**_OPTS)
def _axpy_pair(d0, d1, Hb, i, c, R, lo, hi):
    """d0 += sum_j Hb[i, c + j] R[j] and d1 += sum_j Hb[i + 1, c + j] R[j] for four rows of R, over bins lo .. hi - 1."""
    d0, d1 = d0[lo:hi], d1[lo:hi]
    a0, a1, a2, a3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
    b0, b1, b2, b3 = Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3]
    r0, r1, r2, r3 = R[0, lo:hi], R[1, lo:hi], R[2, lo:hi], R[3, lo:hi]
    for f in range(d0.shape[0]):
        x0, x1, x2, x3 = r0[f], r1[f], r2[f], r3[f]
        d0[f] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
        d1[f] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3


@njit(**_OPTS)
def _axpy_list(NW, A, K, Hb, c, nc, R, flo, fhi):
    """NW[A[i]] += sum_j Hb[i, c + j] R[j] for the list's real entries (A[i] < K; padding comes
    last), two per sweep over the union of their supports when the tile is full (outside a
    template's support its row's sums are never used: the template is zero there)."""
    i = 0
    while i < A.shape[0] and A[i] < K:
        k = A[i]
        if nc == 4 and i + 1 < A.shape[0] and A[i + 1] < K:
            k1 = A[i + 1]
            _axpy_pair(NW[k], NW[k1], Hb, i, c, R, min(flo[k], flo[k1]), max(flo[k], flo[k1], fhi[k], fhi[k1]))
            i += 2
        else:
            _axpy_rows(NW[k], Hb, i, c, nc, R, flo[k], max(flo[k], fhi[k]))
            i += 1


@njit(**_OPTS)
def h_pass_kl(VT, WTx, H, Hn, bounds, aptr, aidx, b_lo, b_hi, inv, want_cost, hb, wh, flo, fhi):
    """KL H update into Hn; returns sum(V log(WH + eps)) over all frames when ``want_cost``.

    WTx (K + 1, F): the templates and a zero row K, which pads the active lists to multiples of 4;
    flo, fhi (K + 1,): each template's support (see ``_model_rows``).
    """
    fp = flush_denormals()
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
            _model_rows(WTx, A, Hb, c, nc, WH, VT, n0 + c, not want_cost, flo, fhi)
            if want_cost:
                for j in range(nc):
                    acc += _ratio_log_row(VT[n0 + c + j], WH[j])
            i = 0
            while i < A.shape[0] and A[i] < K:
                pair = nc == 4 and i + 1 < A.shape[0] and A[i + 1] < K
                if pair:
                    k0, k1 = A[i], A[i + 1]
                    _dots2(WTx[k0], WTx[k1], WH, s, min(flo[k0], flo[k1]), max(fhi[k0], fhi[k1]))
                else:
                    _dots(WTx[A[i]], WH, nc, s[0], flo[A[i]], fhi[A[i]])
                for q in range(2 if pair else 1):
                    k = A[i + q]
                    for j in range(nc):
                        Hn[k, n0 + c + j] = Hb[i + q, c + j] * s[q, j] * inv[k]
                i += 2 if pair else 1
    restore_fp(fp)
    return acc


@njit(**_OPTS)
def w_num_kl(VT, WTx, H, NW, bounds, aptr, aidx, b_lo, b_hi, hb, wh, flo, fhi):
    """NW (K, F) += the KL W-update numerator (R Hᵀ)ᵀ, with R = V / (WH + eps), on each template's
    support (elsewhere NW is left as it is: the template is zero there); WTx, flo, fhi as for h_pass_kl."""
    fp = flush_denormals()
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
            _model_rows(WTx, A, Hb, c, nc, WH, VT, n0 + c, True, flo, fhi)
            _axpy_list(NW, A, K, Hb, c, nc, WH, flo, fhi)
    restore_fp(fp)


@njit(**_OPTS)
def h_pass_eu(VT, WT, WtW, H, Hn, bounds, aptr, aidx, b_lo, b_hi, want_cost, hb, wh, flo, fhi):
    """Euclidean H update into Hn; returns (<V, WH>, ||WH||²) when ``want_cost``; the products
    Wᵀ V run over each template's support ``flo[k] .. fhi[k] - 1`` (see ``_model_rows``)."""
    fp = flush_denormals()
    s = np.zeros((2, TILE), np.float32)
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
            i = 0
            while i < ka:
                pair = nc == 4 and i + 1 < ka  # two templates per sweep over the four frames
                if pair:
                    k0, k1 = A[i], A[i + 1]
                    _dots2(WT[k0], WT[k1], Vt, s, min(flo[k0], flo[k1]), max(flo[k0], flo[k1], fhi[k0], fhi[k1]))
                else:
                    _dots(WT[A[i]], Vt, nc, s[0], flo[A[i]], max(flo[A[i]], fhi[A[i]]))
                for q in range(2 if pair else 1):
                    k = A[i + q]
                    for j in range(nc):
                        den = np.float32(0.0)
                        for m in range(ka):
                            den += WtW[k, A[m]] * Hb[m, c + j]
                        h = Hb[i + q, c + j]
                        if want_cost:
                            cross += h * s[q, j]
                            quad += h * den
                        Hn[k, n0 + c + j] = h * s[q, j] / (den + _EPS)
                i += 2 if pair else 1
    restore_fp(fp)
    return cross, quad


@njit(**_OPTS)
def w_num_eu(VT, H, NW, HHt, bounds, aptr, aidx, b_lo, b_hi, hb, flo, fhi):
    """NW (K, F) += (V Hᵀ)ᵀ on each template's support (elsewhere the template is zero and stays
    so, whatever NW holds) and HHt (K, K) += H Hᵀ."""
    fp = flush_denormals()
    for b in range(b_lo, b_hi):
        n0, n1 = bounds[b], bounds[b + 1]
        A = aidx[aptr[b]: aptr[b + 1]]
        ka = A.shape[0]
        Hb = _gather_h(H, A, n0, n1, hb)
        for c in range(0, n1 - n0, TILE):
            nc = min(TILE, n1 - n0 - c)
            _axpy_list(NW, A, H.shape[0], Hb, c, nc, VT[n0 + c: n0 + c + nc], flo, fhi)
        for i in range(ka):
            for m in range(ka):
                acc = np.float32(0.0)
                for j in range(n1 - n0):
                    acc += Hb[i, j] * Hb[m, j]
                HHt[A[i], A[m]] += acc
    restore_fp(fp)


KERNELS = (h_pass_kl, w_num_kl, h_pass_eu, w_num_eu)


def _compiled_versions() -> dict:
    """Kernel -> how many versions ``warm`` compiles (one per spectrogram type it is used with:
    float32 everywhere, and the float16 bits for the KL passes of the informed engine)."""
    from . import spectral_numba as sn
    from .informed_numba import w_focus_kl

    return {h_pass_kl: 2, w_num_kl: 1, h_pass_eu: 1, w_num_eu: 1, w_focus_kl: 2, sn.kl_constant: 2,
            **{k: 1 for k in sn.KERNELS if k is not sn.kl_constant}}


def compiled_on_disk() -> bool:
    """Whether every kernel has all its compiled versions, up to date, in numba's on-disk cache.

    Reads numba's cache index (an internal API: any surprise counts as "not compiled").
    """
    try:
        return all(len(k._cache._cache_file._load_index()) >= n for k, n in _compiled_versions().items())
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
    from .informed_passes import CompiledPasses

    groups = np.array([0, 0, 1, 1, 2])
    for V in (VT.T, VT.T.astype(np.float16)):  # the factorisation's spectrogram and the refinement's
        passes = CompiledPasses(sys.modules[__name__], V, WTx.copy(), H.copy(), groups, focus=2.0, n_threads=1)
        Hx, _ = passes.h(H.copy(), update=True, want_cost=True)
        passes.w(Hx)
        passes.close()
    from .spectral_numba import warm as warm_spectral

    warm_spectral(VT)


if __name__ == "__main__":  # python -m stemroll.core.nmf_numba: fill the on-disk cache
    warm()
