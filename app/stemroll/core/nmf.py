"""Multiplicative-update NMF (Lee & Seung) as a generator: one ``NMFStep`` per iteration.

Zeros in the initial W and H stay zero, so the score's structure is a hard constraint. The
generator returns an ``NMFResult`` (``StopIteration.value``); a consumer cancels by simply not
asking for the next step.

Two engines compute the same updates. ``engine="blocks"`` (the default) exploits the score's
zero pattern: the frames are cut into blocks (``nmf_blocks.plan_blocks``) and each block is
processed with only the components active in it, so an iteration costs about
``8 * n_bins * sum(block_frames * active_components)`` flops instead of ``8 * n_bins * K * n_frames``,
and no full-size (n_bins, n_frames) temporary is ever allocated. With numba installed the
blocks run in compiled kernels (``nmf_numba``: 4-frame blocks cut where the active set changes,
no GIL, optional threads); without it in NumPy/BLAS on larger blocks. The cost is computed in
the H update's sweep from the model it already forms (one extra vectorised log per bin and
frame, about a fifth of an iteration); ``cost_every=k`` computes it every k-th iteration only.
``engine="dense"`` is the plain reference update.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Generator

import numpy as np

from .nmf_blocks import (EPS, BlockPlan, Scratch, h_pass, load_kernels, plan_blocks, template_support, v_constant,
                         w_pass)
from .threads import default_engine_threads

# Block plans per backend: the kernels want near-exact active sets (4-frame units, cut where
# the set changes); NumPy/BLAS wants fewer, larger blocks (a few microseconds of Python each).
FINE_PLAN = dict(min_frames=4, max_frames=64, overhead_flops=3e4)
COARSE_PLAN = dict(min_frames=8, max_frames=256, overhead_flops=4e6)

__all__ = ["EPS", "NMFStep", "NMFResult", "BlockPlan", "cost", "scale_activations", "nmf_steps",
           "nmf_dense_steps", "plan_blocks", "run"]


@dataclass(frozen=True)
class NMFStep:
    """Progress of one iteration: ``cost`` of the model before this iteration's update.

    With ``cost_every > 1`` the iterations in between repeat the last computed cost and have
    ``cost_fresh=False``. ``W`` (n_bins, K) and ``H`` (K, n_frames), float32, are that model: the
    engine's live arrays (often a transposed view), valid until the generator is resumed; copy
    them to keep them, never write to them. Engines that cannot offer them cheaply (the focused
    engine updates H in place) leave them None.
    """

    iteration: int
    cost: float
    elapsed_s: float
    cost_fresh: bool = True
    W: np.ndarray | None = field(default=None, repr=False, compare=False)
    H: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass
class NMFResult:
    """W: float32 (n_bins, K); H: float32 (K, n_frames); costs per iteration; why it stopped."""

    W: np.ndarray
    H: np.ndarray
    costs: list[float] = field(default_factory=list)
    converged: bool = False


def cost(V: np.ndarray, WH: np.ndarray, divergence: str) -> float:
    """Generalised KL divergence D(V | WH) or half the squared Euclidean distance."""
    if divergence == "kl":
        WHe = WH + EPS
        return float(np.sum(V * np.log((V + EPS) / WHe) - V + WH, dtype=np.float64))
    return float(0.5 * np.sum((V - WH) ** 2, dtype=np.float64))


def _check(V: np.ndarray, W: np.ndarray, H: np.ndarray) -> None:
    if V.ndim != 2 or W.ndim != 2 or H.ndim != 2:
        raise ValueError("V, W and H must be 2-D")
    if W.shape[0] != V.shape[0] or H.shape[1] != V.shape[1] or W.shape[1] != H.shape[0]:
        raise ValueError(f"shapes do not match: V {V.shape}, W {W.shape}, H {H.shape}")
    if (W < 0).any() or (H < 0).any() or _any_negative(V):
        raise ValueError("V, W and H must be nonnegative")


def _any_negative(V: np.ndarray, *, chunk: int = 4096) -> bool:
    """``(V < 0).any()`` without a full-size boolean temporary."""
    return any(bool((V[:, i: i + chunk] < 0).any()) for i in range(0, V.shape[1], chunk))


def scale_activations(V: np.ndarray, W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """H rescaled so that WH has the same total energy as V (a good start for the updates)."""
    WH_sum = float(np.sum(W.sum(axis=0) * H.sum(axis=1)))
    if WH_sum <= 0:
        return H
    return (H * np.float32(float(V.sum(dtype=np.float64)) / WH_sum)).astype(np.float32)


def _validate(V, W0, H0, divergence: str, cost_every: int, *, keep_layout: bool = False):
    if divergence not in ("kl", "euclidean"):
        raise ValueError(f"divergence must be 'kl' or 'euclidean', got '{divergence}'")
    if cost_every < 1:
        raise ValueError(f"cost_every must be >= 1, got {cost_every}")
    V = np.asarray(V, dtype=np.float32)
    if not (V.flags.c_contiguous or (keep_layout and V.flags.f_contiguous)):
        V = np.ascontiguousarray(V)
    W = np.array(W0, dtype=np.float32)
    H = np.array(H0, dtype=np.float32)
    _check(V, W, H)
    return V, W, H


def _normalise(W: np.ndarray, H: np.ndarray) -> None:
    """Unit-sum columns of W (rows of W.T are passed as ``W`` by the block engine's callers)."""
    s = W.sum(axis=0)
    s[s <= 0] = 1.0
    W /= s
    H *= s[:, None]


def nmf_dense_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, *, divergence: str = "kl",
                    iterations: int = 50, tol: float = 1e-4, update_W: bool = True, normalise_W: bool = True
                    ) -> Generator[NMFStep, None, NMFResult]:
    """Reference engine: the textbook dense multiplicative updates (arguments as ``nmf_steps``)."""
    V, W, H = _validate(V, W0, H0, divergence, 1)
    costs: list[float] = []
    t0 = time.perf_counter()
    converged = False
    for it in range(iterations):
        WH = W @ H
        c = cost(V, WH, divergence)
        costs.append(c)
        yield NMFStep(it, c, time.perf_counter() - t0, W=W, H=H)
        if it > 0 and abs(costs[-2] - c) <= tol * max(abs(costs[-2]), 1e-30):
            converged = True
            break
        if divergence == "kl":
            R = V / (WH + EPS)
            H *= (W.T @ R) / (W.sum(axis=0)[:, None] + EPS)
            if update_W:
                R = V / (W @ H + EPS)
                W *= (R @ H.T) / (H.sum(axis=1)[None, :] + EPS)
        else:
            H *= (W.T @ V) / ((W.T @ W) @ H + EPS)
            if update_W:
                W *= (V @ H.T) / (W @ (H @ H.T) + EPS)
        if update_W and normalise_W:
            _normalise(W, H)
    if not converged:
        costs.append(cost(V, W @ H, divergence))
    return NMFResult(W, H, costs, converged)


