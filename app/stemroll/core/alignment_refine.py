"""Per-note onset refinement and confidence, after the global warp.

The global warp is one monotone function of score time, so it cannot follow notes of one chord
that a player spreads, nor timing jitter of a few tens of milliseconds between voices. Each note is
therefore moved, within a small window around its warped position, to the strongest rise of energy
in the bands of its own partials (a pitch-specific onset detection function), weighted by a
Gaussian prior around the warped position. Notes of one pitch keep their order.

The steepest rise of log energy seen through an analysis window comes before the onset when the
note starts from a low floor (the window's edge reaches the attack first); ``step_lead_table``
models that lead for a steady partial and part of it is removed per note, from the note's own
floor-to-level ratio.
"""

from __future__ import annotations

from typing import Generator

import numpy as np

from .alignment_features import N_PITCH, AudioFeatures, note_pitch_profile, rise

SEARCH_S = 0.12  # half-width of the search window around the warped onset
PRIOR_S = 0.06  # standard deviation of the Gaussian prior on the shift
MIN_GAP_S = 0.04  # two notes of one pitch stay at least this far apart
CONTEXT = 1.0  # weight of the rise of the notes expected together with a note
CHORD_S = 0.05  # notes warped this close count as one chord
STEP_CORRECTION = 0.5  # share of the modelled window lead removed: the model (a steady partial switched on
# from silence) is the extreme case; decaying and percussive partials lead less
LAG = 2  # fine frames over which the rise of energy is measured


def pitch_novelty(pitch_fine: np.ndarray) -> np.ndarray:
    """Centred, half-wave rectified rise of log pitch energy over LAG frames, float32 (N_PITCH, n_fine)."""
    return rise(pitch_fine, lag=LAG)


def refine_onsets(af: AudioFeatures, pitch: np.ndarray, onset_s: np.ndarray, *, fixed: np.ndarray | None = None,
                  search_s: float = SEARCH_S, prior_s: float = PRIOR_S) -> Generator[float, None, np.ndarray]:
    """Refined onsets, float64 (n_notes,) in seconds; yields progress 0..1.

    af: audio features; pitch: int (n_notes,); onset_s: warped onsets (n_notes,); fixed: bool
    (n_notes,) notes to leave where they are (anchored).

    A note's evidence is the rise of its own partials plus, with weight CONTEXT, the mean rise of
    the partials of the notes expected with it (warped within CHORD_S): a chord's voices confirm
    each other's attack. Two passes: the first searches around the warped onsets; the local
    median of the shifts it found (a warp that runs early or late over a passage, or attacks
    that speak late) re-centres a narrower prior for the second.
    """
    rate = af.grid.fine_rate
    uniq, pitch_row = np.unique(np.asarray(pitch, dtype=int), return_inverse=True)
    prof = np.zeros((len(uniq), N_PITCH), dtype=np.float32)
    for r, p in enumerate(uniq):
        rows, w = note_pitch_profile(int(p))
        prof[r, rows] = w
    curves = prof @ pitch_novelty(af.pitch_fine)  # (n_unique_pitches, n_fine)
    half = int(round(search_s * rate))
    offs = np.arange(-half, half + 1)
    warped = np.asarray(onset_s, dtype=float)
    fixed = np.zeros(len(warped), bool) if fixed is None else np.asarray(fixed, bool)
    first, strength = yield from _pass(curves, pitch_row, warped, fixed, offs, rate, prior_s, 0.0, 0.5)
    shift = _local_median(warped, first - warped, strength)
    second, _ = yield from _pass(curves, pitch_row, warped + shift, fixed, offs, rate, 0.6 * prior_s, 0.5, 1.0)
    if STEP_CORRECTION:
        second = second + STEP_CORRECTION * _window_lead(af, prof[pitch_row], second)
    return np.where(fixed, warped, second)


