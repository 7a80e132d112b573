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

The passes (``core.informed_passes``) work block by block and each block only multiplies the
components whose activations may be nonzero there, so the work follows the score's sparsity and
no full-size temporary is allocated: compiled with numba when it is installed, else NumPy.
"""

from __future__ import annotations

import time
from typing import Callable, Generator

import numpy as np

from .informed_passes import CompiledPasses, FrameBlocks, NumpyPasses, plan_frame_blocks
from .nmf import NMFResult, NMFStep
from .nmf_blocks import load_kernels

__all__ = ["FrameBlocks", "informed_nmf_steps", "plan_frame_blocks"]


def _check(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, comp_groups: np.ndarray, focus: float) -> None:
    if V.ndim != 2 or W0.ndim != 2 or H0.ndim != 2:
        raise ValueError("V, W and H must be 2-D")
    if W0.shape[0] != V.shape[0] or H0.shape[1] != V.shape[1] or W0.shape[1] != H0.shape[0]:
        raise ValueError(f"shapes do not match: V {V.shape}, W {W0.shape}, H {H0.shape}")
    if len(comp_groups) != W0.shape[1]:
        raise ValueError(f"{len(comp_groups)} component groups for {W0.shape[1]} components")
    negative_V = any(bool(_negative(V[:, i: i + 1024]).any()) for i in range(0, V.shape[1], 1024))
    if (W0 < 0).any() or (H0 < 0).any() or negative_V:
        raise ValueError("V, W and H must be nonnegative")
    if focus < 0:
        raise ValueError(f"focus must be >= 0, got {focus}")


def _negative(V: np.ndarray) -> np.ndarray:
    """V < 0 elementwise; float16 through its bits (a sign bit on anything but zero), which is
    many times faster than a float16 comparison."""
    if V.dtype == np.float16:
        return V.view(np.uint16) > np.uint16(0x8000)
    return V < 0


def informed_nmf_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, comp_groups: np.ndarray, *,
                       iterations: int = 30, tol: float = 1e-4, focus: float = 2.0, update_H: bool = True,
                       update_W: bool = True, block_frames: int = 64, cost_every: int = 1,
                       project_H: Callable[[np.ndarray], None] | None = None, backend: str = "auto",
                       n_threads: int | None = None, costs: bool = True) -> Generator[NMFStep, None, NMFResult]:
    """Factorise V ≈ W H (generalised KL) with group-focused template updates.

    V: nonnegative float32 or float16 (n_bins, n_frames; Fortran order is read without a copy);
    W0 (n_bins, K), H0 (K, n_frames): start and zero pattern; comp_groups: int (K,), the group of
    each component. ``focus`` >= 0 is the exponent of the dominance weights (0: plain KL
    updates). ``update_H=False`` keeps H fixed (template refinement). Stops after ``iterations``
    or when the relative cost change is below ``tol``; the cost yielded with iteration i is that
    of the model before its update. ``cost_every=k`` computes the cost (a logarithm per cell) on
    iterations 0, k, 2k, ... only and repeats the last value in between (``cost_fresh=False``);
    convergence is tested between computed costs. ``project_H(H)``, if given, is applied in
    place after every activation update (a prior such as ``core.priors.decay_projection``; it
    must keep H nonnegative and its zeros). backend: 'auto' (numba kernels when numba is
    installed, else NumPy), 'numba' or 'numpy'; ``n_threads``: threads for the kernels (default
    ``threads.default_engine_threads()``); ``block_frames``: block size of the NumPy passes.
    ``costs=False`` computes no cost at all (every step and the result's costs are nan, and
    ``tol`` is not used): for a fixed number of iterations whose cost nobody reads.
    """
    if cost_every < 1:
        raise ValueError(f"cost_every must be >= 1, got {cost_every}")
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', got '{backend}'")
    V = np.asarray(V)
    if V.dtype not in (np.float16, np.float32):
        V = V.astype(np.float32)
    comp_groups = np.asarray(comp_groups)
    _check(V, W0, H0, comp_groups, focus)
    t0 = time.perf_counter()
    WTx = np.zeros((W0.shape[1] + 1, W0.shape[0]), np.float32)  # Wᵀ, one template per row, and a zero row
    WTx[:-1] = np.asarray(W0).T
    WT = WTx[:-1]
    H = np.array(H0, dtype=np.float32)
    kernels = load_kernels() if backend in ("auto", "numba") else None
    if backend == "numba" and kernels is None:
        raise ValueError("backend 'numba' asked for but numba is not installed")
    if kernels is not None:
        passes = CompiledPasses(kernels, V, WTx, H, comp_groups, focus=focus, n_threads=n_threads)
    else:
        passes = NumpyPasses(V, WTx, H, comp_groups, focus=focus, block_frames=block_frames)
    trace: list[float] = []
    converged = False
    last = float("nan")
    try:
        for it in range(iterations):
            fresh = costs and it % cost_every == 0
            H, c = passes.h(H, update=update_H, want_cost=fresh)
            if project_H is not None and update_H:
                project_H(H)
            if fresh:
                converged = it > 0 and abs(last - c) <= tol * max(abs(last), 1e-30)
                last = c
            else:
                c = trace[-1] if trace else float("nan")
            trace.append(c)
            yield NMFStep(it, c, time.perf_counter() - t0, fresh)  # H is already updated: no model attached
            if converged:
                break
            if update_W:
                passes.w(H)
                s = WT.sum(axis=1)
                s[s <= 0] = 1.0
                WT /= s[:, None]
                H *= s[:, None]
        if not converged:
            trace.append(passes.h(H, update=False, want_cost=costs)[1])
    finally:
        passes.close()
    return NMFResult(np.ascontiguousarray(WT.T), H, trace, converged)
