import pytest

from stemroll.core import edits
from stemroll.core.grouping import apply_grouping, by_assignment, by_split, by_tracks, parse_pitch
from stemroll.core.score import Note, NoteGroup, Score
from tests.material import two_hand_score


def test_note_is_immutable_and_validated():
    n = Note(0, 60, 0.0, 1.0)
    with pytest.raises(Exception):
        n.pitch = 61  # type: ignore[misc]
    with pytest.raises(ValueError, match="ends"):
        Note(1, 60, 1.0, 1.0)
    with pytest.raises(ValueError, match="pitch"):
        Note(1, 128, 0.0, 1.0)


def test_every_edit_undoes_exactly():
    score = two_hand_score()
    before = (score.notes, score.groups)
    ids = [n.id for n in score.notes[:3]]
    steps = [
        edits.move_notes(score, ids, dt_s=0.25, dpitch=2),
        edits.resize_notes(score, ids, d_offset_s=-0.1),
        edits.assign_group(score, ids, 1),
        edits.DeleteNotes(tuple(ids)),
        edits.AddNotes((Note(score.next_note_id(), 70, 3.0, 3.5, group_id=0),)),
        edits.PutGroup(NoteGroup(5, "choir")),
    ]
    for e in steps:
        rev = score.revision
        inverse = e.apply(score)
        assert score.revision > rev
        inverse.apply(score)
        assert (score.notes, score.groups) == before


def test_move_keeps_times_and_pitches_in_range():
    score = Score.from_notes([Note(0, 126, 0.1, 0.5)])
    e = edits.move_notes(score, [0], dt_s=-5.0, dpitch=10)
    e.apply(score)
    n = score.note(0)
    assert n.onset_s == 0.0 and n.pitch == 127


def test_compound_is_one_step_and_rolls_back_on_failure():
    score = two_hand_score()
    before = score.notes
    bad = edits.Compound((edits.move_notes(score, [0], dt_s=1.0), edits.DeleteNotes((9999,))))
    with pytest.raises(KeyError):
        bad.apply(score)
    assert score.notes == before


def test_replace_grouping_round_trip():
    score = two_hand_score()
    before = (score.notes, score.groups)
    regrouped = by_split(score, 60)
    inv = edits.replace_grouping(score, regrouped).apply(score)
    assert [g.name for g in score.groups] == ["left hand", "right hand"]
    assert all((n.pitch < 60) == (score.group(n.group_id).name == "left hand") for n in score.notes)
    inv.apply(score)
    assert (score.notes, score.groups) == before


def test_groupings():
    score = two_hand_score()
    assert [g.name for g in by_tracks(score).groups] == ["right hand", "left hand"]
    assert len(apply_grouping(score, "channels").groups) == 2
    s = apply_grouping(score, "split=C4")
    assert {score_n.pitch < 60 for score_n in s.notes_of(0)} == {True}
    named = by_assignment(score, {score.notes[0].id: "solo"})
    assert sorted(g.name for g in named.groups) == ["solo", "unassigned"]
    with pytest.raises(ValueError, match="unknown grouping"):
        apply_grouping(score, "voices")


@pytest.mark.parametrize("text,pitch", [("60", 60), ("C4", 60), ("F#3", 54), ("Bb2", 46), ("a4", 69)])
def test_parse_pitch(text, pitch):
    assert parse_pitch(text) == pitch


def test_range_query():
    score = two_hand_score()
    hits = score.notes_in(0.0, 0.4, 60, 127)
    assert hits and all(n.pitch >= 60 and n.onset_s < 0.4 for n in hits)
