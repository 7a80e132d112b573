"""What the editor shows, computed headless: a dB spectrogram on a MIDI-pitch axis, note geometry
as arrays for fast hit-testing, unison overlaps, and time labels.

The spectrogram's rows lie on the same y axis as the piano-roll (MIDI pitch units): row ``r`` is
centred at pitch ``pitch_lo + r / rows_per_semitone`` and frame ``k`` at ``k * hop_s`` seconds, so
a note at pitch ``p`` drawn over y in [p - 0.5, p + 0.5] sits on its fundamental's energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .score import Note
from .units import midi_to_hz

_CHUNK_FRAMES = 4096  # bounds the temporaries of a long piece to a few MB


@dataclass(frozen=True)
class DisplaySpectrogram:
    """``db``: float32 (rows, frames), dB relative to the loudest cell, clipped at ``floor_db``.

    Row ``r`` is centred at MIDI pitch ``pitch_lo + r / rows_per_semitone``; frame ``k`` at
    ``k * hop_s`` seconds.
    """

    db: np.ndarray
    pitch_lo: float
    rows_per_semitone: int
    hop_s: float
    floor_db: float = -80.0

    @property
    def n_rows(self) -> int:
        return int(self.db.shape[0])

    @property
    def n_frames(self) -> int:
        return int(self.db.shape[1])

    @property
    def row_height(self) -> float:
        """Height of one row in semitones."""
        return 1.0 / self.rows_per_semitone

    @property
    def pitch_hi(self) -> float:
        """MIDI pitch of the top row's centre."""
        return self.pitch_lo + (self.n_rows - 1) * self.row_height

    @property
    def duration_s(self) -> float:
        return self.n_frames * self.hop_s

    def extent(self) -> tuple[float, float, float, float]:
        """(x0_s, y0_pitch, width_s, height_semitones) of the image's outer edges."""
        return (-0.5 * self.hop_s, self.pitch_lo - 0.5 * self.row_height,
                self.n_frames * self.hop_s, self.n_rows * self.row_height)

    def row_of(self, pitch: float) -> int:
        """Index of the row whose centre is nearest ``pitch`` (clipped to the image)."""
        return int(np.clip(np.rint((pitch - self.pitch_lo) * self.rows_per_semitone), 0, self.n_rows - 1))

    def frame_of(self, t_s: float) -> int:
        """Index of the frame whose centre is nearest ``t_s`` (clipped to the image)."""
        return int(np.clip(np.rint(t_s / self.hop_s), 0, self.n_frames - 1))

    def to_uint8(self, *, floor_db: float | None = None) -> np.ndarray:
        """uint8 (rows, frames): ``floor_db`` (default: the display's floor) -> 0, 0 dB -> 255.

        The result indexes a 256-entry colour table.
        """
        floor = self.floor_db if floor_db is None else float(floor_db)
        if not floor < 0:
            raise ValueError(f"floor_db must be below 0 dB, got {floor}")
        scale = 255.0 / -floor
        return np.clip((self.db - floor) * scale + 0.5, 0, 255).astype(np.uint8)

    def auto_floor_db(self, *, median_at: float = 0.25, loudest_floor_db: float = -30.0) -> float:
        """A colour-scale floor (dB) that puts the median cell ``median_at`` of the way up the scale.

        Dense recordings (reverb, sustain) otherwise fill the image with bright colours. Kept
        within [floor_db, loudest_floor_db].
        """
        if self.db.size == 0:
            return self.floor_db
        step = max(1, self.n_frames // 2000)  # a sample of columns is plenty for a median
        median = float(np.median(self.db[:, ::step]))
        return float(np.clip(median / (1.0 - median_at), self.floor_db, loudest_floor_db))


def log_frequency_spectrogram(V: np.ndarray, *, sample_rate: int, n_fft: int, hop_length: int,
                              pitch_lo: float = 21.0, pitch_hi: float = 108.0,
                              rows_per_semitone: int = 4, floor_db: float = -80.0) -> DisplaySpectrogram:
    """Resample an STFT magnitude onto a MIDI-pitch axis, in dB.

    V: magnitude, shape (n_fft // 2 + 1, n_frames), any float dtype. Each row takes the larger of
    (a) the quadratic interpolation of the dB spectrum at its centre frequency (through the louder
    of the two bins around it and that bin's neighbours: a partial's peak lands at its true
    frequency even where bins are wider than a semitone) and (b) the loudest bin inside its band (so narrow partials are not lost where a row
    spans several bins). Returns float32 dB relative to the loudest (interpolated) cell, clipped at ``floor_db``.
    """
    V = np.asarray(V)
    if V.ndim != 2 or V.shape[0] != n_fft // 2 + 1:
        raise ValueError(f"V must have shape (n_fft // 2 + 1 = {n_fft // 2 + 1}, frames), got {V.shape}")
    if not (rows_per_semitone >= 1 and pitch_hi > pitch_lo and floor_db < 0 and sample_rate > 0 and hop_length > 0):
        raise ValueError("need rows_per_semitone >= 1, pitch_hi > pitch_lo, floor_db < 0, sample_rate and hop_length > 0")
    n_bins, n_frames = V.shape
    n_rows = int(round((pitch_hi - pitch_lo) * rows_per_semitone)) + 1
    pitches = pitch_lo + np.arange(n_rows) / rows_per_semitone
    to_bin = n_fft / sample_rate
    centre = midi_to_hz(pitches) * to_bin
    half = 0.5 / rows_per_semitone
    band_lo = np.ceil(midi_to_hz(pitches - half) * to_bin).astype(int)
    band_hi = np.minimum(np.floor(midi_to_hz(pitches + half) * to_bin).astype(int), n_bins - 1)
    f = np.clip(np.floor(centre).astype(int), 1, n_bins - 3)
    d = np.clip(centre - f, -1.0, 2.0)[:, None].astype(np.float32)  # position from bin f, in bins
    beyond = centre > n_bins - 1  # above Nyquist: nothing to show

    peak = float(np.max(V)) if V.size else 0.0
    ref_db = 20.0 * np.log10(peak) if peak > 0 else 0.0
    low = floor_db - 40.0  # headroom so the interpolation is not shaped by the clip
    out = np.empty((n_rows, n_frames), dtype=np.float32)
    with_band = np.nonzero((band_hi >= band_lo) & ~beyond)[0]
    for f0 in range(0, n_frames, _CHUNK_FRAMES):
        f1 = min(n_frames, f0 + _CHUNK_FRAMES)
        D = 20.0 * np.log10(np.maximum(V[:, f0:f1].astype(np.float32), 1e-30)) - ref_db
        np.maximum(D, low, out=D)
        ya, yb, yc, yd = D[f - 1], D[f], D[f + 1], D[f + 2]
        # Parabola through the louder of bins f, f+1 and its two neighbours (continuous across a peak);
        # capped 1.5 dB above that bin (a Hann window's worst scalloping loss is 1.42 dB).
        left = yb >= yc
        ym, y0, yp = np.where(left, ya, yb), np.where(left, yb, yc), np.where(left, yc, yd)
        x = np.where(left, d, d - 1.0)
        rows = y0 + 0.5 * x * (yp - ym) + 0.5 * x * x * (yp - 2.0 * y0 + ym)
        np.minimum(rows, y0 + 1.5, out=rows)
        for r in with_band:
            np.maximum(rows[r], D[band_lo[r]: band_hi[r] + 1].max(axis=0), out=rows[r])
        rows[beyond] = low
        out[:, f0:f1] = rows
    if peak > 0:  # the interpolated peaks may exceed the loudest bin by a dB or so: renormalise
        out -= out.max()
    else:
        out.fill(floor_db)  # silence
    np.clip(out, floor_db, 0.0, out=out)
    return DisplaySpectrogram(out, float(pitch_lo), int(rows_per_semitone), hop_length / sample_rate, float(floor_db))


# ---- notes as arrays ------------------------------------------------------------------------

@dataclass(frozen=True)
class NoteTable:
    """Notes as parallel arrays (one entry per note, in ``Score.notes`` order).

    ids, pitch, group: int64 (n,); onset_s, offset_s: float64 (n,) seconds.
    """

    ids: np.ndarray
    pitch: np.ndarray
    onset_s: np.ndarray
    offset_s: np.ndarray
    group: np.ndarray

    @classmethod
    def from_notes(cls, notes: Iterable[Note]) -> "NoteTable":
        notes = list(notes)
        return cls(np.array([n.id for n in notes], dtype=np.int64),
                   np.array([n.pitch for n in notes], dtype=np.int64),
                   np.array([n.onset_s for n in notes], dtype=np.float64),
                   np.array([n.offset_s for n in notes], dtype=np.float64),
                   np.array([n.group_id for n in notes], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, ids: Iterable[int]) -> np.ndarray:
        """Row indices (int64) of the given note ids that are present."""
        return np.nonzero(np.isin(self.ids, np.fromiter(ids, dtype=np.int64)))[0]

    def in_box(self, t0_s: float, t1_s: float, p0: float, p1: float) -> np.ndarray:
        """Indices of notes whose rectangle [onset, offset] x [pitch - 0.5, pitch + 0.5] meets the box."""
        t0_s, t1_s = min(t0_s, t1_s), max(t0_s, t1_s)
        p0, p1 = min(p0, p1), max(p0, p1)
        hit = (self.offset_s >= t0_s) & (self.onset_s <= t1_s) & (self.pitch + 0.5 >= p0) & (self.pitch - 0.5 <= p1)
        return np.nonzero(hit)[0]

    def hit(self, t_s: float, pitch: float, *, slop_s: float = 0.0) -> int | None:
        """Index of the note under (t_s, pitch), the one starting latest if several; None if none.

        ``slop_s`` widens every note by that many seconds on both sides (a few pixels' grace).
        """
        row = np.rint(pitch)
        idx = np.nonzero((self.pitch == row) & (self.onset_s - slop_s <= t_s) & (self.offset_s + slop_s >= t_s))[0]
        if not len(idx):
            return None
        return int(idx[np.argmax(self.onset_s[idx])])

    def on_segment(self, a: tuple[float, float], b: tuple[float, float], *, step_s: float, step_pitch: float = 0.25) -> np.ndarray:
        """Indices of notes touched by the straight stroke from ``a`` to ``b`` ((t_s, pitch) points).

        The stroke is sampled every ``step_s`` seconds and ``step_pitch`` semitones.
        """
        n = int(max(abs(b[0] - a[0]) / max(step_s, 1e-9), abs(b[1] - a[1]) / step_pitch)) + 2
        ts = np.linspace(a[0], b[0], n)
        ps = np.rint(np.linspace(a[1], b[1], n))
        hit = ((self.pitch[:, None] == ps[None, :])
               & (self.onset_s[:, None] <= ts[None, :]) & (self.offset_s[:, None] >= ts[None, :]))
        return np.nonzero(hit.any(axis=1))[0]


def unison_regions(notes: Iterable[Note]) -> list[tuple[int, float, float, int, int]]:
    """Where two groups sound the same pitch at once: (pitch, t0_s, t1_s, group_a, group_b), group_a < group_b.

    One entry per overlapping pair of notes from different groups; sorted by (pitch, t0_s).
    """
    by_pitch: dict[int, list[Note]] = {}
    for n in notes:
        by_pitch.setdefault(n.pitch, []).append(n)
    out = []
    for pitch in sorted(by_pitch):
        active: list[Note] = []
        for n in sorted(by_pitch[pitch], key=lambda m: m.onset_s):
            active = [m for m in active if m.offset_s > n.onset_s]
            for m in active:
                if m.group_id != n.group_id:
                    ga, gb = sorted((m.group_id, n.group_id))
                    out.append((pitch, n.onset_s, min(m.offset_s, n.offset_s), ga, gb))
            active.append(n)
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def format_time(t_s: float, *, decimals: int = 1) -> str:
    """Seconds as m:ss.s (``decimals`` digits after the point): 83.25 -> '1:23.2'; negative times get '-'."""
    sign = "-" if t_s < 0 else ""
    t = round(abs(t_s), decimals)
    m, s = divmod(t, 60.0)
    width = 3 + decimals if decimals else 2
    return f"{sign}{int(m)}:{s:0{width}.{decimals}f}"
