"""Every reader over every file of the hand-made bad-file corpus (``tests/io/corpus``).

Each reader must load the file or refuse it with ``InputError`` naming the file in one line,
whatever the file is (a project given to the audio reader, a WAV given to the MIDI reader...);
the reader a file is meant for must do what ``expected.json`` says. ``make_corpus.py`` regenerates
the files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stemroll.io.audio import load_audio, probe
from stemroll.io.errors import InputError
from stemroll.io.midi import load_midi
from stemroll.io.project import load_project

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
READERS = {"project": load_project, "audio": load_audio, "midi": load_midi, "probe": probe}


def _outcome(reader, path: Path) -> str:
    """'loads', or the one-line message of the InputError (anything else fails the test)."""
    try:
        reader(path)
    except InputError as e:
        msg = str(e)
        assert msg.startswith(path.name + ": ") and "\n" not in msg, msg
        return msg
    return "loads"


def test_corpus_is_small_and_complete():
    files = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"make_corpus.py", "expected.json"}
    assert files == set(EXPECTED)
    assert sum(p.stat().st_size for p in CORPUS.iterdir() if p.is_file()) < 100_000
    kinds = {e["reader"] for e in EXPECTED.values()}
    assert kinds == {"project", "audio", "midi"} and len(EXPECTED) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_reader_loads_or_names_the_file(name, tmp_path):
    # Read a copy, so that nothing a reader might write (a .bak, a temp file) lands in the corpus.
    path = tmp_path / name
    shutil.copyfile(CORPUS / name, path)
    outcomes = {kind: _outcome(reader, path) for kind, reader in READERS.items()}
    want = EXPECTED[name]
    got = outcomes[want["reader"]]
    if want["expect"] == "loads":
        assert got == "loads", got
    elif want["expect"] != "loads-or-refuses":
        assert want["expect"] in got, got
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
