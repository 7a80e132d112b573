"""Benchmark score-to-audio alignment (stemroll.core.alignment) against ground truth.

    python benchmarks/alignment.py DATA_DIR [DATA_DIR ...] [--synctoolbox-venv DIR] [--long-minutes 10]

Each DATA_DIR holds mix.wav, score_perturbed.mid (the score, out of time) and notes.csv (per note:
voice, pitch, true onset_s and perturbed_onset_s). For each case the perturbed score is aligned to
the mix and the onsets are compared with the true ones: mean absolute error (ms), share within
50 ms, and time. With --synctoolbox-venv the same is done with synctoolbox's MrMsDTW (chroma +
DLNCO), run by benchmarks/alignment_synctoolbox.py inside that virtualenv (created there with
pip on first use, never in the project's environment).

Finally a long piece (--long-minutes, default 10) is made by looping the first case's true notes
and audio, perturbing the looped score again, and aligning it in a child process that reports its
peak memory (resource.getrusage) and time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

from stemroll.core.alignment import align_notes
from stemroll.core.score import Note
from stemroll.io.audio import load_audio
from stemroll.io.midi import load_midi

HERE = Path(__file__).resolve().parent


def load_case(folder: Path):
    """(mono float32, sample rate, perturbed notes, true onsets (n,) aligned with the notes, csv rows)."""
    audio = load_audio(folder / "mix.wav")
    notes = list(load_midi(folder / "score_perturbed.mid").notes)
    with open(folder / "notes.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    truth = np.full(len(notes), np.nan)
    used: set[int] = set()
    for k, n in enumerate(notes):  # same voice and pitch, nearest perturbed onset, each row once
        cands = [i for i, r in enumerate(rows) if i not in used and int(r["pitch"]) == n.pitch
                 and (not n.track_name or r["voice"] == n.track_name)]
        if not cands:
            continue
        i = min(cands, key=lambda i: abs(float(rows[i]["perturbed_onset_s"]) - n.onset_s))
        used.add(i)
        truth[k] = float(rows[i]["onset_s"])
    return audio.mono(), audio.sample_rate, notes, truth, rows


def scores(onsets: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(truth)
    err = np.abs(np.asarray(onsets)[ok] - truth[ok])
    return 1000 * float(err.mean()), 100 * float(np.mean(err <= 0.05))


def ensure_synctoolbox(venv_dir: Path) -> Path | None:
    """Python of a virtualenv with synctoolbox, creating it with pip if needed; None if that fails."""
    py = venv_dir / "bin" / "python"
    probe = [str(py), "-c", "import synctoolbox, pandas, soundfile"]
    if py.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return py
    print(f"synctoolbox: creating {venv_dir} and installing synctoolbox with pip ...", flush=True)
    try:
        venv.create(venv_dir, with_pip=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "synctoolbox", "pandas", "soundfile"],
                       check=True, capture_output=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as e:
        print(f"synctoolbox: could not be installed ({e})")
        return None
    return py if subprocess.run(probe, capture_output=True).returncode == 0 else None


def run_synctoolbox(py: Path, folder: Path, notes: list[Note]) -> tuple[np.ndarray, float]:
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "notes.csv"
        with open(table, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["start", "duration", "pitch", "velocity", "instrument"])
            for n in notes:
                w.writerow([n.onset_s, n.duration_s, n.pitch, n.velocity, n.track_name or f"track{n.track}"])
        out = Path(tmp) / "out.json"
        subprocess.run([str(py), str(HERE / "alignment_synctoolbox.py"), str(folder / "mix.wav"), str(table), str(out)],
                       check=True, capture_output=True, text=True, timeout=3600)
        res = json.loads(out.read_text())
    return np.asarray(res["onsets_s"]), float(res["seconds"])


def long_piece(folder: Path, minutes: float, seed: int = 0):
    """Loop a case's true notes and audio to ``minutes``; perturb the looped score (7 % stretch,
    0.15 s drift over 8 s, +-30 ms jitter). Returns (audio, sample rate, score notes, true onsets)."""
    y, sr, _, _, rows = load_case(folder)
    reps = int(np.ceil(minutes * 60 * sr / len(y)))
    tile_s = len(y) / sr
    audio = np.tile(y, reps)[: int(minutes * 60 * sr)]
    rng = np.random.default_rng(seed)
    notes, truth = [], []
    for r in range(reps):
        for row in rows:
            on, off = float(row["onset_s"]) + r * tile_s, float(row["offset_s"]) + r * tile_s
            if off >= len(audio) / sr:
                continue
            drift = lambda t: 1.07 * t + 0.15 * np.sin(2 * np.pi * t / 8.0)  # noqa: E731
            p_on = drift(on) + rng.uniform(-0.03, 0.03)
            p_off = max(p_on + 0.05, drift(off) + rng.uniform(-0.03, 0.03))
            notes.append(Note(len(notes), int(row["pitch"]), p_on, p_off, int(row["velocity"])))
            truth.append(on)
    return audio, sr, notes, np.asarray(truth)


def long_child(folder: Path, minutes: float) -> None:
    audio, sr, notes, truth = long_piece(folder, minutes)
    t = time.perf_counter()
    res = align_notes(audio, sr, notes)
    seconds = time.perf_counter() - t
    mean_ms, hit = scores(np.array([n.onset_s for n in res.notes]), truth)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "mean_ms": mean_ms, "hit50": hit,
                      "notes": len(notes), "audio_s": len(audio) / sr}))


def blas_note() -> str:
    try:
        from threadpoolctl import threadpool_info
        info = [f"{d.get('internal_api')}:{d.get('architecture')}x{d.get('num_threads')}" for d in threadpool_info()]
        return ", ".join(info) or "none"
    except ImportError:
        return "threadpoolctl not installed"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", type=Path)
    ap.add_argument("--synctoolbox-venv", type=Path, help="virtualenv for synctoolbox (made on first use)")
    ap.add_argument("--long-minutes", type=float, default=10.0, help="length of the looped piece; 0 skips it")
    ap.add_argument("--long-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.long_child:
        long_child(args.long_child, args.long_minutes)
        return 0
    if not args.folders:
        ap.error("give at least one DATA_DIR")
    print(f"BLAS: {blas_note()}")
    py = ensure_synctoolbox(args.synctoolbox_venv) if args.synctoolbox_venv else None
    if not args.synctoolbox_venv:
        print("synctoolbox: skipped (pass --synctoolbox-venv DIR to compare)")
    print(f"{'case':24s} {'method':22s} {'mean |err| ms':>13s} {'<=50 ms':>8s} {'time s':>7s} {'audio s':>8s}")
    for folder in args.folders:
        y, sr, notes, truth, _ = load_case(folder)
        dur = len(y) / sr
        before = scores(np.array([n.onset_s for n in notes]), truth)
        print(f"{folder.name:24s} {'score as given':22s} {before[0]:13.1f} {before[1]:7.1f}% {'':>7s} {dur:8.1f}")
        for label, kw in (("stemroll warp only", {"refine_onsets": False}), ("stemroll", {})):
            t = time.perf_counter()
            res = align_notes(y, sr, notes, **kw)
            dt = time.perf_counter() - t
            m, h = scores(np.array([n.onset_s for n in res.notes]), truth)
            print(f"{folder.name:24s} {label:22s} {m:13.1f} {h:7.1f}% {dt:7.2f} {dur:8.1f}", flush=True)
        if py is not None:
            try:
                on, dt = run_synctoolbox(py, folder, notes)
                m, h = scores(on, truth)
                print(f"{folder.name:24s} {'synctoolbox MrMsDTW':22s} {m:13.1f} {h:7.1f}% {dt:7.2f} {dur:8.1f}", flush=True)
            except subprocess.CalledProcessError as e:
                print(f"{folder.name:24s} synctoolbox failed: {e.stderr.strip().splitlines()[-1:]}")
    if args.long_minutes > 0:
        out = subprocess.run([sys.executable, __file__, "--long-child", str(args.folders[0]),
                              "--long-minutes", str(args.long_minutes)],
                             capture_output=True, text=True, env=os.environ.copy())
        if out.returncode:
            print(f"long piece failed: {out.stderr.strip()[-2000:]}")
            return 1
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"long piece: {r['audio_s'] / 60:.1f} min looped from {args.folders[0].name}, {r['notes']} notes: "
              f"aligned in {r['seconds']:.1f} s, peak memory {r['peak_mb']:.0f} MB (whole process), "
              f"mean |err| {r['mean_ms']:.1f} ms, {r['hit50']:.1f}% within 50 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
