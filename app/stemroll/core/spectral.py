"""Short-time Fourier transform and its inverse, in float32, with scipy.fft on strided frames.

Conventions (as librosa): Hann window, frames centred at ``k * hop_length`` samples (the signal
is zero-padded by ``n_fft // 2`` on both sides), one-sided spectrum of ``n_fft // 2 + 1`` bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


def _frames_span(cfg: STFTConfig, start: int, stop: int) -> tuple[int, int]:
    """Samples [a, b) of the unpadded signal that frames start..stop-1 read (may reach outside it)."""
    pad = cfg.n_fft // 2
    return start * cfg.hop_length - pad, (stop - 1) * cfg.hop_length - pad + cfg.n_fft


def stft_frames(x: np.ndarray, cfg: STFTConfig, *, start: int, stop: int, chunk_frames: int = 1024,
                workers: int = 1) -> np.ndarray:
    """Frames ``start .. stop-1`` of ``stft(x, cfg)`` without transforming the rest.

    x: float array (n_samples,) (a memory map works: only the samples those frames read are
    touched). Returns complex64 (n_bins, stop - start), Fortran-ordered (one contiguous spectrum
    per frame). Temporaries stay below ``chunk_frames`` frames; ``workers``: FFT threads.
    """
    if x.ndim != 1:
        raise ValueError(f"stft expects a mono signal of shape (n,), got {x.shape}")
    if not 0 <= start <= stop:
        raise ValueError(f"frame range must satisfy 0 <= start <= stop, got {start}, {stop}")
    win = _window(cfg.n_fft)

    def spectra(f0: int, f1: int) -> np.ndarray:
        a, b = _frames_span(cfg, f0, f1)
        if 0 <= a and b <= len(x) and x.dtype == np.float32:
            seg = x[a:b]  # inside the signal: the frames are views of it
        else:
            seg = np.zeros(b - a, np.float32)
            lo, hi = max(a, 0), min(b, len(x))
            if hi > lo:
                seg[lo - a: hi - a] = x[lo:hi]
        frames = sliding_window_view(seg, cfg.n_fft)[:: cfg.hop_length][: f1 - f0]
        return scipy.fft.rfft(frames * win, axis=1, workers=workers)

    if stop - start <= chunk_frames:  # one chunk: its spectra are the result (no copy)
        return (spectra(start, stop) if stop > start else np.empty((0, cfg.n_bins), np.complex64)).T
    out = np.empty((stop - start, cfg.n_bins), np.complex64)
    for f0 in range(start, stop, chunk_frames):
        f1 = min(stop, f0 + chunk_frames)
        out[f0 - start: f1 - start] = spectra(f0, f1)
    return out.T


def stft(x: np.ndarray, cfg: STFTConfig) -> np.ndarray:
    """STFT of a mono signal.

    x: float array, shape (n_samples,). Returns complex64, shape (n_bins, n_frames) with
    ``n_frames = 1 + n_samples // hop_length`` (Fortran-ordered).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"stft expects a mono signal of shape (n,), got {x.shape}")
    return stft_frames(x, cfg, start=0, stop=cfg.n_frames(len(x)))


def istft(X: np.ndarray, cfg: STFTConfig, *, length: int) -> np.ndarray:
    """Inverse STFT by weighted overlap-add (least squares), exactly ``length`` samples.

    X: complex, shape (n_bins, n_frames). Returns float32, shape (length,).
    """
    return istft_frames(X, cfg, first_frame=0, start=0, length=length)


