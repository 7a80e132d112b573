"""Unison regions (core.unisons) and the deterministic split of unisons in the separation."""

from __future__ import annotations

import numpy as np
import pytest

from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup
from stemroll.core.separation import separate_steps
from stemroll.core.unisons import UnisonRegion, unison_regions
from tests.material import synth

RATE = 22050


def _n(i, pitch, t0, t1, g):
    return Note(i, pitch, t0, t1, 90, g)


def test_regions_are_the_overlaps_of_the_same_pitch_in_two_groups():
    notes = [_n(0, 60, 0.0, 1.0, 0), _n(1, 60, 0.5, 2.0, 1), _n(2, 62, 0.0, 2.0, 1), _n(3, 62, 1.5, 1.8, 0),
             _n(4, 64, 0.0, 1.0, 0), _n(5, 64, 1.0, 2.0, 1)]  # 64: one after the other, not together
    assert unison_regions(notes) == [UnisonRegion(60, 0.5, 1.0, 0, 1), UnisonRegion(62, 1.5, 1.8, 0, 1)]
    r = unison_regions(notes)[0]
    assert r.duration_s == pytest.approx(0.5)


def test_repeated_notes_join_and_three_groups_give_three_pairs():
    notes = [_n(0, 55, 0.0, 0.5, 2), _n(1, 55, 0.5, 1.0, 2),  # two notes back to back in group 2
             _n(2, 55, 0.2, 0.9, 0), _n(3, 55, 0.1, 0.3, 1)]
    got = unison_regions(notes)
    assert got == [UnisonRegion(55, 0.1, 0.3, 1, 2), UnisonRegion(55, 0.2, 0.3, 0, 1),
                   UnisonRegion(55, 0.2, 0.9, 0, 2)]
    assert all(r.group_a < r.group_b for r in got)


def test_legato_joins_are_not_unisons_and_the_order_of_notes_does_not_matter():
    notes = [_n(0, 60, 0.0, 1.02, 0), _n(1, 60, 1.0, 2.0, 1), _n(2, 67, 0.0, 1.0, 0), _n(3, 67, 0.0, 1.0, 1)]
    assert unison_regions(notes) == [UnisonRegion(67, 0.0, 1.0, 0, 1)]
    assert unison_regions(list(reversed(notes))) == unison_regions(notes)
    assert len(unison_regions(notes, min_duration_s=0.0)) == 2
    assert unison_regions([]) == []
    with pytest.raises(ValueError, match="min_duration_s"):
        unison_regions(notes, min_duration_s=-1.0)


def _unison_material():
    # Group 0 plays C4 alone, then both groups hold C4 together; group 1 also plays G3 alone.
    notes = [_n(0, 60, 0.0, 1.0, 0), _n(1, 60, 1.2, 2.4, 0), _n(2, 60, 1.2, 2.4, 1), _n(3, 55, 2.6, 3.4, 1)]
    audio = synth(notes, sample_rate=RATE, duration_s=3.8)
    return notes, audio


def test_the_separation_reports_its_unisons():
    notes, audio = _unison_material()
    groups = [NoteGroup(0, "a"), NoteGroup(1, "b")]
    res = run(separate_steps(audio[None], RATE, notes, groups, SeparationParams(iterations=10, fine_iterations=3)))
    assert res.unisons == [UnisonRegion(60, 1.2, 2.4, 0, 1)]


def test_the_unison_split_does_not_depend_on_the_order_of_the_groups():
    notes, audio = _unison_material()
    params = SeparationParams(iterations=10, fine_iterations=3)
    a = run(separate_steps(audio[None], RATE, notes, [NoteGroup(0, "a"), NoteGroup(1, "b")], params))
    swapped = [n.evolve(group_id=1 - n.group_id) for n in notes]
    b = run(separate_steps(audio[None], RATE, swapped, [NoteGroup(0, "b"), NoteGroup(1, "a")], params))
    for name in ("a", "b"):
        np.testing.assert_allclose(a.stem(name).audio, b.stem(name).audio, atol=1e-4)


def test_a_pitch_two_groups_only_play_together_is_split_evenly():
    notes = [_n(0, 64, 0.2, 1.5, 0), _n(1, 64, 0.2, 1.5, 1)]
    audio = synth([notes[0]], sample_rate=RATE, duration_s=2.0)
    groups = [NoteGroup(0, "a"), NoteGroup(1, "b")]
    res = run(separate_steps(audio[None], RATE, notes, groups, SeparationParams(iterations=10, fine_iterations=3)))
    a, b = res.stem("a").audio, res.stem("b").audio
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.sqrt(np.mean(a ** 2)) > 0.3 * np.sqrt(np.mean(audio ** 2))
