"""Where the separation reads a recording's samples from: an array in memory, or anything that reads blocks.

The analysis and the resynthesis (``core.segments``) only ever need the samples under the frames
in flight, so they read them through a ``Samples`` source: ``ArraySamples`` wraps a float array
(channels, n_samples) or a memory map; ``io.audio.FileSamples`` reads blocks from the audio file
itself, so a long recording is never held whole. ``read_frames`` and ``block_stft`` give the spectra
of a range of frames; they equal the corresponding frames of ``spectral.stft``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .spectral import STFTConfig, stft_frames


@runtime_checkable
class Samples(Protocol):
    """A recording of ``channels`` x ``n_samples`` samples that can be read in blocks."""

    @property
    def channels(self) -> int: ...

    @property
    def n_samples(self) -> int: ...

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start .. stop-1``: float32 (channels, stop - start), zeros outside 0 .. n_samples-1.

        Must be safe to call from several threads at once.
        """
        ...


class ArraySamples:
    """``Samples`` over an array (channels, n_samples) or (n_samples,) (mono), kept as it is (no copy)."""

    def __init__(self, audio: np.ndarray):
        if audio.ndim == 1:
            audio = audio[None, :]
        if audio.ndim != 2:
            raise ValueError(f"audio must have shape (channels, n_samples), got {audio.shape}")
        self.audio = audio

    @property
    def channels(self) -> int:
        return self.audio.shape[0]

    @property
    def n_samples(self) -> int:
        return self.audio.shape[1]

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.zeros((self.channels, max(0, stop - start)), np.float32)
        lo, hi = max(start, 0), min(stop, self.n_samples)
        if hi > lo:
            out[:, lo - start: hi - start] = self.audio[:, lo:hi]
        return out


def as_samples(audio, *, dtype=None) -> Samples:
    """``audio`` itself when it is a ``Samples`` source, else ``ArraySamples(audio)`` (an array or
    memory map, (channels, n_samples) or (n_samples,)); ``dtype`` converts an array (float32 for
    the separation; None keeps a memory map as it is)."""
    if not isinstance(audio, np.ndarray) and isinstance(audio, Samples):
        return audio
    return ArraySamples(np.asarray(audio, dtype=dtype))


def read_frames(samples: Samples, cfg: STFTConfig, start: int, stop: int) -> tuple[np.ndarray, int]:
    """The samples that frames ``start .. stop-1`` read (zeros outside the recording), float32
    (channels, m), and the index of the first of them (a multiple of the hop, before the frames'
    first window): ``block_stft`` turns them into those frames' spectra."""
    hop = cfg.hop_length
    a = (start - _lead(cfg)) * hop
    b = (stop - 1) * hop - cfg.n_fft // 2 + cfg.n_fft if stop > start else a
    return samples.read(a, max(a, b)), a


def block_stft(block: np.ndarray, cfg: STFTConfig, channel: int, n_frames: int) -> np.ndarray:
    """Channel ``channel``'s spectra of the ``n_frames`` frames ``read_frames`` read ``block`` for:
    complex64 (n_bins, n_frames), equal to ``stft_frames`` of the whole signal over those frames."""
    q = _lead(cfg)
    return stft_frames(block[channel], cfg, start=q, stop=q + n_frames)


def _lead(cfg: STFTConfig) -> int:
    """Frames before the first one in a block, so that its window starts inside the block."""
    return -(-(cfg.n_fft // 2) // cfg.hop_length)
