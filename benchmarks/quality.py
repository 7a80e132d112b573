"""Separation quality on evaluation cases: BSS Eval per stem, with the ideal-ratio-mask ceiling and libfmp.

Usage:
    python benchmarks/quality.py DATA_DIR [DATA_DIR ...] [--score score.mid|score_perturbed.mid]
                                 [--param k=v ...] [--align] [--no-refs] [--repeat N] [--json OUT]

Each DATA_DIR holds mix.wav, stems/<name>.wav and a MIDI score whose track names equal the stem
names. Groups are the score's tracks; each group's stem is scored against the stem file of the same
name with mir_eval.separation.bss_eval_sources (SDR / SIR / SAR in dB over the whole excerpt).
``--no-refs`` skips the ideal-ratio-mask and libfmp rows (for quick iterations); ``--align`` first
moves the score's notes onto the recording with ``core.alignment`` (use with score_perturbed.mid:
the application's whole pipeline).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from stemroll.core.grouping import by_tracks
from stemroll.core.nmf import run
from stemroll.core.params import SeparationParams
from stemroll.core.separation import separate_steps
from stemroll.io.midi import load_midi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_refs import ideal_ratio_mask, libfmp_separation  # noqa: E402


def parse_params(items: list[str]) -> SeparationParams:
    """['k=v', ...] -> SeparationParams, each value converted to the field's type."""
    types = {f.name: f.type for f in dataclasses.fields(SeparationParams)}
    kw = {}
    for item in items:
        k, _, v = item.partition("=")
        if k not in types:
            raise SystemExit(f"unknown parameter '{k}'; known: {', '.join(types)}")
        t = str(types[k])
        if t == "bool":
            kw[k] = v.lower() in ("1", "true", "yes", "on")
        elif t == "int":
            kw[k] = int(v)
        elif t == "float":
            kw[k] = float(v)
        else:
            kw[k] = v
    return SeparationParams(**kw)


def bss(refs: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SDR, SIR, SAR per source (dB); estimates trimmed / zero-padded to the reference length."""
    import mir_eval

    n = refs.shape[1]
    est = est[:, :n] if est.shape[1] >= n else np.pad(est, ((0, 0), (0, n - est.shape[1])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(refs.astype(np.float64), est.astype(np.float64),
                                                                compute_permutation=False)
    return sdr, sir, sar


def evaluate_case(folder: Path, score_name: str, params: SeparationParams, *, refs_too: bool,
                  repeat: int = 1, align: bool = False) -> dict:
    """Run the separation (and the references) on one case; returns a JSON-able dict of figures."""
    mix, sr = sf.read(folder / "mix.wav", dtype="float32", always_2d=True)
    mix = mix.T
    score = by_tracks(load_midi(folder / score_name))
    groups = list(score.groups)
    notes = list(score.notes)
    if align:  # the realistic pipeline: the app's own score-to-audio alignment first
        from stemroll.core.alignment import align_notes

        notes = list(align_notes(mix.mean(axis=0), sr, notes).notes)
    names = [g.name for g in groups]
    missing = [nm for nm in names if not (folder / "stems" / f"{nm}.wav").exists()]
    if missing:
        raise SystemExit(f"{folder}: no stem file for group(s) {missing}")
    refs = np.stack([sf.read(folder / "stems" / f"{nm}.wav", dtype="float32")[0] for nm in names])
    elapsed = float("inf")
    for _ in range(max(1, repeat)):  # deterministic: the fastest run is the least disturbed one
        t0 = time.perf_counter()
        res = run(separate_steps(mix, sr, notes, groups, params))
        elapsed = min(elapsed, time.perf_counter() - t0)
    est = np.stack([res.stem(nm).audio.mean(axis=0) for nm in names])
    out = {"case": folder.name, "stems": names, "time_s": elapsed, "iterations": len(res.costs) - 1,
           "ours": dict(zip(("sdr", "sir", "sar"), (x.tolist() for x in bss(refs, est))))}
    if refs_too:
        mono = mix.mean(axis=0)
        out["irm"] = dict(zip(("sdr", "sir", "sar"), (x.tolist() for x in bss(refs, ideal_ratio_mask(mono, refs)))))
        try:
            per_group = [[(n.onset_s, n.offset_s - n.onset_s, n.pitch) for n in notes if n.group_id == g.id]
                         for g in groups]
            t1 = time.perf_counter()
            fmp = libfmp_separation(mono, sr, per_group)
            out["libfmp_time_s"] = time.perf_counter() - t1
            out["libfmp"] = dict(zip(("sdr", "sir", "sar"), (x.tolist() for x in bss(refs, fmp))))
        except ImportError as e:
            out["libfmp_error"] = f"libfmp not installed ({e})"
    return out


def table(results: list[dict]) -> str:
    """A plain-text table: one line per case and method with mean and per-stem SDR, min SIR, time."""
    lines = [f"{'case':24s} {'method':7s} {'SDR':>6s} {'SIR':>6s} {'SAR':>6s} {'minSIR':>6s} {'time':>6s}  per-stem SDR"]
    for r in results:
        for m in ("ours", "irm", "libfmp"):
            if m not in r:
                continue
            f = r[m]
            t = r["time_s"] if m == "ours" else r.get("libfmp_time_s", float("nan")) if m == "libfmp" else float("nan")
            per = " ".join(f"{nm}={v:.1f}" for nm, v in zip(r["stems"], f["sdr"]))
            lines.append(f"{r['case']:24s} {m:7s} {np.mean(f['sdr']):6.2f} {np.mean(f['sir']):6.2f} "
                         f"{np.mean(f['sar']):6.2f} {np.min(f['sir']):6.2f} {t:6.2f}  {per}")
    ours = [np.mean(r["ours"]["sdr"]) for r in results]
    lines.append(f"{'mean over cases':24s} {'ours':7s} {np.mean(ours):6.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--score", default="score.mid")
    ap.add_argument("--param", action="append", default=[], metavar="K=V")
    ap.add_argument("--no-refs", action="store_true", help="skip the ideal-ratio-mask and libfmp references")
    ap.add_argument("--align", action="store_true", help="align the score with core.alignment first")
    ap.add_argument("--repeat", type=int, default=1, help="run each separation this often; report the fastest")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    a = ap.parse_args(argv)
    params = parse_params(a.param)
    results = [evaluate_case(f, a.score, params, refs_too=not a.no_refs, repeat=a.repeat, align=a.align)
               for f in a.folders]
    print(f"params: {', '.join(a.param) or 'defaults'}; score: {a.score}{' aligned by core.alignment' if a.align else ''}")
    print(table(results))
    for r in results:
        if "libfmp_error" in r:
            print(f"{r['case']}: {r['libfmp_error']}")
    if a.json:
        a.json.write_text(json.dumps({"params": params.to_dict(), "score": a.score, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
