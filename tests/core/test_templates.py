"""Spectral templates: harmonic combs with tolerance bands, broadband onset templates."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.templates import harmonic_template, onset_template
from stemroll.core.units import midi_to_hz

RATE, N_FFT = 22050, 2048
BINS = N_FFT // 2 + 1


def _bin(f_hz: float) -> int:
    return int(round(f_hz * N_FFT / RATE))


@pytest.mark.parametrize("pitch", [36, 60, 84])
def test_harmonic_template_covers_the_partials_and_nothing_between(pitch):
    w = harmonic_template(pitch, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT, n_harmonics=8, tolerance_cents=40)
    f0 = float(midi_to_hz(pitch))
    assert w.shape == (BINS,) and w.dtype == np.float32
    assert w.sum() == pytest.approx(1.0, rel=1e-5)
    for h in range(1, 9):
        if h * f0 < RATE / 2:
            assert w[_bin(h * f0)] > 0, h
    if f0 > 200:  # partials more than a few bins apart: the gaps between them are empty
        assert w[_bin(1.5 * f0)] == 0
        assert w[: _bin(f0 * 0.9)].sum() == 0


def test_harmonic_template_weights_fall_with_partial_number_and_bands_widen_with_tolerance():
    narrow = harmonic_template(60, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT, n_harmonics=10, tolerance_cents=10)
    wide = harmonic_template(60, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT, n_harmonics=10, tolerance_cents=80)
    f0 = float(midi_to_hz(60))
    assert narrow[_bin(f0)] > narrow[_bin(4 * f0)] > 0
    assert (wide > 0).sum() > (narrow > 0).sum()
    assert ((narrow > 0) <= (wide > 0)).all()


def test_partials_above_nyquist_are_left_out():
    w = harmonic_template(108, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT, n_harmonics=20, tolerance_cents=40)
    f0 = float(midi_to_hz(108))  # C8, 4186 Hz: only the first two partials fit below 11025 Hz
    assert w[_bin(f0)] > 0 and w[_bin(2 * f0)] > 0
    assert w[_bin(2 * f0 * 1.05):].sum() == 0  # nothing past the second partial's band


def test_onset_template_spans_the_whole_spectrum_whatever_the_pitch():
    # An attack reaches below the note: a piano's hammer thump sits at 30-200 Hz under every key.
    lo = onset_template(40, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT)
    hi = onset_template(90, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT)
    np.testing.assert_array_equal(lo, hi)
    assert lo.dtype == np.float32 and lo.sum() == pytest.approx(1.0, rel=1e-5)
    assert lo[0] == 0 and lo[: _bin(20.0)].sum() == 0
    assert (lo[_bin(25.0):] > 0).all()
    assert lo[_bin(50.0)] > lo[_bin(8000.0)]  # gently falling with frequency
    higher = onset_template(40, n_bins=BINS, sample_rate=RATE, n_fft=N_FFT, fmin_hz=200.0)
    assert higher[: _bin(190.0)].sum() == 0 and higher[_bin(210.0)] > 0
