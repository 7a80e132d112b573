"""The open document: audio, score, groups' colours, the last separation; observed by every view.

A QObject so views can connect to its signals; the data it holds comes from the Qt-free core
and io packages. Views never mutate the score directly: they build edit values
(``stemroll.core.edits``) and call ``push_edit``, which goes through the undo stack.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.score import Score
from ..core.separation import SeparationResult

# Okabe-Ito, a colour-blind-safe palette (black left out: it is the background's opposite).
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


class _EditCommand(QUndoCommand):
    """Wraps a core edit value: redo applies it, undo applies its inverse."""

    def __init__(self, doc: "Document", edit):
        super().__init__(edit.text)
        self._doc = doc
        self._edit = edit
        self._inverse = None

    def redo(self) -> None:
        self._inverse = self._edit.apply(self._doc.score)
        self._doc.score_changed.emit()

    def undo(self) -> None:
        self._edit = self._inverse.apply(self._doc.score)
        self._doc.score_changed.emit()


class Document(QObject):
    """Holds what is open. Signals: score_changed, audio_changed, result_changed, dirty_changed(bool)."""

    score_changed = Signal()
    audio_changed = Signal()
    result_changed = Signal()
    dirty_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.score = Score.from_notes([])
        self.audio = None  # stemroll.io.audio.Audio | None
        self.audio_path: Path | None = None
        self.midi_path: Path | None = None
        self.project_path: Path | None = None
        self.result: SeparationResult | None = None
        self.result_revision: int | None = None  # score revision the result was computed from
        self.spectrogram_db: np.ndarray | None = None  # float32 (n_bins, n_frames)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(lambda clean: self.dirty_changed.emit(not clean))

    def push_edit(self, edit) -> None:
        """Apply an edit value through the undo stack (one gesture = one call)."""
        self.undo_stack.push(_EditCommand(self, edit))

    def group_colour(self, group_id: int) -> str:
        """Colour of a group: by its position among the score's groups."""
        ids = [g.id for g in self.score.groups]
        i = ids.index(group_id) if group_id in ids else group_id
        return PALETTE[i % len(PALETTE)]

    @property
    def result_is_stale(self) -> bool:
        return self.result is not None and self.result_revision != self.score.revision
