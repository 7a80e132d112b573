"""One graphics object that paints every visible note (and one that paints the piano-roll lanes).

Items live in a ViewBox, so their coordinates are (seconds, MIDI pitch). They paint in device
pixels (rounded corners and outlines keep their size at any zoom) and only the notes inside the
view, so a piece of thousands of notes redraws in milliseconds.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPen, QTransform

from ...core.display import NoteTable
from .axes import is_black_key

_EVERYWHERE = QRectF(-1.0e4, -2.0, 1.0e6, 132.0)  # the whole (seconds, pitch) plane we can show
_RADIUS_PX = 3.0
MIN_WIDTH_PX = 2.0  # a note never thinner than this, however far out the view is zoomed


def _device_rects(table: NoteTable, idx: np.ndarray, tr: QTransform) -> np.ndarray:
    """Pixel rectangles (x, y, w, h) float64 (len(idx), 4) of notes ``idx`` under transform ``tr``
    (at least ``MIN_WIDTH_PX`` wide)."""
    sx, sy, dx, dy = tr.m11(), tr.m22(), tr.dx(), tr.dy()
    xa = table.onset_s[idx] * sx + dx
    xb = table.offset_s[idx] * sx + dx
    ya = (table.pitch[idx] + 0.5) * sy + dy
    yb = (table.pitch[idx] - 0.5) * sy + dy
    x, y, h = np.minimum(xa, xb), np.minimum(ya, yb), np.abs(yb - ya)
    gap = np.where(h > 6, 1.0, 0.0)  # a pixel between notes a semitone apart when there is room
    return np.stack([x, y + gap / 2, np.maximum(np.abs(xb - xa), MIN_WIDTH_PX), h - gap], axis=1)


class NotesItem(pg.GraphicsObject):
    """Paints notes as rounded rectangles in their group's colour, selected ones outlined in white.

    ``outline_only`` draws outlines with a dark halo (the overlay on the spectrogram). Unison
    regions (same pitch, two groups) are hatched. A preview table replaces the notes while a
    gesture is live, without touching the score.
    """

    def __init__(self, *, outline_only: bool = False):
        super().__init__()
        self.outline_only = outline_only
        self.table = NoteTable.from_notes([])
        self.preview: NoteTable | None = None
        self.selected: frozenset[int] = frozenset()
        self.colours: dict[int, QColor] = {}
        self.unisons: list[tuple[int, float, float, int, int]] = []
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption, False)

    # ---- state --------------------------------------------------------------------------
    def set_notes(self, table: NoteTable, colours: dict[int, str], unisons) -> None:
        self.table = table
        self.colours = {g: QColor(c) for g, c in colours.items()}
        self.unisons = list(unisons)
        self.update()

    def set_selected(self, ids) -> None:
        self.selected = frozenset(int(i) for i in ids)
        self.update()

    def set_preview(self, table: NoteTable | None) -> None:
        self.preview = table
        self.update()

    def shown(self) -> NoteTable:
        """The notes as drawn now (the preview while a gesture is live)."""
        return self.preview if self.preview is not None else self.table

    # ---- QGraphicsItem ----------------------------------------------------------------------
    def boundingRect(self):  # noqa: N802
        return _EVERYWHERE

    def paint(self, p, opt, widget):
        vb = self.getViewBox()
        table = self.shown()
        if vb is None or not len(table):
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        vis = np.nonzero((table.offset_s >= x0) & (table.onset_s <= x1)
                         & (table.pitch >= y0 - 1) & (table.pitch <= y1 + 1))[0]
        tr = p.transform()
        rects = _device_rects(table, vis, tr)
        p.save()
        p.resetTransform()
        p.setRenderHint(p.RenderHint.Antialiasing, True)
        sel = np.isin(table.ids[vis], np.fromiter(self.selected, dtype=np.int64, count=len(self.selected)))
        groups = table.group[vis]
        for gid in np.unique(groups):
            colour = self.colours.get(int(gid), QColor("#999999"))
            self._paint_group(p, rects[(groups == gid) & ~sel], colour, selected=False)
        for gid in np.unique(groups[sel]):
            colour = self.colours.get(int(gid), QColor("#999999"))
            self._paint_group(p, rects[(groups == gid) & sel], colour, selected=True)
        if self.preview is None:  # the hatching follows the score, not a live gesture
            self._paint_unisons(p, tr, (x0, x1, y0, y1))
        p.restore()

    def _paint_group(self, p, rects: np.ndarray, colour: QColor, *, selected: bool) -> None:
        if not len(rects):
            return
        if self.outline_only:
            qrects = [QRectF(*r) for r in rects.tolist()]
            p.setBrush(Qt.BrushStyle.NoBrush)
            halo = QPen(QColor(0, 0, 0, 200), 3.5 if selected else 3.0)
            line = QPen(QColor("#ffffff") if selected else colour, 2.0 if selected else 1.5)
            for pen in (halo, line):
                p.setPen(pen)
                p.drawRects(qrects)
            return
        fill = QColor(colour)
        p.setBrush(QBrush(fill))
        p.setPen(QPen(QColor("#ffffff"), 2.0) if selected else QPen(fill.darker(170), 1.0))
        big = rects[:, 2] >= 2 * _RADIUS_PX + 2
        for r in rects[big].tolist():
            p.drawRoundedRect(QRectF(*r), _RADIUS_PX, _RADIUS_PX)
        if not big.all():  # small notes (a zoomed-out view): one call, no outline unless selected
            if not selected:
                p.setPen(Qt.PenStyle.NoPen)
            p.drawRects([QRectF(*r) for r in rects[~big].tolist()])

    def _paint_unisons(self, p, tr: QTransform, view) -> None:
        x0, x1, y0, y1 = view
        shown = [u for u in self.unisons if u[2] >= x0 and u[1] <= x1 and y0 - 1 <= u[0] <= y1 + 1]
        if not shown:
            return
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(255, 255, 255, 190), Qt.BrushStyle.BDiagPattern))
        for pitch, t0, t1, _, _ in shown:
            r = tr.mapRect(QRectF(t0, pitch - 0.5, t1 - t0, 1.0))
            p.drawRect(r.normalized())


class LanesItem(pg.GraphicsObject):
    """The piano-roll background: one lane per semitone, black-key lanes darker, a line under each C."""

    WHITE = QColor("#2a2d31")
    BLACK = QColor("#1d1f22")
    C_LINE = QColor("#5a5f66")
    E_LINE = QColor("#34373c")

    def boundingRect(self):  # noqa: N802
        return _EVERYWHERE

    def paint(self, p, opt, widget):
        vb = self.getViewBox()
        if vb is None:
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        tr = p.transform()
        p.save()
        p.resetTransform()
        left, right = tr.map(x0, 0.0)[0], tr.map(x1, 0.0)[0]
        for pitch in range(max(0, int(np.floor(y0 - 0.5))), min(127, int(np.ceil(y1 + 0.5))) + 1):
            ya, yb = tr.map(0.0, pitch + 0.5)[1], tr.map(0.0, pitch - 0.5)[1]
            lane = QRectF(left, min(ya, yb), right - left, abs(yb - ya))
            p.fillRect(lane, self.BLACK if is_black_key(pitch) else self.WHITE)
            if pitch % 12 in (0, 5):
                p.setPen(QPen(self.C_LINE if pitch % 12 == 0 else self.E_LINE, 1.0))
                p.drawLine(lane.bottomLeft(), lane.bottomRight())
        p.restore()
