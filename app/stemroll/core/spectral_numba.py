"""Numba kernels of the spectral front and back end (``core.segments``): the elementwise work
around the FFTs, fused into single sweeps that write into the caller's buffers.

Without them every step (magnitude, channel sum, scaling, clipping, the float16 cast, the
masks, the masked spectra, the synthesis window, the overlap-add) is a NumPy pass with a
full-size temporary, and on this stack the temporaries cost more than the FFTs: fresh pages
for every segment. The kernels release the GIL and are cached on disk like the engine's
(``nmf_numba``, which compiles them with its own).

Shapes: spectra are frame-major, complex64 (m, F) viewed as float32 (m, 2F) (real and imaginary
parts interleaved; ``as_pairs``); magnitudes and models float32 (m, F); float16 results are
written as their bits, uint16 (numba has no float16 on the CPU; see ``nmf_numba.half_bits``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .float_bits import _bits_f32, _f32, _f32_bits
from .nmf_numba import _OPTS, _log_f32

_EXACT = dict(cache=True, nogil=True, error_model="numpy")  # no fastmath: the rounding is the point
_HALF_MAX = np.float32(65504.0)


def as_pairs(X: np.ndarray) -> np.ndarray:
    """A C-contiguous complex64 array (m, F) as the float32 view (m, 2F) the kernels read."""
    return X.view(np.float32)


@njit(**_OPTS)
def add_magnitudes(XP, out, scale, first):
    """out (m, F) = (0 if first else out) + |X| * scale, X given as pairs (m, 2F)."""
    for k in range(out.shape[0]):
        x = XP[k]
        o = out[k]
        if first:
            for f in range(o.shape[0]):
                re, im = x[2 * f], x[2 * f + 1]
                o[f] = np.sqrt(re * re + im * im) * scale
        else:
            for f in range(o.shape[0]):
                re, im = x[2 * f], x[2 * f + 1]
                o[f] += np.sqrt(re * re + im * im) * scale


@njit(**_EXACT)
def to_half_bits(src, dst):
    """dst (uint16) = the float16 bits of src (float32, >= 0 and finite), rounded to nearest even
    as NumPy's cast; values above float16's largest (65504) become 65504.

    The branch-free method of F. Giesen ("float_to_half_fast3_rtne"): a subnormal half is made
    by one float addition that aligns its mantissa (the FPU rounds), a normal one by rebiasing
    the exponent with a rounding bias in the integer domain."""
    denorm_magic = np.int32(((127 - 15) + (23 - 10) + 1) << 23)
    magic_f = _bits_f32(denorm_magic)
    for k in range(src.shape[0]):
        s = src[k]
        d = dst[k]
        for f in range(s.shape[0]):
            x = min(s[f], _HALF_MAX)
            b = _f32_bits(x)
            sub = _f32_bits(x + magic_f) - denorm_magic
            nrm = (b + np.int32(((15 - 127) << 23) + 0xFFF) + ((b >> np.int32(13)) & np.int32(1))) >> np.int32(13)
            d[f] = np.uint16(sub if b < np.int32(113 << 23) else nrm)


@njit(**_OPTS)
def kl_constant(VT):
    """sum(v * log(v + 1e-10) - v) over VT (N, F) float32 or float16 bits: the terms in float32
    with the engine's vectorised logarithm, summed in float64."""
    total = 0.0
    for n in range(VT.shape[0]):
        v = VT[n]
        for f in range(v.shape[0]):
            x = _f32(v[f])
            total += np.float64(x * _log_f32(x + np.float32(1e-10)) - x)
    return total


