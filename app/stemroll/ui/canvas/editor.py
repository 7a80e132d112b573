"""EditorCanvas: the spectrogram above an editable piano-roll, sharing time (x) and MIDI pitch (y).

Views observe the Document (``score_changed``, ``display_changed``) and never mutate the score:
every gesture ends in one ``doc.push_edit`` (see ``gestures``). Selection, loop and playhead are
view state; the main window listens to ``selection_changed``, ``loop_changed`` and
``seek_requested`` and drives ``set_playhead`` from the transport.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QRectF, Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...core.display import NoteTable, format_time, unison_regions
from ...core.edits import DeleteNotes, assign_group
from ...core.units import midi_to_hz, note_name
from .align_marks import AlignMarks
from .axes import KeyboardAxis, TimeAxis, TimeRuler
from .gestures import TOOLS, Gestures
from .notes_item import LanesItem, NotesItem
from .overlays import LoopRegion, make_band, make_playhead
from .spectrogram_item import SpectrogramLayer
from .view import EditorViewBox

BACKGROUND = "#16181b"
MIN_PITCH_SPAN = 24  # semitones shown at least by zoom_to_fit
FOLLOW_MARGIN = 0.02  # after a page turn the playhead sits this fraction of the width from the left


class EditorCanvas(QWidget):
    """Spectrogram (top) and piano-roll (bottom) of ``doc``; x in seconds, y in MIDI pitch."""

    selection_changed = Signal(tuple)  # note ids
    loop_changed = Signal(float, float)  # seconds; (0.0, 0.0) = no loop
    seek_requested = Signal(float)  # seconds

    def __init__(self, doc, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.overlay = False
        self.note_table = NoteTable.from_notes([])
        self._selected: tuple[int, ...] = ()
        self._loop = (0.0, 0.0)
        self._score_obj = None
        self._active_view = None
        self.gestures = Gestures(self)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.graphics.installEventFilter(self)
        self.graphics.ci.layout.setSpacing(2)
        self.graphics.ci.setContentsMargins(2, 2, 8, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.setFocusProxy(self.graphics)

        self.ruler = TimeRuler(on_click=self._on_ruler_click, on_drag=self._on_ruler_drag,
                               on_double_click=lambda t: self.clear_loop())
        self.spec_view = EditorViewBox(self, role="spec")
        self.spec_plot = self.graphics.addPlot(row=0, col=0, viewBox=self.spec_view, axisItems={
            "top": self.ruler, "left": KeyboardAxis(), "bottom": TimeAxis()})
        self.roll_view = EditorViewBox(self, role="roll")
        self.roll_plot = self.graphics.addPlot(row=1, col=0, viewBox=self.roll_view, axisItems={
            "left": KeyboardAxis(), "bottom": TimeAxis()})
        for plot in (self.spec_plot, self.roll_plot):
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.getViewBox().disableAutoRange()
        self.spec_plot.showAxis("top")
        self.spec_plot.hideAxis("bottom")
        self.roll_plot.showGrid(x=True, alpha=0.18)
        self.roll_view.setXLink(self.spec_view)
        self.roll_view.setYLink(self.spec_view)

        self.spectrogram = SpectrogramLayer(self.spec_view)
        self.overlay_item = NotesItem(outline_only=True)
        self.overlay_item.setVisible(False)
        self.notes_item = NotesItem()
        self.roll_view.addItem(_z(LanesItem(), -30), ignoreBounds=True)
        self.roll_view.addItem(self.notes_item, ignoreBounds=True)
        self.spec_view.addItem(self.overlay_item, ignoreBounds=True)
        self.align_marks = AlignMarks(self)  # doubtful notes and pins of the alignment
        self.playheads = [make_playhead(), make_playhead()]
        self.loops = [LoopRegion(), LoopRegion()]
        self.bands = {"spec": make_band(), "roll": make_band()}
        for view, head, loop, band in zip((self.spec_view, self.roll_view), self.playheads, self.loops,
                                          (self.bands["spec"], self.bands["roll"])):
            for item in (head, loop, band):
                view.addItem(item, ignoreBounds=True)
            loop.sigRegionChanged.connect(self._on_loop_dragged)
            loop.sigRegionChangeFinished.connect(self._on_loop_drag_finished)
        self.placeholder = pg.TextItem("No recording loaded: its spectrogram appears here", color="#9aa0a6", anchor=(0.5, 0.5))
        self.spec_view.addItem(self.placeholder, ignoreBounds=True)
        self.spec_view.sigRangeChanged.connect(self._on_range_changed)
        self.spec_view.sigResized.connect(self._on_range_changed)

        for view in (self.spec_view, self.roll_view):
            view.setLimits(yMin=-0.5, yMax=127.5, minYRange=5, maxYRange=128.0, xMin=-1.0, minXRange=0.05)
        self.spec_view.setRange(xRange=(0.0, 10.0), yRange=(48.0, 84.0), padding=0.0)

        doc.score_changed.connect(self._on_score_changed)
        if hasattr(doc, "display_changed"):
            doc.display_changed.connect(self._on_display_changed)
        self._on_display_changed()
        self._on_score_changed()

    # ---- public API ---------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; choose one of {', '.join(TOOLS)}")
        self.gestures.cancel()
        self.gestures.tool = name

    @property
    def tool(self) -> str:
        return self.gestures.tool

    def set_playhead(self, t_s: float, *, follow: bool = True) -> None:
        """Move the playhead; with ``follow`` turn the page when it leaves the visible time range."""
        for line in self.playheads:
            line.setPos(t_s)
        if follow and self.gestures.drag is None:
            x0, x1 = self.spec_view.viewRange()[0]
            if not x0 <= t_s < x1:
                w = x1 - x0
                start = max(t_s - FOLLOW_MARGIN * w, -1.0)
                self.spec_view.setXRange(start, start + w, padding=0.0)

    def playhead(self) -> float:
        return float(self.playheads[0].value())

    def set_db_floor(self, floor_db: float | None) -> None:
        """Spectrogram contrast: the level (dB below the loudest cell) shown darkest; None = automatic."""
        self.spectrogram.set_floor(floor_db)

    def set_overlay(self, on: bool) -> None:
        self.overlay = bool(on)
        self.overlay_item.setVisible(self.overlay)
        self.align_marks.set_overlay(self.overlay)

    def selected_ids(self) -> tuple[int, ...]:
        return self._selected

    def set_selection(self, ids) -> None:
        """Select exactly ``ids`` (ids not in the score are dropped); emits selection_changed on change."""
        score = self.doc.score
        sel = tuple(sorted(int(i) for i in set(ids) if int(i) in score))
        if sel != self._selected:
            self._selected = sel
            self.notes_item.set_selected(sel)
            self.overlay_item.set_selected(sel)
            self.selection_changed.emit(sel)

    def select_all(self) -> None:
        self.set_selection(int(i) for i in self.note_table.ids)

    def delete_selected(self) -> None:
        if self._selected:
            ids = self._selected
            self.set_selection(())
            self.doc.push_edit(DeleteNotes(ids, text=f"Delete {len(ids)} note{'s' * (len(ids) != 1)}"))

    def assign_selected(self, group_id: int) -> None:
        score = self.doc.score
        ids = tuple(i for i in self._selected if score.note(i).group_id != group_id)
        if ids:
            self.doc.push_edit(assign_group(score, ids, group_id))

    def loop(self) -> tuple[float, float]:
        return self._loop

    def set_loop(self, t0_s: float, t1_s: float) -> None:
        """Show a loop set elsewhere (e.g. a project file); does not emit loop_changed."""
        self._loop = (min(t0_s, t1_s), max(t0_s, t1_s)) if t1_s != t0_s else (0.0, 0.0)
        self.restore_loop()

    def clear_loop(self) -> None:
        self.commit_loop(0.0, 0.0)

    # ---- zoom and scroll ----------------------------------------------------------------------
    def zoom_time(self, factor: float, *, center: float | None = None) -> None:
        """Zoom in time by ``factor`` (> 1 zooms in) around ``center`` seconds (default: the middle)."""
        x0, x1 = self.spec_view.viewRange()[0]
        c = (x0 + x1) / 2 if center is None else center
        self.spec_view.setXRange(c - (c - x0) / factor, c + (x1 - c) / factor, padding=0.0)

    def scroll_time(self, fraction: float) -> None:
        x0, x1 = self.spec_view.viewRange()[0]
        d = fraction * (x1 - x0)
        self.spec_view.setXRange(x0 + d, x1 + d, padding=0.0)

    def zoom_pitch(self, factor: float, *, center: float | None = None) -> None:
        y0, y1 = self.spec_view.viewRange()[1]
        c = (y0 + y1) / 2 if center is None else center
        self.spec_view.setYRange(c - (c - y0) / factor, c + (y1 - c) / factor, padding=0.0)

    def scroll_pitch(self, semitones: float) -> None:
        y0, y1 = self.spec_view.viewRange()[1]
        self.spec_view.setYRange(y0 + semitones, y1 + semitones, padding=0.0)

    def zoom_to_fit(self) -> None:
        """Show the whole piece: every note (or the spectrogram's pitch range) and its full length."""
        table, disp = self.note_table, self.spectrogram.display
        end = max(self.doc.score.end_s, disp.duration_s if disp is not None else 0.0)
        if len(table):
            lo, hi = float(table.pitch.min()) - 2.5, float(table.pitch.max()) + 2.5
        elif disp is not None:
            lo, hi = disp.pitch_lo, disp.pitch_hi
        else:
            lo, hi = 48.0, 84.0
        pad = max(0.0, MIN_PITCH_SPAN - (hi - lo)) / 2
        self.spec_view.setRange(xRange=(0.0, end if end > 0 else 10.0),
                                yRange=(max(-0.5, lo - pad), min(127.5, hi + pad)), padding=0.0)

    def seconds_per_pixel(self) -> float:
        x0, x1 = self.roll_view.viewRange()[0]
        width = self.roll_view.width()
        return (x1 - x0) / width if width > 1 else (x1 - x0) / 1000.0

    # ---- feedback used by the gestures ------------------------------------------------------
    def set_preview(self, table: NoteTable | None) -> None:
        self.notes_item.set_preview(table)
        self.overlay_item.set_preview(table)

    def show_band(self, box) -> None:
        for role, band in self.bands.items():
            if box is None or (self._active_view is not None and role != self._active_view.role):
                band.hide()
            else:
                t0, t1, p0, p1 = box
                band.setRect(QRectF(min(t0, t1), min(p0, p1), abs(t1 - t0), abs(p1 - p0)))
                band.show()

    def preview_loop(self, t0: float, t1: float) -> None:
        for region in self.loops:
            region.blockSignals(True)
            region.setRegion((t0, t1))
            region.setVisible(t1 > t0)
            region.blockSignals(False)

    def commit_loop(self, t0: float, t1: float) -> None:
        self._loop = (float(t0), float(t1)) if t1 > t0 else (0.0, 0.0)
        self.restore_loop()
        self.loop_changed.emit(*self._loop)

    def restore_loop(self) -> None:
        self.preview_loop(*self._loop)

    def describe(self, view, t: float, p: float) -> tuple[str, str]:
        """Tooltip and cursor for the pointer at (t, p) over ``view``."""
        if view.role == "roll" or (self.overlay and self.gestures.note_at(t, p) is not None):
            text, cursor = self.gestures.describe(t, p)
            return self.align_marks.annotate(text, self.gestures.note_at(t, p)), cursor
        db = self.spectrogram.value_at(t, p)
        pitch = int(np.clip(np.rint(p), 0, 127))
        cents = int(round((p - pitch) * 100))
        text = f"{note_name(pitch)} {cents:+d} cents ({float(midi_to_hz(p)):.0f} Hz) at {format_time(t)}"
        text += f": {db:.0f} dB" if db is not None else ""
        hint = "; overlay on: the tools edit here too" if self.overlay else "; drag to pan, alt-drag sets a loop"
        return f"Spectrogram: {text}{hint}", ("arrow" if self.overlay else "pan")

    # ---- observers ----------------------------------------------------------------------------
    def _on_score_changed(self) -> None:
        self.gestures.cancel()
        score = self.doc.score
        self.note_table = NoteTable.from_notes(score.notes)
        colours = {g.id: self.doc.group_colour(g.id) for g in score.groups}
        unisons = unison_regions(score.notes)
        self.notes_item.set_notes(self.note_table, colours, unisons)
        self.overlay_item.set_notes(self.note_table, colours, ())
        self.set_selection(self._selected)
        self._update_limits()
        if score is not self._score_obj:  # a newly opened score
            self._score_obj = score
            self.zoom_to_fit()

    def _on_display_changed(self) -> None:
        disp = getattr(self.doc, "display", None)
        self.spectrogram.set_display(disp)
        self.placeholder.setVisible(disp is None)
        self._update_limits()
        self.spectrogram.update_level(self.seconds_per_pixel())
        if disp is not None:
            self.zoom_to_fit()

    def _update_limits(self) -> None:
        disp = self.spectrogram.display
        end = max(self.doc.score.end_s, disp.duration_s if disp is not None else 0.0, 10.0)
        for view in (self.spec_view, self.roll_view):
            view.setLimits(xMax=end * 1.05 + 5.0, maxXRange=end * 1.05 + 6.0)

    def _on_range_changed(self, *_args) -> None:
        self.spectrogram.update_level(self.seconds_per_pixel())
        (x0, x1), (y0, y1) = self.spec_view.viewRange()
        self.placeholder.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _on_ruler_click(self, t: float) -> None:
        t = max(0.0, t)
        self.set_playhead(t, follow=False)
        self.seek_requested.emit(t)

    def _on_ruler_drag(self, t0: float, t1: float, phase: str) -> None:
        g = self.gestures
        if phase == "start":
            g.cancel()
            g.press(t0, 0.0, alt=True)
        if g.drag is None or g.drag.kind != "loop":
            return
        (g.release if phase == "finish" else g.move)(t1, 0.0)

    def _on_loop_dragged(self, region) -> None:
        for other in self.loops:
            if other is not region:
                other.blockSignals(True)
                other.setRegion(region.getRegion())
                other.blockSignals(False)

    def _on_loop_drag_finished(self, region) -> None:
        t0, t1 = region.getRegion()
        self.commit_loop(max(0.0, t0), max(0.0, t1))

    def eventFilter(self, obj, ev):  # noqa: N802
        if obj is self.graphics and ev.type() == QEvent.Type.KeyPress:
            if ev.key() == Qt.Key.Key_Escape and self.gestures.cancel():
                return True
            if ev.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected:
                self.delete_selected()
                return True
        return super().eventFilter(obj, ev)


def _z(item, z: float):
    item.setZValue(z)
    return item
