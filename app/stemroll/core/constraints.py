"""Score + groups -> initial templates W and activations H, zero outside the allowed regions.

After Ewert & Müller (ICASSP 2012): one harmonic component per (group, pitch) and, optionally,
one onset component per (group, pitch); activations are zero outside each note's window widened
by the tolerances. Zeros stay zero under multiplicative updates, so they are hard constraints.
A few free components form the residual group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .params import SeparationParams
from .score import Note, NoteGroup
from .spectral import STFTConfig
from .templates import harmonic_template, onset_template
from .units import frames_to_seconds

RESIDUAL_GROUP = -1


@dataclass(frozen=True)
class Component:
    """What one column of W / row of H stands for."""

    kind: str  # 'harmonic' | 'onset' | 'residual'
    group_id: int  # RESIDUAL_GROUP for residual components
    pitch: int  # -1 for residual components

    @property
    def label(self) -> str:
        from .units import note_name
        if self.kind == "residual":
            return "residual"
        return f"{note_name(self.pitch)}{' onset' if self.kind == 'onset' else ''}"


@dataclass
class Constraints:
    """Initial factors and their structure.

    W0: float32 (n_bins, K), H0: float32 (K, n_frames); ``components[k]`` describes column/row k.
    """

    W0: np.ndarray
    H0: np.ndarray
    components: list[Component]
    group_ids: list[int]

    def component_groups(self) -> np.ndarray:
        """Group id per component, shape (K,)."""
        return np.array([c.group_id for c in self.components], dtype=int)


def component_templates(components: Sequence[Component], *, n_bins: int, sample_rate: int, n_fft: int,
                        n_harmonics: int, tolerance_cents: float, rng: np.random.Generator) -> np.ndarray:
    """Initial templates for ``components`` at one STFT resolution: float32 (n_bins, K).

    Harmonic components get a comb (``harmonic_template``), onset components the broadband
    attack template, residual components a random positive spectrum drawn from ``rng`` (the
    only random part). Each column has unit sum (or is all zero when no partial fits).
    """
    cols = []
    for c in components:
        if c.kind == "harmonic":
            cols.append(harmonic_template(c.pitch, n_bins=n_bins, sample_rate=sample_rate, n_fft=n_fft,
                                          n_harmonics=n_harmonics, tolerance_cents=tolerance_cents))
        elif c.kind == "onset":
            cols.append(onset_template(c.pitch, n_bins=n_bins, sample_rate=sample_rate, n_fft=n_fft))
        elif c.kind == "residual":
            wr = rng.uniform(0.5, 1.0, n_bins).astype(np.float32)
            cols.append(wr / wr.sum())
        else:
            raise ValueError(f"unknown component kind '{c.kind}'")
    return np.stack(cols, axis=1).astype(np.float32) if cols else np.zeros((n_bins, 0), np.float32)


def build_constraints(notes: Sequence[Note], groups: Sequence[NoteGroup], *, n_frames: int, sample_rate: int,
                      cfg: STFTConfig, params: SeparationParams, rng: np.random.Generator) -> Constraints:
    """Initial W (n_bins, K) and H (K, n_frames) with the score's zero pattern."""
    n_bins = cfg.n_bins
    keys = sorted({(n.group_id, n.pitch) for n in notes})
    comps: list[Component] = []
    wcols: list[np.ndarray] = []
    hrows: list[np.ndarray] = []
    t = frames_to_seconds(np.arange(n_frames), sample_rate=sample_rate, hop_length=cfg.hop_length)
    by_key: dict[tuple[int, int], list[Note]] = {}
    for n in notes:
        by_key.setdefault((n.group_id, n.pitch), []).append(n)
    half_frame_s = cfg.n_fft / 2 / sample_rate  # a frame hears this far either side of its centre
    for key in keys:
        g, p = key
        w = harmonic_template(p, n_bins=n_bins, sample_rate=sample_rate, n_fft=cfg.n_fft,
                              n_harmonics=params.n_harmonics, tolerance_cents=params.tolerance_cents)
        if not w.any():
            continue
        h = np.zeros(n_frames, dtype=np.float32)
        ho = np.zeros(n_frames, dtype=np.float32)
        for n in by_key[key]:
            lo = n.onset_s - params.onset_tolerance_s - half_frame_s
            hi = n.offset_s + params.offset_tolerance_s + half_frame_s
            h[(t >= lo) & (t <= hi)] = 1.0
            ho[(t >= lo) & (t <= n.onset_s + params.onset_window_s + half_frame_s)] = 1.0
        if not h.any():
            continue
        comps.append(Component("harmonic", g, p))
        wcols.append(w)
        hrows.append(h)
        if params.onset_templates:
            comps.append(Component("onset", g, p))
            wcols.append(onset_template(p, n_bins=n_bins, sample_rate=sample_rate, n_fft=cfg.n_fft))
            hrows.append(ho)
    for _ in range(params.residual_components):
        comps.append(Component("residual", RESIDUAL_GROUP, -1))
        wr = rng.uniform(0.5, 1.0, n_bins).astype(np.float32)
        wcols.append(wr / wr.sum())
        hrows.append(np.full(n_frames, 0.1, dtype=np.float32))
    K = len(comps)
    W0 = np.stack(wcols, axis=1) if K else np.zeros((n_bins, 0), np.float32)
    H0 = np.stack(hrows, axis=0) if K else np.zeros((0, n_frames), np.float32)
    return Constraints(W0.astype(np.float32), H0.astype(np.float32), comps, [g.id for g in groups])
