"""Multiplicative-update NMF (Lee & Seung) as a generator: one ``NMFStep`` per iteration.

Zeros in the initial W and H stay zero, so the score's structure is a hard constraint. The
generator returns an ``NMFResult`` (``StopIteration.value``); a consumer cancels by simply not
asking for the next step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Generator

import numpy as np

EPS = np.float32(1e-10)


@dataclass(frozen=True)
class NMFStep:
    """Progress of one iteration: ``cost`` of the model before this iteration's update."""

    iteration: int
    cost: float
    elapsed_s: float


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
    if (V < 0).any() or (W < 0).any() or (H < 0).any():
        raise ValueError("V, W and H must be nonnegative")


def scale_activations(V: np.ndarray, W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """H rescaled so that WH has the same total energy as V (a good start for the updates)."""
    WH_sum = float(np.sum(W.sum(axis=0) * H.sum(axis=1)))
    if WH_sum <= 0:
        return H
    return (H * np.float32(float(V.sum()) / WH_sum)).astype(np.float32)


def nmf_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, *, divergence: str = "kl", iterations: int = 50,
              tol: float = 1e-4, update_W: bool = True, normalise_W: bool = True
              ) -> Generator[NMFStep, None, NMFResult]:
    """Factorise V ≈ W H by multiplicative updates.

    V: nonnegative float32 (n_bins, n_frames); W0 (n_bins, K) and H0 (K, n_frames) give the
    start and the zero pattern. Stops after ``iterations`` updates or when the relative cost
    change is below ``tol``. With ``normalise_W`` each template keeps unit sum (its scale moves
    into H), which leaves WH unchanged.
    """
    if divergence not in ("kl", "euclidean"):
        raise ValueError(f"divergence must be 'kl' or 'euclidean', got '{divergence}'")
    V = np.ascontiguousarray(V, dtype=np.float32)
    W = np.array(W0, dtype=np.float32)
    H = np.array(H0, dtype=np.float32)
    _check(V, W, H)
    costs: list[float] = []
    t0 = time.perf_counter()
    converged = False
    for it in range(iterations):
        WH = W @ H
        c = cost(V, WH, divergence)
        costs.append(c)
        yield NMFStep(it, c, time.perf_counter() - t0)
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
            s = W.sum(axis=0)
            s[s <= 0] = 1.0
            W /= s
            H *= s[:, None]
    if not converged:
        costs.append(cost(V, W @ H, divergence))
    return NMFResult(W, H, costs, converged)


def run(gen: Generator):
    """Drive a generator to the end and return its result (for scripts and tests)."""
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        return stop.value
