"""Pure numpy mixing for audition: stems + gain/solo/mute -> one buffer, channel maps, crossfade splices.

All audio here is float32. Stems are ``(channels, n_samples)``; the device buffer the player plays is
frame-major ``(n_frames, channels)`` so one block is one contiguous slice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_CHUNK = 1 << 16  # samples per step when mixing long buffers


def check_stems(stems: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Validate stems and return them as float32 ``(channels, n_samples)`` arrays.

    A 1-D array is taken as mono ``(1, n_samples)``. All stems must share one shape, hold at least one
    sample and be finite. Raises ValueError with the problem in plain words.
    """
    if len(stems) == 0:
        raise ValueError("no stems given: pass at least one (channels, n_samples) array")
    out = []
    for i, s in enumerate(stems):
        a = np.asarray(s)
        if a.ndim == 1:
            a = a[np.newaxis, :]
        if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
            raise ValueError(f"stem {i} has shape {np.shape(s)}, expected (channels, n_samples) with both > 0")
        if a.dtype != np.float32:
            a = a.astype(np.float32)
        out.append(a)
    shape = out[0].shape
    for i, a in enumerate(out):
        if a.shape != shape:
            raise ValueError(f"stem {i} has shape {a.shape}, but stem 0 has {shape}: stems must match")
        if not np.isfinite(a).all():
            raise ValueError(f"stem {i} holds samples that are not numbers (NaN or infinity)")
    return out


def effective_gains(
    n_stems: int,
    *,
    gains: Sequence[float] | np.ndarray | None = None,
    solo: Sequence[bool] | np.ndarray | None = None,
    mute: Sequence[bool] | np.ndarray | None = None,
) -> np.ndarray:
    """Linear gain actually applied to each stem, float64 ``(n_stems,)``.

    ``gains`` are linear factors (default 1). If any stem is soloed, only soloed stems sound. Mute wins
    over solo: a stem that is both soloed and muted is silent.
    """
    g = np.ones(n_stems) if gains is None else np.asarray(gains, dtype=np.float64).copy()
    s = np.zeros(n_stems, bool) if solo is None else np.asarray(solo, dtype=bool)
    m = np.zeros(n_stems, bool) if mute is None else np.asarray(mute, dtype=bool)
    for name, a in (("gains", g), ("solo", s), ("mute", m)):
        if a.shape != (n_stems,):
            raise ValueError(f"{name} has shape {a.shape}, expected ({n_stems},): one value per stem")
    if not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("gains must be finite and not negative")
    if s.any():
        g[~s] = 0.0
    g[m] = 0.0
    return g


