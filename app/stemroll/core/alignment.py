"""Score-to-audio alignment: move every note of a MIDI score onto the recording's timing.

Pipeline (a generator, so the UI can show progress and cancel between steps):

1. features: audio chroma (with a silence row) and decaying onset chroma from chunked STFTs,
   pitch bands following the recording's tuning (``alignment_features``, ``alignment_tuning``);
   the same features synthesised from the notes.
2. warp: multi-resolution DTW (``dtw``) over chroma, then chroma + onset features in a band. The
   score may start after a silent lead-in and end before the recording's decaying tail, and
   either may cover only part of the other (open ends on both axes); user anchors (note id,
   audio time) are hard constraints on the path.
3. refine: each note's onset is moved to the best pitch-specific attack near its warped position
   (``alignment_refine``); the global warp alone cannot follow per-note timing.
4. confidence: per note, from the audio evidence for its pitch and for its attack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generator, Sequence

import numpy as np

from .alignment_features import HARMONIC_DECAY, N_HARMONICS, audio_features, score_features
from .alignment_tuning import score_profile
from .alignment_refine import note_confidence, refine_onsets as _refine
from .dtw import FeaturePair, multires_dtw
from .score import Note

ONSET_WEIGHT = 1.0  # weight of the onset-feature cost against the chroma cost
MIN_DURATION_S = 0.03


@dataclass(frozen=True)
class AlignmentResult:
    """notes: same ids, pitches, groups, tracks and order as the input, aligned onset_s/offset_s.
    confidence: float32 (n_notes,) in [0, 1], low = doubtful. path_s: float64 (n_points, 2) of
    (score time s, audio time s): the global warp before per-note refinement, both columns
    strictly increasing (one point per DTW frame of the score, anchors exact), so
    ``np.interp(t, path_s[:, 0], path_s[:, 1])`` maps any score time to the recording."""

    notes: tuple[Note, ...]
    confidence: np.ndarray
    path_s: np.ndarray


def align_notes(y: np.ndarray, sample_rate: int, notes: Sequence[Note], **kw) -> AlignmentResult:
    """Run ``align_steps`` to the end and return its result."""
    gen = align_steps(y, sample_rate, notes, **kw)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


def align_steps(y: np.ndarray, sample_rate: int, notes: Sequence[Note], *,
                anchors: Sequence[tuple[int, float]] = (), refine_onsets: bool = True
                ) -> Generator[tuple[str, float], None, AlignmentResult]:
    """Align ``notes`` to the mono recording ``y`` (float32 (n,), ``sample_rate`` Hz).

    Yields (stage, fraction 0..1) with stage in "features", "warp", "refine" (only with
    ``refine_onsets``), "confidence"; returns an ``AlignmentResult``. Stop iterating to cancel.

    anchors: (note_id, audio time s) pairs: those notes' onsets land exactly there and the global
    warp passes through them (ValueError if a note is unknown, a time lies outside the
    recording, or two anchors cross). refine_onsets: move each note to its own attack near the
    warped position (off: every note follows the global warp).
    """
    y = np.asarray(y, dtype=np.float32)
    notes = tuple(notes)
    _validate(y, sample_rate, notes)
    duration_s = len(y) / sample_rate
    anchor_map = _validate_anchors(anchors, notes, duration_s)
    if not notes:
        return AlignmentResult((), np.zeros(0, np.float32), np.zeros((0, 2)))

    yield "features", 0.0
    pitch = np.array([n.pitch for n in notes])
    on = np.array([n.onset_s for n in notes], dtype=float)
    off = np.array([n.offset_s for n in notes], dtype=float)
    profile = score_profile(pitch, off - on, n_harmonics=N_HARMONICS, decay=HARMONIC_DECAY)
    af = audio_features(y, sample_rate, profile=profile)
    rate = af.grid.dtw_rate
    vel = np.array([n.velocity for n in notes], dtype=float)
    t0 = float(on.min())  # the score grid starts at its first note; a lead-in is left out by the warp
    n_score = int(np.ceil((off.max() - t0) * rate)) + 1
    s_chroma, s_onset = score_features(pitch, on, off, vel, t0_s=t0, n_frames=n_score, frame_rate=rate)
    yield "features", 1.0

    feats = [FeaturePair(s_chroma, af.chroma, "cosine", 1.0),
             FeaturePair(s_onset, af.onset, "euclidean", ONSET_WEIGHT, coarse=False)]
    anchor_cells = _anchor_cells(anchor_map, notes, t0, rate, n_score, af.chroma.shape[1])
    gen = multires_dtw(feats, anchors=anchor_cells, frame_rate=rate)
    while True:
        try:
            yield "warp", next(gen)
        except StopIteration as stop:
            path, _ = stop.value
            break
    score_s, audio_s = warp_from_path(path, t0_s=t0, frame_rate=rate)
    score_s, audio_s = _pin_anchors(score_s, audio_s, anchor_map, notes)
    new_on = warp_times(on, score_s, audio_s)
    new_off = _warp_offsets(on, off, new_on, score_s, audio_s)
    fixed = np.array([n.id in anchor_map for n in notes])
    for k, n in enumerate(notes):
        if n.id in anchor_map:
            new_on[k] = anchor_map[n.id]
    if refine_onsets:
        gen = _refine(af, pitch, new_on, fixed=fixed)
        while True:
            try:
                yield "refine", next(gen)
            except StopIteration as stop:
                refined = stop.value
                break
        new_off = new_off + (refined - new_on)  # keep the aligned duration
        new_on = refined
    yield "confidence", 0.0
    new_on = np.clip(new_on, 0.0, duration_s)
    new_off = np.clip(np.maximum(new_off, new_on + MIN_DURATION_S), None, max(duration_s, float(new_on.max()) + MIN_DURATION_S))
    conf = note_confidence(af, pitch, new_on, new_off)
    out = tuple(n.evolve(onset_s=float(a), offset_s=float(b)) for n, a, b in zip(notes, new_on, new_off))
    yield "confidence", 1.0
    return AlignmentResult(out, conf, np.stack([score_s, audio_s], axis=1))


def warp_from_path(path: np.ndarray, *, t0_s: float, frame_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Strictly increasing (score_s, audio_s) breakpoints from a DTW path (mean audio frame per row)."""
    rows, inv = np.unique(path[:, 0], return_inverse=True)
    cols = np.bincount(inv, weights=path[:, 1]) / np.bincount(inv)
    audio = np.maximum.accumulate(cols) + np.arange(len(cols)) * 1e-6
    return t0_s + rows / frame_rate, audio / frame_rate


