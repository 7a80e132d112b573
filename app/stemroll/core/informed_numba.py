"""Numba kernel of the group-focused template update (``core.informed_nmf``), on the block plan
of ``core.nmf_blocks`` and with the building blocks of ``core.nmf_numba``.

For each tile of up to four frames of a block, the model of every group present is built from
that group's active templates over the group's bins (``G_q = W_q H_q``, the same four-template
sweeps as the plain engine), then each group's share ``M_q = (G_q / (sum_q G_q + eps)) ** focus``
weights the accumulation of the numerator ``(M_q * V / WH) H_qᵀ`` and the denominator
``M_q H_qᵀ``. A block in which one group sounds has ``M = 1``: the plain KL accumulation, with
the denominator the activations' row sums.

Shapes (float32 unless noted): VT (N, F) float32, or uint16 holding float16 bits
(``nmf_numba.half_bits``); WTx (K + 1, F) with a zero last row; H (K, N); NUM, DEN (K, F) and
HS (K,) accumulated in place (NUM and DEN only on each template's support ``flo[k] .. fhi[k] - 1``,
int64 (K + 1,): the template is zero elsewhere and stays so). The plan: int64 ``bounds``
(n_blocks + 1,) frame boundaries, ``bseg`` (n_blocks + 1,) each block's first group segment,
``sb`` (n_segments + 1,) each segment's first entry in ``aidx``, whose per-group lists are padded
to multiples of four with index K. Scratch: ``hb`` >= (the longest padded list of a block) *
max_frames, ``gw`` >= (max_groups + 2) * 4 * F.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .nmf_numba import (_EPS, _OPTS, TILE, _add_templates, _axpy_list, _axpy_rows, _f32, _gather_h, _model_rows,
                        _sweep4)


@njit(**_OPTS)
def w_focus_kl(VT, WTx, H, NUM, DEN, HS, bounds, bseg, sb, aidx, b_lo, b_hi, focus, hb, gw, flo, fhi):
    """Accumulate the focused KL template update's numerator and denominator over blocks b_lo .. b_hi - 1."""
    F = WTx.shape[1]
    K = H.shape[0]
    for b in range(b_lo, b_hi):
        n0, n1 = bounds[b], bounds[b + 1]
        s_lo, s_hi = bseg[b], bseg[b + 1]
        a_lo, a_hi = sb[s_lo], sb[s_hi]
        if a_hi == a_lo:
            continue
        A = aidx[a_lo:a_hi]
        Hb = _gather_h(H, A, n0, n1, hb)
        nseg = s_hi - s_lo
        G = gw[: (nseg + 2) * TILE * F].reshape((nseg + 2, TILE, F))
        T = G[nseg]  # 1 / the whole model
        R = G[nseg + 1]  # M_q * V / WH
        glo = np.empty(nseg, np.int64)
        ghi = np.empty(nseg, np.int64)
        for c in range(0, n1 - n0, TILE):
            nc = min(TILE, n1 - n0 - c)
            if nseg == 1 or focus == 0.0:
                _model_rows(WTx, A, Hb, c, nc, R, VT, n0 + c, True, flo, fhi)  # R = V / WH
                for q in range(nseg):  # each group's list ends with its padding
                    lo, hi = sb[s_lo + q] - a_lo, sb[s_lo + q + 1] - a_lo
                    _axpy_list(NUM, A[lo:hi], K, Hb[lo:hi], c, nc, R, flo, fhi)
                for i in range(A.shape[0]):
                    k = A[i]
                    if k < K:
                        for j in range(nc):
                            HS[k] += Hb[i, c + j]
                continue
            # G[q] = W_q H_q on the group's bins glo[q] .. ghi[q] - 1 (zero elsewhere, not stored)
            ulo, uhi = F, 0
            for q in range(nseg):
                lo, hi = sb[s_lo + q] - a_lo, sb[s_lo + q + 1] - a_lo
                glo[q], ghi[q] = F, 0
                for i in range(lo, hi):
                    glo[q] = min(glo[q], flo[A[i]])
                    ghi[q] = max(ghi[q], fhi[A[i]])
                ghi[q] = max(ghi[q], glo[q])
                ulo, uhi = min(ulo, glo[q]), max(uhi, ghi[q])
                _group_model(WTx, A[lo:hi], Hb[lo:hi], c, nc, G[q], glo[q], ghi[q], flo, fhi)
            for j in range(nc):  # T = 1 / (W H + eps) on the union of the groups' bins
                t = T[j, ulo:uhi]
                t[:] = _EPS
                for q in range(nseg):
                    t2 = T[j, glo[q]:ghi[q]]
                    g = G[q, j, glo[q]:ghi[q]]
                    for f in range(g.shape[0]):
                        t2[f] += g[f]
                for f in range(t.shape[0]):
                    t[f] = np.float32(1.0) / t[f]
            if focus == 2.0 and nc == 4:  # the shares are squared inside the accumulation (no pass of their own)
                for q in range(nseg):
                    for i in range(sb[s_lo + q] - a_lo, sb[s_lo + q + 1] - a_lo):
                        k = A[i]
                        if k < K:
                            _axpy2_square_share(NUM[k], DEN[k], Hb, i, c, G[q], T, VT, n0 + c, flo[k], fhi[k])
                continue
            for q in range(nseg):
                lo, hi = glo[q], ghi[q]
                for j in range(nc):  # M_q = (G_q / WH) ** focus into G[q]; R = M_q V / WH
                    g, t, r, v = G[q, j, lo:hi], T[j, lo:hi], R[j, lo:hi], VT[n0 + c + j, lo:hi]
                    if focus == 2.0:
                        for f in range(g.shape[0]):
                            m = g[f] * t[f]
                            m = m * m
                            g[f] = m
                            r[f] = m * _f32(v[f]) * t[f]
                    else:
                        for f in range(g.shape[0]):
                            m = (g[f] * t[f]) ** focus
                            g[f] = m
                            r[f] = m * _f32(v[f]) * t[f]
                i0, i1 = sb[s_lo + q] - a_lo, sb[s_lo + q + 1] - a_lo
                for i in range(i0, i1):
                    k = A[i]
                    if k < K:
                        _axpy2_rows(NUM[k], DEN[k], Hb, i, c, nc, R, G[q], flo[k], fhi[k])


