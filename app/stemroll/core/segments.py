"""Separation of long recordings in bounded memory: analysis and resynthesis segment by segment.

The factorisation itself runs once over the whole recording (the block engine in ``nmf`` holds
V, W, two copies of H and small scratch, never a full-size temporary), so W is shared by all
segments and the result is exactly that of the unsegmented separation, with no seams to
crossfade. What would otherwise hold several full-size copies is done here per segment:

* ``magnitude``: the mean channel magnitude V (n_bins, n_frames), computed from one segment of
  frames at a time (the complex STFT of the whole recording is never held);
* ``group_masks``: soft masks for a range of frames from W and H (only the components active
  there are multiplied);
* ``resynthesis_blocks``: for consecutive ranges of output samples, the STFT of just the frames
  that overlap them, masked, inverse-transformed and overlap-added exactly (the frames that
  reach into a neighbouring range are recomputed there), yielding the stems block by block so
  the caller can write them to files as they come.

With the compiled kernels (``core.spectral_numba``) the elementwise work around the FFTs runs
in single sweeps into preallocated results (magnitude and channel mean; the masks, in place of
the models; masked spectra; windowed overlap-add); without them NumPy does the same in separate
passes and temporaries.

Peak memory is about V + H + the input audio + the spectra of the segments in flight (tens of
MB each at the defaults). The audio is read through a ``core.samples.Samples`` source one
segment at a time, so it may also stay in its file (``io.audio.FileSamples``). Segments can run on several threads (``threads=``): NumPy and
scipy.fft release the GIL, and results come back in order.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .constraints import RESIDUAL_GROUP
from .nmf_blocks import load_kernels
from .samples import as_samples, block_stft, read_frames
from .spectral import STFTConfig, frames_for_samples, istft_frames

MaskFn = Callable[[int, int], np.ndarray]


def magnitude(audio, cfg: STFTConfig, *, segment_frames: int = 1024, threads: int = 1,
              dtype=np.float32) -> np.ndarray:
    """Mean of the channels' STFT magnitudes, ``dtype`` (float32 or float16) (n_bins, n_frames), in Fortran order.

    audio: (channels, n_samples) float array or memory map, or any ``core.samples.Samples``
    source (e.g. a file read block by block). Equals ``magnitude_mono(stft_multi(audio, cfg))``
    up to float rounding. Fortran order lets the block engine read one spectrum per frame
    without copying V. ``threads``: segments computed at once (NumPy and scipy.fft release the
    GIL). With float16, values above its range are clipped.
    """
    src = as_samples(audio)
    C, n = src.channels, src.n_samples
    N = cfg.n_frames(n)
    VT = np.empty((N, cfg.n_bins), dtype)
    half = np.dtype(dtype).itemsize < 4
    limit = np.float32(np.finfo(dtype).max) if half else None
    kern = fused_kernels()

    def one(a: int) -> None:
        b = min(N, a + segment_frames)
        block, _ = read_frames(src, cfg, a, b)
        if kern is not None:  # one sweep per channel into the result (or a float32 buffer for float16)
            acc = np.empty((b - a, cfg.n_bins), np.float32) if half else VT[a:b]
            for c in range(C):
                X = block_stft(block, cfg, c, b - a)
                kern.add_magnitudes(kern.as_pairs(X.T), acc, np.float32(1.0 / C), c == 0)
            if half:
                kern.to_half_bits(acc, VT[a:b].view(np.uint16))
            return
        acc = np.abs(block_stft(block, cfg, 0, b - a))
        for c in range(1, C):
            acc += np.abs(block_stft(block, cfg, c, b - a))
        if C > 1:
            acc /= np.float32(C)
        if limit is not None:
            np.minimum(acc, limit, out=acc)
        VT[a:b] = acc.T

    for _ in ordered_map(one, range(0, N, segment_frames), threads=threads):
        pass
    return VT.T


def fused_kernels():
    """``core.spectral_numba`` when the engine's compiled kernels are available, else None
    (the NumPy passes then do the same work)."""
    if load_kernels() is None:
        return None
    from . import spectral_numba

    return spectral_numba


def ordered_map(fn: Callable, items: Iterable, *, threads: int = 1) -> Iterator:
    """``fn(item)`` for each item, in order, with up to ``threads`` calls running at once.

    At most ``threads`` results wait at any time, so memory stays bounded however many items.
    """
    if threads <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class GroupMasks:
    """Alpha-Wiener masks per group, for any range of frames: ``masks(k0, k1)`` -> float32
    (len(group_ids), n_bins, k1 - k0).

    As ``separation.soft_masks``: (W_g H_g)^p over the sum over all groups including the
    residual one, from W (n_bins, K) and H (K, n_frames). Components whose activations are all
    zero in the range are skipped (they add nothing). Each group's mask is Fortran-ordered (one
    contiguous spectrum per frame, like the STFT frames it multiplies). ``models(k0, k1)``: the
    groups' models W_g H_g before the power, residual last, float32 (len(group_ids) + 1,
    k1 - k0, n_bins), frame-major. Safe to call from several threads.
    """

    def __init__(self, W: np.ndarray, H: np.ndarray, comp_groups: np.ndarray, group_ids: Sequence[int], *,
                 power: float) -> None:
        comp_groups = np.asarray(comp_groups)
        self.W, self.H, self.power = W, H, float(power)
        self.members = [np.flatnonzero(comp_groups == g) for g in list(group_ids) + [RESIDUAL_GROUP]]

    def models(self, k0: int, k1: int) -> np.ndarray:
        W, H = self.W, self.H
        out = np.empty((len(self.members), k1 - k0, W.shape[0]), np.float32)  # frame-major: spectra contiguous
        for i, idx in enumerate(self.members):
            live = idx[H[idx, k0:k1].any(axis=1)] if len(idx) else idx
            if len(live) == 0:
                out[i] = 0.0
            else:
                np.matmul(H[live, k0:k1].T, W[:, live].T, out=out[i])
        return out

    def __call__(self, k0: int, k1: int) -> np.ndarray:
        out = self.models(k0, k1)
        if self.power == 2.0:
            np.multiply(out, out, out=out)
        elif self.power != 1.0:
            np.power(out, np.float32(self.power), out=out)
        total = out.sum(axis=0)
        total += np.float32(1e-20)
        out = out[:-1]
        out /= total
        return out.transpose(0, 2, 1)


def group_masks(W: np.ndarray, H: np.ndarray, comp_groups: np.ndarray, group_ids: Sequence[int], *,
                power: float) -> GroupMasks:
    """The masks ``masks(k0, k1)`` of ``GroupMasks`` for these factors and groups."""
    return GroupMasks(W, H, comp_groups, group_ids, power=power)


def resynthesis_blocks(audio, cfg: STFTConfig, masks: MaskFn, *, n_groups: int, segment_frames: int = 512,
                       threads: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """Stems block by block: yields ``(start_sample, block)``, block float32 (n_groups + 1, channels, m).

    Row g < n_groups is group g's stem (every channel masked with the same masks), the last
    row the residual ``audio - sum(group stems)``. Blocks follow each other without gaps or
    overlaps and cover all of ``audio`` (channels, n_samples; an array, a memory map or a
    ``core.samples.Samples`` source, read one block at a time); they equal the corresponding
    samples of the whole-recording inverse STFT (up to float rounding). ``threads``: blocks
    computed at once (``masks`` must then be safe to call from several threads, as
    ``group_masks``' functions are).
    """
    src = as_samples(audio)
    if segment_frames < 1:
        raise ValueError(f"segment_frames must be >= 1, got {segment_frames}")
    C, n = src.channels, src.n_samples
    N = cfg.n_frames(n)
    step = segment_frames * cfg.hop_length
    kern = fused_kernels()
    fused = kern is not None and isinstance(masks, GroupMasks) and len(masks.members) == n_groups + 1

    def one(s0: int) -> tuple[int, np.ndarray]:
        s1 = min(n, s0 + step)
        k0, k1 = frames_for_samples(cfg, s0, s1, n_frames=N)
        read, origin = read_frames(src, cfg, k0, k1)
        block = np.empty((n_groups + 1, C, s1 - s0), np.float32)
        if fused:
            _stems_fused(kern, masks.models(k0, k1), np.float32(masks.power), read, cfg, k0, s0, block)
        else:
            M = masks(k0, k1)
            if M.shape != (n_groups, cfg.n_bins, k1 - k0):
                raise ValueError(f"masks for frames {k0}..{k1} have shape {M.shape}, "
                                 f"expected {(n_groups, cfg.n_bins, k1 - k0)}")
            for c in range(C):
                X = block_stft(read, cfg, c, k1 - k0)
                masked = np.empty_like(X)  # one buffer for the groups of this channel (same layout as X)
                for g in range(n_groups):
                    np.multiply(X, M[g], out=masked)
                    block[g, c] = istft_frames(masked, cfg, first_frame=k0, start=s0, length=s1 - s0)
                del X, masked
        mix = read[:, s0 - origin: s1 - origin] if origin <= s0 and s1 - origin <= read.shape[1] \
            else src.read(s0, s1)
        block[n_groups] = mix - block[:n_groups].sum(axis=0)
        return s0, block

    yield from ordered_map(one, range(0, max(n, 1), step), threads=threads)


def _stems_fused(kern, G: np.ndarray, power: np.float32, read: np.ndarray, cfg: STFTConfig, k0: int, s0: int,
                 block: np.ndarray) -> None:
    """The group rows of ``block`` (n_groups + 1, C, m) from the groups' models G (n_groups + 1,
    frames, n_bins) (``GroupMasks.models``), which become the masks in place: then per channel and
    group one sweep masks the spectra and one windows and overlap-adds them."""
    n_groups, C, m = block.shape[0] - 1, block.shape[1], block.shape[2]
    kern.soft_masks(G, power)
    Y = np.empty((G.shape[1], cfg.n_bins), np.complex64)  # one masked copy at a time
    for c in range(C):
        X = block_stft(read, cfg, c, G.shape[1])
        for g in range(n_groups):
            kern.apply_mask(kern.as_pairs(X.T), G[g], kern.as_pairs(Y))
            block[g, c] = istft_frames(Y.T, cfg, first_frame=k0, start=s0, length=m, kernels=kern)


def resynthesise(audio, cfg: STFTConfig, masks: MaskFn, *, n_groups: int, segment_frames: int = 512,
                 threads: int = 1) -> np.ndarray:
    """All of ``resynthesis_blocks`` in one float32 array (n_groups + 1, channels, n_samples)."""
    src = as_samples(audio)
    out = np.empty((n_groups + 1, src.channels, src.n_samples), np.float32)
    for s0, block in resynthesis_blocks(src, cfg, masks, n_groups=n_groups, segment_frames=segment_frames,
                                        threads=threads):
        out[:, :, s0: s0 + block.shape[2]] = block
    return out
