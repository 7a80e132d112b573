"""Make an evaluation case from a multi-track MIDI file: each track rendered alone with FluidSynth.

Usage:
    python benchmarks/quality_render.py SCORE.mid OUT_DIR [--programs 40,71,0] [--seconds 25]
                                        [--soundfont FluidR3_GM.sf2] [--rate 22050]

Writes OUT_DIR/mix.wav (mono float32, the exact sum of the stems), OUT_DIR/stems/<track>.wav and
OUT_DIR/score.mid (the tracks that hold notes, cut to ``--seconds``, named after the stems), the
layout ``benchmarks/quality.py`` reads. ``--programs`` sets each note track's General MIDI
program (0-based, in track order); reverb and chorus are off. Needs the ``fluidsynth`` command
and a General MIDI soundfont (Debian: fluidsynth, fluid-soundfont-gm).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

DEFAULT_SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


def _cut(track: mido.MidiTrack, limit_ticks: int) -> mido.MidiTrack:
    """The track's messages up to ``limit_ticks``; notes still sounding there are ended there."""
    out, tick, last, sounding = mido.MidiTrack(), 0, 0, {}
    for msg in track:
        tick += msg.time
        if tick > limit_ticks:
            break
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[(msg.channel, msg.note)] = sounding.get((msg.channel, msg.note), 0) + 1
        elif msg.type in ("note_off", "note_on") and sounding.get((msg.channel, msg.note)):
            sounding[(msg.channel, msg.note)] -= 1
        if msg.type != "end_of_track":
            out.append(msg.copy(time=tick - last))
            last = tick
    first = True
    for (ch, note), n in sounding.items():
        for _ in range(n):
            out.append(mido.Message("note_off", channel=ch, note=note, velocity=0,
                                    time=(limit_ticks - last) if first else 0))
            first = False
    return out


def split_tracks(mid: mido.MidiFile, *, seconds: float | None, programs: list[int] | None
                 ) -> tuple[mido.MidiTrack, list[tuple[str, mido.MidiTrack]]]:
    """(conductor track, [(stem name, note track)]) with programs set and everything cut."""
    tempo = next((m.tempo for t in mid.tracks for m in t if m.type == "set_tempo"), 500000)
    limit = int(mido.second2tick(seconds, mid.ticks_per_beat, tempo)) if seconds else 10**12
    conductor = mido.MidiTrack(m for m in _cut(mid.tracks[0], limit) if m.is_meta)
    parts, used = [], set()
    for i, track in enumerate(mid.tracks):
        if not any(m.type == "note_on" and m.velocity > 0 for m in track):
            continue
        cut = _cut(track, limit)
        name = next((m.name for m in track if m.type == "track_name"), "") or f"part{len(parts)}"
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_").lower() or f"part{len(parts)}"
        while name in used:
            name += "_2"
        used.add(name)
        channel = next((m.channel for m in cut if hasattr(m, "channel")), 0)
        body = [m for m in cut if m.type not in ("program_change", "track_name")]
        head = [mido.MetaMessage("track_name", name=name, time=0)]
        if programs is not None:
            head.append(mido.Message("program_change", channel=channel, program=programs[len(parts)], time=0))
        else:
            head += [m.copy(time=0) for m in cut if m.type == "program_change"][:1]
        parts.append((name, mido.MidiTrack(head + body)))
    if programs is not None and len(programs) != len(parts):
        raise SystemExit(f"{len(parts)} note tracks but {len(programs)} programs given")
    return conductor, parts


def render(mid_path: Path, out: Path, *, programs: list[int] | None, seconds: float | None, soundfont: str,
           rate: int) -> None:
    if shutil.which("fluidsynth") is None:
        raise SystemExit("the fluidsynth command is not installed (Debian package fluidsynth)")
    mid = mido.MidiFile(str(mid_path))
    conductor, parts = split_tracks(mid, seconds=seconds, programs=programs)
    (out / "stems").mkdir(parents=True, exist_ok=True)
    stems = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, track in parts:
            one = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
            one.tracks += [conductor, track]
            one.save(Path(tmp) / f"{name}.mid")
            wav = Path(tmp) / f"{name}.wav"
            subprocess.run(["fluidsynth", "-ni", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(rate), "-F", str(wav),
                            soundfont, str(Path(tmp) / f"{name}.mid")], check=True, capture_output=True)
            y, sr = sf.read(wav, dtype="float32", always_2d=True)
            stems.append((name, y.mean(axis=1)))
    n = max(len(y) for _, y in stems)
    if seconds:
        n = min(n, int((seconds + 1.0) * rate))  # keep a second of release after the cut
    ys = [np.pad(y, (0, max(0, n - len(y))))[:n] for _, y in stems]
    for (name, _), y in zip(stems, ys):
        sf.write(out / "stems" / f"{name}.wav", y, rate, subtype="FLOAT")
    sf.write(out / "mix.wav", np.sum(ys, axis=0), rate, subtype="FLOAT")
    score = mido.MidiFile(type=1, ticks_per_beat=mid.ticks_per_beat)
    score.tracks += [conductor] + [t for _, t in parts]
    score.save(out / "score.mid")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("score", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--programs", help="General MIDI programs (0-based) per note track, comma-separated")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--soundfont", default=DEFAULT_SF2)
    ap.add_argument("--rate", type=int, default=22050)
    a = ap.parse_args(argv)
    programs = [int(p) for p in a.programs.split(",")] if a.programs else None
    render(a.score, a.out, programs=programs, seconds=a.seconds, soundfont=a.soundfont, rate=a.rate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
