"""Numba kernel of the group-focused template update (``core.informed_nmf``), on the block plan
of ``core.nmf_blocks`` and with the building blocks of ``core.nmf_numba``.

For each tile of up to four frames of a block, the model of every group present is built from
that group's active templates over the group's bins (``G_q = W_q H_q``, the same four-template
sweeps as the plain engine), then each group's share ``M_q = (G_q / (sum_q G_q + eps)) ** focus``
weights the accumulation of the numerator ``(M_q * V / WH) H_qᵀ`` and the denominator
``M_q H_qᵀ``. A block in which one group sounds has ``M = 1``: the plain KL accumulation, with
the denominator the activations' row sums. A group of one or two templates is swept two at a
time (the residual's pair is not padded to four), and a group's first sweep writes its rows when
it covers them; ``T = 1 / WH`` is summed with the groups that cover the whole union fused into
the first and the last pass. At focus 2 the shares are squared inside the accumulation, two of
a group's templates per sweep on the bins both supports hold (the shares computed once for
both); other exponents write ``M_q`` and ``M_q V / WH`` rows once per group and accumulate two
templates per sweep from them.

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

from .float_bits import _f32, flush_denormals, restore_fp
from .nmf_numba import _EPS, _OPTS, TILE, _add_templates, _axpy_list, _axpy_rows, _gather_h, _model_rows, _sweep4


@njit(**_OPTS)
def w_focus_kl(VT, WTx, H, NUM, DEN, HS, bounds, bseg, sb, aidx, b_lo, b_hi, focus, hb, gw, flo, fhi):
    """Accumulate the focused KL template update's numerator and denominator over blocks b_lo .. b_hi - 1."""
    fp = flush_denormals()
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
        full = np.empty(nseg, np.int64)
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
            nfull = 0  # T = 1 / (W H + eps) on the union of the groups' bins, full-width groups fused
            for q in range(nseg):
                if glo[q] == ulo and ghi[q] == uhi:
                    full[nfull] = q
                    nfull += 1
            for j in range(nc):
                t = T[j, ulo:uhi]
                if nfull > 0:
                    _eps_plus(t, G[full[0], j, ulo:uhi])
                else:
                    t[:] = _EPS
                for q in range(nseg):
                    if glo[q] != ulo or ghi[q] != uhi:
                        t2 = T[j, glo[q]:ghi[q]]
                        g = G[q, j, glo[q]:ghi[q]]
                        for f in range(g.shape[0]):
                            t2[f] += g[f]
                for x in range(1, nfull - 2):
                    g = G[full[x], j, ulo:uhi]
                    for f in range(g.shape[0]):
                        t[f] += g[f]
                if nfull >= 3:
                    _inv_sum2(t, G[full[nfull - 2], j, ulo:uhi], G[full[nfull - 1], j, ulo:uhi])
                elif nfull == 2:
                    _inv_sum1(t, G[full[1], j, ulo:uhi])
                else:
                    for f in range(t.shape[0]):
                        t[f] = np.float32(1.0) / t[f]
            for q in range(nseg):
                i0, i1 = sb[s_lo + q] - a_lo, sb[s_lo + q + 1] - a_lo
                nq = 0  # the group's real templates (its padding comes last)
                while i0 + nq < i1 and A[i0 + nq] < K:
                    nq += 1
                if focus == 2.0 and nc == 4:  # the shares squared inside the accumulation (no pass of their own)
                    i = i0
                    while i < i0 + nq:  # two templates per sweep
                        if i + 1 < i0 + nq:
                            _square_share_pair(NUM, DEN, A[i], A[i + 1], Hb, i, c, G[q], T, VT, n0 + c, flo, fhi)
                            i += 2
                        else:
                            k = A[i]
                            _axpy2_square_share(NUM[k], DEN[k], Hb, i, c, G[q], T, VT, n0 + c, flo[k], fhi[k])
                            i += 1
                    continue
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
                i = i0
                while i < i0 + nq:
                    if nc == 4 and i + 1 < i0 + nq:
                        _axpy2_pair(NUM, DEN, A[i], A[i + 1], Hb, i, c, R, G[q], flo, fhi)
                        i += 2
                    else:
                        k = A[i]
                        _axpy2_rows(NUM[k], DEN[k], Hb, i, c, nc, R, G[q], flo[k], fhi[k])
                        i += 1
    restore_fp(fp)


@njit(**_OPTS)
def _eps_plus(t, g):
    """t = g + eps (slices of equal length)."""
    for f in range(t.shape[0]):
        t[f] = g[f] + _EPS


@njit(**_OPTS)
def _inv_sum1(t, g):
    """t = 1 / (t + g)."""
    for f in range(t.shape[0]):
        t[f] = np.float32(1.0) / (t[f] + g[f])


