"""The group-focused KL engine (core.informed_nmf): equal to the plain updates at focus 0, keeps the
score's zeros, reports the true cost, and keeps a quiet part's template from absorbing a loud one."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.informed_nmf import informed_nmf_steps, plan_frame_blocks
from stemroll.core.nmf import cost, nmf_dense_steps, run


def _problem(seed: int = 0, bins: int = 40, frames: int = 120, k: int = 6):
    rng = np.random.default_rng(seed)
    V = rng.random((bins, frames)).astype(np.float32)
    W0 = rng.random((bins, k)).astype(np.float32)
    W0[W0 < 0.3] = 0
    H0 = rng.random((k, frames)).astype(np.float32)
    H0[:, 50:70] = 0  # frames no component may explain
    H0[0, :30] = 0
    return V, W0, H0, np.array([0, 0, 1, 1, 2, 2])


def test_focus_zero_is_the_plain_kl_update():
    V, W0, H0, groups = _problem()
    ref = run(nmf_dense_steps(V, W0, H0, iterations=15, tol=0))
    got = run(informed_nmf_steps(V, W0, H0, groups, iterations=15, tol=0, focus=0.0, block_frames=17))
    np.testing.assert_allclose(got.W, ref.W, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(got.H, ref.H, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(got.costs, ref.costs, rtol=1e-5)


@pytest.mark.parametrize("focus", [1.0, 2.0, 3.5])
def test_zeros_stay_zero_templates_keep_unit_sum_and_the_cost_is_exact(focus):
    V, W0, H0, groups = _problem(1)
    steps = []
    gen = informed_nmf_steps(V, W0, H0, groups, iterations=12, tol=0, focus=focus)
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        res = stop.value
    assert res.W.shape == W0.shape and res.H.shape == H0.shape
    assert res.W.dtype == np.float32 and res.H.dtype == np.float32
    assert not res.W[W0 == 0].any() and not res.H[H0 == 0].any()
    assert (res.W >= 0).all() and (res.H >= 0).all()
    np.testing.assert_allclose(res.W.sum(axis=0), 1.0, rtol=1e-5)
    assert res.costs[-1] == pytest.approx(cost(V, res.W @ res.H, "kl"), rel=1e-5)
    assert [s.iteration for s in steps] == list(range(12))
    assert res.costs[-1] < res.costs[0]


def test_cost_every_repeats_the_last_cost_and_is_deterministic():
    V, W0, H0, groups = _problem(2)
    a = run(informed_nmf_steps(V, W0, H0, groups, iterations=10, tol=0, cost_every=4))
    b = run(informed_nmf_steps(V, W0, H0, groups, iterations=10, tol=0, cost_every=1))
    again = run(informed_nmf_steps(V, W0, H0, groups, iterations=10, tol=0, cost_every=4))
    assert a.costs[1] == a.costs[0] and a.costs[4] == pytest.approx(b.costs[4], rel=1e-6)
    # the compiled pass fuses the ratio differently when it also computes the cost: float rounding only
    np.testing.assert_allclose(a.W, b.W, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(a.H, b.H, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(a.W, again.W)
    np.testing.assert_array_equal(a.H, again.H)
    assert a.costs == again.costs


def test_without_costs_the_updates_are_the_same():
    V, W0, H0, groups = _problem(2)
    a = run(informed_nmf_steps(V, W0, H0, groups, iterations=6, tol=0, cost_every=7))
    b = run(informed_nmf_steps(V, W0, H0, groups, iterations=6, tol=0, costs=False))
    assert len(b.costs) == 7 and np.isnan(b.costs).all()
    np.testing.assert_allclose(a.W, b.W, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(a.H, b.H, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("half", [False, True])
@pytest.mark.parametrize("focus", [0.0, 1.0, 2.0, 3.5])
def test_compiled_and_numpy_passes_agree(focus, half):
    """The numba kernels (block plan cut where the active set changes, templates' bin supports,
    float16 read through its bits) give the NumPy passes' result to float tolerance, on a
    score-shaped problem: notes with onsets and offsets, templates zero outside bands."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(7)
    bins, frames, k = 200, 700, 16
    V = rng.random((bins, frames)).astype(np.float32)
    W0 = np.zeros((bins, k), np.float32)
    for j in range(k):  # harmonic-like bands from a first partial up, or a dense template
        if j % 4 == 3:
            W0[:, j] = rng.random(bins)
        else:
            f0 = 5 + 3 * j
            for h in range(1, 12):
                W0[f0 * h - 1: f0 * h + 2, j] = rng.random(3) if f0 * h + 2 <= bins else 0
    H0 = np.zeros((k, frames), np.float32)
    for j in range(k):
        for _ in range(4):
            a = int(rng.integers(0, frames - 60))
            H0[j, a: a + int(rng.integers(20, 120))] = rng.random()
    groups = np.arange(k) % 5 - 1  # four parts and a residual (-1)
    if half:
        V = V.astype(np.float16)
    ref = run(informed_nmf_steps(V, W0, H0, groups, iterations=8, tol=0, focus=focus, backend="numpy"))
    got = run(informed_nmf_steps(V, W0, H0, groups, iterations=8, tol=0, focus=focus, backend="numba"))
    np.testing.assert_allclose(got.W, ref.W, rtol=1e-3, atol=1e-6 * ref.W.max())
    np.testing.assert_allclose(got.H, ref.H, rtol=1e-3, atol=1e-6 * ref.H.max())
    np.testing.assert_allclose(got.costs, ref.costs, rtol=1e-5)
    assert not got.W[W0 == 0].any() and not got.H[H0 == 0].any()


