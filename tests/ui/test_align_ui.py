"""Score-to-audio alignment in the editor: Align, doubtful notes, pins, nudges, group drags, cancel.

Each test builds its own document: a synthetic two-hand recording (``tests.material``) and the
same score shifted and stretched, so that the truth is known.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest

from stemroll.core import edits
from stemroll.core.score import Note, Score
from stemroll.io.audio import Audio
from stemroll.io.project import load_project
from stemroll.ui.align_edits import NUDGE_S
from stemroll.ui.jobs import display_spectrogram
from stemroll.ui.panels.groups import COUNT
from tests.material import synth, two_hand_score

RATE = 22050
STRETCH, SHIFT_S = 1.08, 0.35  # the score as given: 8 % slower and 0.35 s late


@pytest.fixture(scope="module")
def material():
    """(truth score, recording float32 (1, n)) of 4 bars of two hands at 22.05 kHz."""
    truth = two_hand_score(4)
    y = synth(truth.notes, sample_rate=RATE, seed=3)
    return truth, y[None, :]


def distorted(truth: Score, extra=()) -> Score:
    notes = [n.evolve(onset_s=n.onset_s * STRETCH + SHIFT_S, offset_s=n.offset_s * STRETCH + SHIFT_S)
             for n in truth.notes]
    return Score.from_notes(notes + list(extra), truth.groups)


def load(win, material, extra=()) -> None:
    truth, samples = material
    win.doc.set_score(distorted(truth, extra))
    win.doc.set_audio(Audio(samples, RATE), display_spectrogram(samples, RATE))


def onset_errors(score: Score, truth: Score) -> np.ndarray:
    return np.array([abs(score.note(n.id).onset_s - n.onset_s) for n in truth.notes])


def align(qtbot, win, timeout_ms: int = 30000):
    with qtbot.waitSignal(win.aligner.task.finished, timeout=timeout_ms):
        win.aligner.align_action.trigger()


def activate(qtbot, win):
    win.activateWindow()
    win.raise_()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)


def test_align_moves_notes_to_the_recording_in_one_undo_step(qtbot, window, material):
    win, doc = window, window.doc
    truth = material[0]
    load(win, material)
    before = doc.score.notes
    assert np.median(onset_errors(doc.score, truth)) > 0.3
    assert win.aligner.align_action.isEnabled() and win.aligner.align_action.shortcut().toString() == "Ctrl+L"
    assert "recording" in win.aligner.align_action.toolTip()

    ticks = []  # the window keeps handling events while the worker aligns
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    steps = doc.undo_stack.count()
    with qtbot.waitSignal(win.aligner.task.progress, timeout=10000):
        win.aligner.align_action.trigger()
    assert win.aligner.status_widget.isVisible() and win.cancel_action.isEnabled()
    assert not win.aligner.align_action.isEnabled()
    qtbot.waitSignal(win.aligner.task.finished, timeout=30000).wait()
    timer.stop()
    assert len(ticks) >= 3 and np.max(np.diff(ticks)) < 1.0

    err = onset_errors(doc.score, truth)
    assert np.median(err) < 0.03 and np.mean(err < 0.05) > 0.9
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Align to recording"
    assert sorted(n.id for n in doc.score.notes) == sorted(n.id for n in before)
    assert all(doc.score.note(n.id).pitch == n.pitch and doc.score.note(n.id).group_id == n.group_id for n in before)
    # Both views show the aligned notes at once.
    onsets = {n.id: n.onset_s for n in doc.score.notes}
    for item in (win.canvas.notes_item, win.canvas.overlay_item):
        assert dict(zip(item.table.ids.tolist(), item.table.onset_s.tolist())) == onsets
    assert not win.aligner.status_widget.isVisible() and "Aligned" in win.statusBar().currentMessage()
    assert len(doc.confidence()) == len(truth)

    doc.undo_stack.undo()
    assert doc.score.notes == before and doc.confidence() == {}
    doc.undo_stack.redo()
    assert np.median(onset_errors(doc.score, truth)) < 0.03 and len(doc.confidence()) == len(truth)


def test_a_note_missing_from_the_recording_is_flagged_doubtful(qtbot, window, material):
    win, doc = window, window.doc
    stray = Note(999, 66, 3.1, 3.5, 90, 0)  # F#4: never played, and no partial of a note that is
    load(win, material, extra=[stray])
    align(qtbot, win)
    conf = doc.confidence()
    assert conf[999] < 0.5
    assert np.mean([c >= 0.5 for i, c in conf.items() if i != 999]) > 0.85
    assert "look doubtful" in win.statusBar().currentMessage()
    marks = win.canvas.align_marks
    assert 999 in marks.doubtful
    assert win.aligner.next_doubtful_action.isEnabled()

    # F3 walks the doubtful notes in score order, selecting and showing each; it reaches the stray note.
    activate(qtbot, win)
    seen = []
    for _ in range(len(marks.doubtful)):
        QTest.keyClick(win.canvas.graphics, Qt.Key_F3)
        seen.append(win.canvas.selected_ids())
    assert (999,) in seen and all(len(s) == 1 and s[0] in marks.doubtful for s in seen)
    n = doc.score.note(999)
    win.canvas.set_selection({999})
    (x0, x1), (y0, y1) = win.canvas.roll_view.viewRange()
    assert x0 <= n.onset_s <= x1 and y0 <= n.pitch <= y1

    # The tooltip says so in words, and the canvas draws the mark (not only a colour).
    tip = win.canvas.describe(win.canvas.roll_view, (n.onset_s + n.offset_s) / 2, n.pitch)[0]
    assert f"alignment doubtful here (confidence {conf[999]:.2f})" in tip
    win.canvas.set_selection(())
    with_marks = win.canvas.grab().toImage()
    marks.roll_item.hide()
    marks.spec_item.hide()
    without = win.canvas.grab().toImage()
    marks.roll_item.show()
    assert with_marks != without

    # Editing the note clears its doubt; undo brings it back.
    win.canvas.set_selection({999})
    win.aligner.nudge(NUDGE_S)
    assert 999 not in doc.confidence() and 999 not in marks.doubtful
    doc.undo_stack.undo()
    assert 999 in marks.doubtful


def test_a_pin_is_honoured_by_the_next_align_and_saved(qtbot, window, material, tmp_path):
    win, doc = window, window.doc
    truth = material[0]
    load(win, material)
    align(qtbot, win)
    target = truth.notes[9]
    pin_t = target.onset_s + 0.12  # where the user says it is heard (deliberately not the attack)
    win.canvas.set_selection({target.id})
    win.canvas.set_playhead(pin_t, follow=False)
    steps = doc.undo_stack.count()
    assert win.aligner.pin_action.isEnabled()
    win.aligner.pin_action.trigger()
    assert doc.anchors == {target.id: pytest.approx(pin_t)}
    assert doc.score.note(target.id).onset_s == pytest.approx(pin_t)
    assert doc.undo_stack.count() == steps + 1
    assert target.id in win.canvas.align_marks.pins
    tip = win.canvas.describe(win.canvas.roll_view, pin_t + 0.05, target.pitch)[0]
    assert "pinned" in tip

    # Move the pinned note away by hand: Align puts it back where it was pinned.
    win.canvas.set_selection({target.id})
    for _ in range(30):
        win.aligner.nudge(-NUDGE_S)
    align(qtbot, win)
    assert doc.score.note(target.id).onset_s == pytest.approx(pin_t, abs=1e-6)
    others = [n for n in truth.notes if n.id != target.id]
    assert np.median([abs(doc.score.note(n.id).onset_s - n.onset_s) for n in others]) < 0.03

    # Pins that contradict the order of the notes (a pinned note dragged past another) stop Align, with the reason.
    later = next(n for n in truth.notes if n.onset_s > target.onset_s + 1.0)
    win.canvas.set_selection({later.id})
    assert win.aligner.pin_selected(doc.score.note(later.id).onset_s)
    doc.push_edit(edits.move_notes(doc.score, [later.id], dt_s=pin_t - 0.5 - doc.score.note(later.id).onset_s))
    steps = doc.undo_stack.count()
    assert not win.aligner.align()
    assert "contradict" in win.last_message.text() and doc.undo_stack.count() == steps
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert set(doc.anchors) == {target.id}

    # Saved in the project, read back; a project without the field has none.
    assert win.session.save_project(tmp_path / "pins.stemroll")
    assert load_project(tmp_path / "pins.stemroll").anchors == {target.id: pytest.approx(pin_t)}
    win.canvas.set_selection({target.id})
    win.aligner.unpin_action.trigger()
    assert doc.anchors == {}
    doc.undo_stack.undo()
    assert doc.anchors == {target.id: pytest.approx(pin_t)}
    win.canvas.set_selection(())
    win.aligner.unpin_action.trigger()  # nothing selected: every pin
    assert doc.anchors == {}
    assert win.session.save_project(tmp_path / "none.stemroll")
    assert "anchors" not in (tmp_path / "none.stemroll").read_text()
    assert load_project(tmp_path / "none.stemroll").anchors == {}


def test_nudge_is_one_undo_step_per_key(qtbot, window, material):
    win, doc = window, window.doc
    load(win, material)
    ids = [n.id for n in doc.score.notes[:5]]
    win.canvas.set_selection(ids)
    before = {i: doc.score.note(i) for i in ids}
    activate(qtbot, win)
    steps = doc.undo_stack.count()
    QTest.keyClick(win.canvas.graphics, Qt.Key_Right, Qt.AltModifier)
    QTest.keyClick(win.canvas.graphics, Qt.Key_Right, Qt.AltModifier)
    QTest.keyClick(win.canvas.graphics, Qt.Key_Left, Qt.AltModifier)
    assert doc.undo_stack.count() == steps + 3
    for i in ids:
        assert doc.score.note(i).onset_s == pytest.approx(before[i].onset_s + NUDGE_S)
        assert doc.score.note(i).duration_s == pytest.approx(before[i].duration_s)
    doc.undo_stack.undo()
    assert all(doc.score.note(i).onset_s == pytest.approx(before[i].onset_s + 2 * NUDGE_S) for i in ids)


def _px(canvas, t, p):
    return canvas.graphics.mapFromScene(canvas.roll_view.mapViewToScene(QPointF(t, p)))


def test_select_a_group_and_drag_it_in_time_in_one_step(qtbot, window, material):
    win, doc = window, window.doc
    load(win, material)
    panel = win.groups_panel
    left = doc.score.groups[1]
    row = [g.id for g in doc.score.groups].index(left.id)
    # Double-click on the group's count selects its notes; the context menu does too.
    item = panel.table.item(row, COUNT)
    vp = panel.table.viewport()
    QTest.mouseClick(vp, Qt.LeftButton, Qt.NoModifier, panel.table.visualItemRect(item).center())
    QTest.mouseDClick(vp, Qt.LeftButton, Qt.NoModifier, panel.table.visualItemRect(item).center())
    group_ids = tuple(sorted(n.id for n in doc.score.notes if n.group_id == left.id))
    assert win.canvas.selected_ids() == group_ids
    win.canvas.set_selection(())
    menu = panel.context_menu(row)
    act = next(a for a in menu.actions() if a.text() == "Select notes of this group")
    act.trigger()
    assert win.canvas.selected_ids() == group_ids
    assert panel.context_menu(len(doc.score.groups)) is None  # the residual's row

    # A real mouse drag of one of them moves the whole group: one undo step, the other hand stays.
    before = {n.id: n for n in doc.score.notes}
    steps = doc.undo_stack.count()
    first = doc.score.note(group_ids[0])
    t0, p = first.onset_s + 0.2, first.pitch
    win.canvas.spec_view.setRange(xRange=(0, 10), yRange=(30, 80), padding=0)
    vp = win.canvas.graphics.viewport()
    QTest.mousePress(vp, Qt.LeftButton, Qt.NoModifier, _px(win.canvas, t0, p))
    for k in range(1, 6):
        qtbot.wait(25)  # pyqtgraph drops mouse moves closer than 10 ms
        QTest.mouseMove(vp, _px(win.canvas, t0 - 0.06 * k, p + 0.1))
    qtbot.wait(25)
    QTest.mouseRelease(vp, Qt.LeftButton, Qt.NoModifier, _px(win.canvas, t0 - 0.3, p + 0.1))
    assert doc.undo_stack.count() == steps + 1
    dt = doc.score.note(group_ids[0]).onset_s - first.onset_s
    assert dt == pytest.approx(-0.3, abs=3 * win.canvas.seconds_per_pixel())
    for i, n in before.items():
        want = n.onset_s + dt if i in group_ids else n.onset_s
        assert doc.score.note(i).onset_s == pytest.approx(want) and doc.score.note(i).pitch == n.pitch

    # Select all, then a drag moves the whole score: again one step.
    win.select_all_action.trigger()
    assert len(win.canvas.selected_ids()) == len(doc.score)
    g = win.canvas.gestures
    g.press(t0 - 0.2, p)
    for k in range(1, 20):
        g.move(t0 - 0.2 + 0.01 * k, p)
    g.release(t0, p)
    assert doc.undo_stack.count() == steps + 2
    for i, n in before.items():
        assert doc.score.note(i).onset_s == pytest.approx(n.onset_s + 0.2 + (dt if i in group_ids else 0.0))


def test_cancel_leaves_the_notes_and_the_history_alone(qtbot, window, material):
    win, doc = window, window.doc
    load(win, material)
    before = doc.score.notes
    steps = doc.undo_stack.count()
    with qtbot.waitSignal(win.aligner.task.progress, timeout=10000):
        assert win.aligner.align()
    with qtbot.waitSignal(win.aligner.task.cancelled, timeout=10000):
        qtbot.mouseClick(win.aligner.cancel_button, Qt.LeftButton)
    assert doc.score.notes == before and doc.undo_stack.count() == steps and doc.confidence() == {}
    assert "cancelled" in win.statusBar().currentMessage()
    assert win.aligner.align_action.isEnabled() and not win.aligner.status_widget.isVisible()
    # Ctrl+. (the window's Cancel) stops an alignment too.
    with qtbot.waitSignal(win.aligner.task.progress, timeout=10000):
        assert win.aligner.align()
    assert win.cancel_action.isEnabled()
    with qtbot.waitSignal(win.aligner.task.cancelled, timeout=10000):
        win.cancel_action.trigger()
    assert doc.score.notes == before


def test_align_needs_a_recording_and_notes(qtbot, window, material):
    win = window
    assert not win.aligner.align_action.isEnabled()
    win.doc.set_score(material[0].copy())
    assert not win.aligner.align()
    assert "recording" in win.last_message.text()
