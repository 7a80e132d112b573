"""The focused template pass of the compiled engine (informed_numba.w_focus_kl) against the NumPy
pass, one update at a time, on groups of one to seven active templates whose supports overlap,
nest or are disjoint, with up to five groups covering every bin at once."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.informed_passes import CompiledPasses, NumpyPasses


def _problem(seed: int):
    rng = np.random.default_rng(seed)
    bins, frames, k = 300, 160, 24
    V = rng.random((bins, frames)).astype(np.float32) + np.float32(0.05)
    W0 = np.zeros((bins, k), np.float32)
    for j in range(k):
        if j % 5 == 4 or j % 6 == 0:  # dense: the residual's and one onset-like template of each part
            W0[:, j] = rng.random(bins) + 0.1
        else:  # a band somewhere: neighbours overlap, nest or lie apart
            lo = int(rng.integers(0, bins - 40))
            hi = int(rng.integers(lo + 5, min(bins, lo + 200)))
            W0[lo:hi, j] = rng.random(hi - lo) + 0.1
    H0 = np.zeros((k, frames), np.float32)
    groups = np.arange(k) % 6 - 1  # five parts and a residual (-1), which sounds throughout
    for j in range(k):  # note-like spans, some frames with many notes of one group sounding
        if groups[j] < 0:
            H0[j] = rng.random(frames) + 0.1
            continue
        for _ in range(3):
            a = int(rng.integers(0, frames - 10))
            H0[j, a: a + int(rng.integers(4, 50))] = rng.random() + 0.1
    return V, W0, H0, groups


@pytest.mark.parametrize("focus", [2.0, 1.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_template_pass_matches_numpy(focus, seed):
    pytest.importorskip("numba")
    from stemroll.core import nmf_numba

    V, W0, H0, groups = _problem(seed)
    K = W0.shape[1]
    results = []
    for make in (lambda WTx: NumpyPasses(V, WTx, H0, groups, focus=focus, block_frames=16),
                 lambda WTx: CompiledPasses(nmf_numba, V, WTx, H0, groups, focus=focus, n_threads=1)):
        WTx = np.zeros((K + 1, V.shape[0]), np.float32)
        WTx[:-1] = W0.T
        passes = make(WTx)
        for _ in range(3):  # the templates move: shares change between updates
            passes.w(H0)
        passes.close()
        results.append(WTx[:-1].copy())
    ref, got = results
    assert np.abs(ref - W0.T).max() > 1e-2  # the updates did something
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=1e-6 * ref.max())
    assert not got[W0.T == 0].any()
