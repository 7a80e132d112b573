"""A recording whose stems do not fit in the free memory: the editor offers, in plain words, to
separate straight to files in a folder the user chooses (streamed, with progress and Cancel), and
refuses plainly when even that does not fit. The machine's free memory is made small by replacing
``memory.available_bytes`` (what the system reports), nothing else."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stemroll.core import memory
from tests.material import synth, two_hand_score, write_midi
from tests.ui.conftest import open_and_wait

RATE = 44100
NAMES = ["long - groups.mid", "long - left hand.wav", "long - residual.wav", "long - right hand.wav", "stems.json"]


@pytest.fixture(scope="module")
def long_piece(tmp_path_factory) -> tuple[Path, Path]:
    """Five minutes of two synthetic hands in stereo at 44.1 kHz: long enough that holding its stems
    costs more memory than the separation itself (its engine's code and buffers included)."""
    folder = tmp_path_factory.mktemp("long")
    score = two_hand_score(150)
    y = synth(score.notes, sample_rate=RATE, duration_s=300.0)
    sf.write(str(folder / "long.wav"), np.stack([y, 0.6 * y], axis=1), RATE, subtype="FLOAT")
    return folder / "long.wav", write_midi(score, folder / "long.mid")


def _open_quick(qtbot, window, long_piece):
    open_and_wait(qtbot, window, long_piece)
    window.doc.set_params(replace(window.doc.params, iterations=2, fine_iterations=1))


def _estimates(window) -> tuple[int, int]:
    a, doc = window.doc.audio, window.doc
    common = dict(n_samples=a.n_samples, channels=a.channels, sample_rate=a.sample_rate, notes=doc.score.notes,
                  groups=doc.score.groups, params=doc.params)
    return (memory.separation_estimate(**common).total_bytes,
            memory.separation_estimate(**common, streamed=True).total_bytes)


def _free_between_streamed_and_held(monkeypatch, window) -> None:
    held, streamed = _estimates(window)
    assert held > streamed + 16 * 2**20
    free = 256 * 2**20 + (held + streamed) // 2  # 256 MB: what shortfall() keeps for the rest of the system
    monkeypatch.setattr(memory, "available_bytes", lambda: free)


def test_offers_to_write_the_stems_to_files_and_does_it(qtbot, window, long_piece, tmp_path, monkeypatch):
    _open_quick(qtbot, window, long_piece)
    _free_between_streamed_and_held(monkeypatch, window)
    assert not window.session.separate()
    box = window.files_offer
    assert box.isVisible() and not window.session.separation.is_running()
    text = box.text()
    assert text.startswith("Separating long.wav into 2 stems and keeping them here to listen to needs about ")
    assert "is free" in text and "straight to files in a folder you choose" in text
    out = tmp_path / "stems"
    out.mkdir()
    monkeypatch.setattr(window, "ask_folder", lambda title, start: str(out))
    stages = []
    window.session.separation.progress.connect(lambda p: stages.append(p.stage))
    with qtbot.waitSignal(window.session.separation.finished, timeout=180000):
        window.files_button.click()
        assert window.session.separation.is_running() and window.cancel_action.isEnabled()
    assert sorted(p.name for p in out.iterdir()) == NAMES
    mix, _ = sf.read(str(long_piece[0]), dtype="float32")
    total = sum(sf.read(str(out / n), dtype="float32")[0] for n in NAMES[1:4])
    assert np.abs(total - mix).max() < 1e-5  # the float files add back up to the recording
    assert "resynthesise" in stages and stages.index("factorise") < stages.index("resynthesise")
    assert window.doc.result is None  # nothing held: the stems are in the files
    assert f"wrote 5 files to {out}" in window.statusBar().currentMessage()
    assert window.run_panel.progress.format().startswith("Done")


def test_cancel_while_writing_leaves_the_folder_as_it_was(qtbot, window, long_piece, tmp_path, monkeypatch):
    _open_quick(qtbot, window, long_piece)
    _free_between_streamed_and_held(monkeypatch, window)
    out = tmp_path / "stems"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    monkeypatch.setattr(window, "ask_folder", lambda title, start: str(out))
    assert not window.session.separate()

    def cancel_once_writing(p):
        if p.stage == "resynthesise":
            window.session.cancel()

    window.session.separation.progress.connect(cancel_once_writing)
    with qtbot.waitSignal(window.session.separation.cancelled, timeout=180000):
        window.files_button.click()
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert f"nothing was written to {out}" in window.statusBar().currentMessage()
    assert not window.session.separation.is_running() and window.separate_action.isEnabled()


@pytest.mark.parametrize("earlier", ["long - left hand.wav", "long - residual.wav", "long - groups.mid"])
def test_a_folder_that_holds_stems_already_is_refused(qtbot, window, long_piece, tmp_path, monkeypatch, earlier):
    _open_quick(qtbot, window, long_piece)
    (tmp_path / earlier).write_bytes(b"earlier")
    monkeypatch.setattr(window, "ask_folder", lambda title, start: str(tmp_path))
    assert not window.choose_stems_folder()
    assert window.last_message.text().startswith(f"{earlier}: already exists in ")
    assert not window.session.separation.is_running()
    assert (tmp_path / earlier).read_bytes() == b"earlier"
    monkeypatch.setattr(window, "ask_folder", lambda title, start: "")  # the chooser was cancelled
    assert not window.choose_stems_folder()


def test_refuses_in_plain_words_when_not_even_files_fit(qtbot, window, long_piece, monkeypatch):
    _open_quick(qtbot, window, long_piece)
    held, streamed = _estimates(window)
    monkeypatch.setattr(memory, "available_bytes", lambda: 256 * 2**20 + streamed - 2**20)
    assert not window.session.separate()
    text = window.last_message.text()
    assert text.startswith("Separate: separating long.wav into 2 stems needs about ")
    assert "even writing the stems straight to files" in text and "Close other programs" in text
    assert getattr(window, "files_offer", None) is None and not window.session.separation.is_running()