def test_fixed_activations_only_move_templates():
    V, W0, H0, groups = _problem(3)
    res = run(informed_nmf_steps(V, W0, H0 * 2, groups, iterations=5, tol=0, update_H=False))
    ratio = res.H[H0 > 0] / (2 * H0[H0 > 0])
    rows = np.broadcast_to(np.arange(H0.shape[0])[:, None], H0.shape)[H0 > 0]
    for k in range(H0.shape[0]):  # each row only rescaled (the templates' unit-sum normalisation)
        np.testing.assert_allclose(ratio[rows == k], ratio[rows == k][0], rtol=1e-5)
    assert not np.allclose(res.W, W0 / W0.sum(axis=0))


def test_a_template_learns_little_from_cells_another_part_dominates():
    # Part B's template covers bin 10, where a loud part A also sounds. B is heard alone in the
    # first half; in the second, A joins and the data at bin 10 disagree with A's template (A is
    # louder there). The plain update averages B's bin-10 ratio over all its frames and
    # moves with A's misfit; the focused one learns from the frames B dominates and hardly moves.
    bins, frames = 16, 100
    rng = np.random.default_rng(4)
    hA = (10 + 10 * rng.random(frames)).astype(np.float32)
    hA[:50] = 0
    hB = (0.5 + rng.random(frames)).astype(np.float32)
    wA = np.zeros(bins, np.float32)
    wA[9:12] = [0.3, 0.4, 0.3]
    wB = np.zeros(bins, np.float32)
    wB[[4, 10]] = [0.8, 0.2]
    V = np.outer(wA, hA) + np.outer(wB, hB) + 0.01
    V[10, 50:] *= 1.5  # A is louder at bin 10 than its template says
    W0 = np.stack([wA, wB], axis=1)
    H0 = np.stack([hA, hB])
    groups = np.array([0, 1])

    def moved(focus: float) -> float:
        res = run(informed_nmf_steps(V, W0, H0, groups, iterations=1, tol=0, focus=focus, update_H=False))
        return abs(float(res.W[10, 1]) - 0.2)

    assert moved(2.0) < 0.3 * moved(0.0)


def test_frame_blocks_skip_silent_frames_and_split_by_group():
    H0 = np.zeros((4, 10), np.float32)
    H0[0, :3] = 1
    H0[2, 2:5] = 1
    H0[3, 8:] = 1
    blocks = plan_frame_blocks(H0, np.array([0, 0, 1, 1]), block_frames=3)
    assert blocks.bounds == ((0, 3), (3, 6), (6, 9), (9, 10))
    assert [a.tolist() for a in blocks.active] == [[0, 2], [2], [3], [3]]
    assert [[p.tolist() for p in parts] for parts in blocks.by_group][0] == [[0], [2]]
    with pytest.raises(ValueError, match="block_frames"):
        plan_frame_blocks(H0, np.array([0, 0, 1, 1]), block_frames=0)


def test_bad_inputs_are_named():
    V, W0, H0, groups = _problem()
    with pytest.raises(ValueError, match="component groups"):
        run(informed_nmf_steps(V, W0, H0, groups[:-1]))
    with pytest.raises(ValueError, match="focus"):
        run(informed_nmf_steps(V, W0, H0, groups, focus=-1.0))
    with pytest.raises(ValueError, match="shapes"):
        run(informed_nmf_steps(V[:-1], W0, H0, groups))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_a_negative_spectrogram_value_is_refused_in_either_precision(dtype):
    V, W0, H0, groups = _problem(2)
    V = V.astype(dtype)
    run(informed_nmf_steps(V, W0, H0, groups, iterations=1))  # zeros and positives are fine
    V[7, 90] = -0.5
    with pytest.raises(ValueError, match="nonnegative"):
        run(informed_nmf_steps(V, W0, H0, groups, iterations=1))
