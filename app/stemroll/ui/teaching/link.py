"""Two time axes in different windows kept on the same range (the editor's and the lesson's)."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, Slot


class TimeLink(QObject):
    """Two views in different windows showing the same time range (pyqtgraph's own link lines
    views up by their positions on the screen, which is wrong for separate windows)."""

    def __init__(self, a, b, parent: QObject | None = None):
        super().__init__(parent)
        self.a, self.b = a, b
        self._busy = False
        a.sigXRangeChanged.connect(self._on_a)
        b.sigXRangeChanged.connect(self._on_b)
        self._copy(a, b)

    def _copy(self, src, dst) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            x0, x1 = src.viewRange()[0]
            dst.setXRange(x0, x1, padding=0)
        finally:
            self._busy = False

    @Slot()
    def _on_a(self, *_args) -> None:
        self._copy(self.a, self.b)

    @Slot()
    def _on_b(self, *_args) -> None:
        self._copy(self.b, self.a)

    def unlink(self) -> None:
        for view, slot in ((self.a, self._on_a), (self.b, self._on_b)):
            if shiboken6.isValid(view):
                view.sigXRangeChanged.disconnect(slot)
