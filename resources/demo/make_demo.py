"""Build Stemroll's demo piece: Minuet in G major, BWV Anh. 114 (Christian Petzold), both hands.

Writes ``demo.mid`` (type 1: track 0 tempo/meter/title, track 1 "right hand", track 2 "left hand")
and ``demo.flac`` (44.1 kHz, 16-bit, peaks at -3 dBFS) next to this script.

Each hand is rendered on its own with the ``fluidsynth`` command line (reverb and chorus off) and
the mixture is the sum of the two renders, so the hands are exact ground-truth stems of the mix.
``--stems DIR`` also writes them there (float WAV, same scale and channels as the mix) for
measuring separation quality; they are never written into the repository.

    python resources/demo/make_demo.py [--soundfont FILE.sf2] [--stems DIR]

The performance is deterministic (seeded): velocities vary slightly per beat with an accent on
the downbeat, onsets are delayed by up to a few milliseconds, notes are slightly detached, and
the last two bars slow down. The MIDI file holds exactly the times that were rendered.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"  # Debian package fluid-soundfont-gm
SAMPLE_RATE = 44100
PEAK_DBFS = -3.0
MAX_STEREO_BYTES = 3_000_000
TPB = 480  # ticks per quarter note
BAR = 3 * TPB
TAIL_TICKS = TPB  # after the last note-off, so the release rings out inside the file
FERMATA_TICKS = TPB  # the final notes are held one beat longer
SEED = 114

# One string per bar; "|" separates voices of one hand inside a bar, "+" joins a chord,
# ":" gives the duration (4 quarter, 8 eighth, 2. dotted half, "~" adds durations), r is a rest.
RIGHT = [
    "D5:4 G4:8 A4:8 B4:8 C5:8", "D5:4 G4:4 G4:4",
    "E5:4 C5:32 B4:32 C5:16 D5:8 E5:8 F#5:8", "G5:4 G4:4 G4:4",
    "C5:32 B4:32 C5:8. D5:8 C5:8 B4:8 A4:8", "B4:4 C5:8 B4:8 A4:8 G4:8",
    "F#4:4 G4:8 A4:8 B4:8 G4:8", "B4:8 A4:2~8",
    "D5:4 G4:8 A4:8 B4:8 C5:8", "D5:4 G4:4 G4:4",
    "E5:4 C5:32 B4:32 C5:16 D5:8 E5:8 F#5:8", "G5:4 G4:4 G4:4",
    "C5:32 B4:32 C5:8. D5:8 C5:8 B4:8 A4:8", "B4:4 C5:8 B4:8 A4:8 G4:8",
    "A4:4 B4:8 A4:8 G4:8 F#4:8", "G4:2.",
    "B5:4 G5:8 A5:8 B5:8 G5:8", "A5:4 D5:8 E5:8 F#5:8 D5:8",
    "G5:4 E5:8 F#5:8 G5:8 D5:8", "C#5:4 B4:8 C#5:8 A4:4",
    "A4:8 B4:8 C#5:8 D5:8 E5:8 F#5:8", "G5:4 F#5:4 E5:4",
    "F#5:4 A4:4 C#5:4", "D5:2.",
    "D5:4 G4:8 F#4:8 G4:4", "E5:4 G4:8 F#4:8 G4:4",
    "D5:4 C5:4 B4:4", "A4:8 G4:8 F#4:8 G4:8 A4:4",
    "D4:8 E4:8 F#4:8 G4:8 A4:8 B4:8", "C5:4 C5:32 B4:32 C5:32 B4:32~8 A4:4",
    "B4:8 D5:8 G4:4 F#4:4", "G4+D4+B3:2.",
]
LEFT = [
    "G3+B3+D4:2 A3:4", "B3:2.", "C4:2.", "B3:2.", "A3:2.", "G3:2.", "D4:4 B3:4 G3:4",
    "D4:4 D3:8 C4:8 B3:8 A3:8",
    "B3:2 A3:4", "G3:4 B3:4 G3:4", "C4:2.", "B3:4 C4:8 B3:8 A3:8 G3:8",
    "A3:2 F#3:4", "G3:2 B3:4", "C4:4 D4:4 D3:4", "G3:2 G2:4",
    "G3:2.", "F#3:2.", "E3:4 G3:4 E3:4", "A3:2 A2:4", "A3:2.", "B3:4 D4:4 C#4:4",
    "D4:4 F#3:4 A3:4", "D4:4 D3:4 C4:4",
    "B3:2 B3:4 | r:4 D4:2", "C4:2 C4:4 | r:4 E4:2", "B3:4 A3:4 G3:4", "D4:2 r:4",
    "D3:2. | r:2 F#3:4", "E3:4 G3:4 F#3:4", "G3:4 B2:4 D3:4", "G3:4 D3:4 G2:4",
]
# (tick, quarter notes per minute): steady, then a ritardando over the last two bars.
TEMPO_MAP = [(0, 160), (30 * BAR, 152), (30 * BAR + TPB, 144), (30 * BAR + 2 * TPB, 132), (31 * BAR, 116)]

_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _pitch(name: str) -> int:
    """'F#4' -> 66 (MIDI number, C4 = 60)."""
    step, rest = _STEPS[name[0]], name[1:]
    while rest and rest[0] in "#b":
        step += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + step


def _ticks(duration: str) -> int:
    """'4' -> 480, '8.' -> 360, '2~8' -> 1200 ticks."""
    total = 0
    for part in duration.split("~"):
        dotted = part.endswith(".")
        base = 4 * TPB // int(part.rstrip("."))
        total += base * 3 // 2 if dotted else base
    return total


def parse_bars(bars: list[str]) -> list[tuple[int, int, int, bool]]:
    """Bars -> notes as (onset tick, duration in ticks, MIDI pitch, is_ornament), sorted by onset."""
    notes = []
    for i, bar in enumerate(bars):
        for voice in bar.split("|"):
            tick = i * BAR
            tokens = voice.split()
            for token in tokens:
                pitches, duration = token.split(":")
                length = _ticks(duration)
                if pitches != "r":
                    for p in pitches.split("+"):
                        notes.append((tick, length, _pitch(p), length <= TPB // 8))
                tick += length
            if tick != (i + 1) * BAR:
                raise ValueError(f"bar {i + 1} voice {voice!r} lasts {tick - i * BAR} ticks, not {BAR}")
    return sorted(notes)


def perform(notes, *, base_velocity: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Human-ish performance: (on tick, off tick, pitch, velocity) with seeded variation."""
    beat_gain = rng.normal(0.0, 4.0, size=len(RIGHT) * 3 + 1)  # shared swell per beat
    out = []
    for on, length, pitch, ornament in notes:
        beat = on // TPB
        accent = 8 if on % BAR == 0 else (3 if on % TPB == 0 else 0)
        vel = base_velocity + accent + beat_gain[beat] + rng.normal(0.0, 2.5) - (6 if ornament else 0)
        delay = 0 if ornament else int(rng.integers(0, 8))  # up to ~5 ms late at 160 bpm
        keep = 1.0 if ornament else (0.92 if length >= TPB else 0.85)  # slightly detached
        off = on + max(delay + 20, int(round(length * keep)))
        if on + length == len(RIGHT) * BAR:  # the final chord and bass note: hold them
            off = on + length + FERMATA_TICKS
        out.append((on + delay, off, pitch, int(np.clip(round(vel), 30, 120))))
    return out


