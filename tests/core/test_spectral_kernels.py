"""The compiled spectral sweeps (``core.spectral_numba``) equal the NumPy passes they replace."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core import segments
from stemroll.core.constraints import RESIDUAL_GROUP
from stemroll.core.nmf_blocks import load_kernels, v_constant
from stemroll.core.segments import group_masks, magnitude, resynthesise
from stemroll.core.spectral import STFTConfig

pytestmark = pytest.mark.skipif(load_kernels() is None, reason="numba kernels are not available")
if load_kernels() is not None:
    from stemroll.core import spectral_numba as sn

CFG = STFTConfig(512, 128)


def test_half_bits_round_like_numpy_everywhere_in_the_range():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 0x477FE000, 2_000_000, dtype=np.int32)  # every positive float32 up to 65504
    edges = np.array([0.0, 65504.0, 65519.0, 65520.0, 1e30, 6.1035156e-05, 6.1e-05, 5.96e-08, 2.98e-08,
                      2.9802322e-08, 1.0, 1.00048828125, 1.000732421875, 2048.5, 2049.0], np.float32)
    x = np.concatenate([bits.view(np.float32), edges, rng.uniform(0, 1e-4, 100_000).astype(np.float32)])[None]
    out = np.empty(x.shape, np.uint16)
    sn.to_half_bits(x, out)
    np.testing.assert_array_equal(out, np.minimum(x, np.float32(65504)).astype(np.float16).view(np.uint16))


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_magnitude_sweep_equals_the_numpy_pass(monkeypatch, dtype, channels):
    x = np.random.default_rng(channels).standard_normal((channels, 20_000)).astype(np.float32) * 3e3
    fused = magnitude(x, CFG, segment_frames=33, threads=2, dtype=dtype)
    monkeypatch.setattr(segments, "fused_kernels", lambda: None)
    plain = magnitude(x, CFG, segment_frames=33, threads=2, dtype=dtype)
    assert fused.dtype == plain.dtype == dtype and fused.flags.f_contiguous
    np.testing.assert_allclose(fused.astype(np.float32), plain.astype(np.float32), rtol=2e-3 if dtype == np.float16
                               else 1e-5, atol=1e-4)
    if dtype == np.float16:
        assert np.isfinite(fused).all() and float(fused.max()) == 65504.0  # loud bins clipped, never inf


@pytest.mark.parametrize("power", [2.0, 1.0, 1.5])
def test_fused_resynthesis_equals_masks_times_spectra(monkeypatch, power):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 12_000)).astype(np.float32)
    n_frames = CFG.n_frames(x.shape[1])
    W = rng.uniform(0, 1, (CFG.n_bins, 6)).astype(np.float32)
    H = rng.uniform(0, 1, (6, n_frames)).astype(np.float32)
    H[1, :40] = 0
    groups = np.array([0, 0, 1, 1, RESIDUAL_GROUP, RESIDUAL_GROUP])
    masks = group_masks(W, H, groups, [0, 1], power=power)
    fused = resynthesise(x, CFG, masks, n_groups=2, segment_frames=29, threads=2)
    monkeypatch.setattr(segments, "fused_kernels", lambda: None)
    plain = resynthesise(x, CFG, masks, n_groups=2, segment_frames=29, threads=2)
    np.testing.assert_allclose(fused, plain, atol=2e-5)
    np.testing.assert_allclose(fused.sum(axis=0), x, atol=1e-5)  # the stems add up to the mix


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_kl_constant_equals_the_numpy_sum(dtype):
    V = np.asfortranarray(np.abs(np.random.default_rng(4).standard_normal((300, 700))).astype(dtype) * 4)
    V[:, 10] = 0  # silent frames: 0 log 0 counts as 0
    ref = 0.0
    for i in range(0, V.shape[1], 64):
        v = V[:, i: i + 64].astype(np.float64)
        ref += float(np.sum(v * np.log(v + 1e-10) - v))
    assert v_constant(V, kl=True) == pytest.approx(ref, rel=2e-7)


def test_prepare_loads_every_version_the_separation_calls():
    from stemroll.core import nmf_numba
    from stemroll.core.nmf_blocks import prepare_kernels

    on_disk = nmf_numba.compiled_on_disk()
    assert prepare_kernels() is on_disk
    if on_disk:  # every kernel is loaded in each type it is called with: no load waits in a separation
        for kernel, versions in nmf_numba._compiled_versions().items():
            assert len(kernel.signatures) >= versions, kernel
