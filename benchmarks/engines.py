"""NMF against the score-informed nonnegative autoencoder (NAE) on evaluation cases.

Usage:
    python benchmarks/engines.py DATA_DIR [DATA_DIR ...] --out OUT_DIR [--score score.mid]
                                 [--iterations 50] [--divergence kl|euclidean] [--rule mu|pgd] [--threads 1]

Each DATA_DIR holds mix.wav, stems/<name>.wav and a MIDI score whose track names equal the stem
names (as benchmarks/quality.py). Both engines start from the same constraints (same W0, H0) and
go through the same soft masks and inverse STFT; SDR is mir_eval's bss_eval_sources, mean over the
group stems. Two experiments per case, after Özer et al. (EUSIPCO 2022):

  whole    each engine factorises the whole excerpt (NAE trains its encoder on it).
  held-out the NAE encoder is trained on the first half of the frames and decomposes the second
           half in one pass (``nae_encode``); NMF runs on the second half from scratch. SDR is
           measured on the second half's samples only (minus one window at the cut).

Writes OUT_DIR/curves.csv (case, engine, iteration, elapsed_s, cost: the approximation loss
against iteration and wall time), OUT_DIR/results.json, and OUT_DIR/curves_<case>.png when
matplotlib is installed. ``--threads`` limits BLAS threads for stable timings (threadpoolctl).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import time
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from stemroll.core.constraints import build_constraints
from stemroll.core.grouping import by_tracks
from stemroll.core.nae import nae_encode, nae_steps
from stemroll.core.nmf import nmf_steps, scale_activations
from stemroll.core.params import SeparationParams
from stemroll.core.separation import resolve_stft, soft_masks
from stemroll.core.spectral import istft, magnitude_mono, stft_multi
from stemroll.io.midi import load_midi


def drive(gen) -> tuple[object, list[tuple[int, float, float]]]:
    """Run an engine generator; returns (result, [(iteration, elapsed_s, cost), ...])."""
    curve = []
    try:
        while True:
            s = next(gen)
            curve.append((s.iteration, s.elapsed_s, s.cost))
    except StopIteration as stop:
        return stop.value, curve


def mean_sdr(refs: np.ndarray, est: np.ndarray) -> tuple[float, list[float]]:
    """Mean and per-source SDR (dB) of est against refs, both (n_sources, n_samples)."""
    import mir_eval

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        sdr = mir_eval.separation.bss_eval_sources(refs.astype(np.float64), est.astype(np.float64),
                                                   compute_permutation=False)[0]
    return float(np.mean(sdr)), [float(x) for x in sdr]


def stems_from(X, W, H, comp_groups, group_ids, cfg, params, length: int) -> np.ndarray:
    """Group estimates, mono float32 (n_groups, length), from a factorisation of X's frames."""
    masks = soft_masks(W, H, comp_groups, group_ids, power=params.mask_power)
    return np.stack([np.mean([istft(X[c] * masks[i], cfg, length=length) for c in range(X.shape[0])], axis=0)
                     for i in range(len(group_ids))])


def load_case(folder: Path, score_name: str):
    for need in (folder / "mix.wav", folder / score_name, folder / "stems"):
        if not need.exists():
            raise SystemExit(f"{folder}: not an evaluation case ({need.name} is missing)")
    mix, sr = sf.read(folder / "mix.wav", dtype="float32", always_2d=True)
    score = by_tracks(load_midi(folder / score_name))
    groups, notes = list(score.groups), list(score.notes)
    missing = [g.name for g in groups if not (folder / "stems" / f"{g.name}.wav").exists()]
    if missing:
        raise SystemExit(f"{folder}: no stem file for group(s) {missing}")
    refs = np.stack([sf.read(folder / "stems" / f"{g.name}.wav", dtype="float32", always_2d=True)[0].mean(axis=1)
                     for g in groups])
    return mix.T, sr, notes, groups, refs


