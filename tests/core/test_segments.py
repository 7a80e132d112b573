"""Segment-by-segment analysis and resynthesis equal the whole-recording transforms."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.constraints import RESIDUAL_GROUP
from stemroll.core.segments import group_masks, magnitude, resynthesis_blocks, resynthesise
from stemroll.core.separation import soft_masks
from stemroll.core.spectral import STFTConfig, istft, magnitude_mono, stft_multi

CFG = STFTConfig(256, 64)


@pytest.fixture
def stereo():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 9000)).astype(np.float32)


def factors(n_frames: int, seed: int = 1):
    """W (bins, 7) and H (7, frames) with zero runs; components in groups 0, 1 and the residual."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(0, 1, (CFG.n_bins, 7)).astype(np.float32)
    H = rng.uniform(0, 1, (7, n_frames)).astype(np.float32)
    H[0, : n_frames // 2] = 0
    H[3, n_frames // 3:] = 0
    H[4] = 0  # a component that never sounds
    groups = np.array([0, 0, 1, 1, 1, RESIDUAL_GROUP, RESIDUAL_GROUP])
    return W, H, groups


def test_magnitude_by_segments_equals_the_whole_transform(stereo):
    ref = magnitude_mono(stft_multi(stereo, CFG))
    V = magnitude(stereo, CFG, segment_frames=17, threads=3)
    assert V.dtype == np.float32 and V.shape == ref.shape and V.flags.f_contiguous
    np.testing.assert_allclose(V, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(magnitude(stereo[0], CFG), magnitude_mono(stft_multi(stereo[:1], CFG)), atol=1e-5)


@pytest.mark.parametrize("power", [1.0, 2.0, 1.5])
def test_group_masks_equal_soft_masks_on_any_frame_range(power):
    W, H, groups = factors(100)
    ref = soft_masks(W, H, groups, [0, 1], power=power)
    masks = group_masks(W, H, groups, [0, 1], power=power)
    np.testing.assert_allclose(masks(0, 100), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(masks(30, 61), ref[:, :, 30:61], rtol=1e-5, atol=1e-6)
    assert masks(10, 12).shape == (2, CFG.n_bins, 2)


@pytest.mark.parametrize("segment_frames", [1, 7, 64, 1000])
def test_resynthesis_blocks_equal_the_whole_recording_separation(stereo, segment_frames):
    n = stereo.shape[1]
    X = stft_multi(stereo, CFG)
    W, H, groups = factors(X.shape[2])
    full_masks = soft_masks(W, H, groups, [0, 1], power=2.0)
    ref = np.stack([np.stack([istft(X[c] * full_masks[g], CFG, length=n) for c in range(2)]) for g in range(2)])
    masks = group_masks(W, H, groups, [0, 1], power=2.0)
    starts, blocks = [], []
    for s0, block in resynthesis_blocks(stereo, CFG, masks, n_groups=2, segment_frames=segment_frames):
        assert block.dtype == np.float32 and block.shape[:2] == (3, 2)
        starts.append(s0)
        blocks.append(block)
    assert starts[0] == 0 and all(b == a + blk.shape[2] for a, b, blk in zip(starts, starts[1:], blocks))
    stems = np.concatenate(blocks, axis=2)
    assert stems.shape == (3, 2, n)
    np.testing.assert_allclose(stems[:2], ref, atol=1e-4)
    np.testing.assert_allclose(stems.sum(axis=0), stereo, atol=1e-5)  # stems add back up to the mix


def test_resynthesise_reads_a_memory_map_and_checks_mask_shapes(stereo, tmp_path):
    path = tmp_path / "mix.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=stereo.shape)
    mm[:] = stereo
    mm.flush()
    ro = np.memmap(path, dtype=np.float32, mode="r", shape=stereo.shape)
    W, H, groups = factors(CFG.n_frames(stereo.shape[1]))
    masks = group_masks(W, H, groups, [0, 1], power=2.0)
    a = resynthesise(ro, CFG, masks, n_groups=2, segment_frames=50, threads=2)
    b = resynthesise(stereo, CFG, masks, n_groups=2, segment_frames=50)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="masks for frames"):
        resynthesise(stereo, CFG, masks, n_groups=3)


def test_ordered_map_keeps_order_and_bounds_the_results_in_flight():
    import threading
    import time

    from stemroll.core.segments import ordered_map

    running, peak, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.002 * (i % 3))
        with lock:
            running[0] -= 1
        return i * i

    assert list(ordered_map(work, range(20), threads=3)) == [i * i for i in range(20)]
    assert peak[0] <= 3
    assert list(ordered_map(work, range(5))) == [0, 1, 4, 9, 16]
