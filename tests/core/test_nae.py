"""The score-informed nonnegative autoencoder: constraints, nonnegativity, monotone loss, one-pass inference."""

from __future__ import annotations

import time

import numpy as np
import pytest

from stemroll.core.constraints import build_constraints
from stemroll.core.nae import NAEResult, nae_encode, nae_steps
from stemroll.core.nmf import NMFResult, NMFStep, cost, nmf_steps, run, scale_activations
from stemroll.core.params import SeparationParams
from stemroll.core.spectral import STFTConfig, magnitude_mono, stft_multi
from tests.material import synth, two_hand_score


def score_shaped(seed: int = 0, *, n_bins: int = 120, K: int = 12, n_frames: int = 400):
    """V (n_bins, n_frames) from sparse nonnegative W (band-limited templates) and H (note windows),
    plus W0 / H0 with the same zero patterns, and a stretch of frames where no component may sound."""
    rng = np.random.default_rng(seed)
    W = np.zeros((n_bins, K), np.float32)
    for k in range(K):
        bins = rng.choice(n_bins, size=8, replace=False)
        W[bins, k] = rng.uniform(0.2, 1.0, 8)
    M = np.zeros((K, n_frames), bool)
    for k in range(K):
        for _ in range(3):
            t0 = int(rng.integers(0, n_frames - 60))
            M[k, t0: t0 + int(rng.integers(10, 50))] = True
    M[:, 180:200] = False  # silence in the score
    H = (rng.uniform(0.5, 1.5, M.shape) * M).astype(np.float32)
    V = (W @ H + 0.01 * rng.random((n_bins, n_frames))).astype(np.float32)
    W0 = np.where(W > 0, rng.uniform(0.5, 1.0, W.shape), 0).astype(np.float32)
    H0 = scale_activations(V, W0, M.astype(np.float32))
    return V, W0, H0


def train(V, W0, H0, **kw) -> tuple[NAEResult, list[NMFStep]]:
    steps: list[NMFStep] = []
    gen = nae_steps(V, W0, H0, **kw)
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        return stop.value, steps


def nmf_floor(V, W0, H0, divergence: str) -> float:
    """Where 200 NMF iterations end: free activations, so a lower loss than an autoencoder's."""
    return run(nmf_steps(V, W0, H0, divergence=divergence, iterations=200, tol=0)).costs[-1]


@pytest.mark.parametrize("divergence", ["kl", "euclidean"])
@pytest.mark.parametrize("rule", ["mu", "pgd"])
def test_constrained_zeros_stay_zero_and_nothing_is_negative(divergence, rule):
    V, W0, H0 = score_shaped(1)
    res, steps = train(V, W0, H0, divergence=divergence, iterations=30, tol=0, rule=rule)
    assert isinstance(res, NAEResult) and isinstance(res, NMFResult)
    assert res.W.shape == W0.shape and res.H.shape == H0.shape and res.encoder.shape == W0.T.shape
    assert res.W.dtype == res.H.dtype == res.encoder.dtype == np.float32
    assert np.all(res.W[W0 == 0] == 0), "a decoder entry outside its template band became nonzero"
    assert np.all(res.H[H0 == 0] == 0), "an activation outside the score's mask became nonzero"
    for name in ("W", "H", "encoder"):
        arr = getattr(res, name)
        assert np.all(np.isfinite(arr)) and arr.min() >= 0, name
    assert [s.iteration for s in steps] == list(range(30))
    assert res.W[W0 > 0].max() > 0 and res.H.max() > 0


@pytest.mark.parametrize("divergence", ["kl", "euclidean"])
def test_multiplicative_rules_decrease_the_loss_monotonically(divergence):
    V, W0, H0 = score_shaped(2)
    res, steps = train(V, W0, H0, divergence=divergence, iterations=60, tol=0, rule="mu")
    c = np.array(res.costs)
    assert len(c) == 61 and np.allclose(c[:-1], [s.cost for s in steps])
    rises = np.diff(c) / c[:-1]
    assert rises.max() <= 1e-6, f"loss rose by {rises.max():.2e} (relative) at iteration {rises.argmax() + 1}"
    # It gets most of the way to where NMF (free activations, so a lower floor) ends up.
    assert c[0] - c[-1] >= 0.9 * (c[0] - nmf_floor(V, W0, H0, divergence))
    # The reported loss is the loss of the returned factors (frames the score leaves empty included).
    assert res.costs[-1] == pytest.approx(cost(V, res.W @ res.H, divergence), rel=1e-4)


