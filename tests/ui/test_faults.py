"""Faults in the real window: closing while busy, the audio device going away, exports and saves that
cannot be written, recordings too large for the free memory.

The tests run as root here, and root writes into read-only folders anyway, so a read-only folder is
simulated by making file creation fail with EACCES (what a ``chmod 555`` folder gives a user).
"""

from __future__ import annotations

import errno
import tempfile
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from stemroll.core import edits, memory
from stemroll.io import export
from stemroll.ui.panels.export_dialog import ExportOptions
from tests.ui.conftest import make_window, open_and_wait
from tests.ui.test_transport import FakePlayer


def _enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, "No space left on device")


def _eacces(*_a, **_k):
    raise PermissionError(errno.EACCES, "Permission denied")


class VanishingPlayer(FakePlayer):
    """A stand-in player whose device can be unplugged, as ``stemroll.playback.Player`` reports it."""

    def unplug(self, message="The audio output device stopped (it was unplugged or switched off)."):
        self.pause()
        self.last_error = message
        t = threading.Thread(target=self.on_stopped, args=("error",))  # PortAudio's thread in the real player
        t.start()
        t.join()


def _player_box():
    box = []

    def make(on_stopped):
        box.append(VanishingPlayer(on_stopped))
        return box[-1], None
    return box, make


@pytest.fixture
def separated(qtbot, settings, piece):
    """A window with the piece open and separated (2 passes), and its stand-in players."""
    box, make = _player_box()
    win = make_window(qtbot, settings, make_player=make)
    open_and_wait(qtbot, win, piece)
    win.doc.set_params(replace(win.doc.params, iterations=2))
    with qtbot.waitSignal(win.session.separation.finished, timeout=60000):
        assert win.session.separate()
    yield win, box
    win.close()


def _options(folder, names, **kw):
    return ExportOptions(folder=folder, song="piece", stems=tuple(names), **kw)


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".part" in p.name or ".tmp" in p.name)


# ---- closing while busy ---------------------------------------------------------------------------
def test_closing_during_playback(qtbot, separated):
    win, box = separated
    win.transport.toggle_play()
    assert win.transport.playing
    qtbot.wait(100)
    assert win.close()
    assert not win.transport.playing and not win.transport.timer.isActive()
    assert ("close",) in box[0].calls


def test_closing_during_export_finishes_it_first(qtbot, separated, tmp_path, monkeypatch):
    win, _ = separated
    real_write = export.sf.SoundFile.write
    writing = threading.Event()

    def slow_write(self, data):
        writing.set()
        time.sleep(0.3)
        return real_write(self, data)

    monkeypatch.setattr(export.sf.SoundFile, "write", slow_write)
    out = tmp_path / "stems"
    names = [s.name for s in win.doc.result.stems]
    assert win.session.export(_options(out, names))
    assert writing.wait(10)
    t0 = time.perf_counter()
    assert win.close()
    assert time.perf_counter() - t0 < 10
    assert not win.session.busy()
    # The export ran to its end while the window closed: every stem is there, nothing partial.
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".mid"] + [".wav"] * len(names)
    assert _leftovers(out) == []


def test_closing_during_a_run_with_autosave(qtbot, settings, piece, tmp_path):
    win = make_window(qtbot, settings, autosave_dir=tmp_path / "data", autosave_interval_s=0.05)
    open_and_wait(qtbot, win, piece)
    win.doc.set_params(replace(win.doc.params, iterations=100000, tol=0.0))
    started = []
    win.session.separation.progress.connect(started.append)
    assert win.session.separate()
    qtbot.waitUntil(lambda: any(p.stage == "factorise" for p in started), timeout=30000)
    t0 = time.perf_counter()
    assert win.close()
    assert time.perf_counter() - t0 < 1.5 and not win.session.busy()
    assert list((tmp_path / "data" / "autosave").iterdir()) == []  # a clean exit leaves nothing to recover