@njit(**_OPTS)
def _inv_sum2(t, g, u):
    """t = 1 / (t + g + u)."""
    for f in range(t.shape[0]):
        t[f] = np.float32(1.0) / (t[f] + g[f] + u[f])


@njit(**_OPTS)
def _group_model(WT, A, Hb, c, nc, G, lo, hi, flo, fhi):
    """G[j, lo:hi] = sum_i Hb[i, c + j] * WT[A[i], lo:hi] for j < nc; [lo, hi) holds every template's support.

    A's length is a multiple of four (padded with the zero template WT[-1], which is only swept
    when a group of four has three real templates), four templates per sweep. The first sweep
    writes the rows when it covers [lo, hi) (a group's widest templates come last, so that is
    when the group has one sweep)."""
    if nc == 4:
        pad = WT.shape[0] - 1
        add = False
        for i in range(0, A.shape[0], 4):
            k0, k1, k2, k3 = A[i], A[i + 1], A[i + 2], A[i + 3]
            a = min(min(flo[k0], flo[k1]), min(flo[k2], flo[k3]))
            e = max(max(fhi[k0], fhi[k1]), max(fhi[k2], fhi[k3]))
            if e <= a:
                continue
            if not add and (a > lo or e < hi):
                for j in range(4):
                    G[j, lo:hi] = 0.0
                add = True
            if k2 == pad:  # one or two templates (k1 may be the zero template)
                _sweep2(WT[k0, a:e], WT[k1, a:e], G[0, a:e], G[1, a:e], G[2, a:e], G[3, a:e],
                        Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3],
                        Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3], add)
            elif add:
                _sweep4(WT[k0, a:e], WT[k1, a:e], WT[k2, a:e], WT[k3, a:e], G[0, a:e], G[1, a:e], G[2, a:e],
                        G[3, a:e], Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3],
                        Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3],
                        Hb[i + 2, c], Hb[i + 2, c + 1], Hb[i + 2, c + 2], Hb[i + 2, c + 3],
                        Hb[i + 3, c], Hb[i + 3, c + 1], Hb[i + 3, c + 2], Hb[i + 3, c + 3], True)
            else:
                _sweep4(WT[k0, a:e], WT[k1, a:e], WT[k2, a:e], WT[k3, a:e], G[0, a:e], G[1, a:e], G[2, a:e],
                        G[3, a:e], Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3],
                        Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3],
                        Hb[i + 2, c], Hb[i + 2, c + 1], Hb[i + 2, c + 2], Hb[i + 2, c + 3],
                        Hb[i + 3, c], Hb[i + 3, c + 1], Hb[i + 3, c + 2], Hb[i + 3, c + 3], False)
            add = True
        if not add:
            for j in range(4):
                G[j, lo:hi] = 0.0
        return
    for j in range(nc):
        G[j, lo:hi] = 0.0
    _add_templates(WT, A, Hb, c, nc, G, flo, fhi)


