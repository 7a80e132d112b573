"""Stand-in for ``ui.canvas.EditorCanvas`` while the canvas is being written (same interface)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


class EditorCanvas(QWidget):
    selection_changed = Signal(tuple)
    loop_changed = Signal(float, float)
    seek_requested = Signal(float)

    def __init__(self, doc, parent=None):
        super().__init__(parent)
        self._doc = doc
        self._selected: tuple[int, ...] = ()
        self.playhead_s = 0.0
        self.tool = "select"
        self.overlay = True
        self._label = QLabel("(spectrogram and piano-roll)", alignment=Qt.AlignCenter)
        QVBoxLayout(self).addWidget(self._label)

    def set_tool(self, name: str) -> None:
        self.tool = name

    def set_playhead(self, t_s: float, *, follow: bool = True) -> None:
        self.playhead_s = t_s

    def set_overlay(self, on: bool) -> None:
        self.overlay = on

    def selected_ids(self) -> tuple[int, ...]:
        return tuple(i for i in self._selected if i in self._doc.score)

    def select_ids(self, ids) -> None:
        self._selected = tuple(ids)
        self.selection_changed.emit(self._selected)

    def select_all(self) -> None:
        self.select_ids(n.id for n in self._doc.score.notes)

    def delete_selected(self) -> None:
        from ..core.edits import DeleteNotes
        ids = self.selected_ids()
        if ids:
            self._doc.push_edit(DeleteNotes(ids))
            self.select_ids(())

    def assign_selected(self, group_id: int) -> None:
        from ..core.edits import assign_group
        ids = self.selected_ids()
        if ids:
            self._doc.push_edit(assign_group(self._doc.score, ids, group_id))

    def zoom_to_fit(self) -> None:
        pass

    def zoom_time(self, factor: float) -> None:
        pass
