"""The two passes of the group-focused KL engine (``core.informed_nmf``), in two backends.

``CompiledPasses`` runs them in numba kernels on the plain engine's block plan (blocks cut where
the set of active components changes): the activation update is ``nmf_numba.h_pass_kl`` (the
focus only changes the templates' update), the template update ``informed_numba.w_focus_kl``.
V may be float16 (read through its bits), so the refinement's long-window spectrogram is used
as it is stored. ``NumpyPasses`` does the same with NumPy/BLAS on fixed frame blocks (no numba).

Both hold the templates transposed, ``WTx`` (K + 1, F): one template per row and a zero last
row (the kernels pad the component lists with it); ``WT = WTx[:-1]`` is the (K, F) view.
``h(H, update=, want_cost=)`` returns ``(H', cost)``: the updated activations (H itself or a
second buffer) and the KL cost of the model before the update (nan unless ``want_cost``);
``w(H)`` updates ``WT`` in place (not normalised).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .nmf import EPS, FINE_PLAN
from .nmf_blocks import Scratch, h_pass, plan_blocks, template_support, v_constant
from .threads import default_engine_threads, one_blas_thread


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


def grouped_lists(active, comp_groups: np.ndarray, n_components: int, key: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The active lists split by group for ``informed_numba.w_focus_kl``: (bseg, sb, aidx, max_groups).

    Block b's groups are segments ``bseg[b] .. bseg[b+1]-1``; segment s is ``aidx[sb[s]:sb[s+1]]``,
    sorted by ``key`` (K,) and padded to a multiple of four with index ``n_components``. All int64.
    """
    n_blocks = len(active)
    if n_blocks == 0:
        return np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64), 1
    block = np.repeat(np.arange(n_blocks), [len(a) for a in active])
    comp = np.concatenate(active).astype(np.int64)
    group = np.asarray(comp_groups)[comp]
    order = np.lexsort((key[comp], group, block))  # by block, then group, then key
    block, comp, group = block[order], comp[order], group[order]
    new_seg = np.ones(len(comp), bool)
    new_seg[1:] = (block[1:] != block[:-1]) | (group[1:] != group[:-1])
    starts = np.flatnonzero(new_seg)
    lengths = np.diff(np.append(starts, len(comp)))
    padded = lengths + (-lengths % 4)
    sb = np.zeros(len(starts) + 1, np.int64)
    sb[1:] = np.cumsum(padded)
    aidx = np.full(int(sb[-1]), n_components, np.int64)
    seg_of = np.repeat(np.arange(len(starts)), lengths)
    aidx[sb[seg_of] + (np.arange(len(comp)) - starts[seg_of])] = comp
    per_block = np.bincount(block[starts], minlength=n_blocks)
    bseg = np.zeros(n_blocks + 1, np.int64)
    bseg[1:] = np.cumsum(per_block)
    return bseg, sb, aidx, max(1, int(per_block.max()))


class CompiledPasses:
    """The passes in numba kernels. V: float32 or float16 (F, N), Fortran order ideally (then VT is a view)."""

    def __init__(self, kernels, V: np.ndarray, WTx: np.ndarray, H: np.ndarray, comp_groups: np.ndarray, *,
                 focus: float, n_threads: int | None = None) -> None:
        from . import informed_numba
        from .nmf_numba import half_bits

        self.kn, self.kw = kernels, informed_numba
        VT = V.T if V.flags.f_contiguous else np.ascontiguousarray(V.T)
        if not VT.flags.writeable:
            VT = VT.copy()  # read-only arrays are another type for numba: it would compile again
        self.VT = half_bits(VT)
        self.WTx = WTx
        self.focus = np.float32(focus)
        plan = plan_blocks(H, n_bins=V.shape[0], **FINE_PLAN)
        self.scratch = Scratch(plan, V.shape[0], kernels, n_threads=n_threads or default_engine_threads(),
                               support=template_support(WTx[:-1]))
        self.bseg, self.sb, self.aidx, groups = grouped_lists(plan.active, np.asarray(comp_groups), H.shape[0],
                                                              self.scratch.width)
        longest = int(np.max(self.sb[self.bseg[1:]] - self.sb[self.bseg[:-1]], initial=0))
        self.hb = [np.empty(max(longest, 1) * max(plan.max_frames, 1), np.float32) for _ in self.scratch.parts]
        self.gw = [np.empty((groups + 2) * 4 * V.shape[0], np.float32) for _ in self.scratch.parts]
        self.Hn: np.ndarray | None = None  # second buffer of the pass, made on first use (zero where H0 is)
        self.V = V
        self._const: float | None = None

    @property
    def const(self) -> float:
        """The cost's part that depends on V only (computed on first use: a logarithm per cell)."""
        if self._const is None:
            self._const = v_constant(self.V, kl=True)
        return self._const

    def h(self, H: np.ndarray, *, update: bool, want_cost: bool) -> tuple[np.ndarray, float]:
        if not update and not want_cost:
            return H, float("nan")
        if self.Hn is None:
            self.Hn = H.copy()
        c = h_pass(self.VT, self.WTx, H, self.Hn, self.scratch, kl=True, want_cost=want_cost, const=self.const)
        if update:
            H, self.Hn = self.Hn, H
        return H, c

    def w(self, H: np.ndarray) -> None:
        K, F = H.shape[0], self.VT.shape[1]
        s = self.scratch
        acc = [(np.zeros((K, F), np.float32), np.zeros((K, F), np.float32), np.zeros(K, np.float32))
               for _ in s.parts]
        bounds = s.flat[0]
        s.map(lambda i, lo, hi, bf: self.kw.w_focus_kl(self.VT, self.WTx, H, *acc[i], bounds, self.bseg, self.sb,
                                                       self.aidx, lo, hi, self.focus, self.hb[i], self.gw[i],
                                                       *s.support))
        num, den, hs = acc[0]
        for n, d, h in acc[1:]:
            num += n
            den += d
            hs += h
        den += hs[:, None]
        _apply(self.WTx[:-1], num, den)

    def close(self) -> None:
        self.scratch.close()