@njit(**_OPTS)
def _sweep2(wa, wb, r0, r1, r2, r3, a0, a1, a2, a3, b0, b1, b2, b3, add):
    """Rows r_j (+)= a_j wa + b_j wb: two templates into four frames (slices)."""
    if add:
        for f in range(wa.shape[0]):
            x, y = wa[f], wb[f]
            r0[f] += a0 * x + b0 * y
            r1[f] += a1 * x + b1 * y
            r2[f] += a2 * x + b2 * y
            r3[f] += a3 * x + b3 * y
    else:
        for f in range(wa.shape[0]):
            x, y = wa[f], wb[f]
            r0[f] = a0 * x + b0 * y
            r1[f] = a1 * x + b1 * y
            r2[f] = a2 * x + b2 * y
            r3[f] = a3 * x + b3 * y


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
def _square_share_pair(NUM, DEN, ka, kb, Hb, i, c, G, T, VT, n, flo, fhi):
    """``_axpy2_square_share`` for templates ka (Hb row i) and kb (row i + 1): one sweep over the
    bins both supports hold (the shares computed once for both), each alone on the rest."""
    la, ha, lb, hb = flo[ka], fhi[ka], flo[kb], fhi[kb]
    lo, hi = max(la, lb), min(ha, hb)
    if hi <= lo:
        _axpy2_square_share(NUM[ka], DEN[ka], Hb, i, c, G, T, VT, n, la, ha)
        _axpy2_square_share(NUM[kb], DEN[kb], Hb, i + 1, c, G, T, VT, n, lb, hb)
        return
    if la < lo:
        _axpy2_square_share(NUM[ka], DEN[ka], Hb, i, c, G, T, VT, n, la, lo)
    if lb < lo:
        _axpy2_square_share(NUM[kb], DEN[kb], Hb, i + 1, c, G, T, VT, n, lb, lo)
    if ha > hi:
        _axpy2_square_share(NUM[ka], DEN[ka], Hb, i, c, G, T, VT, n, hi, ha)
    if hb > hi:
        _axpy2_square_share(NUM[kb], DEN[kb], Hb, i + 1, c, G, T, VT, n, hi, hb)
    a1, a2, b1, b2 = NUM[ka, lo:hi], DEN[ka, lo:hi], NUM[kb, lo:hi], DEN[kb, lo:hi]
    x0, x1, x2, x3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
    y0, y1, y2, y3 = Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3]
    g0, g1, g2, g3 = G[0, lo:hi], G[1, lo:hi], G[2, lo:hi], G[3, lo:hi]
    t0, t1, t2, t3 = T[0, lo:hi], T[1, lo:hi], T[2, lo:hi], T[3, lo:hi]
    v0, v1, v2, v3 = VT[n, lo:hi], VT[n + 1, lo:hi], VT[n + 2, lo:hi], VT[n + 3, lo:hi]
    for f in range(a1.shape[0]):
        s0, s1, s2, s3 = g0[f] * t0[f], g1[f] * t1[f], g2[f] * t2[f], g3[f] * t3[f]
        m0, m1, m2, m3 = s0 * s0, s1 * s1, s2 * s2, s3 * s3
        r0, r1 = m0 * _f32(v0[f]) * t0[f], m1 * _f32(v1[f]) * t1[f]
        r2, r3 = m2 * _f32(v2[f]) * t2[f], m3 * _f32(v3[f]) * t3[f]
        a2[f] += x0 * m0 + x1 * m1 + x2 * m2 + x3 * m3
        a1[f] += x0 * r0 + x1 * r1 + x2 * r2 + x3 * r3
        b2[f] += y0 * m0 + y1 * m1 + y2 * m2 + y3 * m3
        b1[f] += y0 * r0 + y1 * r1 + y2 * r2 + y3 * r3


@njit(**_OPTS)
def _axpy2_pair(NUM, DEN, ka, kb, Hb, i, c, R, M, flo, fhi):
    """``_axpy2_rows`` for templates ka (Hb row i) and kb (row i + 1) and four frames: one sweep
    over the bins both supports hold, each alone on the rest."""
    la, ha, lb, hb = flo[ka], fhi[ka], flo[kb], fhi[kb]
    lo, hi = max(la, lb), min(ha, hb)
    if hi <= lo:
        _axpy2_rows(NUM[ka], DEN[ka], Hb, i, c, 4, R, M, la, ha)
        _axpy2_rows(NUM[kb], DEN[kb], Hb, i + 1, c, 4, R, M, lb, hb)
        return
    if la < lo:
        _axpy2_rows(NUM[ka], DEN[ka], Hb, i, c, 4, R, M, la, lo)
    if lb < lo:
        _axpy2_rows(NUM[kb], DEN[kb], Hb, i + 1, c, 4, R, M, lb, lo)
    if ha > hi:
        _axpy2_rows(NUM[ka], DEN[ka], Hb, i, c, 4, R, M, hi, ha)
    if hb > hi:
        _axpy2_rows(NUM[kb], DEN[kb], Hb, i + 1, c, 4, R, M, hi, hb)
    a1, a2, b1, b2 = NUM[ka, lo:hi], DEN[ka, lo:hi], NUM[kb, lo:hi], DEN[kb, lo:hi]
    x0, x1, x2, x3 = Hb[i, c], Hb[i, c + 1], Hb[i, c + 2], Hb[i, c + 3]
    y0, y1, y2, y3 = Hb[i + 1, c], Hb[i + 1, c + 1], Hb[i + 1, c + 2], Hb[i + 1, c + 3]
    r0, r1, r2, r3 = R[0, lo:hi], R[1, lo:hi], R[2, lo:hi], R[3, lo:hi]
    m0, m1, m2, m3 = M[0, lo:hi], M[1, lo:hi], M[2, lo:hi], M[3, lo:hi]
    for f in range(a1.shape[0]):
        p0, p1, p2, p3 = r0[f], r1[f], r2[f], r3[f]
        q0, q1, q2, q3 = m0[f], m1[f], m2[f], m3[f]
        a1[f] += x0 * p0 + x1 * p1 + x2 * p2 + x3 * p3
        a2[f] += x0 * q0 + x1 * q1 + x2 * q2 + x3 * q3
        b1[f] += y0 * p0 + y1 * p1 + y2 * p2 + y3 * p3
        b2[f] += y0 * q0 + y1 * q1 + y2 * q2 + y3 * q3


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
