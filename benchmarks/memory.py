"""Peak memory and wall time of ``stemroll separate`` on a long synthetic recording.

    .venv/bin/python benchmarks/memory.py WORKDIR [--minutes 60] [--iterations N] [--keep]

Writes a two-hand piano-like stereo 44.1 kHz recording of ``--minutes`` (``speed_jobs.write_piano_wav``)
and its two-track MIDI score into WORKDIR (reused when already there), runs the command line on them
in a child process, and prints the child's peak resident memory (``getrusage(RUSAGE_CHILDREN)``) in
MB and the wall time, then what the interpreter and libraries alone take and ``core.memory``'s
estimate for the separation itself. ``--iterations`` passes ``--iterations`` through (default: the
engine's own).
The stems go to WORKDIR/stems and are deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_jobs import GROUPS, write_piano_wav  # noqa: E402

from stemroll.core.score import Score  # noqa: E402
from stemroll.io.midi import save_midi  # noqa: E402


def make_inputs(work: Path, minutes: float) -> tuple[Path, Path]:
    """The recording and its score in ``work`` (written once; a '.done' marker says they are complete)."""
    tag = f"piano_{minutes:g}min"
    wav, mid, done = work / f"{tag}.wav", work / f"{tag}.mid", work / f"{tag}.done"
    if not done.exists():
        notes = write_piano_wav(wav, minutes * 60.0)
        save_midi(Score.from_notes(notes, list(GROUPS)), mid)
        done.write_text("ok")
    return wav, mid


def measure(wav: Path, mid: Path, out: Path, *, extra: list[str]) -> tuple[float, float, int]:
    """(peak MB, wall s, exit status) of one ``stemroll separate`` run in a child process."""
    cmd = [sys.executable, "-m", "stemroll", "separate", str(wav), str(mid), "--out", str(out), "--force",
           *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    return peak_kb / 1024, wall, proc.returncode


def baseline_mb() -> float:
    """Peak resident memory of a child that only imports what ``stemroll separate`` imports (MB)."""
    code = ("import resource, stemroll.cli, stemroll.io.stem_files, stemroll.io.audio, stemroll.core.informed_nmf, "
            "stemroll.core.refine, stemroll.core.priors; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def estimate_mb(wav: Path, mid: Path, iterations: int) -> float:
    """``core.memory``'s streamed estimate for this job (beyond the interpreter and libraries), MB."""
    import dataclasses

    import soundfile as sf

    from stemroll.core.memory import separation_estimate
    from stemroll.core.params import SeparationParams
    from stemroll.io.midi import load_midi

    info = sf.info(str(wav))
    score = load_midi(mid)
    params = SeparationParams() if not iterations else dataclasses.replace(SeparationParams(), iterations=iterations)
    est = separation_estimate(n_samples=info.frames, channels=info.channels, sample_rate=info.samplerate,
                              notes=score.notes, groups=score.groups, params=params, streamed=True)
    return est.total_bytes / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path, help="folder for the recording, its score and the stems")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--iterations", type=int, default=0, help="engine iterations (0: the default)")
    ap.add_argument("--keep", action="store_true", help="keep the stems")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    wav, mid = make_inputs(args.workdir, args.minutes)
    print(f"inputs: {wav.name} ({wav.stat().st_size / 2**20:.0f} MB), {mid.name} "
          f"({time.perf_counter() - t0:.0f} s to prepare)", flush=True)
    extra = ["--iterations", str(args.iterations)] if args.iterations else []
    out = args.workdir / "stems"
    peak_mb, wall, rc = measure(wav, mid, out, extra=extra)
    print(f"stemroll separate: {args.minutes:g} min stereo 44.1 kHz, 2 groups: peak {peak_mb:.0f} MB, "
          f"wall {wall:.0f} s, exit status {rc}")
    base = baseline_mb()
    print(f"  of which interpreter and libraries {base:.0f} MB; the separation {peak_mb - base:.0f} MB against "
          f"core.memory's streamed estimate of {estimate_mb(wav, mid, args.iterations):.0f} MB")
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
