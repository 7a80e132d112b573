"""A decay prior on activations, for parts whose notes die away (piano, guitar, harp, mallets).

A struck or plucked note cannot swell again after its attack. Without that knowledge a piano
note held under a sustained instrument (a viola, a clarinet, a voice) can follow that
instrument's swells and vibrato on the partials they share and take its energy. The prior:

1. Which parts decay is read from the recording, not assumed from instrument names: after most
   of the factorisation, each group's *sustain ratio* is the median, over its notes long enough
   to tell (``min_note_s``), of the mean activation in the second half of the note over its peak
   near the onset. Decaying parts measure about 0.1-0.35, sustained ones 0.9-1.4 (piano, clarinet,
   viola, violin, sax, bassoon here); ``DECAY_THRESHOLD`` sits in the gap.
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

DECAY_THRESHOLD = 0.5  # sustain ratio below which a part counts as decaying
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


def sustain_ratios(H: np.ndarray, spans: Sequence[NoteSpan], components: Sequence[Component], *,
                   min_frames: int) -> dict[int, float]:
    """Per group id: median over its notes with at least ``min_frames`` after the attack of
    mean(H in the note's second half) / max(H in the attack). Groups without such notes: absent."""
    ratios: dict[int, list[float]] = {}
    for s in spans:
        if s.offset - s.attack_end < min_frames:
            continue
        h = H[s.k]
        peak = float(h[s.start: s.attack_end].max())
        if peak <= 0:
            continue
        tail = float(h[(s.attack_end + s.offset) // 2: s.offset].mean())
        ratios.setdefault(components[s.k].group_id, []).append(tail / peak)
    return {g: float(np.median(r)) for g, r in ratios.items()}


def decaying_groups(ratios: dict[int, float], *, threshold: float = DECAY_THRESHOLD) -> set[int]:
    """Groups below ``threshold``, when at least one group sustains (is at or above it)."""
    if not any(r >= threshold for r in ratios.values()):
        return set()
    return {g for g, r in ratios.items() if r < threshold}


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
                      focus: float, min_frames: int, cost_every: int = 1
                      ) -> Generator[NMFStep, None, tuple[NMFResult, dict[int, float], set[int]]]:
    """Factorise with the decay prior: two thirds of ``iterations`` free, then the sustain ratios,
    then the rest with decaying groups' envelopes held non-increasing (or free when none).

    Yields ``NMFStep``s numbered 0 .. iterations-1 across both stages; returns the result (costs of
    both stages), the sustain ratios and the decaying groups.
    """
    first = iterations - iterations // 3
    res = yield from informed_nmf_steps(V, W0, H0, comp_groups, iterations=first, tol=tol, focus=focus,
                                        cost_every=cost_every)
    ratios = sustain_ratios(res.H, spans, components, min_frames=min_frames)
    decaying = decaying_groups(ratios)
    rest = iterations - first if not res.converged or decaying else 0
    if rest <= 0:
        return res, ratios, decaying
    chosen = [s for s in spans if components[s.k].group_id in decaying]
    project = decay_projection(chosen) if chosen else None
    gen = informed_nmf_steps(V, res.W, res.H, comp_groups, iterations=rest, tol=tol, focus=focus,
                             cost_every=cost_every, project_H=project)
    costs = res.costs[:-1]
    try:
        while True:
            step = next(gen)
            yield NMFStep(first + step.iteration, step.cost, step.elapsed_s, step.cost_fresh)
    except StopIteration as stop:
        res2 = stop.value
    return NMFResult(res2.W, res2.H, costs + res2.costs, res2.converged), ratios, decaying
