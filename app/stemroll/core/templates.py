"""Spectral templates: harmonic combs with tolerance bands, and broadband onset templates."""

from __future__ import annotations

import numpy as np

from .units import midi_to_hz


def harmonic_template(pitch: int, *, n_bins: int, sample_rate: int, n_fft: int,
                      n_harmonics: int, tolerance_cents: float, min_halfwidth_bins: float = 1.0) -> np.ndarray:
    """Harmonic comb for a MIDI pitch: nonzero only in bands around the partials.

    Each partial h (1..n_harmonics) of f0 = midi_to_hz(pitch) occupies the bins within
    ``tolerance_cents`` of h*f0 (at least ``min_halfwidth_bins`` either side, the window's main
    lobe), with initial weight 1/h. Returns float32, shape (n_bins,), unit sum (all zeros if no
    partial falls below Nyquist).
    """
    f0 = float(midi_to_hz(pitch))
    bin_hz = sample_rate / n_fft
    w = np.zeros(n_bins, dtype=np.float32)
    ratio = 2.0 ** (tolerance_cents / 1200.0)
    for h in range(1, n_harmonics + 1):
        f = h * f0
        if f >= sample_rate / 2:
            break
        lo = min(f / ratio / bin_hz, f / bin_hz - min_halfwidth_bins)
        hi = max(f * ratio / bin_hz, f / bin_hz + min_halfwidth_bins)
        b0 = max(0, int(np.floor(lo)))
        b1 = min(n_bins - 1, int(np.ceil(hi)))
        w[b0: b1 + 1] = np.maximum(w[b0: b1 + 1], 1.0 / h)
    s = w.sum()
    return w / s if s > 0 else w


def onset_template(pitch: int, *, n_bins: int, sample_rate: int, n_fft: int, fmin_hz: float = 20.0) -> np.ndarray:
    """Broadband attack template: every bin from ``fmin_hz`` up, decaying gently with frequency.

    An attack (hammer, bow or tongue noise) is not harmonic and reaches well below the note's
    fundamental (a piano's thump sits at 30-200 Hz under every key), so the support does not
    depend on ``pitch``; the shape is the start, the updates adapt it. Returns float32,
    shape (n_bins,), unit sum.
    """
    freqs = np.arange(n_bins) * sample_rate / n_fft
    w = np.where(freqs >= fmin_hz, 1.0 / (1.0 + freqs / 2000.0), 0.0).astype(np.float32)
    w[0] = 0.0
    s = w.sum()
    return w / s if s > 0 else w
