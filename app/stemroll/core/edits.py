"""Edit values. Each edit applies itself to a ``Score`` and returns the edit that undoes it.

Handlers in the editor build these values and push them on the undo stack; nothing else
mutates a score. One user gesture = one edit (``Compound`` bundles several).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .score import Note, NoteGroup, Score


class Edit(Protocol):
    text: str

    def apply(self, score: Score) -> "Edit":
        """Apply to ``score`` and return the inverse edit."""


@dataclass(frozen=True)
class AddNotes:
    notes: tuple[Note, ...]
    text: str = "Add notes"

    def apply(self, score: Score) -> "DeleteNotes":
        clash = [n.id for n in self.notes if n.id in score]
        if clash:
            raise ValueError(f"note ids already in the score: {clash[:5]}")
        score._put(self.notes)
        return DeleteNotes(tuple(n.id for n in self.notes), text=self.text)


@dataclass(frozen=True)
class DeleteNotes:
    note_ids: tuple[int, ...]
    text: str = "Delete notes"

    def apply(self, score: Score) -> AddNotes:
        removed = tuple(score.note(i) for i in self.note_ids)
        score._drop(self.note_ids)
        return AddNotes(removed, text=self.text)


@dataclass(frozen=True)
class ReplaceNotes:
    """Replace notes by new versions with the same ids (move, resize, assign group...)."""

    after: tuple[Note, ...]
    text: str = "Change notes"

    def apply(self, score: Score) -> "ReplaceNotes":
        before = tuple(score.note(n.id) for n in self.after)
        score._put(self.after)
        return ReplaceNotes(before, text=self.text)


def move_notes(score: Score, note_ids, *, dt_s: float = 0.0, dpitch: int = 0) -> ReplaceNotes:
    """Shift notes in time (seconds) and pitch (semitones); times are kept >= 0."""
    notes = [score.note(i) for i in note_ids]
    if notes:
        dt_s = max(dt_s, -min(n.onset_s for n in notes))
        lo = min(n.pitch for n in notes)
        hi = max(n.pitch for n in notes)
        dpitch = max(-lo, min(127 - hi, dpitch))
    after = tuple(n.evolve(onset_s=n.onset_s + dt_s, offset_s=n.offset_s + dt_s, pitch=n.pitch + dpitch) for n in notes)
    return ReplaceNotes(after, text="Move notes")


def resize_notes(score: Score, note_ids, *, d_offset_s: float, min_duration_s: float = 0.02) -> ReplaceNotes:
    """Lengthen or shorten notes by moving their ends (seconds)."""
    after = tuple(
        n.evolve(offset_s=max(n.onset_s + min_duration_s, n.offset_s + d_offset_s))
        for n in (score.note(i) for i in note_ids)
    )
    return ReplaceNotes(after, text="Resize notes")


def assign_group(score: Score, note_ids, group_id: int) -> ReplaceNotes:
    """Move notes into a group (painting or 'assign selection')."""
    name = score.group(group_id).name
    after = tuple(score.note(i).evolve(group_id=group_id) for i in note_ids if score.note(i).group_id != group_id)
    return ReplaceNotes(after, text=f"Assign to {name}")


@dataclass(frozen=True)
class PutGroup:
    """Add a group or rename one (same id)."""

    group: NoteGroup
    text: str = "Add group"

    def apply(self, score: Score) -> Edit:
        if score.has_group(self.group.id):
            old = score.group(self.group.id)
            score._put_group(self.group)
            return PutGroup(old, text=self.text)
        score._put_group(self.group)
        return DropGroup(self.group.id, text=self.text)


@dataclass(frozen=True)
class DropGroup:
    group_id: int
    text: str = "Remove group"

    def apply(self, score: Score) -> PutGroup:
        old = score.group(self.group_id)
        score._drop_group(self.group_id)
        return PutGroup(old, text=self.text)


@dataclass(frozen=True)
class Compound:
    """Several edits as one undo step, applied in order and undone in reverse."""

    edits: tuple
    text: str = "Edit"

    def apply(self, score: Score) -> "Compound":
        inverses = []
        try:
            for e in self.edits:
                inverses.append(e.apply(score))
        except Exception:
            for inv in reversed(inverses):
                inv.apply(score)
            raise
        return Compound(tuple(reversed(inverses)), text=self.text)


def replace_grouping(score: Score, regrouped: Score, text: str = "Seed groups") -> Compound:
    """The edit that turns ``score``'s grouping into ``regrouped``'s (same note ids)."""
    old_groups = [g.id for g in score.groups]
    # Move every note to a temporary group first, so group ids can be reused safely.
    tmp = NoteGroup(max(old_groups + [g.id for g in regrouped.groups]) + 1, "…")
    steps: list = [PutGroup(tmp)]
    steps.append(ReplaceNotes(tuple(n.evolve(group_id=tmp.id) for n in score.notes)))
    steps += [DropGroup(g) for g in old_groups]
    steps += [PutGroup(g) for g in regrouped.groups]
    steps.append(ReplaceNotes(tuple(score.note(n.id).evolve(group_id=n.group_id) for n in regrouped.notes)))
    steps.append(DropGroup(tmp.id))
    return Compound(tuple(steps), text=text)
