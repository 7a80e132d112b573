"""Odd but valid input separates: silence, one note, extreme rates, many channels, odd scores."""

import numpy as np
import pytest

from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup
from stemroll.core.separation import separate_steps
from tests.material import synth

FAST = SeparationParams(iterations=5)
GROUPS = [NoteGroup(0, "a"), NoteGroup(1, "b")]


def _separate(audio, rate, notes, groups=GROUPS, params=FAST):
    r = run(separate_steps(audio, rate, notes, groups, params))
    total = np.sum([s.audio for s in r.stems], axis=0)
    assert total.shape == np.atleast_2d(audio).shape
    assert np.abs(total - audio).max() < 1e-4  # the null test holds whatever the input
    for s in r.stems:
        assert np.isfinite(s.audio).all()
    return r


def test_silence():
    notes = [Note(0, 60, 0.1, 0.5, group_id=0), Note(1, 48, 0.2, 0.8, group_id=1)]
    r = _separate(np.zeros((1, 22050), np.float32), 22050, notes)
    assert all(np.abs(s.audio).max() == 0 for s in r.stems)


def test_single_note_goes_to_its_group():
    notes = [Note(0, 69, 0.1, 0.9, group_id=0)]
    y = synth(notes, duration_s=1.2)[None]
    r = _separate(y, 22050, notes)
    a, b = r.stem("a").audio, r.stem("b").audio
    assert np.sum(a ** 2) > 50 * max(np.sum(b ** 2), 1e-20)


@pytest.mark.parametrize("rate", [8000, 192000])
def test_extreme_rates(rate):
    notes = [Note(0, 60, 0.1, 0.6, group_id=0), Note(1, 43, 0.1, 0.6, group_id=1)]
    y = synth(notes, sample_rate=rate, duration_s=0.8)[None]
    _separate(y, rate, notes)


def test_six_channels_keep_all_channels():
    notes = [Note(0, 60, 0.1, 0.6, group_id=0), Note(1, 43, 0.1, 0.6, group_id=1)]
    y = synth(notes, duration_s=0.8)
    audio = np.stack([y * g for g in (1.0, 0.8, 0.5, 0.3, 0.0, 0.2)]).astype(np.float32)
    r = _separate(audio, 22050, notes)
    assert r.stem("a").audio.shape == (6, len(y))
    assert np.abs(r.stem("a").audio[4]).max() == 0  # a silent channel stays silent


def test_notes_beyond_the_audio_and_pitches_out_of_range():
    notes = [Note(0, 60, 0.1, 0.6, group_id=0), Note(1, 127, 0.1, 0.6, group_id=1),
             Note(2, 50, 5.0, 6.0, group_id=1), Note(3, 0, 0.2, 0.4, group_id=0)]
    y = synth(notes[:1], sample_rate=8000, duration_s=1.0)[None]
    _separate(y, 8000, notes)


def test_no_notes_at_all():
    y = synth([Note(0, 60, 0.1, 0.6)], duration_s=1.0)[None]
    r = _separate(y, 22050, [], [NoteGroup(0, "empty")])
    assert np.abs(r.stem("empty").audio).max() == 0