def nmf_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, *, divergence: str = "kl", iterations: int = 50,
              tol: float = 1e-4, update_W: bool = True, normalise_W: bool = True, engine: str = "blocks",
              cost_every: int = 1, plan: BlockPlan | None = None, backend: str = "auto",
              n_threads: int | None = None) -> Generator[NMFStep, None, NMFResult]:
    """Factorise V ≈ W H by multiplicative updates.

    V: nonnegative float32 (n_bins, n_frames); W0 (n_bins, K) and H0 (K, n_frames) give the
    start and the zero pattern. Stops after ``iterations`` updates or when the relative cost
    change is below ``tol``. With ``normalise_W`` each template keeps unit sum (its scale moves
    into H), which leaves WH unchanged.

    engine: 'blocks' (sparse-aware, default) or 'dense' (reference). ``cost_every=k`` computes
    the cost on iterations 0, k, 2k, ... and repeats the last value in between (convergence is
    then tested between computed costs only). ``plan`` reuses a ``plan_blocks(H0, ...)`` result.
    backend: 'auto' runs the block passes compiled with numba when it is installed, else NumPy.
    n_threads: threads for the compiled passes (default ``threads.default_engine_threads()``:
    one core is left to the UI and audio). BLAS threads are set by ``threads.engine_threads``.
    The block engine holds V, W, two copies of H and O(n_bins * block) scratch; V is not copied
    when it is already C-contiguous float32.
    """
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"backend must be 'auto', 'numba' or 'numpy', got '{backend}'")
    if engine not in ("blocks", "dense"):
        raise ValueError(f"engine must be 'blocks' or 'dense', got '{engine}'")
    if engine == "dense":
        result = yield from nmf_dense_steps(V, W0, H0, divergence=divergence, iterations=iterations, tol=tol,
                                            update_W=update_W, normalise_W=normalise_W)
        return result
    t0 = time.perf_counter()
    V, W, H = _validate(V, W0, H0, divergence, cost_every, keep_layout=True)
    kernels = load_kernels() if backend in ("auto", "numba") else None
    if backend == "numba" and kernels is None:
        raise ValueError("backend 'numba' asked for but numba is not installed")
    if plan is None:
        plan = plan_blocks(H, n_bins=V.shape[0], **(FINE_PLAN if kernels is not None else COARSE_PLAN))
    if plan.n_frames != V.shape[1] or plan.n_components != H.shape[0]:
        raise ValueError(f"block plan is for {plan.n_components} components x {plan.n_frames} frames, "
                         f"got H {H.shape}")
    Vx = V.T if kernels is not None else V  # the kernels read frame-major spectra
    if not Vx.flags.c_contiguous and not (kernels is None and Vx.flags.f_contiguous):
        Vx = np.ascontiguousarray(Vx)  # one copy of V (pass V in Fortran order to avoid it)
    elif kernels is not None and not Vx.flags.writeable:
        Vx = Vx.copy()  # read-only arrays are another type for numba: it would compile again
    scratch = Scratch(plan, V.shape[0], kernels, n_threads=n_threads or default_engine_threads(),
                      support=template_support(W.T) if kernels is not None else None)
    try:
        result = yield from _block_steps(V, Vx, W, H, scratch, kl=divergence == "kl", iterations=iterations,
                                         tol=tol, update_W=update_W, normalise_W=normalise_W,
                                         cost_every=cost_every, t0=t0)
    finally:
        scratch.close()
    return result