def _track(name: str, channel: int, events, end_tick: int) -> mido.MidiTrack:
    msgs = [(0, 0, mido.MetaMessage("track_name", name=name)),
            (0, 1, mido.Message("program_change", program=0, channel=channel))]
    for on, off, pitch, vel in events:
        msgs.append((on, 3, mido.Message("note_on", note=pitch, velocity=vel, channel=channel)))
        msgs.append((off, 2, mido.Message("note_off", note=pitch, velocity=64, channel=channel)))
    msgs.append((end_tick, 9, mido.MetaMessage("end_of_track")))
    msgs.sort(key=lambda m: (m[0], m[1]))
    track, last = mido.MidiTrack(), 0
    for tick, _, msg in msgs:
        track.append(msg.copy(time=tick - last))
        last = tick
    return track


def _conductor(end_tick: int) -> mido.MidiTrack:
    msgs = [mido.MetaMessage("track_name", name="Minuet in G major, BWV Anh. 114 (C. Petzold)", time=0),
            mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
            mido.MetaMessage("key_signature", key="G", time=0)]
    last = 0
    for tick, bpm in TEMPO_MAP:
        msgs.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=tick - last))
        last = tick
    msgs.append(mido.MetaMessage("end_of_track", time=end_tick - last))
    return mido.MidiTrack(msgs)


