"""The factorisation a lesson shows, built exactly as the separation builds it (Qt-free).

An ``Excerpt`` is a read-only snapshot of the document (samples, notes, groups, parameters) and a
time range, taken in the GUI thread. ``build_problem`` runs in the worker: STFT of the excerpt's
channel mix (``core.spectral.magnitude_mono``), the score's constraints (``core.constraints``) and
the energy scaling of H0 (``core.nmf.scale_activations``), as ``core.separation`` does. Times
inside the problem are relative to the excerpt's start; ``t0_s`` maps them back to the piece.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...core.constraints import Component, build_constraints
from ...core.nmf import scale_activations
from ...core.params import SeparationParams
from ...core.score import Note, NoteGroup
from ...core.separation import resolve_stft
from ...core.spectral import STFTConfig, magnitude_mono, stft_multi
from ...core.units import hz_to_midi

DEFAULT_EXCERPT_S = 20.0


@dataclass(frozen=True)
class Excerpt:
    """What to factorise: ``samples`` float32 (channels, n_samples) of the whole piece (never
    written), the notes and groups of the score, the separation parameters, and the range
    ``[t0_s, t1_s)`` in seconds of the piece."""

    samples: np.ndarray
    sample_rate: int
    notes: tuple[Note, ...]
    groups: tuple[NoteGroup, ...]
    params: SeparationParams
    t0_s: float
    t1_s: float

    @property
    def duration_s(self) -> float:
        return self.t1_s - self.t0_s


def take_excerpt(audio, score, params: SeparationParams, *, t0_s: float = 0.0,
                 t1_s: float | None = None) -> Excerpt:
    """Snapshot ``audio`` (``io.audio.Audio``) and ``score`` between ``t0_s`` and ``t1_s`` seconds
    (default: the first ``DEFAULT_EXCERPT_S`` seconds), clipped to the recording."""
    duration = audio.n_samples / audio.sample_rate
    t1 = DEFAULT_EXCERPT_S if t1_s is None else float(t1_s)
    t0 = float(np.clip(t0_s, 0.0, duration))
    t1 = float(np.clip(t1, t0, duration))
    if t1 - t0 < 0.25:
        raise ValueError(f"the excerpt {t0:.2f}-{t1:.2f} s is too short: choose at least a quarter second")
    samples = audio.samples.view()
    samples.flags.writeable = False
    return Excerpt(samples, int(audio.sample_rate), tuple(score.notes), tuple(score.groups), params, t0, t1)


def clip_notes(notes, t0_s: float, t1_s: float) -> list[Note]:
    """The notes sounding in ``[t0_s, t1_s)``, cut to it and shifted so that ``t0_s`` becomes 0."""
    out = []
    for n in notes:
        a, b = max(n.onset_s, t0_s) - t0_s, min(n.offset_s, t1_s) - t0_s
        if b - a > 1e-6:
            out.append(n.evolve(onset_s=a, offset_s=b))
    return out


@dataclass
class Problem:
    """V ≈ W H for one excerpt.

    V: float32 (n_bins, n_frames) magnitude; W0: float32 (n_bins, K); H0: float32 (K, n_frames)
    (scaled as the separation scales it); ``components[k]`` says what column/row k stands for.
    Frame ``j`` is centred at ``t0_s + j * hop_s`` seconds of the piece.
    """

    V: np.ndarray
    W0: np.ndarray
    H0: np.ndarray
    components: list[Component]
    groups: tuple[NoteGroup, ...]
    cfg: STFTConfig
    sample_rate: int
    t0_s: float
    params: SeparationParams
    notes: list[Note] = field(default_factory=list)

    @property
    def hop_s(self) -> float:
        return self.cfg.hop_length / self.sample_rate

    @property
    def n_frames(self) -> int:
        return int(self.V.shape[1])

    @property
    def K(self) -> int:
        return int(self.W0.shape[1])


def build_problem(ex: Excerpt) -> Problem:
    """STFT of the excerpt and the score's constraints (as ``core.separation.separate_steps``)."""
    cfg = resolve_stft(ex.sample_rate, ex.params)
    i0, i1 = int(round(ex.t0_s * ex.sample_rate)), int(round(ex.t1_s * ex.sample_rate))
    audio = np.ascontiguousarray(ex.samples[:, i0:i1], dtype=np.float32)
    V = magnitude_mono(stft_multi(audio, cfg))
    notes = clip_notes(ex.notes, ex.t0_s, ex.t1_s)
    rng = np.random.default_rng(ex.params.seed)
    cons = build_constraints(notes, ex.groups, n_frames=V.shape[1], sample_rate=ex.sample_rate, cfg=cfg,
                             params=ex.params, rng=rng)
    H0 = scale_activations(V, cons.W0, cons.H0)
    return Problem(V, cons.W0, H0, cons.components, ex.groups, cfg, ex.sample_rate, ex.t0_s, ex.params, notes)


