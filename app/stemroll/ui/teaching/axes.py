"""Axes of the teaching views: pitch (note names or Hz) and components (group colour + pitch name).

Both read their font from pyqtgraph's ``tickFont`` style, so ``presentation.set_presentation_mode``
enlarges them like any other axis.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPen

from ...core.units import midi_to_hz, note_name

TEXT = "#e6e6e6"
DEFAULT_TICK_PX = 12


def tick_font(axis: pg.AxisItem) -> QFont:
    f = axis.style.get("tickFont")
    if f is None:
        f = QFont()
        f.setPixelSize(DEFAULT_TICK_PX)
    return QFont(f)


class PitchAxis(pg.AxisItem):
    """MIDI pitch on a log-frequency axis, labelled at every C as 'C4' (``mode='note'``) or in Hz
    (``mode='hz'``); ticks at every semitone when there is room."""

    def __init__(self, orientation: str = "left", *, mode: str = "note"):
        super().__init__(orientation)
        if mode not in ("note", "hz"):
            raise ValueError(f"mode must be 'note' or 'hz', got '{mode}'")
        self.mode = mode
        self.setToolTip("Pitch on a logarithmic frequency axis: each C is labelled"
                        + (" with its note name (C4 = middle C, 262 Hz)" if mode == "note" else " in hertz"))

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        span = maxVal - minVal
        if span <= 0 or size <= 0:
            return [(12.0, 0.0)]
        px = size / span  # pixels per semitone
        major = 12.0 if px * 12 >= 2.2 * QFontMetricsF(tick_font(self)).height() else 24.0
        return [(major, 0.0), (1.0, 0.0)] if px >= 4 else [(major, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        if spacing < 12:
            return ["" for _ in values]
        if self.mode == "note":
            return [note_name(int(round(v))) if 0 <= round(v) <= 127 else "" for v in values]
        return [_hz_text(float(midi_to_hz(v))) for v in values]


def _hz_text(hz: float) -> str:
    return f"{hz / 1000:.1f} k" if hz >= 1000 else f"{hz:.0f}"


def short_label(label: str) -> str:
    return "res" if label == "residual" else label.replace(" onset", "")


class ComponentAxis(pg.AxisItem):
    """One mark per component (column of W, row of H): a swatch in its group's colour (hatched
    for onset templates) and its label ('G4', 'G4 onset', 'residual') where there is room.

    ``orientation`` 'left' labels the rows of a (y-inverted) H view, 'bottom' the columns of W
    (text drawn upwards).
    """

    SWATCH = 9

    def __init__(self, orientation: str = "left"):
        super().__init__(orientation)
        self.labels: tuple[str, ...] = ()
        self.colours: tuple[str, ...] = ()
        self.kinds: tuple[str, ...] = ()
        self.setToolTip("Components: one per (group, pitch); colour = group, hatched = onset template")
        self._fit()

    def set_components(self, labels, colours, kinds) -> None:
        """One entry per component. Along a horizontal axis the labels are shortened to the pitch
        ('G4 onset' -> 'G4': the hatching says onset; 'residual' -> 'res')."""
        if self.orientation in ("top", "bottom"):
            labels = [short_label(t) for t in labels]
        self.labels, self.colours, self.kinds = tuple(labels), tuple(colours), tuple(kinds)
        self._fit()
        self.update()

    def setTickFont(self, font):  # noqa: N802
        super().setTickFont(font)
        self._fit()

    def _fit(self) -> None:
        fm = QFontMetricsF(tick_font(self))
        probe = "G#4 onset" if self.orientation in ("left", "right") else "G#4"
        longest = max([fm.horizontalAdvance(t) for t in self.labels] + [fm.horizontalAdvance(probe)])
        size = int(self.SWATCH + 8 + longest)
        if self.orientation in ("left", "right"):
            self.setWidth(size)
        else:
            self.setHeight(size)

    def _span(self, view, k: int) -> tuple[float, float]:
        """Pixel interval (item coordinates along the axis) of component ``k``."""
        if self.orientation in ("left", "right"):
            a = self.mapFromScene(view.mapViewToScene(QPointF(0, k - 0.5))).y()
            b = self.mapFromScene(view.mapViewToScene(QPointF(0, k + 0.5))).y()
        else:
            a = self.mapFromScene(view.mapViewToScene(QPointF(k - 0.5, 0))).x()
            b = self.mapFromScene(view.mapViewToScene(QPointF(k + 0.5, 0))).x()
        return min(a, b), max(a, b)

    def paint(self, p, opt, widget):
        view = self.linkedView()
        if view is None or not self.labels:
            return
        rect = self.mapRectFromParent(self.geometry())
        font = tick_font(self)
        fm = QFontMetricsF(font)
        vertical = self.orientation in ("left", "right")
        lo, hi = view.viewRange()[1 if vertical else 0]
        k0, k1 = max(0, int(np.floor(lo + 0.5))), min(len(self.labels) - 1, int(np.ceil(hi - 0.5)))
        if k1 < k0:
            return
        px = abs(self._span(view, k0)[1] - self._span(view, k0)[0])
        stride = max(1, int(np.ceil(fm.height() * 1.05 / max(px, 1e-6))))
        p.save()
        p.setClipRect(rect)
        p.setFont(font)
        for k in range(k0, k1 + 1):
            a, b = self._span(view, k)
            colour = QColor(self.colours[k] if k < len(self.colours) else "#7f7f7f")
            brush = QBrush(colour, Qt.BrushStyle.Dense3Pattern if self.kinds[k:k + 1] == ("onset",) else
                           Qt.BrushStyle.SolidPattern)
            if vertical:
                sw = QRectF(rect.right() - self.SWATCH, a + 0.5, self.SWATCH - 1, max(b - a - 1, 1))
            else:
                sw = QRectF(a + 0.5, rect.top() + 1, max(b - a - 1, 1), self.SWATCH - 1)
            p.fillRect(sw, QColor("#101114"))
            p.fillRect(sw, brush)
            centre = (a + b) / 2
            edge = (rect.top(), rect.bottom()) if vertical else (rect.left(), rect.right())
            if k % stride or centre - fm.height() / 2 < edge[0] - 1 or centre + fm.height() / 2 > edge[1] + 1:
                continue
            p.setPen(QPen(QColor(TEXT)))
            text = self.labels[k]
            if vertical:
                box = QRectF(rect.left(), (a + b) / 2 - fm.height(), rect.width() - self.SWATCH - 4, 2 * fm.height())
                p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            else:
                p.save()
                p.translate((a + b) / 2, rect.top() + self.SWATCH + 3)
                p.rotate(-90)
                box = QRectF(-rect.height() + self.SWATCH + 3, -fm.height(), rect.height() - self.SWATCH - 4,
                             2 * fm.height())
                p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
                p.restore()
        p.restore()
