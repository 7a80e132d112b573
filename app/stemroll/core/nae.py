"""Score-informed nonnegative autoencoder (NAE) as a generator, beside the NMF engine.

After Smaragdis & Venkataramani (ICASSP 2017), Ewert & Sandler (ICASSP 2017) and Özer, Hansen,
Zunner & Müller (EUSIPCO 2022). The encoder ``E`` (K, n_bins) maps each spectrogram frame to
activations ``H = E V``; structured dropout keeps only what the score allows, ``H' = H ⊙ M`` with
``M = H0 > 0``; the decoder ``D`` (n_bins, K) reconstructs ``V̂ = D H'`` and carries the template
constraints as zeros (it starts from W0). The loss is the same as NMF's: generalised KL divergence
or half the squared Euclidean distance.

``rule='mu'``: multiplicative updates, alternating E then D. ``V̂`` is linear in E with
nonnegative coefficients (``V̂[f,n] = sum_kb D[f,k] M[k,n] V[b,n] E[k,b]``), so both updates are
the Lee-Seung majorise-minimise steps of a nonnegative linear model and the loss never
increases; zeros of D (and of E) stay zero. ``rule='pgd'``: projected gradient descent
(RMS-preconditioned steps, ReLU projection, the template zeros of D and E re-imposed) with a
backtracking step size, so the loss never increases either.

Training and inference are separate: ``nae_encode`` decomposes new audio of the same instrument
in one matrix product. Frames are processed in blocks with only the components the mask allows,
so no full-size (n_bins, n_frames) temporary is allocated.

Each step (``NAEStep``, an ``NMFStep``) carries live references to the model its cost was
computed for: ``W`` the decoder and ``H`` the masked activations (kept up to date by the cost
pass at no extra products: one (K, n_frames) float32 buffer, two with ``rule='pgd'``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Generator

import numpy as np

from .nmf import NMFResult, NMFStep
from .threads import one_blas_thread as _one_blas_thread

__all__ = ["NAEResult", "NAEStep", "nae_steps", "nae_encode"]

EPS = np.float32(1e-10)
BLOCK_FRAMES = 64


@dataclass(frozen=True)
class NAEStep(NMFStep):
    """``NMFStep`` plus the model whose ``cost`` it reports, as live references to the engine's
    arrays (valid until the generator is resumed; copy them to keep them): ``W`` the decoder,
    float32 (n_bins, K) (a transposed view), ``H`` the masked activations, float32 (K, n_frames)."""

    W: np.ndarray | None = field(default=None, repr=False, compare=False)
    H: np.ndarray | None = field(default=None, repr=False, compare=False)


@dataclass
class NAEResult(NMFResult):
    """``NMFResult`` (W = decoder (n_bins, K), H = masked activations (K, n_frames)) plus the
    trained ``encoder``: float32 (K, n_bins)."""

    encoder: np.ndarray | None = None


def _blocks(mask: np.ndarray, K: int, N: int, block: int = BLOCK_FRAMES):
    """Frame blocks with at least one allowed component: [(n0, n1, active component indices (Ka,),
    mask block float32 (Ka, n1 - n0))]."""
    out = []
    for n0 in range(0, N, block):
        n1 = min(N, n0 + block)
        mb = mask[:, n0:n1]
        a = np.flatnonzero((mb > 0).any(axis=1))
        if len(a):
            out.append((n0, n1, a, np.ascontiguousarray(mb[a], dtype=np.float32)))
    return out


def nae_encode(encoder: np.ndarray, V: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """One-pass decomposition of new audio: ``H = (encoder @ V) ⊙ mask``.

    encoder: float (K, n_bins); V: nonnegative magnitude (n_bins, n_frames); mask: optional
    (K, n_frames), binary or weights (e.g. a new score's ``H0 > 0``). Returns float32
    (K, n_frames). With a mask only the allowed entries are computed.
    """
    E = np.asarray(encoder, dtype=np.float32)
    V = np.asarray(V, dtype=np.float32)
    if E.ndim != 2 or V.ndim != 2 or E.shape[1] != V.shape[0]:
        raise ValueError(f"encoder {E.shape} does not fit a spectrogram of shape {V.shape}")
    K, N = E.shape[0], V.shape[1]
    if mask is None:
        return E @ V
    mask = np.asarray(mask)
    if mask.shape != (K, N):
        raise ValueError(f"mask must have shape {(K, N)}, got {mask.shape}")
    H = np.zeros((K, N), dtype=np.float32)
    with _one_blas_thread():
        for n0, n1, a, mb in _blocks(mask, K, N):
            H[a, n0:n1] = (E[a] @ V[:, n0:n1]) * mb
    return H


class _Model:
    """E (K, n_bins), D stored transposed as DT (K, n_bins), and the block passes over V."""

    def __init__(self, V, E, DT, blocks, kl: bool):
        self.V, self.E, self.DT, self.blocks, self.kl = V, E, DT, blocks, kl
        self.K, self.n_bins = E.shape
        self._scratch: dict[str, np.ndarray] = {}
        # Masked activations of the model the last cost pass saw (zero outside the blocks' masks).
        self.H = np.zeros((self.K, V.shape[1]), np.float32)
        covered = np.zeros(V.shape[1], bool)
        for n0, n1, _, _ in blocks:
            covered[n0:n1] = True
        # Constant part of the cost: frames outside every block (V̂ = 0 there) in full, and for
        # KL the sum of V log V - V of the covered frames.
        rest = 0.0
        for n0 in range(0, V.shape[1], BLOCK_FRAMES):
            n1 = min(V.shape[1], n0 + BLOCK_FRAMES)
            Vb = V[:, n0:n1]
            cov = covered[n0:n1]
            if kl:
                rest += float(np.sum((Vb * np.log(Vb + EPS) - Vb)[:, cov], dtype=np.float64))
                rest += float(np.sum((Vb * np.log((Vb + EPS) / EPS) - Vb)[:, ~cov], dtype=np.float64))
            else:
                rest += float(0.5 * np.sum(np.square(Vb[:, ~cov]), dtype=np.float64))
        self.rest = rest
        # M V^T (K, n_bins), fixed: the KL encoder denominator is colsum(D) * M V^T, and the row
        # sums of H' are rowsum(E * M V^T).
        self.MVt = np.zeros_like(E)
        if blocks:
            for n0, n1, a, mb in blocks:
                self.MVt[a] += mb @ V[:, n0:n1].T

    def _buf(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        """A reused float32 scratch array (freshly allocated temporaries of this size cost more
        than the arithmetic on them)."""
        size = shape[0] * shape[1]
        b = self._scratch.get(name)
        if b is None or b.size < size:
            b = self._scratch[name] = np.empty(size, np.float32)
        return b[:size].reshape(shape)

    def _forward(self, n0, n1, a, mb):
        """V block (n_bins, m), H' block (Ka, m), D^T rows (Ka, n_bins), V̂ block (n_bins, m)."""
        Vb = self.V[:, n0:n1]
        Hb = np.matmul(self.E[a], Vb, out=self._buf("H", (len(a), n1 - n0)))
        Hb *= mb
        DTa = self.DT[a]
        return Vb, Hb, DTa, np.matmul(DTa.T, Hb, out=self._buf("Vh", (self.n_bins, n1 - n0)))

    def pass_(self, *, grad_E: bool, grad_D: bool, want_cost: bool = True, h_out: np.ndarray | None = None):
        """Cost of the current model (nan unless ``want_cost``) and, on request, the numerator
        and denominator (negative and positive parts of the gradient) for E and for D^T, each
        (K, n_bins). ``h_out`` (K, n_frames), when given, receives the masked activations."""
        K, nb = self.K, self.n_bins
        nE = np.zeros((K, nb), np.float32) if grad_E else None
        dE = np.zeros((K, nb), np.float32) if grad_E and not self.kl else None
        nD = np.zeros((K, nb), np.float32) if grad_D else None
        dD = np.zeros((K, nb) if self.kl else (K, K), np.float32) if grad_D else None
        c = 0.0
        for n0, n1, a, mb in self.blocks:
            Vb, Hb, DTa, Vh = self._forward(n0, n1, a, mb)
            if h_out is not None:
                h_out[a, n0:n1] = Hb
            T = self._buf("T", Vh.shape)
            if self.kl:
                np.add(Vh, EPS, out=T)
                if want_cost:
                    c += float(Vh.sum(dtype=np.float64))
                R = np.divide(Vb, T, out=Vh)  # V / V̂ (V̂ itself is no longer needed)
                if want_cost:
                    np.log(T, out=T)
                    T *= Vb
                    c -= float(T.sum(dtype=np.float64))
                if grad_E:
                    G = DTa @ R
                    G *= mb
                    nE[a] += G @ Vb.T
                if grad_D:
                    nD[a] += Hb @ R.T
                    dD[a] += Hb.sum(axis=1)[:, None]
                continue
            if grad_E:
                G = DTa @ Vb
                G *= mb
                nE[a] += G @ Vb.T
                G = DTa @ Vh
                G *= mb
                dE[a] += G @ Vb.T
            if grad_D:
                nD[a] += Hb @ Vb.T
                dD[np.ix_(a, a)] += Hb @ Hb.T
            if want_cost:
                np.subtract(Vb, Vh, out=T)
                np.square(T, out=T)
                c += 0.5 * float(T.sum(dtype=np.float64))
        if grad_E and self.kl:
            dE = self.DT.sum(axis=1)[:, None] * self.MVt
        if grad_D and not self.kl:
            dD = dD @ self.DT
        return (c + self.rest if want_cost else float("nan")), (nE, dE), (nD, dD)

    def activations(self) -> np.ndarray:
        H = np.zeros((self.K, self.V.shape[1]), np.float32)
        for n0, n1, a, mb in self.blocks:
            H[a, n0:n1] = (self.E[a] @ self.V[:, n0:n1]) * mb
        return H

    def normalise(self) -> None:
        """Unit-sum decoder columns; the scale moves into the encoder rows (V̂ unchanged)."""
        s = self.DT.sum(axis=1)
        s[s <= 0] = 1.0
        self.DT /= s[:, None]
        self.E *= s[:, None]


def _init_encoder(W0: np.ndarray, H0: np.ndarray, MVt: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Start encoder (K, n_bins): each template as a matched filter ``w / |w|^2`` (an isolated
    note ``a w`` encodes to ``a``), each row then scaled so that its masked activations have the
    same total as its row of H0; components the mask never lets sound get the median scale.
    A last global factor makes the model's total equal the data's."""
    norm2 = np.sum(np.square(W0, dtype=np.float64), axis=0)
    E = W0.T / np.where(norm2 > 0, norm2, 1.0)[:, None]
    rows = np.sum(E * MVt, axis=1)  # row sums of M ⊙ (E V)
    target = H0.sum(axis=1, dtype=np.float64)
    ok = (rows > 0) & (target > 0)
    f = np.ones(len(rows))
    f[ok] = target[ok] / rows[ok]
    f[~ok] = np.median(f[ok]) if ok.any() else 1.0
    E *= f[:, None]
    total = float(np.sum(W0.sum(axis=0) * np.sum(E * MVt, axis=1)))
    if total > 0:
        E *= float(V.sum(dtype=np.float64)) / total
    return np.ascontiguousarray(E, dtype=np.float32)


def _validate(V, W0, H0, divergence: str, rule: str, iterations: int, tol: float):
    if divergence not in ("kl", "euclidean"):
        raise ValueError(f"divergence must be 'kl' or 'euclidean', got '{divergence}'")
    if rule not in ("mu", "pgd"):
        raise ValueError(f"rule must be 'mu' or 'pgd', got '{rule}'")
    if iterations < 0 or tol < 0:
        raise ValueError(f"iterations and tol must be >= 0, got {iterations} and {tol}")
    V = np.ascontiguousarray(V, dtype=np.float32)
    W = np.array(W0, dtype=np.float32)
    H = np.asarray(H0, dtype=np.float32)
    if V.ndim != 2 or W.ndim != 2 or H.ndim != 2:
        raise ValueError("V, W0 and H0 must be 2-D")
    if W.shape[0] != V.shape[0] or H.shape[1] != V.shape[1] or W.shape[1] != H.shape[0]:
        raise ValueError(f"shapes do not match: V {V.shape}, W0 {W.shape}, H0 {H.shape}")
    if (V < 0).any() or (W < 0).any() or (H < 0).any():
        raise ValueError("V, W0 and H0 must be nonnegative")
    return V, W, H


def nae_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, *, divergence: str = "kl", iterations: int = 50,
              tol: float = 1e-4, rule: str = "mu", rng: np.random.Generator | None = None
              ) -> Generator[NMFStep, None, NAEResult]:
    """Train the score-informed autoencoder V ≈ D ((E V) ⊙ M); one ``NMFStep`` per iteration.

    V: nonnegative float32 (n_bins, n_frames). W0 (n_bins, K): the decoder's start and zero
    pattern. H0 (K, n_frames): its nonzeros give the dropout mask M and its row sums the start
    scale of the encoder. Each step reports the cost of the model before that iteration's update;
    stops after ``iterations`` updates or when the relative cost change is below ``tol``.
    rule: 'mu' (multiplicative, alternating E then D) or 'pgd' (projected gradient, backtracking).
    rng: only used by randomised starts (none by default). Returns an ``NAEResult``: W = decoder
    with unit-sum columns, H = masked activations, ``encoder`` (K, n_bins) for ``nae_encode``.
    """
    V, W, H0 = _validate(V, W0, H0, divergence, rule, iterations, tol)
    rng = rng if rng is not None else np.random.default_rng(0)
    K, N = H0.shape
    mask = H0 > 0
    blocks = _blocks(mask, K, N)
    DT = np.ascontiguousarray(W.T)
    with _one_blas_thread():
        model = _Model(V, np.zeros_like(DT), DT, blocks, divergence == "kl")
        model.E = _init_encoder(W, H0, model.MVt, V)
        model.normalise()
    steps = _mu if rule == "mu" else _pgd
    costs, converged = yield from steps(model, iterations, tol, allowed=DT > 0)
    with _one_blas_thread():
        model.normalise()
        H = model.activations()
    return NAEResult(np.ascontiguousarray(model.DT.T), H, costs, converged, encoder=model.E)


def _settled(costs: list[float], tol: float) -> bool:
    return len(costs) > 1 and abs(costs[-2] - costs[-1]) <= tol * max(abs(costs[-2]), 1e-30)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 1 where den is 0 (a component the mask never lets sound keeps its start)."""
    return np.where(den > 0, num / np.maximum(den, EPS), np.float32(1))


def _mu(model: _Model, iterations: int, tol: float, *, allowed: np.ndarray):
    costs: list[float] = []
    t0 = time.perf_counter()
    for it in range(iterations):
        with _one_blas_thread():
            c, (nE, dE), _ = model.pass_(grad_E=True, grad_D=False, h_out=model.H)
        costs.append(c)
        yield NAEStep(it, c, time.perf_counter() - t0, W=model.DT.T, H=model.H)
        if _settled(costs, tol):
            return costs, True
        with _one_blas_thread():
            model.E *= _ratio(nE, dE)
            _, _, (nD, dD) = model.pass_(grad_E=False, grad_D=True, want_cost=False)
            model.DT *= _ratio(nD, dD)
            model.normalise()
    with _one_blas_thread():
        costs.append(model.pass_(grad_E=False, grad_D=False)[0])
    return costs, False


def _pgd(model: _Model, iterations: int, tol: float, *, allowed: np.ndarray, lr: float = 0.05,
         beta: float = 0.9):
    """Projected gradient descent with a diagonal (RMSprop) preconditioner and backtracking.

    Each entry moves against its gradient divided by the running RMS of that gradient, by about
    ``lr`` times its row's mean allowed magnitude; then E and D are projected on ``>= 0`` (ReLU)
    and on the template zero pattern (of D, and of E, which starts from the same templates). A
    step that raises the cost is undone and ``lr`` halved; an accepted one grows it by 1.5. One
    pass per accepted step gives its cost and the next gradients."""
    costs: list[float] = []
    t0 = time.perf_counter()
    allowed_E = model.E > 0
    with _one_blas_thread():
        c, gE, gD = model.pass_(grad_E=True, grad_D=True, h_out=model.H)
    vE = vD = None
    H_try = np.zeros_like(model.H)  # a trial step's activations; swapped in when it is accepted
    for it in range(iterations):
        costs.append(c)
        yield NAEStep(it, c, time.perf_counter() - t0, W=model.DT.T, H=model.H)
        if _settled(costs, tol):
            return costs, True
        with _one_blas_thread():
            accepted = _pgd_step(model, gE, gD, vE, vD, allowed_E, allowed, c, lr, beta, H_try)
        if accepted is None:  # no descent step left: a stationary point within float precision
            return costs, True
        c, gE, gD, vE, vD, lr = accepted
        model.H, H_try = H_try, model.H
    costs.append(c)
    return costs, False


def _pgd_step(model: _Model, gE, gD, vE, vD, allowed_E, allowed, c: float, lr: float, beta: float,
              H_try: np.ndarray):
    """One accepted projected step (see ``_pgd``): (cost, gE, gD, vE, vD, lr) after it, or None
    (factors unchanged) when even a tiny step raises the cost. ``H_try`` (K, n_frames) receives
    the activations of the last step tried (the accepted one when this returns a value)."""
    E, DT = model.E, model.DT
    g_E, g_D = gE[1] - gE[0], gD[1] - gD[0]  # gradients: denominator - numerator
    vE = g_E ** 2 if vE is None else beta * vE + (1 - beta) * g_E ** 2
    vD = g_D ** 2 if vD is None else beta * vD + (1 - beta) * g_D ** 2
    stepE = _row_mean(E, allowed_E) * g_E / (np.sqrt(vE) + EPS)
    stepD = _row_mean(DT, allowed) * g_D / (np.sqrt(vD) + EPS)
    while lr >= 1e-9:
        model.E = np.maximum(E - np.float32(lr) * stepE, 0) * allowed_E
        model.DT = np.maximum(DT - np.float32(lr) * stepD, 0) * allowed
        c_new, gE_new, gD_new = model.pass_(grad_E=True, grad_D=True, h_out=H_try)
        if c_new <= c:
            return c_new, gE_new, gD_new, vE, vD, lr * 1.5
        lr *= 0.5
    model.E, model.DT = E, DT
    return None


def _row_mean(X: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Mean magnitude of each row's allowed entries, float32 (K, 1)."""
    n = allowed.sum(axis=1)
    return (X.sum(axis=1) / np.where(n > 0, n, 1)).astype(np.float32)[:, None]