def evaluate_case(folder: Path, score_name: str, params: SeparationParams, curves: list, *, rule: str = "mu") -> dict:
    mix, sr, notes, groups, refs = load_case(folder, score_name)
    n = mix.shape[1]
    cfg = resolve_stft(sr, params)
    X = stft_multi(mix, cfg)
    V = magnitude_mono(X)
    cons = build_constraints(notes, groups, n_frames=V.shape[1], sample_rate=sr, cfg=cfg, params=params,
                             rng=np.random.default_rng(params.seed))
    H0 = scale_activations(V, cons.W0, cons.H0)
    cg, gids = cons.component_groups(), [g.id for g in groups]
    out = {"case": folder.name, "stems": [g.name for g in groups], "K": int(H0.shape[0]),
           "frames": int(V.shape[1]), "mask_density": float(np.mean(H0 > 0))}
    kw = dict(divergence=params.divergence, iterations=params.iterations, tol=params.tol)
    engines = {"nmf": lambda V_, H_: nmf_steps(V_, cons.W0, H_, **kw),
               "nae": lambda V_, H_: nae_steps(V_, cons.W0, H_, rule=rule, **kw)}
    for name, make in engines.items():
        t0 = time.perf_counter()
        res, curve = drive(make(V, H0))
        t_fact = time.perf_counter() - t0
        curves.extend((folder.name, name, *row) for row in curve)
        sdr, per = mean_sdr(refs, stems_from(X, res.W, res.H, cg, gids, cfg, params, n))
        out[name] = {"sdr": sdr, "sdr_per_stem": per, "time_s": t_fact, "iterations": len(curve),
                     "final_cost": res.costs[-1]}
    # Held-out: frames [h, N) are new audio for an encoder trained on frames [0, h).
    h = V.shape[1] // 2
    start, skip = h * cfg.hop_length, cfg.n_fft
    ref2 = refs[:, start + skip:]
    V2 = np.ascontiguousarray(V[:, h:])
    nae1, _ = drive(nae_steps(V[:, :h], cons.W0, H0[:, :h], rule=rule, **kw))
    t0 = time.perf_counter()
    H2 = nae_encode(nae1.encoder, V2, H0[:, h:] > 0)
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    nmf2, _ = drive(nmf_steps(V2, cons.W0, H0[:, h:], **kw))
    t_nmf = time.perf_counter() - t0
    for name, W, H, t in (("nae", nae1.W, H2, t_enc), ("nmf", nmf2.W, nmf2.H, t_nmf)):
        est = stems_from(X[:, :, h:], W, H, cg, gids, cfg, params, n - start)[:, skip:]
        out[name]["heldout_sdr"], _ = mean_sdr(ref2, est)
        out[name]["heldout_time_s"] = t
    return out


def table(results: list[dict]) -> str:
    lines = [f"{'case':22s} {'K':>4s} {'engine':6s} {'SDR':>6s} {'time':>7s} {'its':>4s} {'final loss':>11s}"
             f" | {'held-out SDR':>12s} {'time':>8s}"]
    for r in results:
        for e in ("nmf", "nae"):
            f = r[e]
            lines.append(f"{r['case']:22s} {r['K']:4d} {e:6s} {f['sdr']:6.2f} {f['time_s']:6.2f}s "
                         f"{f['iterations']:4d} {f['final_cost']:11.4g} | {f['heldout_sdr']:12.2f} "
                         f"{f['heldout_time_s'] * 1e3:6.1f}ms")
    for e in ("nmf", "nae"):
        lines.append(f"{'mean':22s} {'':4s} {e:6s} {np.mean([r[e]['sdr'] for r in results]):6.2f} "
                     f"{'':20s}   {'':11s} | {np.mean([r[e]['heldout_sdr'] for r in results]):12.2f}")
    return "\n".join(lines)


def plot(curves: list, out: Path) -> list[Path]:
    """One PNG per case: loss against iteration and against wall time. Skipped without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    for case in dict.fromkeys(c[0] for c in curves):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        for e in ("nmf", "nae"):
            rows = [c for c in curves if c[0] == case and c[1] == e]
            axes[0].plot([r[2] for r in rows], [r[4] for r in rows], label=e.upper())
            axes[1].plot([r[3] for r in rows], [r[4] for r in rows], label=e.upper())
        for ax, xl in zip(axes, ("iteration", "wall time (s)")):
            ax.set_xlabel(xl)
            ax.set_ylabel("approximation loss")
            ax.set_yscale("log")
            ax.legend()
        fig.suptitle(case)
        fig.tight_layout()
        path = out / f"curves_{case}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="folder for curves.csv, results.json and plots")
    ap.add_argument("--score", default="score.mid")
    ap.add_argument("--iterations", type=int, default=SeparationParams.iterations)
    ap.add_argument("--divergence", choices=("kl", "euclidean"), default="kl")
    ap.add_argument("--rule", choices=("mu", "pgd"), default="mu", help="NAE update rule")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (0: leave as is)")
    a = ap.parse_args(argv)
    params = SeparationParams(iterations=a.iterations, divergence=a.divergence)
    a.out.mkdir(parents=True, exist_ok=True)
    limit = contextlib.nullcontext()
    if a.threads:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(a.threads)
    curves: list = []
    with limit:
        results = [evaluate_case(f, a.score, params, curves, rule=a.rule) for f in a.folders]
    with open(a.out / "curves.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", "engine", "iteration", "elapsed_s", "cost"])
        w.writerows(curves)
    (a.out / "results.json").write_text(json.dumps({"params": params.to_dict(), "results": results}, indent=1))
    print(f"divergence {params.divergence}, {params.iterations} iterations, tol {params.tol}, NAE rule {a.rule}, "
          f"BLAS threads {a.threads or 'default'}")
    print(table(results))
    plots = plot(curves, a.out)
    print(f"wrote {a.out / 'curves.csv'}, {a.out / 'results.json'}"
          + (f", {len(plots)} plot(s)" if plots else " (matplotlib not installed: no plot)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