class PitchMap:
    """Linear-frequency STFT bins onto a MIDI-pitch axis (``rows_per_semitone`` rows a semitone).

    Row ``r`` is centred at pitch ``pitch_lo + r / rows_per_semitone``. A row takes the largest
    bin inside its band, or, where bins are wider than a row (low pitches), the linear
    interpolation of the two bins around its centre frequency.
    """

    def __init__(self, *, n_fft: int, sample_rate: int, pitch_lo: float, pitch_hi: float,
                 rows_per_semitone: int = 2):
        n_bins = n_fft // 2 + 1
        nyquist_pitch = float(hz_to_midi(sample_rate / 2.0 * (n_bins - 2) / (n_bins - 1)))
        pitch_hi = min(float(pitch_hi), nyquist_pitch)
        if not pitch_hi > pitch_lo:
            raise ValueError(f"pitch range {pitch_lo}-{pitch_hi} is empty")
        self.pitch_lo = float(pitch_lo)
        self.rows_per_semitone = int(rows_per_semitone)
        n_rows = int(np.floor((pitch_hi - pitch_lo) * rows_per_semitone)) + 1
        pitches = self.pitch_lo + np.arange(n_rows) / rows_per_semitone
        to_bin = n_fft / sample_rate
        hz = 440.0 * 2.0 ** ((pitches - 69.0) / 12.0)
        half = 0.5 / rows_per_semitone
        centre = hz * to_bin
        lo = np.ceil(440.0 * 2.0 ** ((pitches - half - 69.0) / 12.0) * to_bin).astype(int)
        hi = np.floor(440.0 * 2.0 ** ((pitches + half - 69.0) / 12.0) * to_bin).astype(int)
        lo, hi = np.clip(lo, 0, n_bins - 1), np.clip(hi, 0, n_bins - 1)
        self._has_band = hi >= lo
        self._starts = np.maximum.accumulate(lo)  # nondecreasing, as reduceat wants
        self._stop = min(n_bins, int(max(hi.max(), self._starts.max())) + 1)
        self._f = np.clip(np.floor(centre).astype(int), 0, n_bins - 2)
        self._d = np.clip(centre - self._f, 0.0, 1.0).astype(np.float32)[:, None]
        self.n_rows = n_rows
        self.n_bins = n_bins
        # Only bins first_bin .. stop-1 are ever read (a model needs no more rows than these).
        self.first_bin = int(min(self._f.min(), self._starts.min()))
        self._f -= self.first_bin
        self._starts -= self.first_bin
        self._stop -= self.first_bin

    @property
    def row_height(self) -> float:
        return 1.0 / self.rows_per_semitone

    def pitch_of_row(self, r) -> np.ndarray:
        return self.pitch_lo + np.asarray(r) / self.rows_per_semitone

    def row_of(self, pitch: float) -> int:
        return int(np.clip(np.rint((pitch - self.pitch_lo) * self.rows_per_semitone), 0, self.n_rows - 1))

    @property
    def bins(self) -> slice:
        """The STFT bins the rows are made from: ``pm(X) == pm(X[pm.bins], sliced=True)``."""
        return slice(self.first_bin, self.first_bin + self._stop)

    def __call__(self, X: np.ndarray, *, sliced: bool = False) -> np.ndarray:
        """X: nonnegative (n_bins, m), or only its rows ``self.bins`` when ``sliced`` -> float32 (n_rows, m)."""
        X = self._check(X, sliced, axis=0)
        return self.frames(np.ascontiguousarray(X.T, dtype=np.float32), sliced=True).T

    def frames(self, XT: np.ndarray, *, sliced: bool = False) -> np.ndarray:
        """The same for frame-major spectra: XT (m, n_bins) (or (m, bins of ``self.bins``) when
        ``sliced``) -> float32 (m, n_rows). The fast path (one reduction per frame)."""
        XT = np.asarray(self._check(XT, sliced, axis=1), dtype=np.float32)
        a, b = XT[:, self._f], XT[:, self._f + 1]
        rows = a + (b - a) * self._d[:, 0]
        band = np.maximum.reduceat(XT, self._starts, axis=1)
        band[:, ~self._has_band] = 0.0
        return np.maximum(rows, band, out=rows)

    def _check(self, X: np.ndarray, sliced: bool, *, axis: int) -> np.ndarray:
        if not sliced:
            if X.shape[axis] != self.n_bins:
                raise ValueError(f"expected {self.n_bins} frequency bins, got {X.shape[axis]}")
            return X[self.bins] if axis == 0 else X[:, self.bins]
        if X.shape[axis] != self._stop:
            raise ValueError(f"expected the {self._stop} bins of PitchMap.bins, got {X.shape[axis]}")
        return X


def pitch_map_for(problem: Problem, *, rows_per_semitone: int = 2) -> PitchMap:
    """A pitch axis for a lesson: from a little below the lowest note to about the 8th partial of
    the highest (three octaves up), within the STFT's range."""
    pitches = [n.pitch for n in problem.notes] or [60]
    return PitchMap(n_fft=problem.cfg.n_fft, sample_rate=problem.sample_rate, pitch_lo=max(12, min(pitches) - 5),
                    pitch_hi=max(pitches) + 36, rows_per_semitone=rows_per_semitone)


def to_db(X: np.ndarray, *, ref: float, floor_db: float) -> np.ndarray:
    """20 log10(X / ref), float32, clipped to [floor_db, 0]; ``ref`` <= 0 gives the floor."""
    if ref <= 0:
        return np.full(X.shape, floor_db, np.float32)
    out = 20.0 * np.log10(np.maximum(np.asarray(X, dtype=np.float32), np.float32(1e-30)) / np.float32(ref))
    return np.clip(out, floor_db, 0.0).astype(np.float32, copy=False)


def to_uint8(db: np.ndarray, *, floor_db: float) -> np.ndarray:
    """dB in [floor_db, 0] -> uint8 0..255 (indexes a 256-entry colour table)."""
    return np.clip((db - floor_db) * (255.0 / -floor_db) + 0.5, 0, 255).astype(np.uint8)