@pytest.mark.parametrize("divergence", ["kl", "euclidean"])
def test_projected_gradient_never_increases_the_loss(divergence):
    V, W0, H0 = score_shaped(3)
    res, _ = train(V, W0, H0, divergence=divergence, iterations=40, tol=0, rule="pgd")
    c = np.array(res.costs)
    assert np.all(np.diff(c) <= 1e-6 * c[:-1])
    assert c[0] - c[-1] >= 0.9 * (c[0] - nmf_floor(V, W0, H0, divergence))
    assert res.costs[-1] == pytest.approx(cost(V, res.W @ res.H, divergence), rel=1e-4)


def test_decoder_columns_have_unit_sum_and_encoder_reproduces_activations():
    V, W0, H0 = score_shaped(4)
    res = run(nae_steps(V, W0, H0, iterations=20))
    used = res.W.sum(axis=0) > 0
    assert np.allclose(res.W.sum(axis=0)[used], 1.0, atol=1e-5)
    H = nae_encode(res.encoder, V, H0 > 0)
    assert H.dtype == np.float32 and np.allclose(H, res.H, rtol=1e-5, atol=1e-7)
    assert np.allclose(nae_encode(res.encoder, V), res.encoder @ V, rtol=1e-5)


def test_tolerance_stops_early_and_cancel_is_just_not_asking():
    V, W0, H0 = score_shaped(5)
    res = run(nae_steps(V, W0, H0, iterations=500, tol=1e-3))
    assert res.converged and len(res.costs) < 500
    gen = nae_steps(V, W0, H0, iterations=500)
    first = [next(gen) for _ in range(3)]
    gen.close()
    assert [s.iteration for s in first] == [0, 1, 2] and first[2].cost <= first[0].cost


def test_errors_name_the_problem():
    V, W0, H0 = score_shaped(6)
    with pytest.raises(ValueError, match="divergence"):
        run(nae_steps(V, W0, H0, divergence="itakura"))
    with pytest.raises(ValueError, match="rule"):
        run(nae_steps(V, W0, H0, rule="adam"))
    with pytest.raises(ValueError, match="shapes do not match"):
        run(nae_steps(V, W0, H0[:, :-1]))
    with pytest.raises(ValueError, match="nonnegative"):
        run(nae_steps(-V, W0, H0))
    with pytest.raises(ValueError, match="does not fit"):
        nae_encode(np.ones((3, 7), np.float32), V)
    with pytest.raises(ValueError, match="mask must have shape"):
        nae_encode(np.ones((3, V.shape[0]), np.float32), V, np.ones((2, V.shape[1])))


def _spectrogram_and_constraints(bars: int):
    score = two_hand_score(bars, seed=3)
    sr, cfg, params = 22050, STFTConfig(2048, 512), SeparationParams()
    audio = synth(list(score.notes), sample_rate=sr, seed=3)[None, :]
    V = magnitude_mono(stft_multi(audio, cfg))
    cons = build_constraints(list(score.notes), list(score.groups), n_frames=V.shape[1], sample_rate=sr,
                             cfg=cfg, params=params, rng=np.random.default_rng(0))
    return V, cons.W0, scale_activations(V, cons.W0, cons.H0), params


def test_trained_encoder_decomposes_new_audio_ten_times_faster_than_nmf():
    """Train on the first half of a piece, decompose the second half in one pass; compare with NMF
    (the application's settings) on the second half. Both timed with time.perf_counter."""
    V, W0, H0, params = _spectrogram_and_constraints(8)  # 16 s: 1025 bins x ~690 frames
    h = V.shape[1] // 2
    trained = run(nae_steps(V[:, :h], W0, H0[:, :h], iterations=30))
    V2, H02 = np.ascontiguousarray(V[:, h:]), H0[:, h:]
    mask = H02 > 0
    t_encode = []
    for _ in range(3):
        t0 = time.perf_counter()
        H2 = nae_encode(trained.encoder, V2, mask)
        t_encode.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    nmf = run(nmf_steps(V2, W0, H02, divergence=params.divergence, iterations=params.iterations, tol=params.tol))
    t_nmf = time.perf_counter() - t0
    ratio = t_nmf / min(t_encode)
    assert ratio >= 10, (f"only {ratio:.1f}x: one-pass encoding took {min(t_encode) * 1e3:.1f} ms, "
                         f"NMF {t_nmf * 1e3:.1f} ms")
    assert np.all(H2[~mask] == 0) and H2.min() >= 0
    # ...and what was learnt on the first half carries over: on the unseen half the trained
    # encoder's loss is a small fraction of the untrained (matched-filter) encoder's.
    untrained = run(nae_steps(V[:, :h], W0, H0[:, :h], iterations=0))
    loss = cost(V2, trained.W @ H2, "kl")
    assert loss < 0.1 * cost(V2, untrained.W @ nae_encode(untrained.encoder, V2, mask), "kl")
    assert nmf.costs[-1] < loss  # NMF fits each frame freely: the price of one-pass speed
