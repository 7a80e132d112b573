"""The headless command line: every engine feature without a window.

    stemroll separate AUDIO SCORE.mid --out DIR [options]
    stemroll align AUDIO SCORE.mid --out ALIGNED.mid
    stemroll demo --out DIR
    stemroll info FILE...

Errors print one line, ``stemroll: error: <file>: <problem>``, and exit with status 1
(2 for a command-line mistake, 130 when interrupted).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Literal, Sequence, get_args, get_origin, get_type_hints

from . import __version__

SUBCOMMANDS = ("separate", "align", "demo", "info")

# Options a musician reaches for, with their help in plain words; every SeparationParams field gets one.
_PARAM_HELP = {
    "window_s": "analysis window in seconds when --n-fft is 0 (longer: sharper pitch, blurrier attacks)",
    "n_fft": "analysis window in samples (0: from --window-s at the file's rate)",
    "hop_length": "samples between analysis frames (0: a quarter window)",
    "n_harmonics": "partials per note template",
    "tolerance_cents": "how far (cents) a partial may sit from its ideal pitch",
    "onset_tolerance_s": "how early (s) a note may start compared with the score",
    "offset_tolerance_s": "how late (s) a note may ring on after its written end",
    "onset_templates": "model note attacks with a broadband component",
    "onset_window_s": "length (s) of the attack component after each onset",
    "divergence": "fit measure: kl (Kullback-Leibler, default) or euclidean",
    "iterations": "maximum number of NMF updates",
    "tol": "stop when the cost changes by less than this fraction",
    "residual_components": "free components that collect what the score does not explain",
    "mask_power": "soft-mask exponent (2 = Wiener; higher = harder separation, more artefacts)",
    "engine": "nmf (default) or nae (nonnegative autoencoder)",
    "seed": "random seed (results are reproducible for one seed)",
    "template_focus": "how strongly each part's templates learn only where that part dominates (0: plain NMF)",
    "decay_prior": "keep dying-away notes (piano, guitar) from swelling again after their attack",
    "fine_window_s": "longer window (s) on which templates and masks are refined after the fit (0: no refinement)",
    "fine_iterations": "refinement passes on the longer window (0: none)",
    "fine_tolerance_cents": "band around each partial (cents) during the refinement",
}


class CLIError(Exception):
    """A one-line error for the user."""


def _bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected yes or no, got '{text}'")


def _add_param_options(p: argparse.ArgumentParser) -> None:
    from .core.params import SeparationParams

    g = p.add_argument_group("engine settings (defaults chosen by measurement)")
    defaults = SeparationParams()
    hints = get_type_hints(SeparationParams)
    for f in dataclasses.fields(SeparationParams):
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        help_ = _PARAM_HELP.get(f.name, f.name.replace("_", " ")) + f" (default: {default})"
        choices = get_args(hints[f.name]) if get_origin(hints[f.name]) is Literal else None
        if isinstance(default, bool):
            g.add_argument(flag, dest=f.name, type=_bool, metavar="yes|no", default=None, help=help_)
        elif choices:
            g.add_argument(flag, dest=f.name, choices=choices, default=None, help=help_)
        else:
            g.add_argument(flag, dest=f.name, type=type(default), default=None, help=help_)


def _params_from(args: argparse.Namespace):
    from .core.params import SeparationParams

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(SeparationParams)
             if getattr(args, f.name, None) is not None}
    try:
        return dataclasses.replace(SeparationParams(), **given)
    except ValueError as e:
        raise CLIError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="stemroll", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score-informed source separation: split a recording into stems, one per group of notes in "
                    "its MIDI score.",
        epilog="the editor:\n  stemroll [FILES...] [--demo]   open the editor on a recording and/or its MIDI file, "
               "or a .stemroll project\n                                (--demo: the bundled demo piece; "
               "stemroll-gui --help lists the editor's options)")
    p.add_argument("--version", action="version", version=f"stemroll {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("separate", help="separate a recording into stems using its MIDI score",
                       description="Separate AUDIO into one stem per note group of SCORE, plus a residual stem. "
                                   "The stems have the recording's sample rate, channels and length and add up to it.")
    s.add_argument("audio", type=Path, help="recording: WAV, FLAC, OGG or MP3")
    s.add_argument("score", type=Path, help="MIDI score (type 0 or 1)")
    s.add_argument("--out", type=Path, required=True, help="folder for the stems")
    s.add_argument("--groups", default="tracks", help="tracks (default), channels, or split=PITCH (e.g. split=60 or "
                                                       "split=C4: left hand below, right hand from there up)")
    s.add_argument("--align", action="store_true", help="align the score to the recording before separating")
    _add_align_options(s)
    _add_export_options(s)
    _add_param_options(s)

    a = sub.add_parser("align", help="align a MIDI score's timing to a recording",
                       description="Write SCORE's notes with times that follow the recording: same tracks, same "
                                   "order, same pitches.")
    a.add_argument("audio", type=Path)
    a.add_argument("score", type=Path)
    a.add_argument("--out", type=Path, required=True, help="aligned MIDI file to write")
    a.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    a.add_argument("--quiet", action="store_true", help="print nothing but errors")
    _add_align_options(a)

    d = sub.add_parser("demo", help="separate the bundled demo piece (two hands of a piano piece)")
    d.add_argument("--out", type=Path, required=True, help="folder for the stems")
    _add_export_options(d)
    _add_param_options(d)

    i = sub.add_parser("info", help="describe audio and MIDI files as Stemroll reads them")
    i.add_argument("files", type=Path, nargs="+")
    i.add_argument("--notes", action="store_true", help="also list every note of a MIDI file (id, pitch, times, group)")
    return p


def _anchor(text: str) -> tuple[int, float]:
    try:
        note_id, t = text.split("=", 1)
        return int(note_id), float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NOTE_ID=SECONDS (e.g. 12=3.25), got '{text}'") from None


def _add_align_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("alignment")
    g.add_argument("--anchor", type=_anchor, action="append", default=[], metavar="NOTE_ID=SECONDS",
                   help="pin a note's onset to where it is heard (repeatable; note ids as `stemroll info "
                        "--notes` lists them)")
    g.add_argument("--no-refine", dest="refine", action="store_false",
                   help="keep the global warp only, without moving each onset to its attack")


def _add_export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", dest="fmt", choices=("wav", "flac"), default="wav", help="file format (default wav)")
    p.add_argument("--bits", choices=("16", "24", "32f"), default="24",
                   help="bit depth: 16, 24 (default) or 32f (32-bit float, WAV only)")
    p.add_argument("--force", action="store_true", help="overwrite existing stem files")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (for scripts)")
    p.add_argument("--midi", type=_bool, default=True, metavar="yes|no",
                   help="also write the groups as a MIDI file, one track per group (default yes)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from .io.errors import InputError

    try:
        return {"separate": cmd_separate, "align": cmd_align, "demo": cmd_demo, "info": cmd_info}[args.command](args)
    except (InputError, CLIError, ValueError) as e:
        print(f"stemroll: error: {e}", file=sys.stderr)
        return 1
    except MemoryError:
        print("stemroll: error: not enough memory for this file", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstemroll: cancelled; nothing was written", file=sys.stderr)
        return 130


class _Progress:
    """A one-line progress display on a terminal (stderr); silent when piped or --quiet."""

    def __init__(self, quiet: bool):
        self.live = not quiet and sys.stderr.isatty()
        self.quiet = quiet
        self._last = 0.0

    def show(self, text: str, *, force: bool = False) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if force or now - self._last > 0.05:
            sys.stderr.write("\r\x1b[2K" + text)
            sys.stderr.flush()
            self._last = now

    def done(self) -> None:
        if self.live:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text)


def _load_inputs(audio_path: Path, score_path: Path):
    from .io.audio import load_audio
    from .io.midi import load_midi

    audio = load_audio(audio_path)
    score = load_midi(score_path)
    return audio, score


def _clip_to_audio(score, duration_s: float, sample_rate: int, report: _Progress):
    from .core.score import Score
    from .core.units import midi_to_hz, note_name

    kept, clipped, dropped = [], 0, 0
    too_high = sorted({n.pitch for n in score.notes if midi_to_hz(n.pitch) >= sample_rate / 2})
    if too_high:
        report.say(f"note: {sum(n.pitch in too_high for n in score.notes)} notes ({', '.join(map(note_name, too_high))}) "
                   f"lie above the highest frequency a {sample_rate} Hz recording holds; they cannot be separated")
    for n in score.notes:
        if n.onset_s >= duration_s:
            dropped += 1
        elif n.offset_s > duration_s:
            clipped += 1
            kept.append(n.evolve(offset_s=duration_s))
        else:
            kept.append(n)
    if dropped or clipped:
        report.say(f"note: {dropped} notes start after the recording ends and were left out; {clipped} were cut at "
                   f"its end ({duration_s:.2f} s)")
    return Score.from_notes(kept, score.groups, dropped_drums=score.dropped_drums, warnings=list(score.warnings))


def _drive(gen, params, report: _Progress):
    """Run a separation generator with a progress line; returns its value (closing it on any way out,
    so a cancel leaves no temporary files)."""
    try:
        while True:
            p = next(gen)
            if p.stage == "factorise":
                report.show(f"separating: iteration {p.iteration + 1}/{params.iterations}  cost {p.cost:.6g}  "
                            f"{p.elapsed_s:.1f} s")
            else:
                report.show(f"{p.stage}: {p.fraction * 100:.0f} %  {p.elapsed_s:.1f} s")
    except StopIteration as stop:
        report.done()
        return stop.value
    finally:
        gen.close()


def _align(audio, score, report: _Progress, *, anchors=(), refine: bool = True):
    from .core.alignment import align_steps
    from .core.score import Score
    from .core.units import note_name

    unknown = [i for i, _ in anchors if i not in score]
    if unknown:
        raise CLIError(f"--anchor names notes that are not in the score: {unknown[:5]}")
    gen = align_steps(audio.mono(), audio.sample_rate, score.notes, anchors=tuple(anchors), refine_onsets=refine)
    try:
        while True:
            stage, frac = next(gen)
            report.show(f"aligning: {stage} {frac * 100:.0f} %")
    except StopIteration as stop:
        report.done()
        result = stop.value
    doubtful = [(n, c) for n, c in zip(result.notes, result.confidence) if c < 0.5]
    if doubtful:
        report.say(f"note: alignment is doubtful for {len(doubtful)} of {len(result.notes)} notes "
                   "(check them in the editor, or pin them with --anchor):")
        for n, c in doubtful[:20]:
            report.say(f"  note {n.id:5d}  {note_name(n.pitch):>4}  at {n.onset_s:8.3f} s  confidence {c:.2f}")
        if len(doubtful) > 20:
            report.say(f"  ... and {len(doubtful) - 20} more")
    return Score.from_notes(result.notes, score.groups, dropped_drums=score.dropped_drums,
                            warnings=list(score.warnings)), result


def separate_files(audio_path: Path, score_path: Path, out: Path, *, grouping: str, params, align: bool, fmt: str,
                   bits: str, force: bool, midi: bool, report: _Progress, anchors=(), refine: bool = True) -> int:
    """Separate straight to files: the recording is read from its file block by block and the stems
    are written as they are made (``io.stem_files``), so memory stays bounded however long it is."""
    from .core.grouping import apply_grouping
    from .io.audio import FileSamples
    from .io.midi import load_midi
    from .core.threads import default_engine_threads
    from .io.stem_files import separate_to_files_steps

    with FileSamples(audio_path) as audio:
        score = load_midi(score_path)
        for w in score.warnings:
            report.say(f"note: {score_path.name}: {w}")
        if not len(score):
            report.say(f"note: {score_path.name} holds no pitched notes: everything goes to the residual stem")
        if align and len(score):
            score, _ = _align(audio, score, report, anchors=anchors, refine=refine)
        score = _clip_to_audio(apply_grouping(score, grouping), audio.duration_s, audio.sample_rate, report)
        report.say(f"{audio_path.name}: {audio.duration_s:.1f} s, {audio.sample_rate} Hz, {audio.channels} "
                   f"channel(s); {len(score)} notes in {len(score.groups)} groups: "
                   + ", ".join(g.name for g in score.groups))
        _check_memory(audio, score, params)
        done = _drive(separate_to_files_steps(audio, audio.sample_rate, score.notes, score.groups, params, out,
                                              song=audio_path.stem, fmt=fmt, bits=bits, force=force,
                                              score=score if midi else None,
                                              n_threads=default_engine_threads(interactive=False)), params, report)
    unisons = list(done.model.unisons)
    if unisons:
        from .core.units import note_name

        names = {g.id: g.name for g in score.groups}
        report.say(f"note: {len(unisons)} places where two groups hold the same pitch at once; that sound is "
                   "split between them:")
        for u in unisons[:10]:
            report.say(f"  {note_name(u.pitch):>4}  {u.t0_s:8.2f}-{u.t1_s:8.2f} s  "
                       f"{names.get(u.group_a, u.group_a)} / {names.get(u.group_b, u.group_b)}")
        if len(unisons) > 10:
            report.say(f"  ... and {len(unisons) - 10} more")
    for w in done.export.warnings:
        report.say(f"warning: {w}")
    for name, _, notes, rms in done.stems:
        report.say(f"  {name:<20} {notes:5d} notes  RMS {20 * _log10(rms):6.1f} dBFS")
    report.say(f"wrote {len(done.export.files)} files to {out} in {done.elapsed_s:.1f} s "
               f"({len(done.model.costs)} cost points; null test: stems add up to the mix within "
               f"{done.null_db:.0f} dBFS)")
    return 0


def _check_memory(audio, score, params) -> None:
    """Refuse, in plain words, a separation that would not fit in the memory that is free."""
    from .core import memory
    from .core.threads import default_engine_threads

    est = memory.separation_estimate(n_samples=audio.n_samples, channels=audio.channels,
                                     sample_rate=audio.sample_rate, notes=score.notes, groups=score.groups,
                                     params=params, streamed=True,
                                     threads=default_engine_threads(interactive=False))
    free = memory.available_bytes()
    if memory.shortfall(est.total_bytes, free):
        raise CLIError(f"{audio.path.name}: separating it needs {est.describe()} of memory, but only "
                       f"{memory.format_bytes(free)} is free; close other programs, or cut the recording "
                       "into shorter parts")


def _log10(x: float) -> float:
    import math

    return math.log10(max(x, 1e-12))


def cmd_separate(args) -> int:
    report = _Progress(args.quiet)
    params = _params_from(args)
    return separate_files(args.audio, args.score, args.out, grouping=args.groups, params=params, align=args.align,
                          fmt=args.fmt, bits=args.bits, force=args.force, midi=args.midi, report=report,
                          anchors=args.anchor, refine=args.refine)


def demo_paths() -> tuple[Path, Path]:
    from . import resources_dir

    d = resources_dir() / "demo"
    audio = next((p for p in sorted(d.glob("demo.*")) if p.suffix.lower() in (".flac", ".wav", ".ogg", ".mp3")), None)
    midi = d / "demo.mid"
    if audio is None or not midi.exists():
        raise CLIError(f"the bundled demo is missing from {d}; reinstall Stemroll")
    return audio, midi


def cmd_demo(args) -> int:
    report = _Progress(args.quiet)
    audio, midi = demo_paths()
    rc = separate_files(audio, midi, args.out, grouping="tracks", params=_params_from(args), align=False,
                        fmt=args.fmt, bits=args.bits, force=args.force, midi=args.midi, report=report)
    report.say(f"the demo's stems are in {args.out.resolve()}")
    return rc


def cmd_align(args) -> int:
    from .io.midi import save_retimed_midi

    report = _Progress(args.quiet)
    if args.out.exists() and not args.force:
        raise CLIError(f"{args.out.name}: already exists; use --force to overwrite")
    audio, score = _load_inputs(args.audio, args.score)
    if not len(score):
        raise CLIError(f"{args.score.name}: the score holds no pitched notes, so there is nothing to align")
    aligned, result = _align(audio, score, report, anchors=args.anchor, refine=args.refine)
    save_retimed_midi(args.score, aligned.notes, args.out)
    shift = [a.onset_s - b.onset_s for a, b in zip(sorted(aligned.notes, key=lambda n: n.id),
                                                   sorted(score.notes, key=lambda n: n.id))]
    report.say(f"wrote {args.out}: {len(aligned)} notes aligned to {args.audio.name} "
               f"(onsets moved by {min(shift):+.2f} to {max(shift):+.2f} s)")
    return 0


def cmd_info(args) -> int:
    from .io.audio import probe
    from .io.errors import InputError
    from .io.midi import load_midi

    status = 0
    for f in args.files:
        try:
            if f.suffix.lower() in (".mid", ".midi", ".kar"):
                s = load_midi(f)
                print(f"{f.name}: MIDI, {len(s)} notes, {s.end_s:.2f} s, groups: "
                      + ", ".join(f"{g.name} ({c})" for g, c in zip(s.groups, s.group_counts().values())))
                for w in s.warnings:
                    print(f"  note: {w}")
                if args.notes:
                    from .core.units import note_name

                    for n in sorted(s.notes, key=lambda n: n.id):
                        print(f"  note {n.id:5d}  {note_name(n.pitch):>4}  {n.onset_s:8.3f}-{n.offset_s:8.3f} s  "
                              f"{s.group(n.group_id).name}")
            else:
                i = probe(f)
                print(f"{f.name}: {i.format} {i.subtype}, {i.samplerate} Hz, {i.channels} channel(s), "
                      f"{i.duration:.2f} s")
        except InputError as e:
            print(f"stemroll: error: {e}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
