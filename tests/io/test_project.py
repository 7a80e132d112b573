"""Project files: round trip, moved projects, atomic saves and plain-words errors."""

from __future__ import annotations

import json

import pytest

from stemroll.core.params import SeparationParams
from stemroll.core.score import Note, NoteGroup, Score
from stemroll.io.errors import InputError
from stemroll.io.project import VERSION, load_project, save_project


def _score() -> Score:
    groups = [NoteGroup(0, "bass"), NoteGroup(3, "melody ♪")]
    notes = [
        Note(0, 40, 0.0, 0.5, 90, 0, 1, 0, "Bass"),
        Note(5, 64, 0.25, 0.75, 70, 3, 2, 1, "Lead"),
        Note(7, 67, 1.0, 1.5, 60, 3, 2, 1, "Lead"),
    ]
    return Score.from_notes(notes, groups)


def test_round_trip_keeps_notes_groups_params_and_paths(tmp_path):
    audio = tmp_path / "song.flac"
    audio.write_bytes(b"x")
    params = SeparationParams(iterations=7, divergence="euclidean", tolerance_cents=25.0)
    path = save_project(tmp_path / "song", _score(), params=params, audio_path=audio, current_group_id=3)
    assert path.name == "song.stemroll"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == VERSION
    assert data["audio"]["relative"] == "song.flac"
    assert "samples" not in path.read_text()
    p = load_project(path)
    assert p.score.notes == _score().notes
    assert p.score.groups == _score().groups
    assert p.params == params
    assert p.audio_path == audio.resolve()
    assert p.midi_path is None
    assert p.current_group_id == 3
    assert p.missing == []


def test_moved_project_finds_audio_by_relative_path(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    (a / "song.wav").write_bytes(b"x")
    save_project(a / "p.stemroll", _score(), params=SeparationParams(), audio_path=a / "song.wav")
    a.rename(b)
    p = load_project(b / "p.stemroll")
    assert p.audio_path == (b / "song.wav").resolve()
    assert p.missing == []


def test_missing_audio_is_reported_not_fatal(tmp_path):
    save_project(tmp_path / "p.stemroll", _score(), params=SeparationParams(), audio_path=tmp_path / "gone.wav")
    p = load_project(tmp_path / "p.stemroll")
    assert len(p.missing) == 1 and p.missing[0].endswith("gone.wav")
    assert len(p.score) == 3


def test_save_is_atomic_and_keeps_a_backup(tmp_path):
    path = tmp_path / "p.stemroll"
    save_project(path, _score(), params=SeparationParams(iterations=1))
    save_project(path, _score(), params=SeparationParams(iterations=2))
    assert load_project(path).params.iterations == 2
    assert json.loads((tmp_path / "p.stemroll.bak").read_text())["params"]["iterations"] == 1
    assert sorted(f.name for f in tmp_path.iterdir()) == ["p.stemroll", "p.stemroll.bak"]


def test_unwritable_folder_names_the_file(tmp_path):
    with pytest.raises(InputError, match=r"^p\.stemroll: "):
        save_project(tmp_path / "no" / "such" / "p.stemroll", _score(), params=SeparationParams())


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    ('{"format": "other"}', "not a Stemroll project"),
    ('{"format": "stemroll-project", "version": 99}', "newer Stemroll"),
    ('{"format": "stemroll-project", "version": 1, "notes": [{"id": 0}]}', "is damaged"),
    ('{"format": "stemroll-project", "version": 1, "notes": '
     '[{"id": 0, "pitch": 60, "onset_s": 1, "offset_s": 0.5}]}', "is damaged"),
])
def test_damaged_files_raise_input_error(tmp_path, content, problem):
    path = tmp_path / "bad.stemroll"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=problem) as info:
        load_project(path)
    assert str(info.value).startswith("bad.stemroll: ")


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_project(tmp_path / "nope.stemroll")
    (tmp_path / "bin.stemroll").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InputError, match="not"):
        load_project(tmp_path / "bin.stemroll")
