"""Short-time Fourier transform and its inverse, in float32, with scipy.fft on strided frames.

Conventions (as librosa): Hann window, frames centred at ``k * hop_length`` samples (the signal
is zero-padded by ``n_fft // 2`` on both sides), one-sided spectrum of ``n_fft // 2 + 1`` bins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class STFTConfig:
    """Analysis parameters: ``n_fft`` samples per window, ``hop_length`` samples between frames."""

    n_fft: int = 2048
    hop_length: int = 512

    def __post_init__(self) -> None:
        if self.n_fft < 16 or self.n_fft % 2:
            raise ValueError(f"n_fft must be an even number >= 16, got {self.n_fft}")
        if not 0 < self.hop_length <= self.n_fft // 2:
            raise ValueError(f"hop_length must be in 1..n_fft/2 ({self.n_fft // 2}), got {self.hop_length}")

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        return 1 + n_samples // self.hop_length

    @classmethod
    def for_rate(cls, sample_rate: int, *, window_s: float = 0.093, overlap: int = 4) -> "STFTConfig":
        """The power-of-two window closest to ``window_s`` seconds at ``sample_rate``, hop = n_fft / overlap."""
        n_fft = int(2 ** round(np.log2(max(16.0, sample_rate * window_s))))
        return cls(n_fft=n_fft, hop_length=n_fft // overlap)


def _window(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft(x: np.ndarray, cfg: STFTConfig) -> np.ndarray:
    """STFT of a mono signal.

    x: float array, shape (n_samples,). Returns complex64, shape (n_bins, n_frames) with
    ``n_frames = 1 + n_samples // hop_length``.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"stft expects a mono signal of shape (n,), got {x.shape}")
    pad = cfg.n_fft // 2
    xp = np.pad(x, (pad, pad))
    n_frames = cfg.n_frames(len(x))
    need = (n_frames - 1) * cfg.hop_length + cfg.n_fft
    if len(xp) < need:
        xp = np.pad(xp, (0, need - len(xp)))
    frames = sliding_window_view(xp, cfg.n_fft)[:: cfg.hop_length][:n_frames]
    win = _window(cfg.n_fft)
    return scipy.fft.rfft(frames * win, axis=1).T.astype(np.complex64, copy=False)


def istft(X: np.ndarray, cfg: STFTConfig, *, length: int) -> np.ndarray:
    """Inverse STFT by weighted overlap-add (least squares), exactly ``length`` samples.

    X: complex, shape (n_bins, n_frames). Returns float32, shape (length,).
    """
    if X.shape[0] != cfg.n_bins:
        raise ValueError(f"expected {cfg.n_bins} bins for n_fft={cfg.n_fft}, got {X.shape[0]}")
    win = _window(cfg.n_fft)
    frames = scipy.fft.irfft(X.T, n=cfg.n_fft, axis=1).astype(np.float32, copy=False) * win
    n_frames = frames.shape[0]
    pad = cfg.n_fft // 2
    total = (n_frames - 1) * cfg.hop_length + cfg.n_fft
    y = np.zeros(total, dtype=np.float32)
    wsum = np.zeros(total, dtype=np.float32)
    w2 = win * win
    hop = cfg.hop_length
    # Overlap-add in n_fft/hop passes of non-overlapping frames: vectorised, no Python loop per frame.
    step = cfg.n_fft // hop + (cfg.n_fft % hop > 0)
    for r in range(step):
        idx = np.arange(r, n_frames, step)
        if not len(idx):
            continue
        block = frames[idx]  # (m, n_fft)
        starts = idx * hop
        _add_disjoint(y, starts, block)
        _add_disjoint(wsum, starts, np.broadcast_to(w2, block.shape))
    y = y[pad: pad + length]
    wsum = wsum[pad: pad + length]
    out = np.zeros(length, dtype=np.float32)
    ok = wsum > 1e-8
    out[ok] = y[ok] / wsum[ok]
    return out


def _add_disjoint(buf: np.ndarray, starts: np.ndarray, block: np.ndarray) -> None:
    """buf[s:s+n] += block[i] for non-overlapping segments starting at ``starts``."""
    n = block.shape[1]
    if len(starts) > 1 and np.all(np.diff(starts) == starts[1] - starts[0]) and starts[1] - starts[0] >= n:
        stride = starts[1] - starts[0]
        m = len(starts)
        end = starts[0] + stride * m
        if end <= len(buf):
            view = buf[starts[0]: end].reshape(m, stride)
            view[:, :n] += block
            return
    for s, row in zip(starts, block):
        buf[s: s + n] += row


def stft_multi(x: np.ndarray, cfg: STFTConfig) -> np.ndarray:
    """STFT of every channel. x: (channels, n_samples) -> complex64 (channels, n_bins, n_frames)."""
    return np.stack([stft(ch, cfg) for ch in np.atleast_2d(x)])


def magnitude_mono(X: np.ndarray) -> np.ndarray:
    """Analysis magnitude of a multichannel STFT: mean of channel magnitudes, float32 (n_bins, n_frames)."""
    return np.mean(np.abs(X), axis=0).astype(np.float32, copy=False)