def mix_stems(
    stems: Sequence[np.ndarray],
    *,
    gains: Sequence[float] | np.ndarray | None = None,
    solo: Sequence[bool] | np.ndarray | None = None,
    mute: Sequence[bool] | np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of ``gain_i * stem_i`` over stems, float32 ``(channels, n_samples)``.

    ``stems``: float32 arrays of one shape ``(channels, n_samples)`` (validate with :func:`check_stems`).
    ``out``: optional float32 array of that shape to write into; it may be a strided view, such as the
    transpose of a frame-major ``(n_samples, channels)`` buffer. Silent stems cost nothing.
    """
    g = effective_gains(len(stems), gains=gains, solo=solo, mute=mute)
    shape = stems[0].shape
    if out is None:
        out = np.empty(shape, np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}, expected float32 {shape}")
    active = [(stem, np.float32(gain)) for stem, gain in zip(stems, g) if gain != 0.0]
    if not active:
        out.fill(0.0)
        return out
    scratch = np.empty((shape[0], min(_CHUNK, shape[1])), np.float32)
    for a in range(0, shape[1], _CHUNK):  # chunks keep temporaries small and in cache
        b = min(a + _CHUNK, shape[1])
        o, tmp = out[:, a:b], scratch[:, : b - a]
        np.multiply(active[0][0][:, a:b], active[0][1], out=o)
        for stem, gain in active[1:]:
            np.multiply(stem[:, a:b], gain, out=tmp)
            o += tmp
    return out


def channel_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Mixing matrix float32 ``(n_out, n_in)`` from source to device channels.

    Equal counts map one to one; mono feeds every output; a single output gets the mean of all inputs;
    more inputs than outputs fold input ``c`` onto output ``c % n_out`` (averaged); fewer inputs than
    outputs (not mono) fill the first outputs and leave the rest silent.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"channel counts must be positive, got {n_in} in and {n_out} out")
    m = np.zeros((n_out, n_in), np.float32)
    if n_in == 1:
        m[:, 0] = 1.0
    else:
        for c in range(n_in):
            m[c % n_out, c] = 1.0
        m /= np.maximum(m.sum(axis=1, keepdims=True), 1.0)
    return m


def to_frames(mix: np.ndarray, matrix: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Apply a channel matrix and return a frame-major buffer float32 ``(n_samples, n_out)``.

    ``mix``: float32 ``(n_in, n_samples)``; ``matrix``: ``(n_out, n_in)`` from :func:`channel_matrix`.
    """
    n_out, n_in = matrix.shape
    if mix.shape[0] != n_in:
        raise ValueError(f"mix has {mix.shape[0]} channels, the matrix expects {n_in}")
    if out is None:
        out = np.empty((mix.shape[1], n_out), np.float32)
    elif out.shape != (mix.shape[1], n_out) or out.dtype != np.float32:
        raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}, expected float32 {(mix.shape[1], n_out)}")
    t = out.T
    for d in range(n_out):
        used = [(c, matrix[d, c]) for c in np.flatnonzero(matrix[d])]
        if not used:
            t[d] = 0.0
            continue
        for a in range(0, mix.shape[1], _CHUNK):
            b = min(a + _CHUNK, mix.shape[1])
            np.multiply(mix[used[0][0], a:b], used[0][1], out=t[d, a:b])
            for c, w in used[1:]:
                t[d, a:b] += w * mix[c, a:b]
    return out


def upcoming_frames(pos: int, count: int, *, n_frames: int, loop: tuple[int, int] | None) -> np.ndarray:
    """Indices int64 of the next ``count`` frames the player will read from ``pos``, with loop wraps.

    A loop ``(start, end)`` (frames, ``start < end <= n_frames``) wraps a position before ``end`` back to
    ``start``; a position at or after ``end`` plays on to the end of the buffer. Indices past the buffer
    end are dropped, so the result may be shorter than ``count``.
    """
    idx = pos + np.arange(count, dtype=np.int64)
    if loop is not None and pos < loop[1]:
        start, end = loop
        over = idx >= end
        idx[over] = start + (idx[over] - end) % (end - start)
    return idx[(idx >= 0) & (idx < n_frames)]


def splice_crossfade(new: np.ndarray, old: np.ndarray, idx: np.ndarray, *, hold: int) -> None:
    """Make ``new`` continue ``old`` seamlessly along the frames ``idx``, in place.

    ``new`` and ``old``: float32 frame-major ``(n_frames, channels)`` of one shape. Along ``idx`` (from
    :func:`upcoming_frames`) the first ``hold`` frames become exactly ``old``; the remaining ones
    crossfade linearly from ``old`` to ``new``. A reader that switches buffers anywhere inside the hold
    region therefore hears no step.
    """
    if new.shape != old.shape:
        raise ValueError(f"buffers differ in shape: {new.shape} vs {old.shape}")
    k = idx.size
    ramp = np.zeros(k, np.float32)
    fade = k - min(hold, k)
    if fade > 0:
        ramp[k - fade:] = np.linspace(0.0, 1.0, fade + 2, dtype=np.float32)[1:-1]
    ramp = ramp[:, np.newaxis]
    new[idx] = old[idx] * (1.0 - ramp) + new[idx] * ramp
