"""Synthetic material for benchmarks/speed.py: score-shaped NMF jobs and piano-like recordings.

K (the number of components) is fixed by the distinct (group, pitch) pairs, not by the length:
every pitch of each group's range is played early on, then pitches are drawn at random.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stemroll.core.constraints import build_constraints
from stemroll.core.nmf import scale_activations
from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup
from stemroll.core.spectral import STFTConfig
from stemroll.core.units import midi_to_hz

GROUPS = (NoteGroup(0, "right hand"), NoteGroup(1, "left hand"))
RANGES = {0: range(60, 90), 1: range(36, 65)}  # 30 + 29 pitches -> 59 pairs -> K = 2 * 59 + 2 = 120


def score_notes(duration_s: float, *, notes_per_s: float = 2.0, seed: int = 0) -> list[Note]:
    """Two hands, each a Poisson stream of notes (0.2-1 s long); every pitch of each range occurs."""
    rng = np.random.default_rng(seed)
    notes: list[Note] = []
    for g, pitches in RANGES.items():
        t, i = 0.0, 0
        while t < duration_s - 1.2:
            p = pitches[i] if i < len(pitches) else int(rng.choice(pitches))
            d = float(rng.uniform(0.2, 1.0))
            notes.append(Note(len(notes), p, t, min(duration_s - 0.1, t + d), int(rng.integers(60, 110)), g))
            t += float(rng.exponential(1.0 / notes_per_s)) + 0.05
            i += 1
    return notes


def score_job(duration_s: float, *, sample_rate: int = 22050, n_fft: int = 2048, hop: int = 512, seed: int = 0):
    """(V, W0, H0, notes): a score's constraints and a V drawn from a perturbed model of them.

    V float32 (n_fft/2+1, frames); W0/H0 as ``build_constraints`` makes them, H0 scaled to V.
    """
    cfg = STFTConfig(n_fft, hop)
    notes = score_notes(duration_s, seed=seed)
    n_frames = cfg.n_frames(int(duration_s * sample_rate))
    rng = np.random.default_rng(seed + 1)
    cons = build_constraints(notes, GROUPS, n_frames=n_frames, sample_rate=sample_rate, cfg=cfg,
                             params=SeparationParams(), rng=rng)
    Wt = cons.W0 * rng.uniform(0.5, 1.5, cons.W0.shape).astype(np.float32)
    Ht = cons.H0 * rng.uniform(0.0, 1.0, cons.H0.shape).astype(np.float32)
    V = Wt @ Ht
    V += np.float32(1e-3) * rng.random(V.shape, dtype=np.float32)
    return V, cons.W0, scale_activations(V, cons.W0, cons.H0), notes


def _tone(pitch: int, sample_rate: int, length_s: float, rng) -> np.ndarray:
    """A piano-like tone: 12 harmonics with 1/h amplitudes, brighter partials decaying faster."""
    t = np.arange(int(length_s * sample_rate)) / sample_rate
    f0 = float(midi_to_hz(pitch))
    y = np.zeros_like(t)
    for h in range(1, 13):
        if h * f0 >= sample_rate / 2:
            break
        y += np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t * (1.5 + 0.4 * h)) / h
    y *= np.minimum(1.0, t / 0.004)
    return y.astype(np.float32)


def render_block(notes: list[Note], tones: dict, start: int, stop: int, sample_rate: int) -> np.ndarray:
    """Samples [start, stop) of the stereo mix: float32 (2, stop - start); groups panned apart."""
    out = np.zeros((2, stop - start), np.float32)
    pan = {0: (0.45, 0.75), 1: (0.75, 0.45)}
    release = int(0.08 * sample_rate)
    for n in notes:
        a = int(n.onset_s * sample_rate)
        length = min(int(n.duration_s * sample_rate) + release, len(tones[n.pitch]))
        lo, hi = max(a, start), min(a + length, stop)
        if hi <= lo:
            continue
        seg = tones[n.pitch][lo - a: hi - a] * np.float32(0.12 * n.velocity / 100)
        tail = np.arange(lo - a, hi - a) - (length - release)
        seg = np.where(tail > 0, seg * (1 - tail / release), seg)  # release ramp
        out[0, lo - start: hi - start] += pan[n.group_id][0] * seg
        out[1, lo - start: hi - start] += pan[n.group_id][1] * seg
    return out


def write_piano_wav(path: Path, duration_s: float, *, sample_rate: int = 44100, seed: int = 0,
                    block_s: float = 30.0) -> list[Note]:
    """Render a two-hand piano-like stereo recording to a float WAV, block by block; returns its notes."""
    import soundfile as sf

    notes = score_notes(duration_s, seed=seed)
    rng = np.random.default_rng(seed)
    tones = {p: _tone(p, sample_rate, 1.3, rng) for p in sorted({n.pitch for n in notes})}
    noise = np.random.default_rng(seed + 7)
    n = int(duration_s * sample_rate)
    step = int(block_s * sample_rate)
    by_start = sorted(notes, key=lambda x: x.onset_s)
    onsets = np.array([x.onset_s for x in by_start])
    with sf.SoundFile(path, "w", samplerate=sample_rate, channels=2, subtype="FLOAT") as f:
        for a in range(0, n, step):
            b = min(n, a + step)
            i0 = np.searchsorted(onsets, a / sample_rate - 1.5)
            i1 = np.searchsorted(onsets, b / sample_rate)
            block = render_block(by_start[i0:i1], tones, a, b, sample_rate)
            block += np.float32(1e-4) * noise.standard_normal(block.shape, dtype=np.float32)
            f.write(block.T)
    return notes