def warp_times(t_s: np.ndarray, score_s: np.ndarray, audio_s: np.ndarray, *, span_s: float = 2.0) -> np.ndarray:
    """Score times -> audio times through the warp breakpoints; beyond either end of the warp (score
    the recording leaves out) continue at the mean tempo of the nearest ``span_s`` seconds."""
    out = np.interp(t_s, score_s, audio_s)
    if len(score_s) < 2:
        return out + (np.asarray(t_s) - score_s[0])
    for side in (0, -1):
        x0, y0 = score_s[side], audio_s[side]
        x1 = min(max(x0 - span_s if side else x0 + span_s, score_s[0]), score_s[-1])
        slope = (np.interp(x1, score_s, audio_s) - y0) / (x1 - x0) if x1 != x0 else 1.0
        beyond = t_s > x0 if side else t_s < x0
        out = np.where(beyond, y0 + (t_s - x0) * slope, out)
    return out


def _warp_offsets(on: np.ndarray, off: np.ndarray, new_on: np.ndarray, score_s: np.ndarray, audio_s: np.ndarray) -> np.ndarray:
    """Offsets through the warp; where the path ends (open end), continue at the local tempo."""
    end_s = score_s[-1]
    new_off = warp_times(off, score_s, audio_s)
    lookback = max(score_s[0], end_s - 4.0)
    slope = (audio_s[-1] - np.interp(lookback, score_s, audio_s)) / max(end_s - lookback, 1e-6)
    late = off > end_s - 0.25
    new_off[late] = new_on[late] + (off[late] - on[late]) * slope
    return new_off


