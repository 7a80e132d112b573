"""The ViewBox of both editor views: routes mouse gestures to the tools and wheel events to zoom/scroll.

Wheel: zoom time around the pointer; shift+wheel scrolls time; ctrl+wheel zooms pitch around the
pointer; over the keyboard strip the wheel scrolls pitch. The spectrogram view edits notes only while
the overlay shows them; otherwise a left drag pans it. Middle-drag pans, alt-drag sets a loop, in
either view.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

WHEEL_ZOOM = 1.2  # per wheel notch (120 eighths of a degree)
WHEEL_SCROLL = 0.12  # fraction of the visible width per notch

_CURSORS = {"arrow": Qt.CursorShape.ArrowCursor, "move": Qt.CursorShape.SizeAllCursor,
            "resize": Qt.CursorShape.SizeHorCursor, "draw": Qt.CursorShape.CrossCursor,
            "brush": Qt.CursorShape.PointingHandCursor, "pan": Qt.CursorShape.OpenHandCursor}


class EditorViewBox(pg.ViewBox):
    """``canvas`` is the EditorCanvas; ``editable()`` says whether tools act in this view."""

    def __init__(self, canvas, *, role: str):
        super().__init__(enableMenu=False, defaultPadding=0.0)
        self._canvas = canvas
        self.role = role  # 'roll' | 'spec'
        self.setAcceptHoverEvents(True)
        self._dragging = False

    def editable(self) -> bool:
        return self.role == "roll" or self._canvas.overlay

    def _view_pos(self, ev):
        pt = self.mapSceneToView(ev.scenePos())
        return float(pt.x()), float(pt.y())

    # ---- mouse --------------------------------------------------------------------------
    def mouseClickEvent(self, ev):  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        ev.accept()
        t, p = self._view_pos(ev)
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self.editable():
            self._canvas.gestures.click(t, p, shift=shift, double=ev.double())
        elif ev.double():
            self._canvas.seek_requested.emit(max(0.0, t))

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802
        gestures = self._canvas.gestures
        if ev.button() == Qt.MouseButton.MiddleButton:
            super().mouseDragEvent(ev, axis=axis)  # middle-drag pans, as in most editors
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        alt = bool(ev.modifiers() & Qt.KeyboardModifier.AltModifier)
        if ev.isStart():
            self._dragging = axis is None and (alt or self.editable())
        if not self._dragging:
            super().mouseDragEvent(ev, axis=axis)  # pan (the spectrogram without overlay, the axes)
            return
        ev.accept()
        t, p = self._view_pos(ev)
        if ev.isStart():
            self._canvas._active_view = self
            t0, p0 = (float(v) for v in self.mapSceneToView(ev.buttonDownScenePos()).toTuple())
            gestures.press(t0, p0, shift=bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier), alt=alt)
            gestures.move(t, p)
        elif ev.isFinish():
            gestures.release(t, p)
            self._dragging = False
        else:
            gestures.move(t, p)

    def hoverEvent(self, ev):  # noqa: N802
        if ev.isExit():
            return
        t, p = self._view_pos(ev)
        text, cursor = self._canvas.describe(self, t, p)
        self.setToolTip(text)
        self.setCursor(_CURSORS.get(cursor, Qt.CursorShape.ArrowCursor))

    # ---- wheel --------------------------------------------------------------------------
    def wheelEvent(self, ev, axis=None):  # noqa: N802
        notches = ev.delta() / 120.0
        mods = ev.modifiers()
        t, p = self._view_pos(ev)
        if axis == 1 and not mods & Qt.KeyboardModifier.ControlModifier:
            self._canvas.scroll_pitch(notches * 2.0)
        elif mods & Qt.KeyboardModifier.ControlModifier:
            self._canvas.zoom_pitch(WHEEL_ZOOM ** notches, center=p)
        elif mods & Qt.KeyboardModifier.ShiftModifier:
            self._canvas.scroll_time(-notches * WHEEL_SCROLL)
        else:
            self._canvas.zoom_time(WHEEL_ZOOM ** notches, center=t)
        ev.accept()