@njit(**_OPTS)
def _group_model(WT, A, Hb, c, nc, G, lo, hi, flo, fhi):
    """G[j, lo:hi] = sum_i Hb[i, c + j] * WT[A[i], lo:hi] for j < nc; [lo, hi) holds every template's support.

    A's length is a multiple of four (padded with a zero template), four templates per sweep."""
    for j in range(nc):
        G[j, lo:hi] = 0.0
    if nc == 4:
        for i in range(0, A.shape[0], 4):
            k0, k1, k2, k3 = A[i], A[i + 1], A[i + 2], A[i + 3]
            a = min(min(flo[k0], flo[k1]), min(flo[k2], flo[k3]))
            e = max(max(fhi[k0], fhi[k1]), max(fhi[k2], fhi[k3]))
            if e <= a:
                continue
            _sweep4(WT[k0, a:e], WT[k1, a:e], WT[k2, a:e], WT[k3, a:e], G[0, a:e], G[1, a:e], G[2, a:e], G[3, a:e],
                    Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3],
                    Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3],
                    Hb[i + 2, c], Hb[i + 2, c + 1], Hb[i + 2, c + 2], Hb[i + 2, c + 3],
                    Hb[i + 3, c], Hb[i + 3, c + 1], Hb[i + 3, c + 2], Hb[i + 3, c + 3], True)
        return
    _add_templates(WT, A, Hb, c, nc, G, flo, fhi)


@njit(**_OPTS)
def _axpy2_square_share(d1, d2, Hb, i, c, G, T, VT, n, lo, hi):
    """For four frames j: M_j = (G[j] T[j])², d1 += sum_j Hb[i, c + j] M_j V_j T[j] and
    d2 += sum_j Hb[i, c + j] M_j over bins lo .. hi - 1 (G: the group's model, T: 1 / the whole
    model, V_j = VT[n + j]); the focus-2 accumulation of ``w_focus_kl`` in one sweep."""
    d1, d2 = d1[lo:hi], d2[lo:hi]
    h0, h1, h2, h3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
    g0, g1, g2, g3 = G[0, lo:hi], G[1, lo:hi], G[2, lo:hi], G[3, lo:hi]
    t0, t1, t2, t3 = T[0, lo:hi], T[1, lo:hi], T[2, lo:hi], T[3, lo:hi]
    v0, v1, v2, v3 = VT[n, lo:hi], VT[n + 1, lo:hi], VT[n + 2, lo:hi], VT[n + 3, lo:hi]
    for f in range(d1.shape[0]):
        s0, s1, s2, s3 = g0[f] * t0[f], g1[f] * t1[f], g2[f] * t2[f], g3[f] * t3[f]
        m0, m1, m2, m3 = h0 * s0 * s0, h1 * s1 * s1, h2 * s2 * s2, h3 * s3 * s3
        d2[f] += m0 + m1 + m2 + m3
        d1[f] += (m0 * _f32(v0[f]) * t0[f] + m1 * _f32(v1[f]) * t1[f] + m2 * _f32(v2[f]) * t2[f]
                  + m3 * _f32(v3[f]) * t3[f])


@njit(**_OPTS)
def _axpy2_rows(d1, d2, Hb, i, c, nc, R, M, lo, hi):
    """d1 += sum_j Hb[i, c + j] * R[j] and d2 += sum_j Hb[i, c + j] * M[j] for j < nc, in one sweep
    over bins lo .. hi - 1."""
    if nc == 4:
        d1, d2 = d1[lo:hi], d2[lo:hi]
        h0, h1, h2, h3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
        r0, r1, r2, r3 = R[0, lo:hi], R[1, lo:hi], R[2, lo:hi], R[3, lo:hi]
        m0, m1, m2, m3 = M[0, lo:hi], M[1, lo:hi], M[2, lo:hi], M[3, lo:hi]
        for f in range(d1.shape[0]):  # slices from 0: see nmf_numba._dots
            d1[f] += h0 * r0[f] + h1 * r1[f] + h2 * r2[f] + h3 * r3[f]
            d2[f] += h0 * m0[f] + h1 * m1[f] + h2 * m2[f] + h3 * m3[f]
    else:
        _axpy_rows(d1, Hb, i, c, nc, R, lo, hi)
        _axpy_rows(d2, Hb, i, c, nc, M, lo, hi)


KERNELS = (w_focus_kl,)
