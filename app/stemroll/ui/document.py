"""The open document: audio, score, groups' colours, the last separation; observed by every view.

A QObject so views can connect to its signals; the data it holds comes from the Qt-free core
and io packages. Views never mutate the score directly: they build edit values
(``stemroll.core.edits``) and call ``push_edit``, which goes through the undo stack.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core.params import SeparationParams
from ..core.score import Score
from ..core.separation import SeparationResult

# Okabe-Ito, a colour-blind-safe palette (black left out: it is the background's opposite).
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")
RESIDUAL_COLOUR = "#7f7f7f"


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
    """Holds what is open.

    Signals: ``score_changed()``, ``audio_changed()``, ``display_changed()``, ``result_changed()``,
    ``dirty_changed(bool)``, ``current_group_changed(int)``, ``params_changed()``,
    ``paths_changed()`` (project / audio / MIDI file names, for the title bar).
    """

    score_changed = Signal()
    audio_changed = Signal()
    display_changed = Signal()
    result_changed = Signal()
    dirty_changed = Signal(bool)
    current_group_changed = Signal(int)
    params_changed = Signal()
    paths_changed = Signal()
    alignment_changed = Signal()  # the last alignment's confidence or the anchors changed

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.score = Score.from_notes([])
        self.audio = None  # stemroll.io.audio.Audio | None
        self.display = None  # stemroll.core.display.DisplaySpectrogram | None
        self.audio_path: Path | None = None
        self.midi_path: Path | None = None
        self.project_path: Path | None = None
        self.params = SeparationParams()
        self.result: SeparationResult | None = None
        self.result_revision: int | None = None  # score revision the result was computed from
        self._result_source: tuple | None = None  # (notes, groups) the result was computed from
        self.current_group_id: int = 0
        self._aligned: dict[int, tuple] = {}  # note id -> (the note as aligned, confidence 0..1)
        self.anchors: dict[int, float] = {}  # note id -> audio time (s) its onset is pinned to
        self._changed_outside_undo = False
        self._dirty = False
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._update_dirty)

    # ---- edits ---------------------------------------------------------------------------
    def push_edit(self, edit) -> None:
        """Apply an edit value through the undo stack (one gesture = one call)."""
        self.undo_stack.push(_EditCommand(self, edit))

    # ---- replacing what is open -------------------------------------------------------------
    def set_score(self, score: Score, *, midi_path: Path | None = None) -> None:
        """Replace the score (a new file): clears the undo history and the result."""
        self.undo_stack.clear()
        self.score = score
        self.midi_path = Path(midi_path) if midi_path else None
        ids = [g.id for g in score.groups]
        self.set_current_group(ids[0] if ids else 0)
        self.set_result(None)
        self._aligned, self.anchors = {}, {}
        self.score_changed.emit()
        self.alignment_changed.emit()
        self.paths_changed.emit()

    def set_audio(self, audio, display=None) -> None:
        """Replace the recording (``stemroll.io.audio.Audio``) and its display spectrogram."""
        self.audio = audio
        self.audio_path = Path(audio.path) if audio is not None and audio.path else None
        self.set_result(None)
        self.audio_changed.emit()
        self.set_display(display)
        self.paths_changed.emit()

    def set_display(self, display) -> None:
        self.display = display
        self.display_changed.emit()

    def set_result(self, result: SeparationResult | None, *, revision: int | None = None,
                   source: tuple | None = None) -> None:
        """Store a separation computed from the score at ``revision``; ``source`` = (notes, groups)
        it was computed from, so that undoing back to them makes the result current again."""
        if result is None and self.result is None:
            return
        self.result = result
        self.result_revision = revision if result is not None else None
        self._result_source = source if result is not None else None
        self.result_changed.emit()

    def set_params(self, params: SeparationParams) -> None:
        if params != self.params:
            self.params = params
            self.mark_changed()
            self.params_changed.emit()

    def set_current_group(self, group_id: int) -> None:
        if group_id != self.current_group_id:
            self.current_group_id = group_id
            self.current_group_changed.emit(group_id)

    def set_project_path(self, path: Path | None) -> None:
        self.project_path = Path(path) if path else None
        self.paths_changed.emit()

    # ---- alignment ----------------------------------------------------------------------------
    def set_alignment(self, notes, confidence) -> None:
        """Remember the last alignment: ``notes`` as aligned and their ``confidence`` (float (n,), 0..1)."""
        self._aligned = {n.id: (n, float(c)) for n, c in zip(notes, confidence)}
        self.alignment_changed.emit()

    def confidence(self) -> dict[int, float]:
        """Note id -> confidence of the last alignment, for the notes not edited since (undo brings it back)."""
        score = self.score
        return {i: c for i, (n, c) in self._aligned.items() if i in score and score.note(i) == n}

    def set_anchors(self, anchors: dict[int, float]) -> None:
        """Replace the pins (note id -> audio time s); undoable callers go through ``ui.align_commands``."""
        self.anchors = {int(i): float(t) for i, t in anchors.items()}
        self.alignment_changed.emit()

    # ---- unsaved changes -------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when there are changes that a project save would keep."""
        return self._dirty

    def mark_changed(self) -> None:
        """Record a change that is not an undoable edit (parameters, a newly opened file)."""
        self._changed_outside_undo = True
        self._update_dirty()

    def mark_saved(self) -> None:
        self._changed_outside_undo = False
        self.undo_stack.setClean()
        self._update_dirty()

    def _update_dirty(self, *_args) -> None:
        dirty = self._changed_outside_undo or not self.undo_stack.isClean()
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    # ---- views' helpers -----------------------------------------------------------------------
    def group_colour(self, group_id: int) -> str:
        """Colour of a group: by its position among the score's groups; grey for the residual."""
        if group_id < 0:
            return RESIDUAL_COLOUR
        ids = [g.id for g in self.score.groups]
        i = ids.index(group_id) if group_id in ids else group_id
        return PALETTE[i % len(PALETTE)]

    @property
    def result_is_stale(self) -> bool:
        """The notes or groups differ from those the shown separation was computed from."""
        if self.result is None or self.result_revision == self.score.revision:
            return False
        if self._result_source is None:
            return True
        return self._result_source != (self.score.notes, self.score.groups)

    @property
    def title(self) -> str:
        """What the title bar names: the project, else the recording, else the MIDI file."""
        for p in (self.project_path, self.audio_path, self.midi_path):
            if p is not None:
                return p.name
        return "untitled"
