"""Transport icons drawn with QPainter, in the palette's text colour (legible on light and dark themes)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication

SIZE = 32


def _shape(p: QPainter, kind: str, s: float) -> None:
    if kind == "play":
        p.drawPolygon(QPolygonF([QPointF(0.3 * s, 0.2 * s), QPointF(0.8 * s, 0.5 * s), QPointF(0.3 * s, 0.8 * s)]))
    elif kind == "pause":
        p.drawRect(QRectF(0.27 * s, 0.22 * s, 0.16 * s, 0.56 * s))
        p.drawRect(QRectF(0.57 * s, 0.22 * s, 0.16 * s, 0.56 * s))
    elif kind == "stop":
        p.drawRect(QRectF(0.27 * s, 0.27 * s, 0.46 * s, 0.46 * s))
    elif kind == "home":
        p.drawRect(QRectF(0.22 * s, 0.25 * s, 0.1 * s, 0.5 * s))
        p.drawPolygon(QPolygonF([QPointF(0.78 * s, 0.25 * s), QPointF(0.36 * s, 0.5 * s), QPointF(0.78 * s, 0.75 * s)]))
    else:
        raise ValueError(f"unknown icon {kind!r}")


def transport_icon(kind: str) -> QIcon:
    """'play' | 'pause' | 'stop' | 'home', with a dimmed version for the disabled state."""
    pal = QApplication.palette()
    icon = QIcon()
    for mode, colour in ((QIcon.Normal, pal.color(QPalette.Active, QPalette.ButtonText)),
                         (QIcon.Disabled, pal.color(QPalette.Disabled, QPalette.ButtonText))):
        pix = QPixmap(SIZE, SIZE)
        pix.fill(Qt.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(colour))
        _shape(p, kind, SIZE)
        p.end()
        icon.addPixmap(pix, mode)
    return icon
