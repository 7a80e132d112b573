"""Tuning of a recording for score alignment: where its pitches sit relative to A4 = 440 Hz.

The pitch bands of the alignment features are shifted by the estimated deviation, so a piano
tuned 30 cents sharp, or a baroque ensemble at A4 = 415 Hz (a semitone low), still lands every
partial in the band of the score's pitch. Near a quarter tone the nearest-pitch labelling is a
coin toss, and a semitone off looks like no deviation at all: the score's pitch classes decide.
"""

from __future__ import annotations

import numpy as np

from .spectral import STFTConfig, stft_frames
from .units import hz_to_midi


def spectral_peaks(y: np.ndarray, sample_rate: int, *, n_fft: int = 8192, max_frames: int = 300
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Spectral peaks between 100 Hz and 2 kHz in up to ``max_frames`` frames spread over the
    recording: (fractional MIDI pitch (k,), magnitude (k,)), located by parabolic interpolation
    on the log magnitude."""
    y = np.asarray(y, np.float32)
    n_frames = 1 + len(y) // (n_fft // 2)
    step = max(1, n_frames // max_frames)
    cfg = STFTConfig(n_fft=n_fft, hop_length=n_fft // 2)
    X = np.abs(np.concatenate([stft_frames(y, cfg, start=f, stop=f + 1) for f in range(0, n_frames, step)], axis=1))
    lo, hi = int(100 * n_fft / sample_rate), min(X.shape[0] - 2, int(2000 * n_fft / sample_rate))
    mag = np.log(X[lo - 1: hi + 2] + 1e-9)
    c = mag[1:-1]
    peak = (c > mag[:-2]) & (c >= mag[2:]) & (X[lo:hi + 1] > 0.05 * X.max(initial=0.0))
    k, t = np.nonzero(peak)
    a, b, d = mag[k, t], c[k, t], mag[k + 2, t]
    den = a - 2 * b + d
    delta = np.where(den < 0, 0.5 * (a - d) / np.where(den < 0, den, -1.0), 0.0)
    midi = np.asarray(hz_to_midi((lo + k + np.clip(delta, -0.5, 0.5)) * sample_rate / n_fft), dtype=float)
    return midi, X[lo + k, t].astype(float)


def estimate_tuning(midi: np.ndarray, weight: np.ndarray) -> float:
    """Tuning of spectral peaks relative to A4 = 440 Hz, in semitones (-0.5..0.5): the weighted
    circular mean of their offsets from the nearest equal-tempered pitch."""
    if len(midi) == 0:
        return 0.0
    return float(np.angle(np.sum(weight * np.exp(2j * np.pi * midi))) / (2 * np.pi))


def choose_reference(midi: np.ndarray, weight: np.ndarray, tuning: float, profile: np.ndarray | None, *,
                     margin: float = 0.05) -> float:
    """Offset in semitones for the pitch bands: ``tuning``, or tuning -+ 1 when the score's
    pitch-class ``profile`` (12,) matches the recording clearly better that way (a recording a
    semitone off the score, as at A4 = 415 Hz, or tuned near a quarter tone where the
    nearest-pitch labelling is a coin toss)."""
    if profile is None or len(midi) == 0 or not np.any(profile > 0):
        return tuning
    prof = profile / np.linalg.norm(profile)

    def match(offset: float) -> float:
        hist = np.bincount(np.rint(midi - offset).astype(int) % 12, weights=weight, minlength=12)
        return float(hist @ prof / max(np.linalg.norm(hist), 1e-12))

    best = max((tuning - 1.0, tuning + 1.0), key=match)
    return best if match(best) > match(tuning) + margin else tuning


def score_profile(pitch: np.ndarray, duration_s: np.ndarray, *, n_harmonics: int = 8, decay: float = 0.6) -> np.ndarray:
    """Pitch-class weights of a score (12,): duration of each note's partials, partial h weighted
    by ``decay ** (h - 1)`` (spectral peaks are counted by magnitude)."""
    prof = np.zeros(12)
    for h in range(1, n_harmonics + 1):
        np.add.at(prof, (np.asarray(pitch) + int(round(12 * np.log2(h)))) % 12,
                  decay ** (h - 1) * np.asarray(duration_s, dtype=float))
    return prof
