"""Score-to-audio alignment in the editor: the Align action, doubtful notes, pins and nudges.

``AlignCommands(window)`` makes the actions (Separation > Align Ctrl+L, Pin P, Remove pins
Shift+P; Edit > Nudge Alt+Left / Alt+Right; View > Next / previous doubtful note F3 / Shift+F3),
a progress bar with a Cancel button for the status bar, and wires them to the window's document,
canvas, session and groups panel. ``core.alignment.align_steps`` runs on a ``BackgroundTask``
from a snapshot (the window stays live, Cancel stops it between two steps); its result lands as
one undoable edit "Align to recording", and the document keeps each note's confidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generator

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QToolButton, QWidget

from ..core.edits import ReplaceNotes
from ..core.score import Note
from ..core.separation import Progress
from ..core.units import note_name
from .align_edits import (DOUBTFUL_BELOW, NUDGE_S, crossing_pins, describe_note, doubtful_notes, next_doubtful,
                          nudge_edit, pin_command, unpin_command)
from .workers import BackgroundTask

# Share of the progress bar each stage of ``align_steps`` fills: (start, width).
STAGES = {"features": (0.0, 0.35), "warp": (0.35, 0.4), "refine": (0.75, 0.2), "confidence": (0.95, 0.05)}


@dataclass(frozen=True)
class AlignSnapshot:
    """Read-only inputs of one alignment, taken in the GUI thread."""

    samples: np.ndarray  # float32 (channels, n_samples), never written
    sample_rate: int
    notes: tuple[Note, ...]
    anchors: tuple[tuple[int, float], ...]  # (note id, audio time s)
    audio: object  # the Audio aligned to: the result is dropped if another recording is open by then


def align_job(snap: AlignSnapshot) -> Generator[Progress, None, object]:
    """``core.alignment.align_steps`` on a snapshot, as ``Progress`` values (fraction of the whole run)."""
    from ..core.alignment import align_steps

    t0 = time.perf_counter()
    yield Progress("features", 0.0)
    mono = snap.samples.mean(axis=0, dtype=np.float32)
    gen = align_steps(mono, snap.sample_rate, snap.notes, anchors=snap.anchors)
    while True:
        try:
            stage, frac = next(gen)
        except StopIteration as stop:
            return stop.value
        start, width = STAGES.get(stage, (0.0, 1.0))
        yield Progress(stage, start + width * float(frac), elapsed_s=time.perf_counter() - t0)


class AlignCommands(QObject):
    """The alignment actions of ``window`` (a MainWindow: doc, canvas, session, groups_panel, cancel_action).

    Signals: ``status(str)``, ``error(str)``, ``aligned(int)`` (notes moved; after the edit).
    """

    status = Signal(str)
    error = Signal(str)
    aligned = Signal(int)

    def __init__(self, window):
        super().__init__(window)
        self.window, self.doc, self.canvas, self.session = window, window.doc, window.canvas, window.session
        self.task = BackgroundTask("align", self)
        self._build_actions()
        self._build_status_widget()
        self._connect()
        self.update_enabled()

    # ---- construction -----------------------------------------------------------------------------
    def _action(self, text: str, tip: str, slot, shortcut=None, icon_text: str | None = None) -> QAction:
        a = QAction(text, self.window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        key = a.shortcut().toString(QKeySequence.NativeText)
        a.setStatusTip(tip)
        a.setToolTip(f"{tip} ({key})" if key else tip)
        if icon_text:
            a.setIconText(icon_text)
        a.triggered.connect(slot)
        self.window.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        self.align_action = A("&Align to recording", "Move the notes to where they are heard in the recording; "
                              "Ctrl+Z puts them back", self.align, "Ctrl+L", "Align")
        self.pin_action = A("&Pin note to where it is heard", "Pin the selected note's start to the playhead "
                            "(click the time ruler where you hear it); Align then keeps it there", lambda: self.pin_selected(), "P")
        self.unpin_action = A("&Remove pins", "Remove the pins of the selected notes (every pin when none is selected)",
                              self.unpin_selected, "Shift+P")
        self.next_doubtful_action = A("Next &doubtful note", "Select the next note the alignment is unsure about",
                                      lambda: self.jump_to_doubtful(backwards=False), "F3")
        self.previous_doubtful_action = A("Previous doubtful note", "Select the previous note the alignment is "
                                          "unsure about", lambda: self.jump_to_doubtful(backwards=True), "Shift+F3")
        self.nudge_left_action = A("Nudge &left", f"Move the selected notes {NUDGE_S * 1000:.0f} ms earlier",
                                   lambda: self.nudge(-NUDGE_S), "Alt+Left")
        self.nudge_right_action = A("Nudge &right", f"Move the selected notes {NUDGE_S * 1000:.0f} ms later",
                                    lambda: self.nudge(NUDGE_S), "Alt+Right")
        self.separation_actions = [self.align_action, self.pin_action, self.unpin_action]
        self.edit_actions = [self.nudge_left_action, self.nudge_right_action]
        self.view_actions = [self.next_doubtful_action, self.previous_doubtful_action]

    def _build_status_widget(self) -> None:
        self.status_widget = QWidget()
        lay = QHBoxLayout(self.status_widget)
        lay.setContentsMargins(0, 0, 0, 0)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumWidth(140)
        self.progress_bar.setToolTip("Aligning the notes to the recording")
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop aligning; the notes stay where they are")
        self.cancel_button.clicked.connect(self.cancel)
        lay.addWidget(self.progress_bar)
        lay.addWidget(self.cancel_button)
        self.status_widget.hide()
        self.window.statusBar().addPermanentWidget(self.status_widget)

    def _connect(self) -> None:
        doc, s, w = self.doc, self.session, self.window
        self.task.progress.connect(self._on_progress)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(self._on_cancelled)
        self.task.running_changed.connect(self.status_widget.setVisible)
        for sig in (doc.score_changed, doc.audio_changed, doc.alignment_changed, self.task.running_changed,
                    s.loading_changed, s.separation.running_changed, self.canvas.selection_changed):
            sig.connect(self.update_enabled)
        s.loading_changed.connect(self._on_loading_changed)
        w.cancel_action.triggered.connect(self.cancel)
        self.task.running_changed.connect(w._update_enabled)  # the window's Cancel covers the alignment too
        w.groups_panel.select_notes_requested.connect(self.select_group)
        self.status.connect(w.show_status)
        self.error.connect(w.show_error)
        app = QCoreApplication.instance()
        if app is not None:  # quitting without closing the window must not destroy a running thread
            app.aboutToQuit.connect(self.shutdown)

    @Slot()
    def update_enabled(self, *_args) -> None:
        doc, s = self.doc, self.session
        busy = self.task.is_running() or s.load_task.is_running() or s.separation.is_running()
        self.align_action.setEnabled(doc.audio is not None and len(doc.score) > 0 and not busy)
        sel = self.canvas.selected_ids()
        self.pin_action.setEnabled(len(sel) == 1 and doc.audio is not None and not self.task.is_running())
        self.unpin_action.setEnabled(bool(doc.anchors) and not self.task.is_running())
        for a in self.edit_actions:
            a.setEnabled(bool(sel))
        has_doubt = any(c < DOUBTFUL_BELOW for c in doc.confidence().values())
        for a in self.view_actions:
            a.setEnabled(has_doubt)

    # ---- aligning ---------------------------------------------------------------------------------
    def align(self) -> bool:
        """Start aligning the score to the recording; False (with a message) when it cannot start."""
        doc, s = self.doc, self.session
        if self.task.is_running() or s.load_task.is_running():
            return False
        if s.separation.is_running():
            self.error.emit("Align: wait for the separation to finish (or cancel it); aligning moves the notes it uses")
            return False
        if doc.audio is None:
            self.error.emit("Align: open the recording first (File > Open audio)")
            return False
        if len(doc.score) == 0:
            self.error.emit("Align: the score has no notes; import the MIDI file first")
            return False
        anchors = {i: t for i, t in doc.anchors.items() if i in doc.score and 0.0 <= t <= doc.audio.duration_s}
        clash = crossing_pins(anchors, doc.score)
        if clash is not None:
            a, b = (doc.score.note(i) for i in clash)
            self.error.emit(f"Align: the pins of {describe_note(a)} (pinned to {anchors[a.id]:.2f} s) and "
                            f"{describe_note(b)} (pinned to {anchors[b.id]:.2f} s) contradict the order of the "
                            "notes; move one of the notes or remove its pin (Shift+P)")
            return False
        samples = doc.audio.samples.view()
        samples.flags.writeable = False
        snap = AlignSnapshot(samples, int(doc.audio.sample_rate), doc.score.notes, tuple(sorted(anchors.items())),
                             doc.audio)
        self.task.start(lambda: align_job(snap), tag=snap)
        pins = f" through {len(anchors)} pin{'s' * (len(anchors) != 1)}" if anchors else ""
        self.status.emit(f"Aligning {len(snap.notes)} notes to the recording{pins}…")
        return True

    @Slot()
    def cancel(self) -> None:
        if self.task.is_running():
            self.status.emit("Cancelling the alignment…")
        self.task.cancel()

    @Slot()
    def shutdown(self) -> None:
        """Cancel and wait for a running alignment (before the window goes away)."""
        self.task.shutdown()

    @Slot(bool)
    def _on_loading_changed(self, loading: bool) -> None:
        if loading:
            self.task.cancel()  # another file is coming: its notes or recording replace these

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        self.progress_bar.setValue(int(round(100 * p.fraction)))
        self.status.emit(f"Aligning: {p.stage} {100 * p.fraction:.0f} %")

    @Slot(object)
    def _on_finished(self, result) -> None:
        snap, doc = self.task.tag, self.doc
        self.task.tag = None  # do not keep the recording alive through the snapshot
        if doc.audio is not snap.audio:
            self.status.emit("Another recording was opened while aligning; the notes were not moved.")
            return
        before = {n.id: n for n in snap.notes}
        # Notes edited or deleted while the alignment ran keep the user's edit.
        kept = [n for n in result.notes if n.id in doc.score and doc.score.note(n.id) == before[n.id]]
        moved = tuple(n for n in kept if n != before[n.id])
        if moved:
            doc.push_edit(ReplaceNotes(moved, text="Align to recording"))
        doc.set_alignment(result.notes, result.confidence)
        shift_ms = np.median([abs(n.onset_s - before[n.id].onset_s) for n in moved]) * 1000 if moved else 0.0
        doubtful = len(doubtful_notes(doc))
        parts = [f"Aligned: {len(moved)} of {len(snap.notes)} notes moved (median {shift_ms:.0f} ms)" if moved
                 else "Aligned: the notes already match the recording"]
        if len(kept) < len(result.notes):
            parts.append(f"{len(result.notes) - len(kept)} notes edited meanwhile were left as they are")
        parts.append(f"{doubtful} notes look doubtful (F3 jumps to the next)" if doubtful
                     else "every note looks right")
        self.status.emit("; ".join(parts) + ".")
        self.aligned.emit(len(moved))

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.task.tag = None
        self.status.emit("Alignment failed; the notes were not moved.")
        self.error.emit(f"Align: {message}")

    @Slot()
    def _on_cancelled(self) -> None:
        self.task.tag = None
        self.status.emit("Alignment cancelled; the notes were not moved.")

    # ---- doubtful notes ---------------------------------------------------------------------------
    def jump_to_doubtful(self, *, backwards: bool = False) -> int | None:
        """Select the next (previous) doubtful note after the selection (or the playhead) and show it."""
        doc, canvas = self.doc, self.canvas
        sel = [doc.score.note(i) for i in canvas.selected_ids()]
        if sel:
            ref = min((n.onset_s, n.pitch, n.id) for n in sel) if backwards else max(
                (n.onset_s, n.pitch, n.id) for n in sel)
        else:
            ref = (canvas.playhead(), -1, -1) if not backwards else (canvas.playhead(), 128, -1)
        found = next_doubtful(doc, after=ref, backwards=backwards)
        if found is None:
            self.status.emit("No note looks doubtful.")
            return None
        k, note, conf = found
        canvas.set_selection({note.id})
        show_note(canvas, note)
        total = len(doubtful_notes(doc))
        self.status.emit(f"Doubtful note {k + 1} of {total}: {describe_note(note)} (confidence {conf:.2f}). "
                         "Click the time ruler where you hear it and press P to pin it, or drag it.")
        return note.id

    # ---- manual correction ------------------------------------------------------------------------
    def nudge(self, dt_s: float) -> bool:
        edit = nudge_edit(self.doc.score, self.canvas.selected_ids(), dt_s)
        if edit is None:
            return False
        self.doc.push_edit(edit)
        return True

    def pin_selected(self, t_s: float | None = None) -> bool:
        """Pin the one selected note's onset to ``t_s`` (default: the playhead). One undo step."""
        sel = self.canvas.selected_ids()
        if len(sel) != 1:
            self.error.emit("Pin: select exactly one note: the one you hear at the playhead")
            return False
        cmd, message = pin_command(self.doc, sel[0], self.canvas.playhead() if t_s is None else float(t_s))
        if cmd is None:
            self.error.emit(message)
            return False
        self.doc.undo_stack.push(cmd)
        self.status.emit(message)
        return True

    def unpin_selected(self) -> bool:
        cmd = unpin_command(self.doc, self.canvas.selected_ids())
        if cmd is None:
            self.status.emit("The selected notes have no pins.")
            return False
        self.doc.undo_stack.push(cmd)
        self.status.emit(cmd.text() + ".")
        return True

    @Slot(int)
    def select_group(self, group_id: int) -> None:
        """Select every note of a group (then drag, nudge or pin them)."""
        ids = [n.id for n in self.doc.score.notes if n.group_id == group_id]
        self.canvas.set_selection(ids)
        if self.doc.score.has_group(group_id):
            self.status.emit(f"Selected the {len(ids)} notes of {self.doc.score.group(group_id).name}: drag them "
                             f"in time or nudge them with Alt+Left / Alt+Right.")


def show_note(canvas, note: Note) -> None:
    """Scroll the canvas (keeping its zoom) so ``note`` is in view."""
    (x0, x1), (y0, y1) = canvas.spec_view.viewRange()
    w, h = x1 - x0, y1 - y0
    if not (x0 <= note.onset_s and note.offset_s <= x1) or w < note.duration_s:
        start = max(-1.0, note.onset_s - 0.3 * w)
        canvas.spec_view.setXRange(start, start + w, padding=0.0)
    if not y0 + 1 <= note.pitch <= y1 - 1:
        canvas.spec_view.setYRange(note.pitch - h / 2, note.pitch + h / 2, padding=0.0)
