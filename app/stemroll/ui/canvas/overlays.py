"""Marks drawn over both views: the playhead, the loop region, the rubber band."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

PLAYHEAD_COLOUR = "#ffffff"
LOOP_BRUSH = (86, 180, 233, 45)
LOOP_EDGE = "#56B4E9"


def make_playhead() -> pg.InfiniteLine:
    line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD_COLOUR, width=1.5))
    line.setZValue(50)
    line.setToolTip("Playhead")
    return line


class LoopRegion(pg.LinearRegionItem):
    """The loop: its edges can be dragged; its body lets clicks and drags through to the notes."""

    def __init__(self):
        super().__init__(values=(0.0, 0.0), orientation="vertical", brush=pg.mkBrush(*LOOP_BRUSH),
                         pen=pg.mkPen(LOOP_EDGE, width=1.5), movable=True, swapMode="sort")
        self.setZValue(-5)
        self.setToolTip("Loop: drag its edges to change it; double-click the time ruler to clear it")
        for line in self.lines:
            line.setToolTip("Drag to move this end of the loop")
        self.hide()

    def mouseDragEvent(self, ev):  # noqa: N802  (the body does not move: the tools act under it)
        ev.ignore()

    def hoverEvent(self, ev):  # noqa: N802
        pass

    def mouseClickEvent(self, ev):  # noqa: N802
        ev.ignore()


def make_band() -> QGraphicsRectItem:
    """A rubber band (selection box) in view coordinates."""
    band = QGraphicsRectItem(QRectF())
    pen = QPen(QColor("#ffffff"), 1.0)
    pen.setCosmetic(True)
    pen.setDashPattern([4.0, 3.0])
    band.setPen(pen)
    band.setBrush(QBrush(QColor(255, 255, 255, 30)))
    band.setZValue(60)
    band.hide()
    return band
