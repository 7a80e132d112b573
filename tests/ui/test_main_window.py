"""Acceptance: the real main window, driven like a user would (headless, offscreen)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import numpy as np
import soundfile as sf
from PySide6.QtCore import QPointF, QMimeData, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

from stemroll.core import edits
from stemroll.core.constraints import RESIDUAL_GROUP
from stemroll.ui.panels.export_dialog import ExportOptions
from stemroll.ui.session import demo_paths
from tests.ui.conftest import make_window, open_and_wait


def _separate(qtbot, win, timeout_ms: int = 60000):
    with qtbot.waitSignal(win.session.separation.finished, timeout=timeout_ms):
        qtbot.mouseClick(win.run_panel.separate_button, Qt.LeftButton)
    return win.doc.result


def _activate(qtbot, win):
    win.activateWindow()
    win.raise_()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)


def test_demo_paint_separate_solo_export_undo_save_reopen(qtbot, window, settings, tmp_path):
    win, doc = window, window.doc
    with qtbot.waitSignal(win.session.load_task.finished, timeout=30000):
        assert win.open_demo()
    assert doc.audio is not None and doc.display is not None and len(doc.score) > 100
    assert doc.audio_path == demo_paths()[0]
    assert not win.isWindowModified()

    # Paint two groups: seed a split at C4, then paint the highest notes into a new group.
    win.groups_panel.split_spin.setValue(60)
    win.groups_panel.seed_combo.setCurrentIndex(2)
    qtbot.mouseClick(win.groups_panel.seed_button, Qt.LeftButton)
    assert [g.name for g in doc.score.groups] == ["left hand", "right hand"]
    low, high = (g.id for g in doc.score.groups)
    assert all((n.pitch < 60) == (n.group_id == low) for n in doc.score.notes)
    assert win.isWindowModified()
    # ...and paint the right hand's notes of the first bars into the left hand's group, with the
    # canvas selection and Assign selection; one undo step.
    high_early = [n.id for n in doc.score.notes if n.group_id == high and n.onset_s < 2.0]
    win.canvas.set_selection(high_early)
    win.groups_panel.table.selectRow(0)
    assert doc.current_group_id == low and win.groups_panel.assign_button.isEnabled()
    steps = doc.undo_stack.count()
    qtbot.mouseClick(win.groups_panel.assign_button, Qt.LeftButton)
    assert all(doc.score.note(i).group_id == low for i in high_early) and high_early
    assert doc.undo_stack.count() == steps + 1
    doc.undo_stack.undo()
    assert all(doc.score.note(i).group_id == high for i in high_early)

    # A short excerpt of the engine's work: few passes (set through the settings panel).
    win.params_panel.editors["iterations"].setValue(4)
    assert doc.params.iterations == 4
    result = _separate(qtbot, win)
    assert [s.name for s in result.stems] == ["left hand", "right hand", "residual"]
    assert win.run_panel.plot.costs() == result.costs and len(result.costs) >= 4
    assert "up to date" in win.run_panel.state_label.text()
    assert win.export_action.isEnabled()

    # Solo the right hand: only its stem is heard.
    qtbot.mouseClick(win.groups_panel.button(high, "solo"), Qt.LeftButton)
    assert win.groups_panel.soloed() == {high}
    assert win.transport.gains() == [0.0, 1.0, 0.0]
    qtbot.mouseClick(win.groups_panel.button(RESIDUAL_GROUP, "mute"), Qt.LeftButton)
    qtbot.mouseClick(win.groups_panel.button(high, "solo"), Qt.LeftButton)
    assert win.transport.gains() == [1.0, 1.0, 0.0]

    # Export every stem and the groups as MIDI.
    out = tmp_path / "stems"
    names = tuple(s.name for s in result.stems)
    with qtbot.waitSignal(win.session.exported, timeout=30000) as blocker:
        assert win.session.export(ExportOptions(out, "demo", names, "wav", "24", midi=True))
    files = sorted(p.name for p in out.iterdir())
    assert files == ["demo - groups.mid", "demo - left hand.wav", "demo - residual.wav", "demo - right hand.wav",
                     "stems.json"]
    assert len(blocker.args[0].files) == 5
    info = sf.info(str(out / "demo - left hand.wav"))
    assert (info.samplerate, info.frames, info.channels) == (44100, doc.audio.n_samples, 2)
    assert [s["name"] for s in json.loads((out / "stems.json").read_text())["stems"]] == list(names)

    # Paint a note, see the stems go out of date, undo with Ctrl+Z.
    note = next(n for n in doc.score.notes if n.group_id == high)
    doc.push_edit(edits.assign_group(doc.score, [note.id], low))
    assert doc.score.note(note.id).group_id == low
    assert doc.result_is_stale and "out of date" in win.run_panel.state_label.text()
    _activate(qtbot, win)
    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier)
    assert doc.score.note(note.id).group_id == high
    assert not doc.result_is_stale

    # Save, then reopen the project in a fresh window and find the same groups.
    groups, notes = doc.score.groups, doc.score.notes
    assert win.session.save_project(tmp_path / "minuet.stemroll")
    assert not win.isWindowModified()
    assert win.windowTitle().startswith("minuet.stemroll")
    other = make_window(qtbot, settings)
    open_and_wait(qtbot, other, [tmp_path / "minuet.stemroll"])
    assert other.doc.score.groups == groups
    assert other.doc.score.notes == notes
    assert other.doc.params.iterations == 4
    assert other.doc.audio is not None and other.doc.audio.n_samples == doc.audio.n_samples
    assert other.params_panel.editors["iterations"].value() == 4
    assert not other.isWindowModified()
    other.close()


def test_window_stays_responsive_and_cancel_is_quick(qtbot, window, piece):
    win, doc = window, window.doc
    open_and_wait(qtbot, win, piece)
    doc.set_params(replace(doc.params, iterations=100000, tol=0.0))
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    passes = []
    win.session.separation.progress.connect(lambda p: passes.append(p.iteration) if p.stage == "factorise" else None)
    qtbot.mouseClick(win.run_panel.separate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(passes) >= 3, timeout=30000)
    t_work = time.perf_counter()
    qtbot.wait(1500)
    assert win.session.separation.is_running()
    gaps = np.diff([t for t in ticks if t >= t_work])
    assert len(gaps) > 30
    # A 20 ms timer keeps firing within 50 ms while the engine works (an engine on the GUI thread
    # would stop it for the whole run). The test machine is shared and loaded, so a few scheduler
    # delays are tolerated (90th percentile), but never a freeze.
    assert np.percentile(gaps, 90) <= 0.050, f"timer gaps (ms): {np.round(gaps * 1000)}"
    assert gaps.max() <= 0.200, f"the window froze for {gaps.max() * 1000:.0f} ms"
    assert len(win.run_panel.plot.costs()) >= 3  # the cost plot is live
    assert not win.run_panel.separate_button.isEnabled() and win.run_panel.cancel_button.isEnabled()

    t0 = time.perf_counter()
    with qtbot.waitSignal(win.session.separation.cancelled, timeout=2000):
        qtbot.mouseClick(win.run_panel.cancel_button, Qt.LeftButton)
    assert time.perf_counter() - t0 < 1.0
    timer.stop()
    assert doc.result is None
    assert win.run_panel.separate_button.isEnabled()
    assert "cancelled" in win.statusBar().currentMessage().lower()


def test_window_stays_responsive_through_every_stage_of_a_default_run(qtbot, window, tmp_path):
    """Analysis, focused factorisation, refinement on the long window and resynthesis: a 20 ms
    timer keeps firing through the whole default separation of a 40 s piece."""
    from tests.material import synth, two_hand_score, write_midi

    score = two_hand_score(20)
    audio = tmp_path / "long.wav"
    sf.write(str(audio), synth(score.notes, sample_rate=22050), 22050, subtype="FLOAT")
    open_and_wait(qtbot, window, [audio, write_midi(score, tmp_path / "long.mid")])
    _separate(qtbot, window)  # the first run loads the compiled kernels
    ticks: list[float] = []
    stages: list[tuple[float, str]] = []
    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.session.separation.progress.connect(
        lambda p: stages.append((time.perf_counter(), p.stage)) if not stages or stages[-1][1] != p.stage else None)
    timer.start()
    qtbot.wait(100)
    t0 = time.perf_counter()
    _separate(qtbot, window)
    t1 = time.perf_counter()
    timer.stop()
    assert {"analyse", "factorise", "refine", "resynthesise"} <= {s for _, s in stages}
    gaps = np.diff([t for t in ticks if t0 <= t <= t1])
    assert len(gaps) > 10
    worst = sorted(gaps)[-5:]
    assert np.percentile(gaps, 90) <= 0.050, f"timer gaps (ms): {np.round(gaps * 1000)}"
    assert gaps.max() <= 0.200, f"the window froze for {gaps.max() * 1000:.0f} ms (worst: {np.round(worst, 3)})"


def test_closing_during_a_run_cancels_cleanly(qtbot, settings, piece):
    win = make_window(qtbot, settings)
    open_and_wait(qtbot, win, piece)
    win.doc.set_params(replace(win.doc.params, iterations=100000, tol=0.0))
    win.doc.mark_saved()
    started = []
    win.session.separation.progress.connect(lambda p: started.append(p))
    assert win.session.separate()
    qtbot.waitUntil(lambda: any(p.stage == "factorise" for p in started), timeout=30000)
    t0 = time.perf_counter()
    assert win.close()
    assert time.perf_counter() - t0 < 1.5
    assert not win.session.busy()
    assert not win.isVisible()


def test_editing_during_a_run_marks_the_result_out_of_date(qtbot, window, piece, tmp_path, monkeypatch):
    from stemroll.ui import jobs, session

    win, doc = window, window.doc
    open_and_wait(qtbot, win, piece)
    doc.set_params(replace(doc.params, iterations=10, tol=0.0))
    names_before = [g.name for g in doc.score.groups]
    factorising, edited = threading.Event(), threading.Event()

    def gated(snap):  # the engine waits after its first pass until the test has edited the score
        gen = jobs.separation_steps(snap)
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
            yield p
            if p.stage == "factorise" and not factorising.is_set():
                factorising.set()
                assert edited.wait(20)

    monkeypatch.setattr(session, "separation_steps", gated)
    with qtbot.waitSignal(win.session.separation.finished, timeout=60000):
        assert win.session.separate()
        qtbot.waitUntil(factorising.is_set, timeout=30000)
        gid = doc.score.groups[0].id
        doc.push_edit(edits.PutGroup(edits.NoteGroup(gid, "renamed while running")))
        doc.push_edit(edits.DeleteNotes((doc.score.notes[0].id,)))
        edited.set()
    assert [s.name for s in doc.result.stems][:-1] == names_before  # computed from the snapshot
    assert doc.result_is_stale
    assert "out of date" in win.run_panel.state_label.text()
    assert "out of date" in win.statusBar().currentMessage()

    # File > Export stems through the dialog (accepted as is, into a folder of the test's own).
    from stemroll.ui.panels import export_dialog

    def accept(dlg):
        dlg.folder_edit.setText(str(tmp_path / "out"))
        dlg.format_combo.setCurrentIndex(1)
        return export_dialog.ExportDialog.Accepted

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", accept)
    with qtbot.waitSignal(win.session.exported, timeout=30000):
        win.export_action.trigger()
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [".flac", ".flac", ".flac", ".json", ".mid"]


def test_drop_audio_and_midi_together(qtbot, window, piece):
    win = window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in piece])
    event = QDropEvent(QPointF(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(win.session.load_task.finished, timeout=20000):
        win.dropEvent(event)
        assert win.session.load_task.is_running() and win.doc.audio is None  # decoding runs on the worker
    assert win.doc.audio_path == piece[0] and win.doc.midi_path == piece[1]
    assert [g.name for g in win.doc.score.groups] == ["right hand", "left hand"]
    assert win.windowTitle().startswith("piece.wav")
    actions = [a.text() for a in win.recent_menu.actions()]
    assert actions[0] == "piece.wav + piece.mid"

    other = make_window(qtbot, win.settings)  # Open Recent is kept in the settings
    recent = other.recent_menu.actions()[0]
    with qtbot.waitSignal(other.session.load_task.finished, timeout=20000):
        recent.trigger()
    assert other.doc.audio_path == piece[0] and len(other.doc.score) == len(win.doc.score)
    other.close()


def test_unreadable_file_shows_the_problem_and_keeps_the_document(qtbot, window, piece, tmp_path):
    win = window
    open_and_wait(qtbot, win, piece)
    notes = win.doc.score.notes
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEnot really")
    with qtbot.waitSignal(win.session.load_task.failed, timeout=20000):
        win.open_paths([bad])
    assert win.last_message is not None and win.last_message.text().startswith("broken.wav: ")
    assert win.doc.score.notes == notes and win.doc.audio_path == piece[0]
    win.last_message.close()
    win.open_paths([tmp_path / "notes.txt"])
    assert "notes.txt" in win.last_message.text()


def test_unsaved_changes_prompt_on_close(qtbot, settings, piece, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    win = make_window(qtbot, settings)
    open_and_wait(qtbot, win, piece)
    assert not win.isWindowModified() and "[*]" in win.windowTitle()
    win.groups_panel.add_group()
    assert win.isWindowModified()
    asked = []
    win.ask_unsaved = lambda: asked.append(1) or QMessageBox.Cancel
    assert not win.close() and win.isVisible()
    win.doc.undo_stack.undo()
    assert not win.isWindowModified()
    win.groups_panel.add_group()
    win.ask_unsaved = lambda: QMessageBox.Save
    win.save_as = lambda: win.session.save_project(tmp_path / "kept.stemroll")
    assert win.close()
    assert (tmp_path / "kept.stemroll").exists() and len(asked) == 1


def test_shortcuts_fire_in_the_active_window(qtbot, window, piece):
    win, doc = window, window.doc
    open_and_wait(qtbot, win, piece)
    _activate(qtbot, win)
    win.groups_panel.add_group()
    assert len(doc.score.groups) == 3
    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier)
    assert len(doc.score.groups) == 2
    qtbot.keyClick(win, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
    assert len(doc.score.groups) == 3
    qtbot.keyClick(win, Qt.Key_D)
    assert win.tool_actions["draw"].isChecked()
    qtbot.keyClick(win, Qt.Key_V)
    assert win.tool_actions["select"].isChecked()
