"""Unit conversions. Units live in the names; options are keyword-only."""

from __future__ import annotations

import numpy as np

A4_HZ = 440.0
A4_MIDI = 69
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_to_hz(pitch: float | np.ndarray) -> float | np.ndarray:
    """MIDI pitch (69 = A4) to frequency in Hz."""
    return A4_HZ * 2.0 ** ((np.asarray(pitch, dtype=float) - A4_MIDI) / 12.0)


def hz_to_midi(freq_hz: float | np.ndarray) -> float | np.ndarray:
    """Frequency in Hz (> 0) to fractional MIDI pitch."""
    return A4_MIDI + 12.0 * np.log2(np.asarray(freq_hz, dtype=float) / A4_HZ)


def seconds_to_frames(t_s: float | np.ndarray, *, sample_rate: int, hop_length: int) -> np.ndarray:
    """Time in seconds to the nearest STFT frame index (frames centred at k * hop / sr)."""
    return np.rint(np.asarray(t_s, dtype=float) * sample_rate / hop_length).astype(int)


def frames_to_seconds(frames: float | np.ndarray, *, sample_rate: int, hop_length: int) -> np.ndarray:
    """STFT frame index to the time of the frame centre in seconds."""
    return np.asarray(frames, dtype=float) * hop_length / sample_rate


def hz_to_bin(freq_hz: float | np.ndarray, *, sample_rate: int, n_fft: int) -> np.ndarray:
    """Frequency in Hz to fractional FFT bin index."""
    return np.asarray(freq_hz, dtype=float) * n_fft / sample_rate


def bin_to_hz(bins: float | np.ndarray, *, sample_rate: int, n_fft: int) -> np.ndarray:
    """FFT bin index to frequency in Hz."""
    return np.asarray(bins, dtype=float) * sample_rate / n_fft


def note_name(pitch: int) -> str:
    """MIDI pitch to scientific pitch name: 60 -> 'C4'."""
    return f"{NOTE_NAMES[int(pitch) % 12]}{int(pitch) // 12 - 1}"
