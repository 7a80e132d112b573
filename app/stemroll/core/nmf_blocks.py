"""Block-sparse passes of the multiplicative updates (used by ``nmf.nmf_steps``).

The frames are partitioned into blocks; block b holds frames ``[n0, n1)`` and the list ``A`` of
components whose activations may be nonzero there. Inside a block everything is dense BLAS on
``W[:, A]`` (stored transposed, ``WT[A]``: (Ka, n_bins)) and ``H[A, n0:n1]`` (Ka, B). Because the
blocks partition the frames, sums over blocks equal the dense products exactly (up to float
rounding). All arrays are float32; costs are accumulated in float64.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

EPS = np.float32(1e-10)


@dataclass(frozen=True)
class BlockPlan:
    """Frame blocks and their active components.

    ``bounds``: int (n_blocks + 1,) frame boundaries; ``active[b]``: int64 component indices
    whose H may be nonzero in block b. ``work`` = sum over blocks of frames x active components.
    """

    bounds: np.ndarray
    active: tuple[np.ndarray, ...]
    n_components: int
    n_frames: int

    @property
    def blocks(self):
        return zip(self.bounds[:-1], self.bounds[1:], self.active)

    @property
    def max_frames(self) -> int:
        return int(np.max(np.diff(self.bounds))) if len(self.bounds) > 1 else 0

    @property
    def max_active(self) -> int:
        return max((len(a) for a in self.active), default=0)

    def flat(self, *, pad_to: int = 1, key: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bounds, aptr, aidx) as int64 arrays: block b's components are aidx[aptr[b]:aptr[b+1]].

        With ``pad_to`` each list is padded to a multiple of it with the index K (n_components);
        with ``key`` (K,) each list is sorted by it (stable) before padding.
        """
        active = self.active if key is None else [a[np.argsort(key[a], kind="stable")] for a in self.active]
        lists = [np.concatenate([a, np.full(-len(a) % pad_to, self.n_components)]) for a in active]
        aptr = np.zeros(len(lists) + 1, np.int64)
        aptr[1:] = np.cumsum([len(a) for a in lists])
        aidx = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
        return self.bounds.astype(np.int64), aptr, aidx

    @property
    def work(self) -> int:
        return int(sum((int(n1) - int(n0)) * len(a) for n0, n1, a in self.blocks))

    @property
    def density(self) -> float:
        """Processed fraction of the dense K x n_frames work."""
        return self.work / max(1, self.n_components * self.n_frames)


def plan_blocks(H0: np.ndarray, *, n_bins: int, min_frames: int = 8, max_frames: int = 256,
                overhead_flops: float = 4e6) -> BlockPlan:
    """Cut the frames of H0 (K, n_frames) into blocks from its nonzero pattern.

    Starts from blocks of ``min_frames`` (with ``min_frames=1``: the runs of frames whose set of
    nonzero components is the same) and greedily merges neighbours while the merged block's
    work (``8 * n_bins * frames * |union of active components|`` flops) is not more than the two
    blocks' work plus ``overhead_flops`` (the fixed cost of one block), up to ``max_frames``.
    """
    K, N = H0.shape
    if N == 0:
        return BlockPlan(np.zeros(1, np.int64), (), K, 0)
    if min_frames < 1 or max_frames < min_frames:
        raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    if min_frames == 1:
        change = np.zeros(N, bool)
        change[0] = True
        for i in range(0, K, 32):  # a few rows at a time: no (K, N) temporaries
            m = H0[i: i + 32] > 0
            change[1:] |= np.any(m[:, 1:] != m[:, :-1], axis=0)
        starts = np.flatnonzero(change)
        lengths = np.diff(np.append(starts, N))
        cut = lengths > max_frames  # split runs longer than a block
        if cut.any():
            starts = np.sort(np.concatenate([starts] + [np.arange(s0 + max_frames, s0 + n, max_frames)
                                                        for s0, n in zip(starts[cut], lengths[cut])]))
    else:
        starts = np.arange(0, N, min_frames)
    lengths = np.diff(np.append(starts, N))
    fine = np.zeros((len(starts), K), bool)
    for i in range(0, K, 32):
        fine[:, i: i + 32] = np.logical_or.reduceat(H0[i: i + 32] > 0, starts, axis=1).T
    counts = fine.sum(axis=1)
    per_frame = 8.0 * n_bins
    bounds = [0]
    active = []
    cur, cur_n, cur_len = fine[0].copy(), int(counts[0]), int(lengths[0])
    for i in range(1, len(starts)):
        nxt_len = int(lengths[i])
        if cur_len + nxt_len <= max_frames:
            union = cur | fine[i]
            nu = int(union.sum())
            merged = per_frame * nu * (cur_len + nxt_len)
            if merged <= per_frame * (cur_n * cur_len + int(counts[i]) * nxt_len) + overhead_flops:
                cur, cur_n, cur_len = union, nu, cur_len + nxt_len
                continue
        bounds.append(bounds[-1] + cur_len)
        active.append(np.flatnonzero(cur))
        cur, cur_n, cur_len = fine[i].copy(), int(counts[i]), nxt_len
    bounds.append(N)
    active.append(np.flatnonzero(cur))
    return BlockPlan(np.asarray(bounds, np.int64), tuple(active), K, N)


