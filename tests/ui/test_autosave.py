"""Autosave and recovery in the real window (in-process): when it writes, what a clean exit leaves,
and the Recover / Discard / Later offer for a session that crashed.

A crashed session is made by copying a live session's folder and pointing its lock at a process
that has ended (what ``kill -9`` leaves); tests/ui/test_autosave_crash.py kills a real editor.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

from PySide6.QtCore import QLockFile
from PySide6.QtWidgets import QMessageBox

from stemroll.core import edits
from stemroll.io import atomic
from stemroll.io.project import load_project
from stemroll.ui.autosave import AUTOSAVE_NAME, LOCK_NAME, Autosaver
from tests.ui.conftest import make_window, open_and_wait


def _window(qtbot, settings, data, interval_s=0.05):
    return make_window(qtbot, settings, autosave_dir=data, autosave_interval_s=interval_s)


def _sessions(data) -> list:
    base = data / "autosave"
    return sorted(p for p in base.iterdir()) if base.exists() else []


def _edit(doc) -> int:
    victim = doc.score.notes[0].id
    doc.push_edit(edits.DeleteNotes((victim,)))
    return victim


def test_autosaves_when_dirty_and_a_clean_exit_leaves_nothing(qtbot, settings, piece, tmp_path):
    data = tmp_path / "data"
    win = _window(qtbot, settings, data)
    auto = win.autosaver
    assert auto.folder is not None and (auto.folder / LOCK_NAME).exists()
    open_and_wait(qtbot, win, piece)
    qtbot.wait(200)
    assert not auto.path.exists()  # nothing changed since the files were opened: nothing to keep
    with qtbot.waitSignal(auto.saved, timeout=3000):
        victim = _edit(win.doc)
    saved = load_project(auto.path)
    assert victim not in saved.score and len(saved.score) == len(win.doc.score)
    assert saved.audio_path == piece[0].resolve()
    writes = []
    auto.saved.connect(writes.append)
    qtbot.wait(300)
    assert writes == []  # unchanged since the last autosave: the timer does not write again
    assert win.session.save_project(tmp_path / "mine.stemroll")
    assert not auto.path.exists()  # saved: the project file holds the work
    _edit(win.doc)
    qtbot.waitUntil(auto.path.exists, timeout=3000)
    meta = json.loads(auto.path.read_text())["recovery"]
    assert meta["project_path"] == str(tmp_path / "mine.stemroll") and meta["title"] == "mine.stemroll"
    win.close()
    assert _sessions(data) == []


def test_a_completed_run_autosaves(qtbot, settings, piece, tmp_path):
    win = _window(qtbot, settings, tmp_path / "data", interval_s=3600)
    open_and_wait(qtbot, win, piece)
    win.doc.set_params(replace(win.doc.params, iterations=2))
    with qtbot.waitSignal(win.autosaver.saved, timeout=60000):
        assert win.session.separate()
    assert load_project(win.autosaver.path).params.iterations == 2
    win.close()


def test_autosave_failure_is_reported_once_and_the_editor_goes_on(qtbot, settings, piece, tmp_path, monkeypatch):
    win = _window(qtbot, settings, tmp_path / "data")
    open_and_wait(qtbot, win, piece)
    problems = []
    win.autosaver.problem.connect(problems.append)

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    _edit(win.doc)
    qtbot.waitUntil(lambda: bool(problems), timeout=3000)
    _edit(win.doc)
    qtbot.wait(300)
    assert len(problems) == 1 and "Autosave failed" in problems[0] and "disk is full" in problems[0]
    assert "Autosave failed" in win.statusBar().currentMessage()
    monkeypatch.undo()
    with qtbot.waitSignal(win.autosaver.saved, timeout=3000):
        _edit(win.doc)
    win.close()


def _crash_copy(live_folder, base):
    """A copy of a live session's folder as a crash leaves it: the lock names a process that is gone."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = base / f"crashed-{dead.pid}"
    shutil.copytree(live_folder, folder)
    lines = (folder / LOCK_NAME).read_text().split("\n")
    (folder / LOCK_NAME).write_text("\n".join([str(dead.pid)] + lines[1:]))
    return folder


def _crashed_session(qtbot, settings, piece, data):
    """(folder of a crashed session holding an edit, the deleted note id, the notes before)."""
    win = _window(qtbot, settings, data, interval_s=3600)
    open_and_wait(qtbot, win, piece)
    before = len(win.doc.score)
    victim = _edit(win.doc)
    assert win.autosaver.autosave_now()
    folder = _crash_copy(win.autosaver.folder, data / "autosave")
    # A live session is never offered, even from the same process.
    assert [r.folder for r in Autosaver(win.doc, data).find_recoverable()] == [folder]
    win.close()
    return folder, victim, before


def _second_start(qtbot, settings, data):
    from stemroll.ui.app import FIRST_START_KEY, build_window, parse_args

    settings.setValue(FIRST_START_KEY, True)
    win = build_window(parse_args([]), settings, data_dir=data)
    win.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.recovery_box is not None and win.recovery_box.isVisible(), timeout=5000)
    return win


def test_recover_restores_the_edit_as_unsaved_work(qtbot, settings, piece, tmp_path):
    data = tmp_path / "data"
    folder, victim, before = _crashed_session(qtbot, settings, piece, data)
    win = _second_start(qtbot, settings, data)
    box = win.recovery_box
    assert "did not close properly" in box.text() and f"{before - 1} notes" in box.text()
    assert len(win.doc.score) == 0  # offered, not applied
    with qtbot.waitSignal(win.session.recovered, timeout=20000):
        box.recover_button.click()
    assert len(win.doc.score) == before - 1 and victim not in win.doc.score
    assert win.doc.audio is not None and win.doc.dirty and win.isWindowModified()
    assert not folder.exists()  # taken over: this session's own autosave holds it now
    assert victim not in load_project(win.autosaver.path).score
    win.close()
    assert _sessions(data) == []


def test_discard_and_later(qtbot, settings, piece, tmp_path):
    data = tmp_path / "data"
    folder, _, _ = _crashed_session(qtbot, settings, piece, data)
    win = _second_start(qtbot, settings, data)
    win.recovery_box.later_button.click()
    assert folder.exists() and (folder / AUTOSAVE_NAME).exists() and len(win.doc.score) == 0
    lock = QLockFile(str(folder / LOCK_NAME))
    assert lock.tryLock(0)  # released for the next start
    lock.unlock()
    win.close()
    win = _second_start(qtbot, settings, data)  # offered again
    win.recovery_box.discard_button.click()
    assert not folder.exists() and len(win.doc.score) == 0
    win.close()
    assert _sessions(data) == []


def test_two_editors_keep_their_own_sessions(qtbot, settings, piece, tmp_path):
    data = tmp_path / "data"
    a = _window(qtbot, settings, data, interval_s=3600)
    b = _window(qtbot, settings, data, interval_s=3600)
    assert a.autosaver.folder != b.autosaver.folder and len(_sessions(data)) == 2
    open_and_wait(qtbot, a, piece)
    _edit(a.doc)
    assert a.autosaver.autosave_now()
    assert b.autosaver.find_recoverable() == []  # a is alive: not b's to offer
    b.close()
    assert a.autosaver.path.exists() and _sessions(data) == [a.autosaver.folder]
    a.close()
    assert _sessions(data) == []