def step_lead_table(n_fft: int, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the steepest rise of log(floor + power) lies for a sinusoid switched on at t = 0.

    The STFT power of a sinusoid that starts at t0, seen by a Hann window centred at c, grows as
    (fraction of the window's sum past t0)^2; the log of (eps + that) rises fastest before t0
    when the floor ``eps`` (relative to the note's level) is low. Returns (eps grid (25,),
    peak position in seconds (25,), negative = before the onset).
    """
    x = np.linspace(-0.5, 0.5, 2001)
    w = np.cos(np.pi * x) ** 2
    cdf = np.cumsum(w[::-1])[::-1] / w.sum()
    F = np.interp(-x, x, cdf) ** 2
    eps = np.logspace(-4, 1, 25)
    lead = np.array([x[np.argmax(np.gradient(np.log(e + F), x))] for e in eps])
    return eps, lead * n_fft / sample_rate


def _window_lead(af: AudioFeatures, prof: np.ndarray, onset_s: np.ndarray, *, span_s: float = 0.05) -> np.ndarray:
    """Per-note correction (s, float64 (n,)) for the analysis window's lead: from the note's own
    floor/rise ratio (power in its partials ``span_s`` before and after the detected onset)."""
    eps_grid, lead = step_lead_table(af.fine_n_fft, af.grid.sample_rate)
    rate = af.grid.fine_rate
    n = af.pitch_fine.shape[1]
    k = np.clip(np.rint(onset_s * rate).astype(int), 0, n - 1)
    d = int(round(span_s * rate))
    before = np.expm1(af.pitch_fine[:, np.clip(k - d, 0, n - 1)])  # (N_PITCH, n_notes)
    after = np.expm1(af.pitch_fine[:, np.clip(k + d, 0, n - 1)])
    b = (prof * before.T).sum(axis=1)
    a = (prof * after.T).sum(axis=1)
    eps = (1.0 + b) / np.maximum(a - b, 1e-9)
    return -np.interp(np.log(eps), np.log(eps_grid), lead)


def _pass(curves, pitch_row, centre_s, fixed, offs, rate, prior_s, p0, p1):
    """One search; returns (onsets s, peak strength) for every note (fixed notes: unchanged, 0)."""
    n_fine = curves.shape[1]
    prior = np.exp(-0.5 * (offs / (prior_s * rate)) ** 2)
    out = centre_s.copy()
    strength = np.zeros(len(out))
    order = np.argsort(centre_s, kind="stable")
    sorted_t = centre_s[order]
    last_by_pitch: dict[int, float] = {}
    for done, k in enumerate(order):
        p = int(pitch_row[k])
        if not fixed[k]:
            idx = np.clip(int(round(centre_s[k] * rate)) + offs, 0, n_fine - 1)
            curve = curves[p, idx]
            a, b = np.searchsorted(sorted_t, [centre_s[k] - CHORD_S, centre_s[k] + CHORD_S])
            mates = [m for m in order[a:b] if m != k]
            if mates and CONTEXT > 0:
                curve = curve + CONTEXT * curves[np.unique(pitch_row[mates])][:, idx].mean(axis=0)
            allowed = idx / rate >= last_by_pitch.get(p, -np.inf) + MIN_GAP_S
            score = curve * prior * allowed
            if score.max() > 0:
                j = int(np.argmax(score))
                out[k] = (idx[j] + _parabolic(score, j)) / rate
                strength[k] = curve[j]
        last_by_pitch[p] = out[k]
        if done % 256 == 0:
            yield p0 + (p1 - p0) * done / len(order)
    return out, strength


def _local_median(t_s: np.ndarray, shift_s: np.ndarray, strength: np.ndarray, *, half_window_s: float = 2.0,
                  min_notes: int = 5) -> np.ndarray:
    """Median of ``shift_s`` over the clearly detected notes within +-half_window_s of each note
    (0 where too few); float64 (n,)."""
    good = strength > np.percentile(strength, 25) if len(strength) else strength > 0
    ts, sh = t_s[good], shift_s[good]
    order = np.argsort(ts)
    ts, sh = ts[order], sh[order]
    out = np.zeros(len(t_s))
    lo = np.searchsorted(ts, t_s - half_window_s)
    hi = np.searchsorted(ts, t_s + half_window_s)
    for k in range(len(t_s)):
        if hi[k] - lo[k] >= min_notes:
            out[k] = float(np.median(sh[lo[k]:hi[k]]))
    return out


def _parabolic(y: np.ndarray, b: int) -> float:
    """Sub-frame offset of a peak at index b from a parabola through its neighbours (-0.5..0.5)."""
    if b <= 0 or b >= len(y) - 1:
        return 0.0
    a, c, d = y[b - 1], y[b], y[b + 1]
    den = a - 2 * c + d
    return float(np.clip(0.5 * (a - d) / den, -0.5, 0.5)) if den < 0 else 0.0


def note_confidence(af: AudioFeatures, pitch: np.ndarray, onset_s: np.ndarray, offset_s: np.ndarray) -> np.ndarray:
    """Confidence float32 (n_notes,) in [0, 1] that each note sounds where it was placed.

    Evidence 1: over the note's first 0.4 s, its partials' bands stand out from the neighbouring
    semitone bands (the pitch is present). Evidence 2: its partials rise at the onset (an attack).
    """
    L = af.pitch_fine
    rate = af.grid.fine_rate
    nov = pitch_novelty(L)
    n_fine = L.shape[1]
    conf = np.zeros(len(pitch), dtype=np.float32)
    for k, p in enumerate(pitch):
        rows, w = note_pitch_profile(int(p))
        a = int(np.clip(round(onset_s[k] * rate), 0, n_fine - 1))
        b = int(np.clip(round(min(offset_s[k], onset_s[k] + 0.4) * rate), a + 1, n_fine))
        seg = L[:, a:b]
        up = seg[np.minimum(rows + 1, N_PITCH - 1)]
        down = seg[np.maximum(rows - 1, 0)]
        contrast = float((w[:, None] * (seg[rows] - np.maximum(up, down))).sum(axis=0).mean())
        lo, hi = max(0, a - 4), min(n_fine, a + 5)
        rise = float((w[:, None] * nov[rows, lo:hi]).sum(axis=0).max()) if hi > lo else 0.0
        present = max(0.0, (_sigmoid(3.0 * (contrast - 0.3)) - _S0) / (1.0 - _S0))  # 0 when the bands do not stand out
        attack = 1.0 - np.exp(-rise / 0.3)
        conf[k] = 0.7 * present + 0.3 * attack
    conf = np.clip(conf, 0.0, 1.0)
    return (1.0 - (1.0 - conf) ** 2).astype(np.float32)  # calibrated so that 0.5 splits present from absent notes


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + np.exp(-x))


_S0 = _sigmoid(-0.9)