def v_constant(V: np.ndarray, *, kl: bool, chunk: int = 2048) -> float:
    """The part of the cost that depends on V only (float64).

    KL: sum(V log(V + eps) - V); Euclidean: 0.5 * sum(V^2). Computed in column chunks, in
    float32 (V may be float16); the KL one in one compiled sweep (``spectral_numba.kl_constant``)
    when the kernels are loaded and V is Fortran-ordered (one spectrum per frame, as the engine
    holds it).
    """
    if kl and _KERNELS and V.flags.f_contiguous and V.dtype in (np.float32, np.float16):
        from .spectral_numba import kl_constant

        return float(kl_constant(_KERNELS.half_bits(V.T)))
    total = 0.0
    for i in range(0, V.shape[1], chunk):
        v = V[:, i: i + chunk].astype(np.float32)
        if kl:
            total += float(np.sum(v * np.log(v + EPS), dtype=np.float64)) - float(np.sum(v, dtype=np.float64))
        else:
            total += 0.5 * float(np.sum(v * v, dtype=np.float64))
    return total


def load_kernels(*, timeout_s: float = 900.0):
    """The compiled kernels (``nmf_numba``), or None when numba is not installed or fails.

    A cold compile takes seconds of CPU and holds the GIL, which would freeze a UI running
    the engine on a worker thread; so when numba's on-disk cache is empty or stale the kernels
    are compiled in a child process (``python -m stemroll.core.nmf_numba``; waiting for it
    releases the GIL) and then loaded from the cache. A frozen app compiles in-process.
    """
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS or None
    try:
        from . import nmf_numba
    except Exception:  # noqa: BLE001 - no numba, or numba cannot cache here: use NumPy
        _KERNELS = False
        return None
    if not nmf_numba.compiled_on_disk() and not getattr(sys, "frozen", False):
        try:
            subprocess.run([sys.executable, "-m", "stemroll.core.nmf_numba"], check=True, timeout=timeout_s,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (OSError, subprocess.SubprocessError):
            _KERNELS = False
            return None
    _KERNELS = nmf_numba
    return nmf_numba


_KERNELS = None  # the loaded module, False when unavailable, None before the first try


def prepare_kernels() -> bool:
    """Load every compiled kernel version the separation calls, when they are compiled on disk.

    numba loads a kernel's machine code from its cache on the first call (about 0.7 s for all of
    them, once per process); doing it here, e.g. while a recording is being opened, keeps it out
    of the time between pressing Separate and the first cost. Does nothing (returns False) when
    numba is missing or the cache is cold: compiling is left to ``load_kernels`` then.
    """
    try:
        from . import nmf_numba
    except Exception:  # noqa: BLE001 - no numba: the NumPy passes need no preparation
        return False
    if not nmf_numba.compiled_on_disk() or load_kernels() is None:
        return False
    nmf_numba.warm()  # tiny inputs of every type: loads each version, computes nothing of note
    return True


def template_support(WT: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each template's support: int64 (flo, fhi), (K + 1,) each, for WT (K, F) (a template per row).

    Template k is zero outside bins ``flo[k] .. fhi[k] - 1``; multiplicative updates keep those
    zeros, so the support holds for a whole run. An all-zero template and the padding index K
    get the empty range (F, 0), which leaves the union of ranges unchanged.
    """
    K, F = WT.shape
    flo = np.full(K + 1, F, np.int64)
    fhi = np.zeros(K + 1, np.int64)
    for k in range(K):
        nz = np.flatnonzero(WT[k])
        if len(nz):
            flo[k], fhi[k] = nz[0], nz[-1] + 1
    return flo, fhi


class Scratch:
    """Work buffers (and worker threads) of one engine run, sized from the plan once.

    ``kernels``: the ``nmf_numba`` module to run the passes compiled (they read V frame-major,
    as VT (N, F)), or None for the NumPy passes (V as (F, N)). With ``n_threads > 1`` the
    compiled passes split the blocks into that many parts of equal work, each run on its own
    thread (the kernels release the GIL); call ``close()`` to stop the threads. ``support``:
    the templates' supports (``template_support``; default: every bin); the kernels sweep only
    those bins, and the KL kernels' lists are sorted by support width (the widest last).
    """

    def __init__(self, plan: BlockPlan, n_bins: int, kernels=None, *, n_threads: int = 1,
                 support: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        ka, b, F = max(plan.max_active + 3, 1), max(plan.max_frames, 1), max(n_bins, 1)
        self.kernels = kernels
        self.plan = plan
        if support is None:
            support = (np.zeros(plan.n_components + 1, np.int64), np.full(plan.n_components + 1, n_bins, np.int64))
            support[0][-1], support[1][-1] = n_bins, 0
        self.support = support
        self.width = (support[1] - support[0])[:-1]
        self.flat = plan.flat()
        # KL kernels: lists sorted by support width and padded with index K (a zero template)
        self.flat_pad = plan.flat(pad_to=4, key=self.width)
        n_parts = max(1, min(int(n_threads), len(plan.active))) if kernels is not None else 1
        work = np.cumsum(np.diff(plan.bounds) * (np.diff(self.flat[1]) + 2)) if len(plan.active) else np.zeros(0)
        cuts = np.searchsorted(work, work[-1] * np.arange(1, n_parts) / n_parts) + 1 if n_parts > 1 else []
        edges = [0, *[int(c) for c in cuts], len(plan.active)]
        self.parts = [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
        self.bufs = [_Buffers(ka, b, F, 4 if kernels is not None else b) for _ in self.parts]
        self.wh = self.bufs[0].wh
        self._pool = ThreadPoolExecutor(len(self.parts) - 1) if len(self.parts) > 1 else None

    def view(self, name: str, rows: int, cols: int) -> np.ndarray:
        return getattr(self, name)[: rows * cols].reshape(rows, cols)

    def map(self, fn) -> list:
        """[fn(part, b_lo, b_hi, buffers) for each part], the parts run concurrently."""
        if self._pool is None:
            return [fn(0, *self.parts[0], self.bufs[0])]
        futures = [self._pool.submit(fn, i, lo, hi, self.bufs[i]) for i, (lo, hi) in enumerate(self.parts) if i]
        first = fn(0, *self.parts[0], self.bufs[0])
        return [first] + [f.result() for f in futures]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class _Buffers:
    def __init__(self, ka: int, b: int, F: int, wh_rows: int) -> None:
        self.hb = np.empty(ka * b, np.float32)
        self.wh = np.empty(F * wh_rows, np.float32)


def h_pass(V, WTx, H, Hn, s: Scratch, *, kl: bool, want_cost: bool, const: float) -> float:
    """One H update from (W, H) written into Hn; returns the cost of (W, H) (nan unless ``want_cost``).

    V (F, N) for NumPy, VT (N, F) for the kernels; WTx (K + 1, F) holds Wᵀ and a zero last row;
    H and Hn (K, N); all float32. Hn must be zero wherever H0 is (the passes write only the
    active entries). The cost is D(V | WH) or 0.5 ||V - WH||².
    """
    kn = s.kernels
    WT = WTx[:-1]
    bounds, aptr, aidx = s.flat
    wsum = WT.sum(axis=1)
    if kl:
        inv = (np.float32(1.0) / (wsum + EPS)).astype(np.float32)
        if kn is not None:
            pb, pp, pa = s.flat_pad
            vlog = sum(s.map(lambda i, lo, hi, bf: kn.h_pass_kl(V, WTx, H, Hn, pb, pp, pa, lo, hi, inv,
                                                                 want_cost, bf.hb, bf.wh, *s.support)))
        else:
            vlog = _h_pass_kl_numpy(V, WT, H, Hn, s, inv, want_cost)
        if not want_cost:
            return float("nan")
        return const - vlog + float(np.dot(wsum.astype(np.float64), H.sum(axis=1, dtype=np.float64)))
    WtW = WT @ WT.T
    if kn is not None:
        parts = s.map(lambda i, lo, hi, bf: kn.h_pass_eu(V, WT, WtW, H, Hn, bounds, aptr, aidx, lo, hi,
                                                         want_cost, bf.hb, bf.wh, *s.support))
        cross, quad = sum(p[0] for p in parts), sum(p[1] for p in parts)
    else:
        cross, quad = _h_pass_eu_numpy(V, WT, WtW, H, Hn, s, want_cost)
    return const - cross + 0.5 * quad if want_cost else float("nan")


def w_pass(V, WTx, H, s: Scratch, *, kl: bool) -> None:
    """One W update of WTx[:-1] (K, F) in place, with the current H (K, N); V, WTx as for ``h_pass``."""
    WT = WTx[:-1]
    K, F = WT.shape
    kn = s.kernels
    bounds, aptr, aidx = s.flat
    NWs = [np.zeros((K, F), np.float32) for _ in s.parts]
    if kl:
        if kn is not None:
            pb, pp, pa = s.flat_pad
            s.map(lambda i, lo, hi, bf: kn.w_num_kl(V, WTx, H, NWs[i], pb, pp, pa, lo, hi, bf.hb, bf.wh,
                                                    *s.support))
        else:
            for n0, n1, A in s.plan.blocks:
                Hb, R = _ratio_block(V, WT, H, n0, n1, A, s, want_log=False)[1::2]
                NWs[0][A] += Hb @ R.T
        WT *= sum(NWs[1:], NWs[0]) / (H.sum(axis=1)[:, None] + EPS)
        return
    HHts = [np.zeros((K, K), np.float32) for _ in s.parts]
    if kn is not None:
        s.map(lambda i, lo, hi, bf: kn.w_num_eu(V, H, NWs[i], HHts[i], bounds, aptr, aidx, lo, hi, bf.hb,
                                                *s.support))
    else:
        for n0, n1, A in s.plan.blocks:
            Hb = H[A, n0:n1]
            NWs[0][A] += Hb @ V[:, n0:n1].T
            HHts[0][np.ix_(A, A)] += Hb @ Hb.T
    WT *= sum(NWs[1:], NWs[0]) / (sum(HHts[1:], HHts[0]) @ WT + EPS)


def _ratio_block(V, WT, H, n0, n1, A, s: Scratch, *, want_log: bool):
    """(Hb (Ka, B), sum(V log(WH + eps)), R = V / (WH + eps) (F, B)) for one block, with NumPy."""
    Wa = WT[A]
    Hb = H[A, n0:n1]
    Vb = V[:, n0:n1]
    WH = s.view("wh", V.shape[0], n1 - n0)
    np.matmul(Wa.T, Hb, out=WH)
    WH += EPS
    vlog = 0.0
    if want_log:
        vlog = float(np.sum(np.log(WH) * Vb, dtype=np.float64))
    np.divide(Vb, WH, out=WH)
    return Wa, Hb, vlog, WH


def _h_pass_kl_numpy(V, WT, H, Hn, s: Scratch, inv, want_cost: bool) -> float:
    acc = 0.0
    for n0, n1, A in s.plan.blocks:
        Wa, Hb, vlog, R = _ratio_block(V, WT, H, n0, n1, A, s, want_log=want_cost)
        acc += vlog
        num = Wa @ R
        num *= inv[A, None]
        num *= Hb
        Hn[A, n0:n1] = num
    return acc


def _h_pass_eu_numpy(V, WT, WtW, H, Hn, s: Scratch, want_cost: bool) -> tuple[float, float]:
    cross = quad = 0.0
    for n0, n1, A in s.plan.blocks:
        Hb = H[A, n0:n1]
        num = WT[A] @ V[:, n0:n1]
        den = WtW[np.ix_(A, A)] @ Hb
        if want_cost:
            cross += float(np.vdot(Hb, num))
            quad += float(np.vdot(Hb, den))
        den += EPS
        num /= den
        num *= Hb
        Hn[A, n0:n1] = num
    return cross, quad
