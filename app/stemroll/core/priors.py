"""A decay prior on activations, for parts whose notes die away (piano, guitar, harp, mallets).

A struck or plucked note cannot swell again after its attack. Without that knowledge a piano
note held under a sustained instrument (a viola, a clarinet, a voice) can follow that
instrument's swells and vibrato on the partials they share and take its energy. The prior:

1. Which parts decay is read from the recording, not assumed from instrument names: after most
   of the factorisation, each group's *decay rate* is the median, over its notes long enough to
   tell (``MIN_NOTE_S`` after the attack), of the level drop from the activation's peak near the
   onset to the mean of the note's second half, in dB per second. Measured on six pieces: piano
   -9 to -44 dB/s, acoustic bass -24 to -30; clarinet, oboe, organ, viola, violin, cello, sax,
   bassoon between -1.3 and +15 (a bowed or blown note holds or swells). ``DECAY_DB_PER_S``
   (-5 dB/s) sits in the gap.
2. When the recording has both kinds, the last iterations hold every decaying part's harmonic
   activations to a non-increasing envelope from the peak after each onset until the next onset
   of the same pitch (a running minimum, applied after each activation update). A recording of
   decaying parts only (a piano's two hands) is left alone: there is no sustained part to
   protect, and the constraint would only cost fit (string beating, pedal resonance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generator, Sequence

import numpy as np

from .constraints import Component
from .informed_nmf import informed_nmf_steps
from .nmf import NMFResult, NMFStep
from .score import Note
from .units import frames_to_seconds

DECAY_DB_PER_S = -5.0  # a part whose notes fall faster than this (dB per second) counts as decaying
ATTACK_S = 0.15  # the peak of a note is looked for up to this long after its onset
MIN_NOTE_S = 0.4  # notes shorter than this after the attack do not show whether a part decays


@dataclass(frozen=True)
class NoteSpan:
    """Frames of one note of harmonic component ``k``: ``start`` (onset minus the tolerance) ..
    ``attack_end`` holds the peak; the envelope is constrained up to ``end`` (the note's offset plus
    the tolerance, or the next onset of the same pitch); ``offset`` is the written end."""

    k: int
    start: int
    attack_end: int
    offset: int
    end: int


def note_spans(notes: Sequence[Note], components: Sequence[Component], *, n_frames: int, sample_rate: int,
               hop_length: int, onset_tolerance_s: float, offset_tolerance_s: float) -> list[NoteSpan]:
    """The spans of every note of every harmonic component (frames, see ``NoteSpan``)."""
    t = frames_to_seconds(np.arange(n_frames), sample_rate=sample_rate, hop_length=hop_length)
    by_key: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for n in notes:
        by_key.setdefault((n.group_id, n.pitch), []).append((n.onset_s, n.offset_s))
    spans = []
    for k, c in enumerate(components):
        if c.kind != "harmonic":
            continue
        times = sorted(by_key.get((c.group_id, c.pitch), []))
        for i, (on, off) in enumerate(times):
            stop = off + offset_tolerance_s
            if i + 1 < len(times):
                stop = min(stop, times[i + 1][0] - onset_tolerance_s)
            s = NoteSpan(k, int(np.searchsorted(t, on - onset_tolerance_s)), int(np.searchsorted(t, on + ATTACK_S)),
                         int(np.searchsorted(t, off)), int(np.searchsorted(t, stop)))
            if s.end > s.attack_end > s.start:
                spans.append(s)
    return spans


def decay_rates(H: np.ndarray, spans: Sequence[NoteSpan], components: Sequence[Component], *,
                min_frames: int, frame_rate: float) -> dict[int, float]:
    """Per group id: median over its notes with at least ``min_frames`` after the attack of the
    level change, in dB per second, from the activation's peak in the attack to the mean of the
    note's second half (``frame_rate`` frames per second). Groups without such notes: absent."""
    rates: dict[int, list[float]] = {}
    for s in spans:
        if s.offset - s.attack_end < min_frames:
            continue
        h = H[s.k]
        p = s.start + int(np.argmax(h[s.start: s.attack_end]))
        mid = (s.attack_end + s.offset) // 2
        peak, tail = float(h[p]), float(h[mid: s.offset].mean())
        if peak <= 0 or tail <= 0:
            continue
        seconds = ((mid + s.offset) / 2 - p) / frame_rate
        rates.setdefault(components[s.k].group_id, []).append(20 * np.log10(tail / peak) / seconds)
    return {g: float(np.median(r)) for g, r in rates.items()}


def decaying_groups(rates: dict[int, float], *, threshold_db_per_s: float = DECAY_DB_PER_S) -> set[int]:
    """Groups whose notes fall faster than the threshold, when at least one group does not."""
    if not any(r >= threshold_db_per_s for r in rates.values()):
        return set()
    return {g for g, r in rates.items() if r < threshold_db_per_s}


def decay_projection(spans: Sequence[NoteSpan]) -> Callable[[np.ndarray], None]:
    """A function that makes H (K, n_frames) non-increasing, in place, from each span's peak to its end."""
    spans = list(spans)

    def project(H: np.ndarray) -> None:
        for s in spans:
            h = H[s.k]
            p = s.start + int(np.argmax(h[s.start: s.attack_end]))
            np.minimum.accumulate(h[p: s.end], out=h[p: s.end])

    return project


def decay_prior_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, comp_groups: np.ndarray,
                      spans: Sequence[NoteSpan], components: Sequence[Component], *, iterations: int, tol: float,
                      focus: float, frame_rate: float, cost_every: int = 1, n_threads: int | None = None
                      ) -> Generator[NMFStep, None, tuple[NMFResult, dict[int, float], set[int]]]:
    """Factorise with the decay prior: two thirds of ``iterations`` free, then the decay rates
    (``frame_rate``: frames per second), then the rest with decaying groups' envelopes held
    non-increasing (or free when none).

    Yields ``NMFStep``s numbered 0 .. iterations-1 across both stages; returns the result (costs of
    both stages), the decay rates (dB per second per group) and the decaying groups.
    ``n_threads``: threads for the engine's kernels (``informed_nmf_steps``).
    """
    first = iterations - iterations // 3
    res = yield from informed_nmf_steps(V, W0, H0, comp_groups, iterations=first, tol=tol, focus=focus,
                                        cost_every=cost_every, n_threads=n_threads)
    rates = decay_rates(res.H, spans, components, min_frames=int(round(MIN_NOTE_S * frame_rate)),
                         frame_rate=frame_rate)
    decaying = decaying_groups(rates)
    rest = iterations - first if not res.converged or decaying else 0
    if rest <= 0:
        return res, rates, decaying
    chosen = [s for s in spans if components[s.k].group_id in decaying]
    project = decay_projection(chosen) if chosen else None
    gen = informed_nmf_steps(V, res.W, res.H, comp_groups, iterations=rest, tol=tol, focus=focus,
                             cost_every=cost_every, project_H=project, n_threads=n_threads)
    costs = res.costs[:-1]
    try:
        while True:
            step = next(gen)
            yield NMFStep(first + step.iteration, step.cost, step.elapsed_s, step.cost_fresh)
    except StopIteration as stop:
        res2 = stop.value
    return NMFResult(res2.W, res2.H, costs + res2.costs, res2.converged), rates, decaying
