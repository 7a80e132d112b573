"""Marks of the alignment on the canvas: doubtful notes and pins.

A doubtful note (the last alignment's confidence below ``DOUBTFUL_BELOW``) gets a dashed red
outline, a red hatch and a "?" where there is room, so shape tells what colour tells; its tooltip
says "alignment doubtful here (confidence 0.32)". A pinned note shows a pin at its pinned onset
time (``Document.anchors``). Both follow a live drag, since they read the notes as drawn.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPen

from ..align_edits import DOUBTFUL_BELOW
from .notes_item import _EVERYWHERE, _device_rects

DOUBT_COLOUR = QColor("#ff4d4d")
PIN_COLOUR = QColor("#ffffff")
PIN_NEEDLE_PX = 11.0
PIN_HEAD_PX = 4.5


class AlignMarksItem(pg.GraphicsObject):
    """Paints the marks over ``notes`` (a NotesItem in the same view); state comes from ``AlignMarks``."""

    def __init__(self, marks: "AlignMarks", notes, *, hatch: QColor):
        super().__init__()
        self._marks = marks
        self._notes = notes
        self._hatch = hatch  # dark over filled notes, red over the spectrogram
        self.setZValue(20)

    def boundingRect(self):  # noqa: N802
        return _EVERYWHERE

    def paint(self, p, opt, widget):
        vb = self.getViewBox()
        table = self._notes.shown()
        m = self._marks
        if vb is None or not len(table) or not (m.doubtful or m.pins):
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        visible = (table.offset_s >= x0 - 1.0) & (table.onset_s <= x1 + 1.0) & (table.pitch >= y0 - 1) & (table.pitch <= y1 + 1)
        tr = p.transform()
        p.save()
        p.resetTransform()
        p.setRenderHint(p.RenderHint.Antialiasing, True)
        doubt = np.nonzero(visible & np.isin(table.ids, m.doubtful_ids))[0]
        if len(doubt):
            self._paint_doubtful(p, _device_rects(table, doubt, tr))
        pinned = np.nonzero(visible & np.isin(table.ids, m.pinned_ids))[0]
        if len(pinned):
            self._paint_pins(p, table, pinned, tr)
        p.restore()

    def _paint_doubtful(self, p, rects: np.ndarray) -> None:
        qrects = [QRectF(*r).adjusted(-1.5, -1.5, 1.5, 1.5) for r in rects.tolist()]
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(self._hatch, Qt.BrushStyle.FDiagPattern))
        p.drawRects(qrects)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 200), 4.0))
        p.drawRects(qrects)
        dashed = QPen(DOUBT_COLOUR, 2.0)
        dashed.setDashPattern([3.0, 2.0])
        p.setPen(dashed)
        p.drawRects(qrects)
        font = QFont(p.font())
        font.setBold(True)
        font.setPixelSize(11)
        p.setFont(font)
        for r in qrects:
            if r.width() >= 14 and r.height() >= 11:
                badge = QRectF(r.left() + 2, r.center().y() - 6, 11, 12)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(0, 0, 0, 190))
                p.drawRoundedRect(badge, 2, 2)
                p.setPen(DOUBT_COLOUR)
                p.drawText(badge, Qt.AlignmentFlag.AlignCenter, "?")

    def _paint_pins(self, p, table, idx: np.ndarray, tr) -> None:
        for i in idx.tolist():
            t = self._marks.pins[int(table.ids[i])]
            pt = tr.map(QPointF(t, float(table.pitch[i]) + 0.5))
            base = tr.map(QPointF(t, float(table.pitch[i])))
            head = QPointF(pt.x(), pt.y() - PIN_NEEDLE_PX)
            for pen in (QPen(QColor(0, 0, 0, 220), 3.5), QPen(PIN_COLOUR, 1.5)):
                p.setPen(pen)
                p.drawLine(base, head)
            p.setPen(QPen(QColor(0, 0, 0, 220), 1.5))
            p.setBrush(PIN_COLOUR)
            p.drawEllipse(head, PIN_HEAD_PX, PIN_HEAD_PX)


class AlignMarks:
    """Keeps the canvas's alignment marks in step with the document (``alignment_changed``,
    ``score_changed``): one item over the piano-roll, one over the spectrogram (shown with the overlay)."""

    def __init__(self, canvas):
        self.canvas = canvas
        self.doc = canvas.doc
        self.confidence: dict[int, float] = {}
        self.doubtful: dict[int, float] = {}
        self.pins: dict[int, float] = {}
        self.doubtful_ids = np.zeros(0, np.int64)
        self.pinned_ids = np.zeros(0, np.int64)
        self.roll_item = AlignMarksItem(self, canvas.notes_item, hatch=QColor(0, 0, 0, 170))
        self.spec_item = AlignMarksItem(self, canvas.overlay_item, hatch=QColor(255, 77, 77, 200))
        self.spec_item.setVisible(False)
        canvas.roll_view.addItem(self.roll_item, ignoreBounds=True)
        canvas.spec_view.addItem(self.spec_item, ignoreBounds=True)
        for sig in ("score_changed", "alignment_changed"):
            if hasattr(self.doc, sig):
                getattr(self.doc, sig).connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        doc = self.doc
        self.confidence = doc.confidence() if hasattr(doc, "confidence") else {}
        self.doubtful = {i: c for i, c in self.confidence.items() if c < DOUBTFUL_BELOW}
        self.pins = dict(getattr(doc, "anchors", {}))
        self.doubtful_ids = np.fromiter(self.doubtful, dtype=np.int64, count=len(self.doubtful))
        self.pinned_ids = np.fromiter(self.pins, dtype=np.int64, count=len(self.pins))
        self.roll_item.update()
        self.spec_item.update()

    def set_overlay(self, on: bool) -> None:
        self.spec_item.setVisible(bool(on))

    def annotate(self, text: str, note_id: int | None) -> str:
        """``text`` (a note's tooltip) with what the alignment knows about note ``note_id``."""
        if note_id is None:
            return text
        if note_id in self.doubtful:
            text += (f"; alignment doubtful here (confidence {self.doubtful[note_id]:.2f}): listen, then drag it "
                     "or pin it (click the ruler where you hear it, press P)")
        elif note_id in self.confidence:
            text += f"; aligned (confidence {self.confidence[note_id]:.2f})"
        if note_id in self.pins:
            text += f"; pinned: heard at {self.pins[note_id]:.2f} s (Shift+P removes the pin)"
        return text
