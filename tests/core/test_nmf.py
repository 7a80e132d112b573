"""The block engine against the dense reference update, on random and score-shaped problems."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from stemroll.core.constraints import build_constraints
from stemroll.core.nmf import (NMFStep, cost, nmf_dense_steps, nmf_steps, plan_blocks, run, scale_activations)
from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup
from stemroll.core.spectral import STFTConfig

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed"))]
DIVERGENCES = ["kl", "euclidean"]


def random_problem(seed: int = 0, F: int = 96, N: int = 300, K: int = 12):
    """Random V and factors whose zeros are random runs in H and random bands in W."""
    rng = np.random.default_rng(seed)
    W0 = rng.uniform(0.1, 1.0, (F, K)).astype(np.float32)
    H0 = rng.uniform(0.1, 1.0, (K, N)).astype(np.float32)
    for k in range(K - 1):  # the last component stays dense, like a residual
        W0[: rng.integers(0, F // 2), k] = 0
        H0[k, rng.random(N) < 0.5] = 0
        a = rng.integers(0, N - 40)
        H0[k, a: a + rng.integers(5, 40)] = 0
    V = rng.gamma(1.0, 1.0, (F, N)).astype(np.float32) * (rng.random((F, N)) < 0.9)
    return V.astype(np.float32), W0, H0


def score_problem(seed: int = 0, duration_s: float = 8.0):
    """A two-group score's constraints (sparse, banded) and a V made from a perturbed model."""
    rng = np.random.default_rng(seed)
    notes, nid = [], 0
    for g, base in ((0, 60), (1, 40)):
        t = 0.0
        while t < duration_s - 0.6:
            notes.append(Note(nid, base + int(rng.integers(0, 12)), t, t + float(rng.uniform(0.2, 0.8)), 80, g))
            nid += 1
            t += float(rng.uniform(0.15, 0.6))
    cfg = STFTConfig(512, 128)
    sr = 11025
    n_frames = cfg.n_frames(int(duration_s * sr))
    cons = build_constraints(notes, [NoteGroup(0, "a"), NoteGroup(1, "b")], n_frames=n_frames, sample_rate=sr,
                             cfg=cfg, params=SeparationParams(), rng=rng)
    Wt = cons.W0 * rng.uniform(0.5, 1.5, cons.W0.shape).astype(np.float32)
    Ht = cons.H0 * rng.uniform(0.0, 1.0, cons.H0.shape).astype(np.float32)
    V = (Wt @ Ht + 1e-3 * rng.random((cfg.n_bins, n_frames))).astype(np.float32)
    return V, cons.W0, scale_activations(V, cons.W0, cons.H0)


