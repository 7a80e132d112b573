"""The undoable alignment edits of the editor and the questions they ask of the document.

Pins (``Document.anchors``: note id -> audio time s of the note's onset) are not part of the
score, so pinning and unpinning use ``PinCommand``, an undo command that applies a score edit
(moving the pinned note) and replaces the pins in one step. Everything else here is plain
functions of the document's state, so the tests can ask them directly.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from ..core.edits import ReplaceNotes, move_notes
from ..core.score import Note, Score
from ..core.units import note_name

DOUBTFUL_BELOW = 0.5  # confidence under which a note is shown as doubtful (the CLI's threshold)
NUDGE_S = 0.010  # Alt+Left / Alt+Right move the selection by this much


class PinCommand(QUndoCommand):
    """One undo step: apply ``edit`` (a core edit value or None) to the score and set the pins to ``after``."""

    def __init__(self, doc, edit, after: dict[int, float], text: str):
        super().__init__(text)
        self._doc = doc
        self._edit = edit
        self._inverse = None
        self._after = dict(after)
        self._before = dict(doc.anchors)

    def redo(self) -> None:
        if self._edit is not None:
            self._inverse = self._edit.apply(self._doc.score)
            self._doc.score_changed.emit()
        self._doc.set_anchors(self._after)

    def undo(self) -> None:
        if self._inverse is not None:
            self._edit = self._inverse.apply(self._doc.score)
            self._doc.score_changed.emit()
        self._doc.set_anchors(self._before)


def describe_note(n: Note) -> str:
    return f"{note_name(n.pitch)} at {n.onset_s:.2f} s"


def crossing_pins(anchors: dict[int, float], score: Score) -> tuple[int, int] | None:
    """Two pinned notes (a, b) where b starts after a in the score but is pinned before it (the
    alignment cannot honour both); None when the pins are in order. Pins of absent notes are ignored."""
    pins = sorted(((score.note(i).onset_s, t, i) for i, t in anchors.items() if i in score))
    for (sa, ta, a), (sb, tb, b) in zip(pins, pins[1:]):
        if sb > sa and tb <= ta:
            return a, b
    return None


def pin_command(doc, note_id: int, t_s: float) -> tuple[PinCommand | None, str]:
    """Pin note ``note_id``'s onset to ``t_s`` (moving the note there, duration kept).

    Returns (command, message): the command is None when the pin is impossible, and the message says why.
    """
    score = doc.score
    n = score.note(note_id)
    duration = doc.audio.duration_s if doc.audio is not None else None
    if duration is None:
        return None, "Pin: open the recording first; a pin says where in it the note is heard"
    if not 0.0 <= t_s <= duration:
        return None, f"Pin: the playhead ({t_s:.2f} s) lies outside the recording (0–{duration:.2f} s)"
    moved = n.evolve(onset_s=float(t_s), offset_s=float(t_s) + n.duration_s)
    after = {**doc.anchors, n.id: float(t_s)}
    trial = score.copy()
    ReplaceNotes((moved,)).apply(trial)
    clash = crossing_pins(after, trial)
    if clash is not None:
        other = score.note(clash[0] if clash[1] == n.id else clash[1])
        return None, (f"Pin: {note_name(n.pitch)} cannot be heard at {t_s:.2f} s: {describe_note(other)} is pinned "
                      f"to {doc.anchors[other.id]:.2f} s and the two would swap order; remove that pin first")
    edit = ReplaceNotes((moved,), text="Pin note") if moved != n else None
    return PinCommand(doc, edit, after, f"Pin {note_name(n.pitch)} to {t_s:.2f} s"), (
        f"Pinned {note_name(n.pitch)} to {t_s:.2f} s: Align keeps it there")


def unpin_command(doc, note_ids) -> PinCommand | None:
    """Remove the pins of ``note_ids`` (all pins when empty); None when there is nothing to remove."""
    ids = set(note_ids) & set(doc.anchors) if note_ids else set(doc.anchors)
    if not ids:
        return None
    after = {i: t for i, t in doc.anchors.items() if i not in ids}
    return PinCommand(doc, None, after, "Remove all pins" if not note_ids else
                      f"Remove {len(ids)} pin{'s' * (len(ids) != 1)}")


def nudge_edit(score: Score, note_ids, dt_s: float):
    """The edit moving ``note_ids`` by ``dt_s`` seconds (None when nothing would move, e.g. at 0 s)."""
    edit = move_notes(score, note_ids, dt_s=dt_s)
    if not edit.after or all(a == score.note(a.id) for a in edit.after):
        return None
    return ReplaceNotes(edit.after, text=f"Nudge {'right' if dt_s > 0 else 'left'} {abs(dt_s) * 1000:.0f} ms")


def doubtful_notes(doc, *, below: float = DOUBTFUL_BELOW) -> list[tuple[Note, float]]:
    """(note, confidence) of the notes the last alignment is unsure about, in score order."""
    conf = doc.confidence()
    return [(n, conf[n.id]) for n in doc.score.notes if conf.get(n.id, 1.0) < below]


def next_doubtful(doc, *, after: tuple, backwards: bool = False) -> tuple[int, Note, float] | None:
    """(position, note, confidence) of the doubtful note following ``after`` = (onset_s, pitch, id) in
    score order (preceding it with ``backwards``), wrapping round; None when no note is doubtful."""
    items = doubtful_notes(doc)
    if not items:
        return None
    keys = [(n.onset_s, n.pitch, n.id) for n, _ in items]
    if backwards:
        k = max((i for i, key in enumerate(keys) if key < after), default=len(items) - 1)
    else:
        k = min((i for i, key in enumerate(keys) if key > after), default=0)
    return k, items[k][0], items[k][1]