@njit(**_OPTS)
def soft_masks(models, power):
    """The alpha-Wiener masks in place of the models: models (G, m, F) holds the groups' models
    W_g H_g (the last: the residual's); afterwards row g < G - 1 is G_g^p / (sum_h G_h^p + 1e-20)
    and the last row is scratch."""
    G = models.shape[0]
    for k in range(models.shape[1]):
        tot = models[G - 1, k]
        for f in range(tot.shape[0]):
            tot[f] = _pow(tot[f], power)
        for g in range(G - 1):
            mg = models[g, k]
            for f in range(mg.shape[0]):
                v = _pow(mg[f], power)
                mg[f] = v
                tot[f] += v
        for f in range(tot.shape[0]):
            tot[f] = np.float32(1.0) / (tot[f] + np.float32(1e-20))
        for g in range(G - 1):
            mg = models[g, k]
            for f in range(mg.shape[0]):
                mg[f] *= tot[f]


@njit(**_OPTS)
def apply_mask(XP, M, out):
    """out = X * M: spectra X and out as pairs (m, 2F), the mask M (m, F)."""
    for k in range(M.shape[0]):
        x = XP[k]
        o = out[k]
        mk = M[k]
        for f in range(mk.shape[0]):
            m = mk[f]
            o[2 * f] = x[2 * f] * m
            o[2 * f + 1] = x[2 * f + 1] * m


@njit(**_OPTS)
def _pow(x, p):
    if p == np.float32(2.0):
        return x * x
    if p == np.float32(1.0):
        return x
    return x ** p


@njit(**_OPTS)
def overlap_add(frames, win, y, hop):
    """y[k * hop + i] += frames[k, i] * win[i] for every frame k (frames (m, n) float32, y float32)."""
    n = frames.shape[1]
    for k in range(frames.shape[0]):
        fr = frames[k]
        dst = y[k * hop: k * hop + n]
        for i in range(n):
            dst[i] += fr[i] * win[i]


@njit(**_EXACT)
def interleave(x, out, c):
    """out[:, c] = x (one channel, float32 (m,), into frame-major float32 (m, C)); returns
    (sum of squares (float64), peak |x|) for the stem statistics."""
    ss = 0.0
    pk = np.float32(0.0)
    for j in range(x.shape[0]):
        v = x[j]
        ss += np.float64(v) * np.float64(v)
        pk = max(pk, abs(v))
        out[j, c] = v
    return ss, pk


@njit(**_EXACT)
def interleave_pcm24(x, out, c):
    """As ``interleave`` into int32 (m, C): round(x * 2**31), clipped to int32, whose top 24 bits
    a 24-bit PCM file keeps; the same samples libsndfile writes from float32 for WAV, which it
    gets faster from int32."""
    ss = 0.0
    pk = np.float32(0.0)
    top = np.float32(2147483647.0)  # 2**31 in float32
    for j in range(x.shape[0]):
        v = x[j]
        ss += np.float64(v) * np.float64(v)
        pk = max(pk, abs(v))
        s = v * np.float32(2147483648.0)
        if s >= top:
            out[j, c] = np.int32(2147483647)
        elif s <= -top:
            out[j, c] = np.int32(-2147483648)
        else:
            out[j, c] = np.int32(np.rint(s))
    return ss, pk


def warm(VT: np.ndarray) -> None:
    """Compile (or load) every kernel here for the types ``core.segments`` and ``io.export`` call
    them with; VT: a small float32 (N, F) array (``nmf_numba.warm`` passes its own)."""
    X = (VT + 1j * VT).astype(np.complex64)
    out = np.empty(VT.shape, np.float32)
    add_magnitudes(as_pairs(X), out, np.float32(0.5), True)
    to_half_bits(out, np.empty(VT.shape, np.uint16))
    kl_constant(VT)
    kl_constant(VT.astype(np.float16).view(np.uint16))
    soft_masks(np.stack([VT, VT]), np.float32(2.0))
    apply_mask(as_pairs(X), VT, as_pairs(np.empty_like(X)))
    overlap_add(VT, VT[0], np.zeros(VT.shape[0] * 2 + VT.shape[1], np.float32), 2)
    interleave(VT[0], np.empty((VT.shape[1], 2), np.float32), 1)
    interleave_pcm24(VT[0], np.empty((VT.shape[1], 2), np.int32), 1)


KERNELS = (add_magnitudes, to_half_bits, kl_constant, soft_masks, apply_mask, overlap_add, interleave,
           interleave_pcm24)