PROBLEMS = {"random": random_problem, "score": score_problem}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("divergence", DIVERGENCES)
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_block_engine_matches_dense_reference(problem, divergence, backend):
    V, W0, H0 = PROBLEMS[problem]()
    ref = run(nmf_dense_steps(V, W0, H0, divergence=divergence, iterations=25, tol=0))
    res = run(nmf_steps(V, W0, H0, divergence=divergence, iterations=25, tol=0, backend=backend))
    assert len(res.costs) == len(ref.costs) == 26
    np.testing.assert_allclose(res.costs, ref.costs, rtol=2e-4)
    np.testing.assert_allclose(res.W, ref.W, rtol=2e-3, atol=2e-4 * ref.W.max())
    np.testing.assert_allclose(res.H, ref.H, rtol=2e-3, atol=2e-4 * ref.H.max())
    np.testing.assert_allclose(res.W @ res.H, ref.W @ ref.H, rtol=2e-3, atol=1e-4 * float(V.max()))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_zeros_stay_zero_values_nonnegative_cost_decreases(divergence, backend):
    V, W0, H0 = score_problem(seed=3)
    res = run(nmf_steps(V, W0, H0, divergence=divergence, iterations=30, tol=0, backend=backend))
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    assert not res.W[W0 == 0].any() and not res.H[H0 == 0].any()
    assert (res.W >= 0).all() and (res.H >= 0).all()
    assert np.isfinite(res.W).all() and np.isfinite(res.H).all()
    c = np.asarray(res.costs)
    assert (np.diff(c) <= 1e-5 * c[:-1]).all(), "cost went up"
    assert c[-1] < 0.5 * c[0]
    np.testing.assert_allclose(res.W.sum(axis=0)[W0.any(axis=0)], 1.0, rtol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_stops_on_tolerance_like_the_reference(backend):
    V, W0, H0 = random_problem(seed=1)
    ref = run(nmf_dense_steps(V, W0, H0, iterations=500, tol=1e-3))
    res = run(nmf_steps(V, W0, H0, iterations=500, tol=1e-3, backend=backend))
    assert ref.converged and res.converged
    assert abs(len(res.costs) - len(ref.costs)) <= 1
    np.testing.assert_allclose(res.costs[-1], ref.costs[-1], rtol=1e-3)


def test_steps_report_cost_before_each_update_and_cancel_keeps_start():
    V, W0, H0 = random_problem(seed=2)
    gen = nmf_steps(V, W0, H0, iterations=10)
    first = next(gen)
    assert isinstance(first, NMFStep) and first.iteration == 0 and first.cost_fresh
    ref = run(nmf_dense_steps(V, W0, H0, iterations=0))
    np.testing.assert_allclose(first.cost, ref.costs[0], rtol=1e-5)
    gen.close()  # a consumer that stops asking: nothing else runs, nothing raises


def test_cost_every_repeats_the_last_value():
    V, W0, H0 = random_problem(seed=4)
    steps = []
    gen = nmf_steps(V, W0, H0, iterations=7, tol=0, cost_every=3)
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        res = stop.value
    assert [s.cost_fresh for s in steps] == [True, False, False, True, False, False, True]
    assert steps[1].cost == steps[2].cost == steps[0].cost
    full = run(nmf_steps(V, W0, H0, iterations=7, tol=0))
    np.testing.assert_allclose([steps[i].cost for i in (0, 3, 6)], [full.costs[i] for i in (0, 3, 6)], rtol=1e-5)
    np.testing.assert_allclose(res.H, full.H, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fortran_ordered_V_gives_the_same_result(backend):
    V, W0, H0 = score_problem(seed=5, duration_s=4.0)
    a = run(nmf_steps(V, W0, H0, iterations=5, backend=backend))
    b = run(nmf_steps(np.asfortranarray(V), W0, H0, iterations=5, backend=backend))
    np.testing.assert_allclose(a.H, b.H, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(a.costs, b.costs, rtol=1e-6)


@pytest.mark.parametrize("min_frames", [1, 4])
def test_plan_covers_every_nonzero_activation(min_frames):
    V, W0, H0 = score_problem(seed=6)
    plan = plan_blocks(H0, n_bins=V.shape[0], min_frames=min_frames, max_frames=32)
    assert plan.bounds[0] == 0 and plan.bounds[-1] == H0.shape[1]
    assert (np.diff(plan.bounds) > 0).all() and plan.max_frames <= 32
    covered = np.zeros(H0.shape, bool)
    for n0, n1, A in plan.blocks:
        covered[A, n0:n1] = True
    assert covered[H0 > 0].all()
    assert plan.density < 0.5  # the score's zeros are skipped


def test_dense_engine_is_still_available_and_options_are_checked():
    V, W0, H0 = random_problem(seed=7, F=16, N=60, K=3)
    a = run(nmf_steps(V, W0, H0, iterations=3, engine="dense"))
    b = run(nmf_dense_steps(V, W0, H0, iterations=3))
    np.testing.assert_array_equal(a.H, b.H)
    with pytest.raises(ValueError, match="engine"):
        run(nmf_steps(V, W0, H0, engine="gpu"))
    with pytest.raises(ValueError, match="cost_every"):
        run(nmf_steps(V, W0, H0, cost_every=0))
    with pytest.raises(ValueError, match="divergence"):
        run(nmf_steps(V, W0, H0, divergence="is"))
    with pytest.raises(ValueError, match="shapes"):
        run(nmf_steps(V[:, :10], W0, H0))
    with pytest.raises(ValueError, match="nonnegative"):
        run(nmf_steps(-V, W0, H0))


def test_no_components_and_empty_frames():
    V = np.ones((8, 5), np.float32)
    res = run(nmf_steps(V, np.zeros((8, 0), np.float32), np.zeros((0, 5), np.float32), iterations=2))
    ref = run(nmf_dense_steps(V, np.zeros((8, 0), np.float32), np.zeros((0, 5), np.float32), iterations=2))
    np.testing.assert_allclose(res.costs, ref.costs, rtol=1e-5)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
@pytest.mark.parametrize("divergence", DIVERGENCES)
def test_threads_split_the_blocks_without_changing_the_result(divergence):
    V, W0, H0 = score_problem(seed=8)
    one = run(nmf_steps(V, W0, H0, divergence=divergence, iterations=10, tol=0, n_threads=1))
    two = run(nmf_steps(V, W0, H0, divergence=divergence, iterations=10, tol=0, n_threads=2))
    np.testing.assert_allclose(two.costs, one.costs, rtol=1e-4)
    np.testing.assert_allclose(two.H, one.H, rtol=1e-4, atol=1e-6 * one.H.max())


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
def test_kernels_load_from_the_disk_cache_and_read_only_input_works():
    from stemroll.core import nmf_numba
    from stemroll.core.nmf_blocks import load_kernels

    assert load_kernels() is nmf_numba
    assert nmf_numba.compiled_on_disk()  # compiled once (in a child process when the cache was cold)
    V, W0, H0 = score_problem(seed=9, duration_s=3.0)
    ref = run(nmf_steps(V, W0, H0, iterations=3))
    Vf = np.asfortranarray(V)
    Vf.flags.writeable = False
    res = run(nmf_steps(Vf, W0, H0, iterations=3))
    np.testing.assert_allclose(res.costs, ref.costs, rtol=1e-6)


@pytest.mark.parametrize("engine", ["blocks", "dense"])
def test_each_step_carries_the_model_its_cost_is_of(engine):
    """The teaching window draws W and H live from the steps: they must be the model whose cost
    the step reports (before that iteration's update)."""
    V, W0, H0 = random_problem(3)
    gen = nmf_steps(V, W0, H0, divergence="kl", iterations=4, tol=0, engine=engine)
    for step in gen:
        assert step.W.shape == W0.shape and step.H.shape == H0.shape
        assert step.cost == pytest.approx(cost(V, step.W @ step.H, "kl"), rel=1e-4)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")
def test_compiled_passes_flush_denormals_only_while_they_run():
    """The kernels count denormal entries as zero (flush-to-zero while they run) and give the
    thread's floating-point mode back: NumPy afterwards still has IEEE denormals."""
    from stemroll.core.informed_nmf import informed_nmf_steps

    V, W0, H0 = score_problem(seed=8, duration_s=3.0)
    W0 = W0.copy()
    W0[W0 > 0] = np.maximum(W0[W0 > 0], np.float32(1e-3))
    W0[5, W0[5] > 0] = np.float32(1e-40)  # one bin of denormals in every template that covers it
    groups = np.arange(W0.shape[1]) % 3
    for gen in (nmf_steps(V, W0, H0, iterations=3, tol=0, backend="numba"),
                informed_nmf_steps(V, W0, H0, groups, iterations=3, tol=0, backend="numba")):
        res = run(gen)
        assert np.isfinite(res.costs).all() and np.isfinite(res.W).all() and np.isfinite(res.H).all()
        assert np.float32(1e-20) * np.float32(1e-20) > 0  # 1e-40: still a denormal for NumPy here
