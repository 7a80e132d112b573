"""MIDI files through mido -> ``Score``: tempo maps, several tracks and channels, FIFO note pairing.

Channel 10 (drums) is kept out of the pitched model and counted in ``Score.dropped_drums``.
Every failure becomes an ``InputError`` naming the file and the problem.
"""

from __future__ import annotations

import bisect
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import mido

from ..core.score import Note, NoteGroup, Score
from .errors import InputError

DRUM_CHANNEL = 9  # channel 10 as musicians count
MIN_NOTE_S = 0.05  # zero-length notes (grace notes written as on/off at one tick) get this length


def _open(path: Path) -> mido.MidiFile:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a folder, not a MIDI file")
    try:
        return mido.MidiFile(str(path), clip=True)
    except EOFError:
        raise InputError(path, "the MIDI file is empty or cut short") from None
    except mido.midifiles.meta.KeySignatureError as e:
        raise InputError(path, f"has an invalid key signature ({e})") from None
    except OSError as e:
        msg = str(e)
        if "MThd" in msg:
            raise InputError(path, "is not a MIDI file (no MThd header)") from None
        if "MTrk" in msg:
            raise InputError(path, "is damaged: a track chunk is missing its MTrk header") from None
        if "running status" in msg:
            raise InputError(path, "is damaged: running status before any status byte") from None
        raise InputError(path, f"is damaged ({msg})") from None
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise InputError(path, f"is damaged ({type(e).__name__}: {e})") from None


def _tempo_map(mid: mido.MidiFile) -> list[tuple[int, int]]:
    """[(tick, microseconds per beat)] from every track's set_tempo events, sorted."""
    events = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                events.append((tick, msg.tempo))
    events.sort(key=lambda e: e[0])
    if not events or events[0][0] > 0:
        events.insert(0, (0, 500000))
    return events


class _TickClock:
    """Converts absolute ticks to seconds through a tempo map."""

    def __init__(self, tempo_map: list[tuple[int, int]], ticks_per_beat: int):
        self.tpb = ticks_per_beat
        self.points = []  # (tick, seconds at tick, tempo)
        sec = 0.0
        prev_tick, prev_tempo = 0, tempo_map[0][1]
        for tick, tempo in tempo_map:
            sec += (tick - prev_tick) * prev_tempo / 1e6 / self.tpb
            self.points.append((tick, sec, tempo))
            prev_tick, prev_tempo = tick, tempo
        self.ticks = [p[0] for p in self.points]

    def seconds(self, tick: int) -> float:
        lo = max(0, bisect.bisect_right(self.ticks, tick) - 1)
        t, s, tempo = self.points[lo]
        return s + (tick - t) * tempo / 1e6 / self.tpb


@dataclass(frozen=True)
class _Pair:
    """A paired note: where its note-on and note-off sit in the file (track, message index)."""

    track: int
    on_index: int
    off_index: int | None  # None: no note-off, ended at the end of its track
    on_tick: int
    off_tick: int
    pitch: int
    velocity: int
    channel: int


def _pairs(mid: mido.MidiFile) -> tuple[list[_Pair], dict[int, str], int, int, int]:
    """Pair note-ons with note-offs, first-in first-out per (channel, pitch), in id order.

    Returns (pairs, track names, drum notes, unmatched note-offs, unclosed notes).
    """
    pairs: list[_Pair] = []
    names: dict[int, str] = {}
    drums = unmatched_off = unclosed = 0
    for ti, track in enumerate(mid.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], deque] = defaultdict(deque)
        for mi, msg in enumerate(track):
            tick += msg.time
            if msg.type == "track_name" and ti not in names:
                names[ti] = msg.name.strip()
            elif msg.type == "note_on" and msg.velocity > 0:
                if msg.channel == DRUM_CHANNEL:
                    drums += 1
                    continue
                open_notes[(msg.channel, msg.note)].append((tick, msg.velocity, mi))
            elif msg.type in ("note_off", "note_on"):
                if msg.channel == DRUM_CHANNEL:
                    continue
                q = open_notes.get((msg.channel, msg.note))
                if not q:
                    unmatched_off += 1
                    continue
                on_tick, vel, on_i = q.popleft()  # overlapping same-pitch notes pair first-in first-out
                pairs.append(_Pair(ti, on_i, mi, on_tick, tick, msg.note, vel, msg.channel))
        for (ch, pitch), q in open_notes.items():
            for on_tick, vel, on_i in q:
                unclosed += 1
                pairs.append(_Pair(ti, on_i, None, on_tick, max(tick, on_tick), pitch, vel, ch))
    return pairs, names, drums, unmatched_off, unclosed