def build_midi() -> tuple[mido.MidiFile, list[mido.MidiTrack]]:
    """The full demo file and its two hand tracks (channel 0 right, channel 1 left)."""
    rng = np.random.default_rng(SEED)
    right = perform(parse_bars(RIGHT), base_velocity=74, rng=rng)
    left = perform(parse_bars(LEFT), base_velocity=60, rng=rng)
    end = max(off for _, off, _, _ in right + left) + TAIL_TICKS
    hands = [_track("right hand", 0, right, end), _track("left hand", 1, left, end)]
    mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
    mid.tracks.extend([_conductor(end), *hands])
    return mid, hands


def render(mid: mido.MidiFile, soundfont: Path, workdir: Path, name: str) -> np.ndarray:
    """Render with fluidsynth (reverb and chorus off) -> float32 (channels, n_samples)."""
    midi_path, wav_path = workdir / f"{name}.mid", workdir / f"{name}.wav"
    mid.save(str(midi_path))
    cmd = ["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(SAMPLE_RATE),
           "-O", "float", "-T", "wav", "-F", str(wav_path), str(soundfont), str(midi_path)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    data, rate = sf.read(str(wav_path), dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth rendered {rate} Hz, expected {SAMPLE_RATE}")
    return data.T


def _flac_bytes(mix: np.ndarray, path: Path) -> int:
    sf.write(str(path), mix.T, SAMPLE_RATE, subtype="PCM_16", format="FLAC")
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soundfont", type=Path, default=Path(DEFAULT_SOUNDFONT))
    ap.add_argument("--stems", type=Path, help="also write right_hand.wav and left_hand.wav here")
    ap.add_argument("--out", type=Path, default=HERE, help="folder for demo.mid and demo.flac")
    args = ap.parse_args(argv)
    if shutil.which("fluidsynth") is None:
        sys.exit("make_demo: the fluidsynth command was not found (Debian package fluidsynth)")
    if not args.soundfont.is_file():
        sys.exit(f"make_demo: soundfont {args.soundfont} not found (Debian package fluid-soundfont-gm)")
    mid, hands = build_midi()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stems = []
        for i, hand in enumerate(hands):
            solo = mido.MidiFile(type=1, ticks_per_beat=TPB)
            solo.tracks.extend([mid.tracks[0], hand])
            stems.append(render(solo, args.soundfont, work, f"hand{i}"))
        n = int(round(mid.length * SAMPLE_RATE))  # fluidsynth adds silence past the end: trim it
        stems = [np.pad(s, ((0, 0), (0, max(0, n - s.shape[1]))))[:, :n] for s in stems]
        scale = 10 ** (PEAK_DBFS / 20) / float(np.abs(stems[0] + stems[1]).max())
        stems = [s * scale for s in stems]
        args.out.mkdir(parents=True, exist_ok=True)
        flac = args.out / "demo.flac"
        size = _flac_bytes(stems[0] + stems[1], flac)
        if size > MAX_STEREO_BYTES:  # too big for the bundle: fall back to mono
            stems = [s.mean(axis=0, keepdims=True) for s in stems]
            size = _flac_bytes(stems[0] + stems[1], flac)
    mid.save(str(args.out / "demo.mid"))
    print(f"demo.flac: {stems[0].shape[0]} channel(s), {n / SAMPLE_RATE:.2f} s, {size} bytes; "
          f"demo.mid: {mid.length:.2f} s")
    if args.stems:
        args.stems.mkdir(parents=True, exist_ok=True)
        for name, s in zip(("right_hand", "left_hand"), stems):
            sf.write(str(args.stems / f"{name}.wav"), s.T, SAMPLE_RATE, subtype="FLOAT")
        print(f"stems written to {args.stems}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
