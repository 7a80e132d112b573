"""STFT / inverse STFT: conventions, reconstruction, and the frame-range transforms."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.spectral import (STFTConfig, frames_for_samples, istft, istft_frames, magnitude_mono, stft,
                                    stft_frames, stft_multi)


def direct_stft(x: np.ndarray, cfg: STFTConfig) -> np.ndarray:
    """Textbook STFT: centred Hann frames of the zero-padded signal, one rfft per frame (float64)."""
    pad = cfg.n_fft // 2
    n_frames = 1 + len(x) // cfg.hop_length
    xp = np.zeros(len(x) + 2 * pad + cfg.n_fft, np.float64)
    xp[pad: pad + len(x)] = x
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.n_fft) / cfg.n_fft)
    return np.stack([np.fft.rfft(xp[k * cfg.hop_length: k * cfg.hop_length + cfg.n_fft] * win)
                     for k in range(n_frames)], axis=1)


@pytest.fixture
def signal():
    rng = np.random.default_rng(0)
    return rng.standard_normal(5000).astype(np.float32)


@pytest.mark.parametrize("n_fft,hop", [(256, 64), (512, 128), (64, 32), (100, 30)])
def test_stft_matches_the_textbook_definition(signal, n_fft, hop):
    cfg = STFTConfig(n_fft, hop)
    X = stft(signal, cfg)
    assert X.dtype == np.complex64 and X.shape == (cfg.n_bins, cfg.n_frames(len(signal)))
    np.testing.assert_allclose(X, direct_stft(signal, cfg), atol=2e-4 * np.sqrt(n_fft))


@pytest.mark.parametrize("n_fft,hop", [(256, 64), (512, 128), (64, 32), (100, 30)])
def test_istft_reconstructs_the_signal_exactly_at_its_length(signal, n_fft, hop):
    cfg = STFTConfig(n_fft, hop)
    for length in (len(signal), 4321, 77):
        y = istft(stft(signal[:length], cfg), cfg, length=length)
        assert y.dtype == np.float32 and y.shape == (length,)
        np.testing.assert_allclose(y, signal[:length], atol=1e-4)


def test_stft_frames_is_a_slice_of_the_whole_transform(signal):
    cfg = STFTConfig(256, 64)
    X = stft(signal, cfg)
    for a, b in [(0, 5), (3, 40), (70, X.shape[1]), (10, 10)]:
        np.testing.assert_allclose(stft_frames(signal, cfg, start=a, stop=b), X[:, a:b], atol=1e-5)
    np.testing.assert_allclose(stft_frames(signal, cfg, start=2, stop=60, chunk_frames=7), X[:, 2:60], atol=1e-5)
    with pytest.raises(ValueError, match="frame range"):
        stft_frames(signal, cfg, start=5, stop=2)


@pytest.mark.parametrize("n_fft,hop", [(256, 64), (100, 30)])
def test_istft_frames_pieces_equal_the_whole_inverse(signal, n_fft, hop):
    cfg = STFTConfig(n_fft, hop)
    rng = np.random.default_rng(1)
    X = stft(signal, cfg) * rng.uniform(0, 1, (cfg.n_bins, cfg.n_frames(len(signal)))).astype(np.float32)
    whole = istft(X, cfg, length=len(signal))
    pieces = []
    for s0 in range(0, len(signal), 700):
        s1 = min(len(signal), s0 + 700)
        k0, k1 = frames_for_samples(cfg, s0, s1, n_frames=X.shape[1])
        pieces.append(istft_frames(X[:, k0:k1], cfg, first_frame=k0, start=s0, length=s1 - s0))
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-5)


def test_frames_for_samples_covers_exactly_the_overlapping_frames():
    cfg = STFTConfig(256, 64)
    n_frames = 100
    for s0, s1 in [(0, 1), (500, 900), (6000, 6400)]:
        k0, k1 = frames_for_samples(cfg, s0, s1, n_frames=n_frames)
        overlapping = [k for k in range(n_frames) if k * 64 - 128 < s1 and k * 64 + 128 > s0]
        assert (k0, k1) == ((overlapping[0], overlapping[-1] + 1) if overlapping else (k0, k0))


def test_multichannel_helpers(signal):
    cfg = STFTConfig(256, 64)
    stereo = np.stack([signal, 0.5 * signal])
    X = stft_multi(stereo, cfg)
    assert X.shape == (2, cfg.n_bins, cfg.n_frames(len(signal)))
    V = magnitude_mono(X)
    assert V.dtype == np.float32
    np.testing.assert_allclose(V, 0.75 * np.abs(X[0]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="mono"):
        stft(stereo, cfg)
    with pytest.raises(ValueError, match="bins"):
        istft(X[0][:-1], cfg, length=10)


def test_config_validation_and_rate_choice():
    assert STFTConfig.for_rate(44100) == STFTConfig(4096, 1024)
    assert STFTConfig.for_rate(22050) == STFTConfig(2048, 512)
    with pytest.raises(ValueError, match="n_fft"):
        STFTConfig(15, 4)
    with pytest.raises(ValueError, match="hop_length"):
        STFTConfig(256, 200)