class NumpyPasses:
    """The passes with NumPy/BLAS on fixed blocks of ``block_frames`` frames, one BLAS thread."""

    def __init__(self, V: np.ndarray, WTx: np.ndarray, H: np.ndarray, comp_groups: np.ndarray, *, focus: float,
                 block_frames: int = 64) -> None:
        self.V, self.WT, self.focus = V, WTx[:-1], focus
        self.blocks = plan_frame_blocks(H, comp_groups, block_frames=block_frames)
        self._const: float | None = None

    const = CompiledPasses.const

    def h(self, H: np.ndarray, *, update: bool, want_cost: bool) -> tuple[np.ndarray, float]:
        if not update and not want_cost:
            return H, float("nan")
        WT, V = self.WT, self.V
        colsum = WT.sum(axis=1)
        model_sum = float(np.sum(colsum.astype(np.float64) * H.sum(axis=1, dtype=np.float64)))
        colsum += EPS
        log_term = 0.0
        covered = np.zeros(V.shape[1], bool)
        with one_blas_thread():
            for (n0, n1), a in zip(self.blocks.bounds, self.blocks.active):
                covered[n0:n1] = True
                Wa = WT[a]
                Hb = H[a, n0:n1]
                WH = Wa.T @ Hb
                WH += EPS
                Vb = V[:, n0:n1].astype(np.float32)
                if want_cost:
                    log_term += float(np.sum(Vb * np.log(WH), dtype=np.float64))
                if update:
                    R = np.divide(Vb, WH, out=WH)
                    H[a, n0:n1] = Hb * ((Wa @ R) / colsum[a][:, None])
        if not want_cost:
            return H, float("nan")
        # frames no component may explain: the model there is eps
        log_term += float(np.log(EPS)) * sum(float(np.sum(V[:, i: i + 1024][:, ~covered[i: i + 1024]],
                                                          dtype=np.float64)) for i in range(0, V.shape[1], 1024))
        return H, self.const + model_sum - log_term

    def w(self, H: np.ndarray) -> None:
        WT, V = self.WT, self.V
        num = np.zeros_like(WT)
        den = np.zeros_like(WT)
        p = np.float32(self.focus)
        with one_blas_thread():
            for (n0, n1), a, parts in zip(self.blocks.bounds, self.blocks.active, self.blocks.by_group):
                Hb = H[a, n0:n1]
                inv = WT[a].T @ Hb
                inv += EPS
                np.reciprocal(inv, out=inv)  # 1 / WH: the shares and the ratio below are products with it
                R = np.multiply(V[:, n0:n1], inv, dtype=np.float32)
                if self.focus == 0 or len(parts) == 1:
                    num[a] += Hb @ R.T
                    den[a] += Hb.sum(axis=1)[:, None]
                    continue
                M = np.empty_like(inv)
                for idx in parts:
                    Hg = H[idx, n0:n1]
                    np.matmul(WT[idx].T, Hg, out=M)
                    M *= inv  # the group's share of the model
                    if self.focus == 2.0:
                        M *= M
                    elif self.focus != 1.0:
                        np.power(M, p, out=M)
                    den[idx] += Hg @ M.T
                    M *= R
                    num[idx] += Hg @ M.T
        _apply(WT, num, den)

    def close(self) -> None:
        pass


def _apply(WT: np.ndarray, num: np.ndarray, den: np.ndarray) -> None:
    """WT *= num / den where den > 0 (elsewhere the template is zero and stays so); num is overwritten."""
    np.divide(num, den, out=num, where=den > 0)
    np.multiply(WT, num, out=WT, where=den > 0)