# ---- the audio device goes away --------------------------------------------------------------------
def test_device_lost_mid_playback_stops_with_a_message(qtbot, separated):
    win, box = separated
    win.transport.toggle_play()
    qtbot.waitUntil(lambda: win.transport.position_s > 0.05, timeout=3000)
    box[0].unplug()
    qtbot.waitUntil(lambda: win.last_message is not None, timeout=3000)
    assert not win.transport.playing and not win.transport.timer.isActive()
    assert "unplugged" in win.last_message.text() and win.last_message.isVisible()
    assert "unplugged" in win.statusBar().currentMessage()
    # Everything else keeps working: edit, play again once the device is back.
    win.doc.push_edit(edits.DeleteNotes((win.doc.score.notes[0].id,)))
    win.transport.toggle_play()
    assert win.transport.playing


# ---- exports that cannot be written ----------------------------------------------------------------
@pytest.mark.parametrize("fault, words", [("disk full", "No space left on device"),
                                          ("read-only folder", "Permission denied"),
                                          ("folder cannot be made", "cannot create the folder")])
def test_export_fault_is_reported_and_leaves_nothing(qtbot, separated, tmp_path, monkeypatch, fault, words):
    win, _ = separated
    out = tmp_path / "stems"
    if fault == "disk full":
        calls = []
        real_write = export.sf.SoundFile.write

        def write(self, data):
            calls.append(self.name)
            real_write(self, data)
            if len(calls) == 2:
                _enospc()

        monkeypatch.setattr(export.sf.SoundFile, "write", write)
    elif fault == "read-only folder":
        out.mkdir()
        monkeypatch.setattr(tempfile, "mkstemp", _eacces)
    else:
        monkeypatch.setattr(type(out), "mkdir", _eacces)
    names = [s.name for s in win.doc.result.stems]
    with qtbot.waitSignal(win.session.export_task.failed, timeout=20000):
        assert win.session.export(_options(out, names))
    monkeypatch.undo()
    text = win.last_message.text()
    assert str(out) in text and words.lower() in text.lower(), text
    assert win.last_message.isVisible()
    assert not out.exists() or list(out.iterdir()) == []
    # After the fault is gone the same export works.
    with qtbot.waitSignal(win.session.exported, timeout=20000):
        assert win.session.export(_options(out, names))
    assert len(list(out.iterdir())) == len(names) + 2


def test_project_save_to_a_full_disk_keeps_the_previous_file(qtbot, separated, tmp_path, monkeypatch):
    win, _ = separated
    path = tmp_path / "song.stemroll"
    assert win.session.save_project(path)
    before = path.read_bytes()
    win.doc.push_edit(edits.DeleteNotes((win.doc.score.notes[0].id,)))
    monkeypatch.setattr("os.fsync", _enospc)
    assert not win.save()
    monkeypatch.undo()
    assert "song.stemroll" in win.last_message.text() and "disk is full" in win.last_message.text()
    assert path.read_bytes() == before and win.doc.dirty
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("song", ".song"))) == ["song.stemroll"]


# ---- not enough memory -----------------------------------------------------------------------------
def test_a_recording_too_large_for_memory_is_refused_in_plain_words(qtbot, window, piece, monkeypatch):
    open_and_wait(qtbot, window, piece)
    notes = len(window.doc.score)
    monkeypatch.setattr(memory, "available_bytes", lambda: 2**20)
    assert not window.open_paths([str(piece[0])])
    text = window.last_message.text()
    assert text.startswith("piece.wav: opening it needs about ") and "only 1 MB is free" in text
    assert not window.session.load_task.is_running() and len(window.doc.score) == notes
    assert not window.session.separate()
    text = window.last_message.text()
    assert text.startswith("Separate: separating piece.wav into 2 stems needs about ")
    assert "only 1 MB is free" in text and not window.session.separation.is_running()
    monkeypatch.setattr(memory, "available_bytes", lambda: None)  # unknown: never refuse
    with qtbot.waitSignal(window.session.separation.finished, timeout=60000):
        window.doc.set_params(replace(window.doc.params, iterations=1))
        assert window.session.separate()


def test_estimate_matches_what_the_window_would_separate(qtbot, window, piece):
    open_and_wait(qtbot, window, piece)
    from stemroll.ui.session import separation_memory_problem
    assert separation_memory_problem(window.doc.audio, window.doc.score, window.doc.params) is None
    big = memory.separation_bytes(n_samples=44100 * 3600, channels=2, n_fft=4096, hop_length=1024,
                                  n_components=400, n_groups=8)
    assert big.total_bytes > 10 * 2**30 and np.isfinite(big.total_bytes)
