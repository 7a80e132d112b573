"""Axes of the editor: a time axis in m:ss.s, the time ruler (click to seek, drag to loop), and a
keyboard strip that names the pitches (MIDI units on the y axis: pitch p spans [p - 0.5, p + 0.5]).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen

from ...core.display import format_time
from ...core.units import midi_to_hz, note_name

BLACK_KEYS = frozenset({1, 3, 6, 8, 10})
# Tick spacings that read well as clock times, seconds.
_TIME_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


def is_black_key(pitch: int) -> bool:
    return int(pitch) % 12 in BLACK_KEYS


class TimeAxis(pg.AxisItem):
    """A horizontal axis labelled in m:ss.s with clock-friendly tick spacings."""

    def __init__(self, orientation: str = "bottom", **kw):
        super().__init__(orientation, **kw)
        self.setToolTip("Time (minutes:seconds)")

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return [(1.0, 0.0)]
        s_per_px = span / size
        major = next((s for s in _TIME_STEPS if s / s_per_px >= 90), _TIME_STEPS[-1])
        minor = next((s for s in _TIME_STEPS if s / s_per_px >= 18 and major % s < 1e-9), major)
        return [(major, 0.0), (minor, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        decimals = 0 if spacing >= 1 else 1 if spacing >= 0.1 else 2
        return [format_time(v, decimals=decimals) for v in values]


class TimeRuler(TimeAxis):
    """The time axis above the spectrogram: a click seeks, a drag sets the loop, a double-click clears it.

    Callbacks get times in seconds: ``on_click(t)``, ``on_drag(t0, t1, phase)`` with phase
    'start' | 'move' | 'finish', ``on_double_click(t)``.
    """

    def __init__(self, *, on_click: Callable, on_drag: Callable, on_double_click: Callable):
        super().__init__("top")
        self._on_click, self._on_drag, self._on_double = on_click, on_drag, on_double_click
        self.setToolTip("Time ruler: click to move the playhead, drag to set a loop, double-click to clear the loop")
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def _time(self, ev) -> float:
        view = self.linkedView()
        return float(view.mapSceneToView(QPointF(ev.scenePos().x(), view.sceneBoundingRect().center().y())).x())

    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton or self.linkedView() is None:
            return
        ev.accept()
        (self._on_double if ev.double() else self._on_click)(self._time(ev))

    def mouseDragEvent(self, ev):  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton or self.linkedView() is None:
            ev.ignore()
            return
        ev.accept()
        view = self.linkedView()
        t0 = float(view.mapSceneToView(ev.buttonDownScenePos()).x())
        phase = "start" if ev.isStart() else "finish" if ev.isFinish() else "move"
        self._on_drag(t0, self._time(ev), phase)


class KeyboardAxis(pg.AxisItem):
    """A piano keyboard along the pitch axis: black keys dark, C keys labelled 'C4' etc.

    Row heights follow the linked view (one semitone per key); all names appear when keys are tall.
    """

    WIDTH = 54

    def __init__(self):
        super().__init__("left")
        self.setWidth(self.WIDTH)
        self.setAcceptHoverEvents(True)
        self._font = QFont()
        self._font.setPixelSize(10)

    def _key_geometry(self):
        """(rect of this axis, view y range, px per semitone, y of the view's top) or None."""
        view = self.linkedView()
        if view is None:
            return None
        rect = self.mapRectFromParent(self.geometry())
        vrect = view.mapRectToItem(self, view.boundingRect())
        y0, y1 = view.viewRange()[1]
        if y1 <= y0 or vrect.height() <= 0:
            return None
        return rect, (y0, y1), vrect.height() / (y1 - y0), vrect.top()

    def paint(self, p, opt, widget):
        geo = self._key_geometry()
        if geo is None:
            return
        rect, (y0, y1), px, top = geo
        p.save()
        p.setClipRect(rect)
        p.setFont(self._font)
        x0, w = rect.left(), rect.width() - 1
        black_w = 0.6 * w
        p.fillRect(QRectF(x0, rect.top(), w, rect.height()), QColor("#e8e8e8"))
        line = QPen(QColor("#8a8a8a"), 0)
        for pitch in range(max(0, int(np.floor(y0 - 0.5))), min(127, int(np.ceil(y1 + 0.5))) + 1):
            ya = top + (y1 - (pitch + 0.5)) * px
            key = QRectF(x0, ya, w, px)
            black = is_black_key(pitch)
            p.setPen(line)
            if black:  # a shorter dark key; the white keys' split runs on from its middle
                p.fillRect(QRectF(x0, ya, black_w, px), QColor("#26282b"))
                p.drawLine(QPointF(x0 + black_w, ya + px / 2), QPointF(x0 + w, ya + px / 2))
            elif pitch % 12 in (0, 5):  # B|C and E|F: adjacent white keys
                p.drawLine(QPointF(x0, ya + px), QPointF(x0 + w, ya + px))
            if pitch % 12 == 0 and px >= 7 or px >= 15:
                p.setPen(QColor("#f0f0f0") if black else QColor("#101010" if pitch % 12 == 0 else "#555555"))
                box = QRectF(x0 + 2, ya, black_w - 4, px) if black else key.adjusted(3, 0, -3, 0)
                align = Qt.AlignmentFlag.AlignLeft if black else Qt.AlignmentFlag.AlignRight
                p.drawText(box, Qt.AlignmentFlag.AlignVCenter | align, note_name(pitch))
        p.setPen(QPen(QColor("#555555"), 0))
        p.drawLine(QPointF(x0 + w, rect.top()), QPointF(x0 + w, rect.bottom()))
        p.restore()

    def pitch_at(self, y_item: float) -> int | None:
        geo = self._key_geometry()
        if geo is None:
            return None
        rect, (y0, y1), px, top = geo
        return int(np.rint(y1 - (y_item - top) / px))

    def hoverEvent(self, ev):  # noqa: N802
        if ev.isExit():
            return
        pitch = self.pitch_at(ev.pos().y())
        if pitch is not None and 0 <= pitch <= 127:
            self.setToolTip(f"{note_name(pitch)} (MIDI {pitch}, {float(midi_to_hz(pitch)):.1f} Hz); "
                            "wheel scrolls pitch, ctrl+wheel zooms")