def _validate(y: np.ndarray, sample_rate: int, notes: tuple[Note, ...]) -> None:
    if y.ndim != 1:
        raise ValueError(f"alignment expects mono audio of shape (n,), got {y.shape}")
    if not sample_rate > 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    if len(y) < sample_rate // 10:
        raise ValueError(f"the recording is too short to align ({len(y) / sample_rate:.3f} s)")
    if not np.isfinite(y).all():
        raise ValueError("the recording holds samples that are not numbers (NaN or infinity)")
    ids = [n.id for n in notes]
    if len(set(ids)) != len(ids):
        raise ValueError("note ids must be unique")


def _validate_anchors(anchors, notes, duration_s: float) -> dict[int, float]:
    by_id = {n.id: n for n in notes}
    out: dict[int, float] = {}
    for nid, t in anchors:
        if nid not in by_id:
            raise ValueError(f"anchor names note {nid}, which is not in the score")
        if not 0.0 <= float(t) <= duration_s:
            raise ValueError(f"anchor for note {nid} at {t:.3f} s lies outside the recording (0-{duration_s:.3f} s)")
        out[int(nid)] = float(t)
    ordered = sorted(out.items(), key=lambda kv: by_id[kv[0]].onset_s)
    for (a, ta), (b, tb) in zip(ordered, ordered[1:]):
        if by_id[b].onset_s > by_id[a].onset_s and tb <= ta:
            raise ValueError(f"anchors cross: note {b} comes after note {a} in the score but is anchored before it")
    return out


def _anchor_cells(anchor_map: dict[int, float], notes, t0: float, rate: float, n_score: int, n_audio: int) -> np.ndarray:
    by_id = {n.id: n for n in notes}
    cells = sorted({(min(n_score - 1, int(round((by_id[k].onset_s - t0) * rate))), min(n_audio - 1, int(round(t * rate))))
                    for k, t in anchor_map.items()})
    out, last = [], (-1, -1)
    for i, j in cells:  # notes of one chord anchored at one time collapse to one cell
        if i > last[0] and j > last[1]:
            out.append((i, j))
            last = (i, j)
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def _pin_anchors(score_s: np.ndarray, audio_s: np.ndarray, anchor_map: dict[int, float], notes) -> tuple[np.ndarray, np.ndarray]:
    """Make the warp pass exactly through each anchor: add the anchor points and drop breakpoints
    that would cross them (several anchors at one score time: the first is kept)."""
    if not anchor_map:
        return score_s, audio_s
    by_id = {n.id: n for n in notes}
    pts = sorted({(by_id[k].onset_s, t) for k, t in anchor_map.items()})
    ps = np.array([p[0] for p in pts])
    pa = np.array([p[1] for p in pts])
    first = np.concatenate([[True], np.diff(ps) > 0])
    ps, pa = ps[first], pa[first]
    k = np.searchsorted(ps, score_s)  # anchors ps[k-1] < s <= ps[k]
    lo_a = np.concatenate([[-np.inf], pa])[k]
    hi_a = np.concatenate([pa, [np.inf]])[k]
    on_anchor = np.isin(score_s, ps)
    keep = (audio_s > lo_a) & (audio_s < hi_a) & ~on_anchor
    s = np.concatenate([score_s[keep], ps])
    a = np.concatenate([audio_s[keep], pa])
    order = np.argsort(s, kind="stable")
    return s[order], a[order]