def _block_steps(V, Vx, W, H, scratch: Scratch, *, kl: bool, iterations: int, tol: float, update_W: bool,
                 normalise_W: bool, cost_every: int, t0: float) -> Generator[NMFStep, None, NMFResult]:
    WTx = np.zeros((W.shape[1] + 1, W.shape[0]), np.float32)  # Wᵀ, one template per row, and a zero row
    WTx[:-1] = W.T
    WT = WTx[:-1]
    Hn = H.copy()  # double buffer: the H update is written here, so a stop leaves H untouched
    const = v_constant(V, kl=kl)
    costs: list[float] = []
    converged = False
    last_fresh = math.nan
    for it in range(iterations):
        fresh = it % cost_every == 0
        c = h_pass(Vx, WTx, H, Hn, scratch, kl=kl, want_cost=fresh, const=const)
        if fresh:
            if it > 0 and abs(last_fresh - c) <= tol * max(abs(last_fresh), 1e-30):
                converged = True
            last_fresh = c
        else:
            c = costs[-1]
        costs.append(c)
        yield NMFStep(it, c, time.perf_counter() - t0, fresh, W=WT.T, H=H)
        if converged:
            break
        H, Hn = Hn, H
        if update_W:
            w_pass(Vx, WTx, H, scratch, kl=kl)
            if normalise_W:
                _normalise(WT.T, H)
    if not converged:
        costs.append(h_pass(Vx, WTx, H, Hn, scratch, kl=kl, want_cost=True, const=const))
    return NMFResult(np.ascontiguousarray(WT.T), H, costs, converged)


def run(gen: Generator):
    """Drive a generator to the end and return its result (for scripts and tests)."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value
