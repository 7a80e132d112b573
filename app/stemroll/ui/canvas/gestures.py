"""Mouse gestures of the editing tools, in view coordinates (seconds, MIDI pitch).

A gesture shows live feedback (a preview table of notes, a rubber band, a loop region) and
pushes exactly one edit value at release; Escape (``cancel``) drops it without any edit.
Tools: 'select' (click, shift-click, rubber band, move, resize), 'draw' (drag on empty space
adds a note in the current group; on a note it moves or resizes like 'select'), 'brush' (the
stroke assigns every note it touches to the current group).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...core.display import NoteTable, format_time
from ...core.edits import AddNotes, assign_group, move_notes, resize_notes
from ...core.score import Note
from ...core.units import note_name

TOOLS = ("select", "draw", "brush")
RESIZE_PX = 6.0  # grab zone at a note's right edge, pixels
SLOP_PX = 2.0  # grace around a note, pixels
DEFAULT_NOTE_S = 0.25  # length of a note added by a click with the draw tool
MIN_NOTE_S = 0.02


@dataclass
class _Drag:
    kind: str  # 'move' | 'resize' | 'draw' | 'band' | 'brush' | 'loop'
    t0: float
    p0: float
    ids: tuple[int, ...] = ()
    shift: bool = False
    last: tuple[float, float] = (0.0, 0.0)
    touched: frozenset[int] = frozenset()
    result: tuple = ()  # what release will commit (kind-specific)


class Gestures:
    """Turns presses, moves and releases into previews and edits. ``canvas`` is an EditorCanvas."""

    def __init__(self, canvas):
        self.canvas = canvas
        self.tool = "select"
        self.drag: _Drag | None = None

    # ---- helpers ------------------------------------------------------------------------
    @property
    def _table(self) -> NoteTable:
        return self.canvas.note_table

    def _px(self) -> float:
        return self.canvas.seconds_per_pixel()

    def note_at(self, t: float, p: float) -> int | None:
        """Id of the note under (t, p), None if none."""
        i = self._table.hit(t, p, slop_s=SLOP_PX * self._px())
        return None if i is None else int(self._table.ids[i])

    def _on_right_edge(self, note_id: int, t: float) -> bool:
        n = self.canvas.doc.score.note(note_id)
        zone = min(RESIZE_PX * self._px(), n.duration_s / 3)
        return t >= n.offset_s - zone

    def _group(self) -> int:
        score = self.canvas.doc.score
        gid = int(getattr(self.canvas.doc, "current_group_id", 0))
        return gid if score.has_group(gid) else score.groups[0].id

    # ---- clicks -------------------------------------------------------------------------
    def click(self, t: float, p: float, *, shift: bool = False, double: bool = False) -> None:
        nid = self.note_at(t, p)
        sel = set(self.canvas.selected_ids())
        if double and nid is None:
            self.canvas.seek_requested.emit(max(0.0, t))
            return
        if self.tool == "brush":
            if nid is not None:
                self._commit_assign((nid,))
            return
        if nid is not None:
            if shift:
                sel ^= {nid}
            else:
                sel = {nid}
            self.canvas.set_selection(sel)
        elif self.tool == "draw" and not shift:
            self._commit_new_note(t, t + DEFAULT_NOTE_S, p)
        elif not shift:
            self.canvas.set_selection(())

    # ---- drags --------------------------------------------------------------------------
    def press(self, t: float, p: float, *, shift: bool = False, alt: bool = False) -> str:
        """Start a drag at (t, p); returns its kind."""
        if alt:
            self.drag = _Drag("loop", t, p, last=(t, p))
            return "loop"
        nid = self.note_at(t, p)
        if self.tool == "brush":
            touched = frozenset() if nid is None else frozenset({nid})
            self.drag = _Drag("brush", t, p, last=(t, p), touched=touched)
            self._preview_brush()
            return "brush"
        if nid is None:
            self.drag = _Drag("draw" if self.tool == "draw" else "band", t, p, shift=shift, last=(t, p))
            self.move(t, p)
            return self.drag.kind
        sel = set(self.canvas.selected_ids())
        if nid not in sel:
            sel = (sel | {nid}) if shift else {nid}
            self.canvas.set_selection(sel)
        kind = "resize" if self._on_right_edge(nid, t) else "move"
        self.drag = _Drag(kind, t, p, ids=tuple(sorted(sel)), last=(t, p))
        return kind

    def move(self, t: float, p: float) -> None:
        d = self.drag
        if d is None:
            return
        table = self._table
        if d.kind == "move":
            idx = table.index_of(d.ids)
            dt = max(t - d.t0, -float(table.onset_s[idx].min()))
            dp = int(np.clip(np.rint(p - d.p0), -table.pitch[idx].min(), 127 - table.pitch[idx].max()))
            d.result = (dt, dp)
            self.canvas.set_preview(replace(table, pitch=_add(table.pitch, idx, dp),
                                            onset_s=_add(table.onset_s, idx, dt), offset_s=_add(table.offset_s, idx, dt)))
        elif d.kind == "resize":
            idx = table.index_of(d.ids)
            dt = t - d.t0
            off = table.offset_s.copy()
            off[idx] = np.maximum(table.onset_s[idx] + MIN_NOTE_S, off[idx] + dt)
            d.result = (dt,)
            self.canvas.set_preview(replace(table, offset_s=off))
        elif d.kind == "draw":
            pitch = int(np.clip(np.rint(d.p0), 0, 127))
            t0, t1 = max(0.0, min(d.t0, t)), max(d.t0, t)
            d.result = (t0, t1, pitch)
            ghost = NoteTable.from_notes([Note(-1, pitch, t0, max(t1, t0 + MIN_NOTE_S), group_id=self._group())])
            self.canvas.set_preview(_concat(table, ghost))
        elif d.kind == "band":
            d.result = (d.t0, t, d.p0, p)
            self.canvas.show_band(d.result)
        elif d.kind == "brush":
            hit = table.on_segment(d.last, (t, p), step_s=self._px())
            d.touched = d.touched | frozenset(int(i) for i in table.ids[hit])
            self._preview_brush()
        elif d.kind == "loop":
            d.result = (max(0.0, min(d.t0, t)), max(0.0, d.t0, t))
            self.canvas.preview_loop(*d.result)
        d.last = (t, p)

    def release(self, t: float, p: float) -> None:
        d = self.drag
        if d is None:
            return
        self.move(t, p)
        self.drag = None
        self.canvas.set_preview(None)
        self.canvas.show_band(None)
        if d.kind == "move" and d.result and (d.result[0] != 0 or d.result[1] != 0):
            self.canvas.doc.push_edit(move_notes(self.canvas.doc.score, d.ids, dt_s=d.result[0], dpitch=d.result[1]))
        elif d.kind == "resize" and d.result and d.result[0] != 0:
            self.canvas.doc.push_edit(resize_notes(self.canvas.doc.score, d.ids, d_offset_s=d.result[0],
                                                   min_duration_s=MIN_NOTE_S))
        elif d.kind == "draw":
            t0, t1, pitch = d.result
            if (t1 - t0) < 3 * self._px():
                t1 = t0 + DEFAULT_NOTE_S  # a click-like drag: a note of the default length
            self._commit_new_note(t0, t1, pitch)
        elif d.kind == "band":
            t0, t1, p0, p1 = d.result
            ids = {int(i) for i in self._table.ids[self._table.in_box(t0, t1, p0, p1)]}
            self.canvas.set_selection(ids | set(self.canvas.selected_ids()) if d.shift else ids)
        elif d.kind == "brush":
            self._commit_assign(tuple(sorted(d.touched)))
        elif d.kind == "loop":
            t0, t1 = d.result
            self.canvas.commit_loop(t0, t1) if t1 - t0 >= 3 * self._px() else self.canvas.restore_loop()

    def cancel(self) -> bool:
        """Drop the live gesture (Escape); True if there was one."""
        d, self.drag = self.drag, None
        if d is None:
            return False
        self.canvas.set_preview(None)
        self.canvas.show_band(None)
        if d.kind == "loop":
            self.canvas.restore_loop()
        return True

    # ---- committing ---------------------------------------------------------------------
    def _preview_brush(self) -> None:
        table = self._table
        idx = table.index_of(self.drag.touched)
        group = table.group.copy()
        group[idx] = self._group()
        self.canvas.set_preview(replace(table, group=group))

    def _commit_assign(self, ids) -> None:
        score, gid = self.canvas.doc.score, self._group()
        ids = tuple(i for i in ids if score.note(i).group_id != gid)
        if ids:
            self.canvas.doc.push_edit(assign_group(score, ids, gid))

    def _commit_new_note(self, t0: float, t1: float, p: float) -> None:
        score = self.canvas.doc.score
        t0 = max(0.0, t0)
        note = Note(score.next_note_id(), int(np.clip(np.rint(p), 0, 127)), t0, max(t1, t0 + MIN_NOTE_S),
                    velocity=80, group_id=self._group())
        self.canvas.doc.push_edit(AddNotes((note,), text="Draw note"))
        self.canvas.set_selection({note.id})

    # ---- hover --------------------------------------------------------------------------
    def describe(self, t: float, p: float) -> tuple[str, str]:
        """(tooltip, cursor) for the pointer at (t, p); cursor is 'arrow' | 'move' | 'resize' | 'draw' | 'brush'."""
        nid = self.note_at(t, p)
        if nid is not None:
            score = self.canvas.doc.score
            n = score.note(nid)
            name = score.group(n.group_id).name if score.has_group(n.group_id) else str(n.group_id)
            text = f"{note_name(n.pitch)}, {n.onset_s:.2f}–{n.offset_s:.2f} s, group '{name}'"
            if self.tool == "brush":
                return text + " (brush: drag across notes to assign them to the current group)", "brush"
            cursor = "resize" if self._on_right_edge(nid, t) else "move"
            return text + (" (drag the right edge to resize)" if cursor == "resize" else " (drag to move)"), cursor
        where = f"{note_name(int(np.clip(np.rint(p), 0, 127)))} at {format_time(t)}"
        hints = {"select": "click a note to select it, shift-click to add, drag on empty space to select a box",
                 "draw": "drag to add a note in the current group, click for a short note",
                 "brush": "drag across notes to assign them to the current group"}
        cursor = {"select": "arrow", "draw": "draw", "brush": "brush"}[self.tool]
        return f"{where}: {hints[self.tool]}; alt-drag sets a loop, double-click moves the playhead", cursor


def _add(a: np.ndarray, idx: np.ndarray, delta) -> np.ndarray:
    out = a.copy()
    out[idx] += delta
    return out


def _concat(a: NoteTable, b: NoteTable) -> NoteTable:
    return NoteTable(*(np.concatenate([getattr(a, f), getattr(b, f)])
                       for f in ("ids", "pitch", "onset_s", "offset_s", "group")))
