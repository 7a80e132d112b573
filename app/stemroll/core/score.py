"""The score model: immutable notes with stable ids, named groups, and a revision counter.

Times are in seconds, pitches are MIDI note numbers. A ``Score`` is mutated only through
edit values (``core.edits``), which call the ``_put`` / ``_drop`` primitives here and bump
``revision`` so that views and running engines can tell what they show is out of date.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator


@dataclass(frozen=True, slots=True)
class Note:
    """One score note. Immutable: a change is a new ``Note`` with the same ``id``.

    ``track``/``channel``/``track_name`` record where the note came from in the MIDI file so
    groups can be seeded from them; ``group_id`` names the group the note belongs to.
    """

    id: int
    pitch: int
    onset_s: float
    offset_s: float
    velocity: int = 80
    group_id: int = 0
    track: int = 0
    channel: int = 0
    track_name: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be a MIDI note number 0..127, got {self.pitch}")
        if not self.offset_s > self.onset_s:
            raise ValueError(f"note {self.id} ends ({self.offset_s}) before it starts ({self.onset_s})")

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s

    def evolve(self, **changes) -> "Note":
        """A copy with ``changes`` applied (same id unless given)."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class NoteGroup:
    """A named set of notes that becomes one stem."""

    id: int
    name: str


RESIDUAL_NAME = "residual"


@dataclass
class Score:
    """Notes keyed by stable id, groups keyed by id, and a revision counter.

    ``dropped_drums`` counts channel-10 notes that were kept out of the pitched model;
    ``beyond_audio`` is filled by loaders that clip notes to the recording's length.
    """

    _notes: dict[int, Note] = field(default_factory=dict)
    _groups: dict[int, NoteGroup] = field(default_factory=dict)
    revision: int = 0
    dropped_drums: int = 0
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_notes(cls, notes: Iterable[Note], groups: Iterable[NoteGroup] = (), **kw) -> "Score":
        score = cls(**kw)
        for g in groups:
            score._groups[g.id] = g
        for n in notes:
            if n.id in score._notes:
                raise ValueError(f"duplicate note id {n.id}")
            score._notes[n.id] = n
        if not score._groups:
            score._groups[0] = NoteGroup(0, "all notes")
        missing = {n.group_id for n in score._notes.values()} - set(score._groups)
        for gid in sorted(missing):
            score._groups[gid] = NoteGroup(gid, f"group {gid + 1}")
        return score

    # ---- reading -------------------------------------------------------------------------
    @property
    def notes(self) -> tuple[Note, ...]:
        """All notes sorted by (onset, pitch, id)."""
        return tuple(sorted(self._notes.values(), key=lambda n: (n.onset_s, n.pitch, n.id)))

    @property
    def groups(self) -> tuple[NoteGroup, ...]:
        """Groups in id order."""
        return tuple(self._groups[k] for k in sorted(self._groups))

    def __len__(self) -> int:
        return len(self._notes)

    def __iter__(self) -> Iterator[Note]:
        return iter(self.notes)

    def __contains__(self, note_id: int) -> bool:
        return note_id in self._notes

    def note(self, note_id: int) -> Note:
        return self._notes[note_id]

    def group(self, group_id: int) -> NoteGroup:
        return self._groups[group_id]

    def has_group(self, group_id: int) -> bool:
        return group_id in self._groups

    def notes_of(self, group_id: int) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.group_id == group_id)

    def group_counts(self) -> dict[int, int]:
        counts = {g: 0 for g in self._groups}
        for n in self._notes.values():
            counts[n.group_id] = counts.get(n.group_id, 0) + 1
        return counts

    def notes_in(self, t0_s: float, t1_s: float, pitch_lo: int = 0, pitch_hi: int = 127) -> tuple[Note, ...]:
        """Notes overlapping [t0_s, t1_s] with pitch in [pitch_lo, pitch_hi]."""
        return tuple(
            n for n in self.notes
            if n.offset_s > t0_s and n.onset_s < t1_s and pitch_lo <= n.pitch <= pitch_hi
        )

    @property
    def end_s(self) -> float:
        return max((n.offset_s for n in self._notes.values()), default=0.0)

    def next_note_id(self) -> int:
        return max(self._notes, default=-1) + 1

    def next_group_id(self) -> int:
        return max(self._groups, default=-1) + 1

    def copy(self) -> "Score":
        return Score(dict(self._notes), dict(self._groups), self.revision, self.dropped_drums, list(self.warnings))

    # ---- primitives for core.edits only --------------------------------------------------
    def _put(self, notes: Iterable[Note]) -> None:
        for n in notes:
            if n.group_id not in self._groups:
                raise KeyError(f"note {n.id} names group {n.group_id}, which does not exist")
            self._notes[n.id] = n
        self.revision += 1

    def _drop(self, note_ids: Iterable[int]) -> None:
        for i in note_ids:
            del self._notes[i]
        self.revision += 1

    def _put_group(self, group: NoteGroup) -> None:
        self._groups[group.id] = group
        self.revision += 1

    def _drop_group(self, group_id: int) -> None:
        if any(n.group_id == group_id for n in self._notes.values()):
            raise ValueError(f"group {group_id} still holds notes")
        del self._groups[group_id]
        self.revision += 1