def istft_frames(X: np.ndarray, cfg: STFTConfig, *, first_frame: int, start: int, length: int,
                 workers: int = 1, kernels=None) -> np.ndarray:
    """Samples ``start .. start+length-1`` of the inverse STFT, from frames ``first_frame ..``.

    X: complex (n_bins, m) holds frames ``first_frame .. first_frame+m-1``. The result equals
    ``istft(X_full, cfg, length=...)[start:start+length]`` when X holds every frame of X_full
    that overlaps those samples (frames ``k`` with ``k*hop - n_fft/2 < start + length`` and
    ``k*hop + n_fft/2 > start``; see ``frames_for_samples``). ``workers``: FFT threads;
    ``kernels``: ``core.spectral_numba`` to window and overlap-add in one sweep (or None).
    Returns float32 (length,).
    """
    if X.shape[0] != cfg.n_bins:
        raise ValueError(f"expected {cfg.n_bins} bins for n_fft={cfg.n_fft}, got {X.shape[0]}")
    n_fft, hop = cfg.n_fft, cfg.hop_length
    win = _window(n_fft)
    n_frames = X.shape[1]
    origin = first_frame * hop - n_fft // 2  # unpadded sample index of the local buffer's first sample
    total = (n_frames - 1) * hop + n_fft if n_frames else 0
    frames = scipy.fft.irfft(np.asarray(X, np.complex64).T, n=n_fft, axis=1, workers=workers)
    frames = frames.astype(np.float32, copy=False)
    step = -(-n_fft // hop)
    stride = step * hop
    y = np.zeros(total + stride, dtype=np.float32)
    if kernels is not None:
        kernels.overlap_add(frames, win, y, hop)
    else:
        frames *= win
        # Overlap-add in passes of frames that do not overlap each other: each pass is one strided add.
        for r in range(min(step, n_frames)):
            part = frames[r::step]
            view = slice(r * hop, r * hop + stride * len(part))
            y[view].reshape(len(part), stride)[:, :n_fft] += part
    wsum = _window_sum_cached(n_fft, hop, n_frames) if n_frames <= 4096 else _window_sum(n_fft, hop, n_frames)
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(start, origin), min(start + length, origin + total)
    if hi > lo:
        yy = y[lo - origin: hi - origin]
        ww = wsum[lo - origin: hi - origin]
        np.divide(yy, ww, out=out[lo - start: hi - start], where=ww > 1e-8)
    return out


def _window_sum(n_fft: int, hop: int, n_frames: int) -> np.ndarray:
    """Sum of the squared windows of n_frames frames overlap-added (float32)."""
    total = (n_frames - 1) * hop + n_fft if n_frames else 0
    step = -(-n_fft // hop)
    stride = step * hop
    wsum = np.zeros(total + stride, dtype=np.float32)
    w2 = _window(n_fft) ** 2
    for r in range(min(step, n_frames)):
        m = len(range(r, n_frames, step))
        wsum[r * hop: r * hop + stride * m].reshape(m, stride)[:, :n_fft] += w2
    return wsum


@lru_cache(maxsize=16)
def _window_sum_cached(n_fft: int, hop: int, n_frames: int) -> np.ndarray:
    """``_window_sum`` for segment-sized ranges (at most 4096 frames), cached and read-only."""
    wsum = _window_sum(n_fft, hop, n_frames)
    wsum.flags.writeable = False
    return wsum


def frames_for_samples(cfg: STFTConfig, start: int, stop: int, *, n_frames: int) -> tuple[int, int]:
    """The range [k0, k1) of the n_frames frames whose windows overlap samples [start, stop)."""
    hop, pad = cfg.hop_length, cfg.n_fft // 2
    k0 = max(0, -(-(start + pad - cfg.n_fft + 1) // hop))
    k1 = min(n_frames, (stop - 1 + pad) // hop + 1)
    return k0, max(k0, k1)


def stft_multi(x: np.ndarray, cfg: STFTConfig) -> np.ndarray:
    """STFT of every channel. x: (channels, n_samples) -> complex64 (channels, n_bins, n_frames)."""
    return np.stack([stft(ch, cfg) for ch in np.atleast_2d(x)])


def magnitude_mono(X: np.ndarray) -> np.ndarray:
    """Analysis magnitude of a multichannel STFT: mean of channel magnitudes, float32 (n_bins, n_frames)."""
    return np.mean(np.abs(X), axis=0).astype(np.float32, copy=False)