def load_midi(path: str | Path) -> Score:
    """Read a type 0 or type 1 MIDI file into a Score, one group per track holding notes.

    Note ids follow the file: track by track, in the order the notes end.
    """
    path = Path(path)
    mid = _open(path)
    if mid.type == 2:
        raise InputError(path, "is a type 2 MIDI file (independent sequences), which Stemroll cannot place in time; "
                               "save it as type 0 or 1")
    if mid.ticks_per_beat <= 0:
        raise InputError(path, "uses SMPTE time division, which is not supported; save it with ticks per beat")
    try:
        clock = _TickClock(_tempo_map(mid), mid.ticks_per_beat)
        pairs, names, drums, unmatched_off, unclosed = _pairs(mid)
        notes = [_note(i, clock, p.on_tick, p.off_tick, p.pitch, p.velocity, p.track, p.channel,
                       names.get(p.track, "")) for i, p in enumerate(pairs)]
    except (TypeError, ValueError, AttributeError) as e:
        raise InputError(path, f"is damaged ({type(e).__name__}: {e})") from None
    warnings = []
    if drums:
        warnings.append(f"{drums} drum notes on channel 10 were left out of the pitched model")
    if unclosed:
        warnings.append(f"{unclosed} notes had no note-off and were ended at the end of their track")
    if unmatched_off:
        warnings.append(f"{unmatched_off} note-offs had no matching note-on and were ignored")
    if not notes:
        warnings.append("the file holds no pitched notes")
    tracks = sorted({n.track for n in notes})
    gid = {t: i for i, t in enumerate(tracks)}
    groups = [NoteGroup(gid[t], names.get(t) or f"track {t}") for t in tracks]
    notes = [n.evolve(group_id=gid[n.track]) for n in notes]
    return Score.from_notes(notes, groups, dropped_drums=drums, warnings=warnings)


