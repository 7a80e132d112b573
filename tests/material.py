"""Test material the tests make themselves: synthetic piano-like audio for a score, MIDI files."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from stemroll.core.score import Note, NoteGroup, Score
from stemroll.core.units import midi_to_hz


def synth(notes, *, sample_rate: int = 22050, duration_s: float | None = None, seed: int = 0,
          n_partials: int = 8, noise_db: float = -60.0) -> np.ndarray:
    """Additive harmonic tones with decaying envelopes; float32 (n,)."""
    rng = np.random.default_rng(seed)
    end = duration_s if duration_s is not None else max(n.offset_s for n in notes) + 0.5
    y = np.zeros(int(end * sample_rate), dtype=np.float64)
    for n in notes:
        i0 = int(n.onset_s * sample_rate)
        i1 = min(len(y), int((n.offset_s + 0.1) * sample_rate))
        if i1 <= i0:
            continue
        t = np.arange(i1 - i0) / sample_rate
        f0 = float(midi_to_hz(n.pitch))
        env = np.exp(-t * 2.0) * np.minimum(1.0, t / 0.005)
        rel = np.clip((n.offset_s + 0.1 - (n.onset_s + t)) / 0.1, 0, 1)
        tone = sum(np.sin(2 * np.pi * h * f0 * t + rng.uniform(0, 6.28)) / h
                   for h in range(1, n_partials + 1) if h * f0 < sample_rate / 2)
        y[i0:i1] += 0.1 * (n.velocity / 100) * env * rel * tone
    y += 10 ** (noise_db / 20) * rng.standard_normal(len(y))
    return y.astype(np.float32)


def two_hand_score(bars: int = 4, *, seed: int = 1) -> Score:
    """A small two-group score: a melody above C4 and a bass line below, 120 bpm."""
    rng = np.random.default_rng(seed)
    notes = []
    nid = 0
    for b in range(bars):
        for k in range(4):  # right hand: quarter notes
            t = b * 2.0 + k * 0.5
            notes.append(Note(nid, int(rng.choice([64, 67, 69, 72, 74, 76])), t, t + 0.45, 90, 0, 1, 0, "right hand"))
            nid += 1
        for k in range(2):  # left hand: half notes
            t = b * 2.0 + k * 1.0
            notes.append(Note(nid, int(rng.choice([36, 40, 43, 45, 48])), t, t + 0.95, 80, 1, 2, 1, "left hand"))
            nid += 1
    return Score.from_notes(notes, [NoteGroup(0, "right hand"), NoteGroup(1, "left hand")])


def write_midi(score: Score, path: Path, *, tpb: int = 480, tempo: int = 500000) -> Path:
    """Type-1 MIDI with one track per group, track names = group names."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo)]))
    for g in score.groups:
        ev = []
        for n in score.notes_of(g.id):
            ev.append((round(n.onset_s * 1e6 / tempo * tpb), 1, "note_on", n))
            ev.append((round(n.offset_s * 1e6 / tempo * tpb), 0, "note_off", n))
        ev.sort(key=lambda e: (e[0], e[1]))
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name=g.name)])
        last = 0
        for tick, _, kind, n in ev:
            tr.append(mido.Message(kind, note=n.pitch, velocity=n.velocity if kind == "note_on" else 0,
                                   channel=n.channel, time=tick - last))
            last = tick
        mid.tracks.append(tr)
    mid.save(str(path))
    return path
