"""KL multiplicative updates whose templates learn where their own part dominates ("template focus").

The activation update is the usual one (Lee & Seung, generalised KL). The template update of
group g weights every time-frequency cell by the group's current share of the model,

    M_g = ((W_g H_g) / (W H)) ** focus,
    W_g <- W_g * ((M_g * V / (W H)) H_g^T) / (M_g H_g^T),

so a part's templates are estimated from the cells it explains and not from where another
part's partials coincide with its own (octaves, unisons, a loud instrument over a quiet one).
``focus = 0`` is the plain update. Everything else works as in ``nmf``: zeros of W0 and H0 stay
zero (the score's constraints), templates keep unit sum, a generator yields one ``NMFStep`` per
iteration and returns an ``NMFResult``.

The frames are cut into fixed blocks and each block only multiplies the components whose
activations may be nonzero there, so the work follows the score's sparsity and no full-size
temporary is allocated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generator

import numpy as np

from .nmf import EPS, NMFResult, NMFStep
from .threads import one_blas_thread as _one_blas_thread




@dataclass(frozen=True)
class FrameBlocks:
    """Blocks of frames ``[n0, n1)`` with the components active there, split by group.

    ``active[b]``: int64 component indices; ``by_group[b]``: one index array per group present.
    """

    bounds: tuple[tuple[int, int], ...]
    active: tuple[np.ndarray, ...]
    by_group: tuple[tuple[np.ndarray, ...], ...]


def plan_frame_blocks(H0: np.ndarray, comp_groups: np.ndarray, *, block_frames: int = 64) -> FrameBlocks:
    """Fixed-size frame blocks of H0 (K, n_frames) with their nonzero components, grouped."""
    if block_frames < 1:
        raise ValueError(f"block_frames must be >= 1, got {block_frames}")
    comp_groups = np.asarray(comp_groups)
    K, N = H0.shape
    if comp_groups.shape != (K,):
        raise ValueError(f"comp_groups has shape {comp_groups.shape}, expected ({K},)")
    bounds, active, by_group = [], [], []
    for n0 in range(0, N, block_frames):
        n1 = min(N, n0 + block_frames)
        a = np.flatnonzero((H0[:, n0:n1] > 0).any(axis=1)).astype(np.int64)
        if len(a) == 0:
            continue
        gs = comp_groups[a]
        bounds.append((n0, n1))
        active.append(a)
        by_group.append(tuple(a[gs == g] for g in np.unique(gs)))
    return FrameBlocks(tuple(bounds), tuple(active), tuple(by_group))


def _v_constant(V: np.ndarray, blocks: FrameBlocks, *, chunk: int = 1024) -> float:
    """The part of the KL cost the updates cannot change: sum(V log V - V) over all frames, plus
    -sum(V) log(EPS) for frames where no component may sound (the model is zero there)."""
    total = 0.0
    for n0 in range(0, V.shape[1], chunk):
        Vb = V[:, n0: n0 + chunk].astype(np.float32)
        total += float(np.sum(Vb * np.log(Vb + EPS) - Vb, dtype=np.float64))
    covered = np.zeros(V.shape[1], bool)
    for n0, n1 in blocks.bounds:
        covered[n0:n1] = True
    if not covered.all():
        total -= float(np.log(EPS)) * float(np.sum(V[:, ~covered], dtype=np.float64))
    return total


def _check(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, comp_groups: np.ndarray, focus: float) -> None:
    if V.ndim != 2 or W0.ndim != 2 or H0.ndim != 2:
        raise ValueError("V, W and H must be 2-D")
    if W0.shape[0] != V.shape[0] or H0.shape[1] != V.shape[1] or W0.shape[1] != H0.shape[0]:
        raise ValueError(f"shapes do not match: V {V.shape}, W {W0.shape}, H {H0.shape}")
    if len(comp_groups) != W0.shape[1]:
        raise ValueError(f"{len(comp_groups)} component groups for {W0.shape[1]} components")
    negative_V = any(bool((V[:, i: i + 1024] < 0).any()) for i in range(0, V.shape[1], 1024))
    if (W0 < 0).any() or (H0 < 0).any() or negative_V:
        raise ValueError("V, W and H must be nonnegative")
    if focus < 0:
        raise ValueError(f"focus must be >= 0, got {focus}")


def informed_nmf_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, comp_groups: np.ndarray, *,
                       iterations: int = 30, tol: float = 1e-4, focus: float = 2.0, update_H: bool = True,
                       update_W: bool = True, block_frames: int = 64, cost_every: int = 1,
                       project_H: Callable[[np.ndarray], None] | None = None
                       ) -> Generator[NMFStep, None, NMFResult]:
    """Factorise V ≈ W H (generalised KL) with group-focused template updates.

    V: nonnegative float32 or float16 (n_bins, n_frames; read block by block, never copied); W0 (n_bins, K), H0 (K, n_frames): start and zero
    pattern; comp_groups: int (K,), the group of each component. ``focus`` >= 0 is the exponent
    of the dominance weights (0: plain KL updates). ``update_H=False`` keeps H fixed (template
    refinement). Stops after ``iterations`` or when the relative cost change is below ``tol``;
    the cost yielded with iteration i is that of the model before its update. ``cost_every=k``
    computes the cost (a logarithm per cell) on iterations 0, k, 2k, ... only and repeats the last
    value in between (``cost_fresh=False``); convergence is tested between computed costs.
    ``project_H(H)``, if given, is applied in place after every activation update (a prior such
    as ``core.priors.decay_projection``; it must keep H nonnegative and its zeros).
    """
    if cost_every < 1:
        raise ValueError(f"cost_every must be >= 1, got {cost_every}")
    V = np.asarray(V)
    if V.dtype not in (np.float16, np.float32):
        V = V.astype(np.float32)
    comp_groups = np.asarray(comp_groups)
    _check(V, W0, H0, comp_groups, focus)
    t0 = time.perf_counter()
    WT = np.array(np.asarray(W0).T, dtype=np.float32, order="C")  # (K, n_bins), one template per row
    H = np.array(H0, dtype=np.float32)
    blocks = plan_frame_blocks(H, comp_groups, block_frames=block_frames)
    const = _v_constant(V, blocks)
    costs: list[float] = []
    converged = False
    last = float("nan")
    for it in range(iterations):
        fresh = it % cost_every == 0
        with _one_blas_thread():
            c = _h_pass(V, WT, H, blocks, const, update=update_H, want_cost=fresh)
        if project_H is not None and update_H:
            project_H(H)
        if fresh:
            converged = it > 0 and abs(last - c) <= tol * max(abs(last), 1e-30)
            last = c
        else:
            c = costs[-1]
        costs.append(c)
        yield NMFStep(it, c, time.perf_counter() - t0, fresh)
        if converged:
            break
        if update_W:
            with _one_blas_thread():
                _w_pass(V, WT, H, blocks, focus)
            s = WT.sum(axis=1)
            s[s <= 0] = 1.0
            WT /= s[:, None]
            H *= s[:, None]
    if not converged:
        with _one_blas_thread():
            costs.append(_h_pass(V, WT, H, blocks, const, update=False, want_cost=True))
    return NMFResult(np.ascontiguousarray(WT.T), H, costs, converged)


def _h_pass(V: np.ndarray, WT: np.ndarray, H: np.ndarray, blocks: FrameBlocks, const: float, *,
            update: bool, want_cost: bool) -> float:
    """With ``update`` the activation update, block by block; returns the KL cost of the model
    before the update, sum(V log V - V) + sum(WH) - sum(V log WH), when ``want_cost`` (else nan).
    """
    if not update and not want_cost:
        return float("nan")
    colsum = WT.sum(axis=1)
    model_sum = float(np.sum(colsum.astype(np.float64) * H.sum(axis=1, dtype=np.float64)))
    colsum += EPS
    log_term = 0.0
    for (n0, n1), a in zip(blocks.bounds, blocks.active):
        Wa = WT[a]
        Hb = H[a, n0:n1]
        WH = Wa.T @ Hb
        WH += EPS
        Vb = V[:, n0:n1]
        if want_cost:
            log_term += float(np.sum(Vb * np.log(WH), dtype=np.float64))
        if update:
            R = np.divide(Vb, WH, out=WH)
            H[a, n0:n1] = Hb * ((Wa @ R) / colsum[a][:, None])
    return const + model_sum - log_term if want_cost else float("nan")


def _w_pass(V: np.ndarray, WT: np.ndarray, H: np.ndarray, blocks: FrameBlocks, focus: float) -> None:
    """Group-focused KL template update, accumulated block by block, applied in place to WT."""
    num = np.zeros_like(WT)
    den = np.zeros_like(WT)
    p = np.float32(focus)
    for (n0, n1), a, parts in zip(blocks.bounds, blocks.active, blocks.by_group):
        Hb = H[a, n0:n1]
        inv = WT[a].T @ Hb
        inv += EPS
        np.reciprocal(inv, out=inv)  # 1 / WH: the shares and the ratio below are products with it
        R = np.multiply(V[:, n0:n1], inv, dtype=np.float32)
        if focus == 0 or len(parts) == 1:
            num[a] += Hb @ R.T
            den[a] += Hb.sum(axis=1)[:, None]
            continue
        M = np.empty_like(inv)
        for idx in parts:
            Hg = H[idx, n0:n1]
            np.matmul(WT[idx].T, Hg, out=M)
            M *= inv  # the group's share of the model
            if focus == 2.0:
                M *= M
            elif focus != 1.0:
                np.power(M, p, out=M)
            den[idx] += Hg @ M.T
            M *= R
            num[idx] += Hg @ M.T
    ok = den > 0
    WT[ok] *= num[ok] / den[ok]
