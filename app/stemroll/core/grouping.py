"""Seed note groups from a score: by track, by channel, by a pitch split, or by assignment.

Every function returns a new ``Score`` whose notes are partitioned into named groups; the
input is left untouched.
"""

from __future__ import annotations

from typing import Mapping

from .score import Note, NoteGroup, Score
from .units import note_name


def _regroup(score: Score, key_of, name_of) -> Score:
    keys: list = []
    for n in score.notes:
        k = key_of(n)
        if k not in keys:
            keys.append(k)
    keys.sort(key=lambda k: (k is None, k))
    gid = {k: i for i, k in enumerate(keys)}
    groups = [NoteGroup(gid[k], name_of(k)) for k in keys]
    notes = [n.evolve(group_id=gid[key_of(n)]) for n in score.notes]
    out = Score.from_notes(notes, groups, dropped_drums=score.dropped_drums, warnings=list(score.warnings))
    return out


def by_tracks(score: Score) -> Score:
    """One group per MIDI track that holds notes, named after the track (or 'track N')."""
    names = {}
    for n in score.notes:
        names.setdefault(n.track, n.track_name.strip() or f"track {n.track}")
    # Distinct tracks with the same name get a suffix so stems never collide.
    seen: dict[str, int] = {}
    for t in sorted(names):
        nm = names[t]
        seen[nm] = seen.get(nm, 0) + 1
        if seen[nm] > 1:
            names[t] = f"{nm} ({t})"
    return _regroup(score, lambda n: n.track, lambda t: names[t])


def by_channels(score: Score) -> Score:
    """One group per MIDI channel (named 'channel 1'..'channel 16', as musicians count)."""
    return _regroup(score, lambda n: n.channel, lambda c: f"channel {c + 1}")


def by_split(score: Score, split_pitch: int, *, names: tuple[str, str] = ("left hand", "right hand")) -> Score:
    """Two groups: pitches below ``split_pitch`` and from it up (60 = middle C)."""
    if not 0 <= split_pitch <= 127:
        raise ValueError(f"split point must be a MIDI pitch 0..127, got {split_pitch}")
    notes = [n.evolve(group_id=0 if n.pitch < split_pitch else 1) for n in score.notes]
    groups = [NoteGroup(0, names[0]), NoteGroup(1, names[1])]
    return Score.from_notes(notes, groups, dropped_drums=score.dropped_drums, warnings=list(score.warnings))


def by_assignment(score: Score, assignment: Mapping[int, str]) -> Score:
    """Groups from an explicit note-id -> group-name mapping; unmapped notes go to 'unassigned'."""
    order: list[str] = []
    for n in score.notes:
        nm = assignment.get(n.id, "unassigned")
        if nm not in order:
            order.append(nm)
    gid = {nm: i for i, nm in enumerate(order)}
    notes = [n.evolve(group_id=gid[assignment.get(n.id, "unassigned")]) for n in score.notes]
    groups = [NoteGroup(i, nm) for nm, i in gid.items()]
    return Score.from_notes(notes, groups, dropped_drums=score.dropped_drums, warnings=list(score.warnings))


def apply_grouping(score: Score, spec: str) -> Score:
    """Apply a grouping given as text: 'tracks', 'channels', or 'split=PITCH' (number or name like C4).

    'tracks' falls back to 'channels' when all notes share one track but use several channels.
    """
    spec = spec.strip().lower()
    if spec == "tracks":
        if len({n.track for n in score.notes}) <= 1 and len({n.channel for n in score.notes}) > 1:
            return by_channels(score)
        return by_tracks(score)
    if spec == "channels":
        return by_channels(score)
    if spec.startswith("split="):
        return by_split(score, parse_pitch(spec.split("=", 1)[1]))
    raise ValueError(f"unknown grouping '{spec}': use tracks, channels or split=PITCH (e.g. split=60 or split=C4)")


def parse_pitch(text: str) -> int:
    """'60' -> 60, 'C4' -> 60, 'F#3' -> 54, 'Bb2' -> 46."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    names = {note_name(p).lower(): p for p in range(128)}
    flats = {"db": "c#", "eb": "d#", "gb": "f#", "ab": "g#", "bb": "a#"}
    t = text.lower()
    for fl, sh in flats.items():
        if t.startswith(fl):
            t = sh + t[2:]
    if t not in names:
        raise ValueError(f"'{text}' is not a pitch: give a MIDI number (60) or a name (C4)")
    return names[t]


__all__ = ["by_tracks", "by_channels", "by_split", "by_assignment", "apply_grouping", "parse_pitch", "Note"]
