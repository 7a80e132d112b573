"""Unisons: where two groups hold the same pitch at the same time.

In a unison both groups have a harmonic template on exactly the same partials, so the recording
alone cannot say which part a partial's energy belongs to. The separation splits it by a fixed,
deterministic rule, and these regions are reported so the user can listen to them:

* Each group keeps the share its own model predicts there: (W_g H_g)^p over the sum of all
  groups' models (the soft masks). The template of a (group, pitch) learns from the cells that
  group dominates (``template_focus``), that is mostly from where it plays that pitch without
  the other part, so the shared partials are divided by each part's timbre and level.
* Nothing random enters the split: activations start from the score without jitter, so the same
  recording and notes give the same stems, whatever the order of the groups.
* A pitch that two parts only ever play together, with nothing else to tell them apart, is split
  evenly (their models start equal and stay equal under the updates).

``unison_regions`` finds the regions from the notes' written times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .score import Note


@dataclass(frozen=True)
class UnisonRegion:
    """``group_a`` < ``group_b`` both sound ``pitch`` (MIDI) from ``t0_s`` to ``t1_s`` seconds."""

    pitch: int
    t0_s: float
    t1_s: float
    group_a: int
    group_b: int

    @property
    def duration_s(self) -> float:
        return self.t1_s - self.t0_s


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted union of [t0, t1) intervals; touching intervals join."""
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _intersection(xs: Sequence[tuple[float, float]], ys: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Intersection of two sorted lists of disjoint intervals."""
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if b > a:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def unison_regions(notes: Iterable[Note], *, min_duration_s: float = 0.05) -> list[UnisonRegion]:
    """Every stretch where two groups hold the same pitch, one region per (pitch, pair of groups, stretch).

    Regions shorter than ``min_duration_s`` seconds (a legato join where one note ends as the
    other begins) are left out. Three groups in unison give the three pairs. Sorted by start
    time, then pitch, then groups.
    """
    if min_duration_s < 0:
        raise ValueError(f"min_duration_s must be >= 0, got {min_duration_s}")
    spans: dict[int, dict[int, list[tuple[float, float]]]] = {}
    for n in notes:
        spans.setdefault(n.pitch, {}).setdefault(n.group_id, []).append((n.onset_s, n.offset_s))
    regions: list[UnisonRegion] = []
    for pitch, by_group in spans.items():
        groups = sorted(by_group)
        merged = {g: _merged(by_group[g]) for g in groups}
        for i, ga in enumerate(groups):
            for gb in groups[i + 1:]:
                for t0, t1 in _intersection(merged[ga], merged[gb]):
                    if t1 - t0 >= min_duration_s:
                        regions.append(UnisonRegion(pitch, t0, t1, ga, gb))
    regions.sort(key=lambda r: (r.t0_s, r.pitch, r.group_a, r.group_b))
    return regions