def save_retimed_midi(src: str | Path, notes, out: str | Path, *, tempo_us: int = 500000) -> None:
    """Rewrite ``src`` with new note times: same tracks, same messages, same order of notes.

    ``notes`` are the notes ``load_midi(src)`` returned (same ids) with new onset_s/offset_s.
    Other events (controllers, programs, meta) move with the nearest notes by piecewise-linear
    interpolation of old -> new onset times. The result has one constant tempo.
    """
    import numpy as np

    from .atomic import atomic_write

    src = Path(src)
    mid = _open(src)
    clock = _TickClock(_tempo_map(mid), mid.ticks_per_beat)
    pairs, *_ = _pairs(mid)
    by_id = {n.id: n for n in notes}
    if len(by_id) != len(pairs):
        raise ValueError(f"{len(by_id)} notes given for a file with {len(pairs)} notes")
    new_time: dict[tuple[int, int], float] = {}
    old_on, new_on = [], []
    for i, p in enumerate(pairs):
        n = by_id[i]
        new_time[(p.track, p.on_index)] = n.onset_s
        if p.off_index is not None:
            new_time[(p.track, p.off_index)] = n.offset_s
        old_on.append(clock.seconds(p.on_tick))
        new_on.append(n.onset_s)
    order = np.argsort(old_on, kind="stable")
    xo, yo = np.asarray(old_on)[order], np.asarray(new_on)[order]

    def warp(t: float) -> float:
        if len(xo) == 0:
            return t
        if len(xo) == 1 or t <= xo[0]:
            return float(max(0.0, t + (yo[0] - xo[0])))
        if t >= xo[-1]:
            return float(t + (yo[-1] - xo[-1]))
        return float(np.interp(t, xo, yo))

    tpb = mid.ticks_per_beat
    to_tick = lambda s: int(round(max(0.0, s) * 1e6 / tempo_us * tpb))  # noqa: E731
    out_mid = mido.MidiFile(type=mid.type, ticks_per_beat=tpb)
    for ti, track in enumerate(mid.tracks):
        tick = 0
        timed = []
        for mi, msg in enumerate(track):
            tick += msg.time
            if msg.type == "set_tempo":
                continue
            t = new_time.get((ti, mi))
            if t is None:
                t = warp(clock.seconds(tick))
            timed.append((to_tick(t), mi, msg))
        if ti == 0:
            timed.insert(0, (0, -1, mido.MetaMessage("set_tempo", tempo=tempo_us, time=0)))
        timed.sort(key=lambda e: (e[0], e[1]))  # the file's order for equal times
        end = [e for e in timed if e[2].type == "end_of_track"]
        body = [e for e in timed if e[2].type != "end_of_track"]
        last_tick = max((e[0] for e in body), default=0)
        new_track = mido.MidiTrack()
        prev = 0
        for tk, _, msg in body:
            new_track.append(msg.copy(time=tk - prev))
            prev = tk
        new_track.append(mido.MetaMessage("end_of_track", time=max(0, (end[0][0] if end else last_tick) - prev)))
        out_mid.tracks.append(new_track)
    with atomic_write(out) as tmp:
        out_mid.save(str(tmp))


def _note(i: int, clock: _TickClock, on_tick: int, off_tick: int, pitch: int, vel: int, track: int, ch: int,
          name: str) -> Note:
    on = clock.seconds(on_tick)
    off = clock.seconds(off_tick)
    if off <= on:
        off = on + MIN_NOTE_S
    return Note(i, pitch, on, off, vel, 0, track, ch, name)


def save_midi(score: Score, path: str | Path, *, by_group: bool = True, tempo_us: int = 500000,
              ticks_per_beat: int = 960) -> None:
    """Write the score as a type-1 MIDI file, one track per group (or per source track), atomically."""
    from .atomic import atomic_write

    mid = midi_file_for(score, by_group=by_group, tempo_us=tempo_us, ticks_per_beat=ticks_per_beat)
    with atomic_write(Path(path)) as tmp:
        mid.save(str(tmp))


def midi_file_for(score: Score, *, by_group: bool = True, tempo_us: int = 500000,
                  ticks_per_beat: int = 960) -> mido.MidiFile:
    """The score as a type-1 MIDI file in memory: a tempo track, then one track per group (or source track)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo_us, time=0)])
    mid.tracks.append(meta)
    if by_group:
        buckets = [(g.name, score.notes_of(g.id)) for g in score.groups]
    else:
        tracks = sorted({n.track for n in score.notes})
        buckets = [(next((n.track_name for n in score.notes if n.track == t), f"track {t}"),
                    tuple(n for n in score.notes if n.track == t)) for t in tracks]
    to_ticks = lambda s: int(round(s * 1e6 / tempo_us * ticks_per_beat))  # noqa: E731
    for k, (name, notes) in enumerate(buckets):
        events = []
        for n in notes:
            ch = n.channel if by_group is False else (k % 15 if k % 15 < 9 else k % 15 + 1)
            events.append((to_ticks(n.onset_s), 1, mido.Message("note_on", note=n.pitch, velocity=max(1, min(127, n.velocity)), channel=ch)))
            events.append((to_ticks(n.offset_s), 0, mido.Message("note_off", note=n.pitch, velocity=0, channel=ch)))
        events.sort(key=lambda e: (e[0], e[1]))
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        last = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - last))
            last = tick
        mid.tracks.append(track)
    return mid
