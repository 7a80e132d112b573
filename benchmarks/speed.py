"""Speed of the separation engine, measured in one run on the same jobs (ratios are what count).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/speed.py WORKDIR \
        [--long-minutes 60] [--skip-libfmp] [--quick]

WORKDIR receives the synthetic recordings and stems. Prints: the BLAS kernel and this machine's
float32 matmul peak; per-iteration times on the 180 s score-shaped job for the block engine,
the dense reference update, scikit-learn's MU NMF and libfmp's ``nmf`` (ratios to the engine);
the GFLOP/s the engine's products reach; scaling over 30/180/600 s; a whole 5-minute stereo
44.1 kHz separation (load, STFT, 100 iterations, masks, stems written: the plain engine, the
default model forced to 100 iterations and the defaults as shipped, on 1 and every thread; then
``stemroll separate`` in three fresh processes) and, with ``--long-minutes``, the peak memory of
a long separation (in a child process).

Per-iteration times are marginal CPU times, (T(n2) - T(n1)) / (n2 - n1), single-threaded for
every engine: on a shared machine CPU time is far steadier than wall time. Needs the ``bench``
extras (scikit-learn, libfmp) and soundfile.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import scipy.linalg.cython_blas  # noqa: F401  load scipy's BLAS before limiting threads
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_jobs import GROUPS, score_job, write_piano_wav  # noqa: E402

from stemroll.core.nmf import FINE_PLAN, nmf_dense_steps, nmf_steps, plan_blocks, run  # noqa: E402
from stemroll.core.threads import available_cores, engine_threads  # noqa: E402


def timed(fn) -> tuple[float, float]:
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def marginal(fn, n1: int, n2: int, *, repeats: int = 2) -> tuple[float, float]:
    """(cpu_s, wall_s) per iteration: best of ``repeats`` of fn(n2) minus best of fn(n1), after a warm-up."""
    fn(1)  # first calls pay one-time costs (compilation, LAPACK set-up) that are not per iteration
    a = [timed(lambda: fn(n1)) for _ in range(repeats)]
    b = [timed(lambda: fn(n2)) for _ in range(repeats)]
    cpu = (min(x[0] for x in b) - min(x[0] for x in a)) / (n2 - n1)
    wall = (min(x[1] for x in b) - min(x[1] for x in a)) / (n2 - n1)
    return max(cpu, 1e-9), max(wall, 1e-9)


def matmul_peak(threads: int, size: int = 2048) -> float:
    """Best float32 GFLOP/s of a size^3 matrix product with ``threads`` BLAS threads.

    One thread: per CPU second (steady on a shared machine); more: per wall second.
    """
    rng = np.random.default_rng(0)
    A = rng.random((size, size), dtype=np.float32)
    with threadpool_limits(threads, user_api="blas"):
        A @ A
        best = min(timed(lambda: A @ A)[0 if threads == 1 else 1] for _ in range(5))
    return 2 * size**3 / best / 1e9


def engines(V, W0, H0, divergence: str, *, libfmp: bool) -> dict:
    """name -> fn(n_iterations), all single-threaded, same V, K, W0, H0 and divergence."""
    out = {
        "engine (blocks)": lambda n: run(nmf_steps(V, W0, H0, divergence=divergence, iterations=n, tol=0,
                                                   n_threads=1)),
        "engine, NumPy backend": lambda n: run(nmf_steps(V, W0, H0, divergence=divergence, iterations=n, tol=0,
                                                         backend="numpy")),
        "dense reference": lambda n: run(nmf_dense_steps(V, W0, H0, divergence=divergence, iterations=n, tol=0)),
    }
    try:
        from sklearn.decomposition import NMF

        beta = "kullback-leibler" if divergence == "kl" else "frobenius"

        def sk(n):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                NMF(W0.shape[1], solver="mu", beta_loss=beta, init="custom", max_iter=n, tol=0).fit_transform(
                    V, W=W0.copy(), H=H0.copy())
        out[f"scikit-learn MU ({beta})"] = sk
    except ImportError:
        print("  (scikit-learn not installed)")
    if libfmp and divergence == "euclidean":
        try:
            import libfmp.c8

            out["libfmp c8.nmf (Euclidean, float64)"] = lambda n: libfmp.c8.nmf(
                V, W0.shape[1], W=W0.astype(np.float64), H=H0.astype(np.float64), L=n, thresh=-1.0)
        except ImportError:
            print("  (libfmp not installed)")
    return out


def compare_180(args, peak1: float) -> float:
    V, W0, H0, _ = score_job(30 if args.quick else 180)
    plan = plan_blocks(H0, n_bins=V.shape[0], **FINE_PLAN)
    print(f"\n== per iteration, {V.shape[1]} frames x {V.shape[0]} bins, K = {W0.shape[1]} "
          f"(H nonzero {np.mean(H0 > 0):.1%}; engine touches {plan.density:.1%} of K x frames) ==")
    engine_kl = None
    for div in ("kl", "euclidean"):
        rows = []
        for name, fn in engines(V, W0, H0, div, libfmp=not args.skip_libfmp).items():
            slow = "libfmp" in name
            n1, n2 = (2, 6) if "engine" not in name else (3, 13)
            cpu, wall = marginal(fn, n1, n2, repeats=1 if slow else 2)
            rows.append((name, cpu, wall))
        base = rows[0][1]
        if div == "kl":
            engine_kl = base
        print(f"  {div}:")
        for name, cpu, wall in rows:
            print(f"    {name:38s} {cpu * 1e3:9.1f} ms cpu {wall * 1e3:9.1f} ms wall   x{cpu / base:6.1f}")
        flops = (8 if div == "kl" else 4) * V.shape[0] * plan.work
        print(f"    engine products: {flops / 1e9:.2f} GFLOP/iteration -> {flops / base / 1e9:.1f} GFLOP/s "
              f"= {flops / base / 1e9 / peak1:.0%} of the 1-thread matmul peak; the dense update does "
              f"{(8 if div == 'kl' else 4) * V.shape[0] * V.shape[1] * W0.shape[1] / 1e9:.2f} GFLOP")
    return engine_kl


def scaling(args, *, rounds: int = 3) -> None:
    """Per-iteration time over the lengths, in ``rounds`` alternating rounds, best of each: a slow
    spell of a shared machine then slows one round of every length, not one length."""
    print(f"\n== scaling (engine, 1 thread, per iteration, best of {rounds} alternating rounds) ==")
    jobs = {dur: score_job(dur)[:3] for dur in ((30, 60) if args.quick else (30, 180, 600))}
    per: dict = {}
    for _ in range(rounds):
        for dur, (V, W0, H0) in jobs.items():
            for div in ("kl", "euclidean"):
                cpu, wall = marginal(lambda n: run(nmf_steps(V, W0, H0, divergence=div, iterations=n, tol=0,
                                                             n_threads=1)), 3, 13)
                best = per.get((dur, div), (np.inf, np.inf))
                per[dur, div] = (min(best[0], cpu), min(best[1], wall))
    for (dur, div), (cpu, wall) in per.items():
        V, W0 = jobs[dur][0], jobs[dur][1]
        print(f"  {dur:4d} s  {V.shape[1]:6d} frames K={W0.shape[1]:3d} {div:9s} {cpu * 1e3:8.1f} ms cpu "
              f"{wall * 1e3:8.1f} ms wall")
    durs = sorted(jobs)
    if len(durs) >= 2:
        a, b = durs[-2], durs[-1]
        for div in ("kl", "euclidean"):
            print(f"  {b} s / {a} s per iteration ({div}): x{per[b, div][0] / per[a, div][0]:.2f} "
                  f"(length x{b / a:.2f})")


def streamed_separation(wav: Path, notes, out_dir: Path, *, iterations: int, n_threads: int,
                        cost_every: int = 1) -> dict:
    """The separation as segments.py streams it; returns stage times (s) and the first-cost time."""
    import soundfile as sf

    from stemroll.core.constraints import build_constraints
    from stemroll.core.nmf import scale_activations
    from stemroll.core.params import SeparationParams
    from stemroll.core.segments import group_masks, magnitude, resynthesis_blocks
    from stemroll.core.separation import resolve_stft

    t = {"start": time.perf_counter(), "cpu0": time.process_time()}
    cpu = {}
    params = SeparationParams(iterations=iterations)
    data, sr = sf.read(wav, dtype="float32", always_2d=True)
    audio = data.T
    t["load"] = time.perf_counter()
    cpu["load"] = time.process_time()
    cfg = resolve_stft(sr, params)
    V = magnitude(audio, cfg, threads=n_threads)
    t["stft"] = time.perf_counter()
    cpu["stft"] = time.process_time()
    cons = build_constraints(notes, GROUPS, n_frames=V.shape[1], sample_rate=sr, cfg=cfg, params=params,
                             rng=np.random.default_rng(0))
    H0 = scale_activations(V, cons.W0, cons.H0)
    t["constraints"] = time.perf_counter()
    cpu["constraints"] = time.process_time()
    gen = nmf_steps(V, cons.W0, H0, divergence=params.divergence, iterations=iterations, tol=0,
                    n_threads=n_threads, cost_every=cost_every)
    try:
        while True:
            next(gen)
            t.setdefault("first cost", time.perf_counter())
    except StopIteration as stop:
        res = stop.value
    t["nmf"] = time.perf_counter()
    cpu["nmf"] = time.process_time()
    masks = group_masks(res.W, res.H, cons.component_groups(), [g.id for g in GROUPS], power=params.mask_power)
    names = [g.name for g in GROUPS] + ["residual"]
    files = [sf.SoundFile(out_dir / f"{nm.replace(' ', '_')}.wav", "w", samplerate=sr, channels=audio.shape[0],
                          subtype="FLOAT") for nm in names]
    try:
        for _, block in resynthesis_blocks(audio, cfg, masks, n_groups=len(GROUPS), threads=n_threads):
            for f, stem in zip(files, block):
                f.write(stem.T)
    finally:
        for f in files:
            f.close()
    t["masks+stems"] = time.perf_counter()
    cpu["masks+stems"] = time.process_time()
    t["cpu"] = time.process_time() - t["cpu0"]
    t["stage cpu"] = cpu
    t["K"], t["frames"], t["bins"] = cons.W0.shape[1], V.shape[1], V.shape[0]
    return t


def report_stages(t: dict) -> None:
    keys = ["load", "stft", "constraints", "nmf", "masks+stems"]
    prev, prev_cpu = t["start"], t["cpu0"]
    parts = []
    for k in keys:
        parts.append(f"{k} {t[k] - prev:.2f}/{t['stage cpu'][k] - prev_cpu:.2f}")
        prev, prev_cpu = t[k], t["stage cpu"][k]
    print(f"    {V_desc(t)}: total {t['masks+stems'] - t['start']:.2f} s wall, {t['cpu']:.2f} s cpu "
          f"(wall/cpu: {', '.join(parts)}); first cost point after {t['first cost'] - t['start']:.2f} s")


def V_desc(t: dict) -> str:
    return f"{t['bins']} bins x {t['frames']} frames, K={t['K']}"


def five_minutes(args) -> None:
    from stemroll.core.params import SeparationParams

    dur = 60 if args.quick else 300
    work = Path(args.workdir)
    wav = work / f"piano_{dur}s.wav"
    notes = write_piano_wav(wav, dur)
    print(f"\n== whole separation: {dur} s stereo 44.1 kHz, 2 groups, {len(notes)} notes, 100 iterations ==")
    for threads, every in [(available_cores(), 1), (1, 1), (available_cores(), 5)]:
        with engine_threads(1):
            t = streamed_separation(wav, notes, work, iterations=100, n_threads=threads, cost_every=every)
        print(f"  plain engine, streamed by hand (core.segments), {threads} thread(s), cost every {every} "
              "iteration(s):")
        report_stages(t)
    plain = dict(template_focus=0.0, fine_iterations=0, decay_prior=False)
    for label, kw in [("defaults (focused templates, decay prior, refinement), 100 iterations", {}),
                      ("defaults as shipped (30 iterations, stops on tolerance)", None),
                      ("plain KL engine (template_focus 0, no refinement, no decay prior), 100 iterations", plain)]:
        params = SeparationParams() if kw is None else SeparationParams(iterations=100, tol=0, **kw)
        for threads in sorted({1, available_cores()}):
            total, first, stages = whole_separation(wav, notes, work, params, n_threads=threads)
            print(f"  separate_steps, {label}, {threads} thread(s): {total:.2f} s wall, first cost after "
                  f"{first:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in stages.items())})")
    times = command_line(wav, notes, work)
    print(f"  stemroll separate (command line, shipped defaults, 24-bit WAV, {available_cores()} threads), "
          f"three fresh processes: {', '.join(f'{t:.2f}' for t in times)} s wall")


def command_line(wav: Path, notes, work: Path) -> list[float]:
    """Wall seconds of ``stemroll separate`` (shipped defaults, 24-bit WAV stems, every core) on the
    recording and its two-hand score, three runs: a fresh process each time (imports, the compiled
    kernels loaded from their cache, the recording read and the stems written block by block)."""
    from stemroll.core.score import Score
    from stemroll.io.midi import save_midi

    mid = wav.with_suffix(".mid")
    save_midi(Score.from_notes(notes, GROUPS), mid)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stemroll", "separate", str(wav), str(mid), "--out",
                        str(work / "cli_stems"), "--force", "--quiet"], check=True)
        times.append(time.perf_counter() - t0)
    return times


def whole_separation(wav: Path, notes, work: Path, params, *, n_threads: int) -> tuple[float, float, dict]:
    """Load, ``separate_steps`` and write the stems: (total s, first cost point s, stage -> s)."""
    import soundfile as sf

    from stemroll.core.separation import separate_steps

    with engine_threads(1):
        c0 = time.perf_counter()
        data, sr = sf.read(wav, dtype="float32", always_2d=True)
        gen = separate_steps(data.T, sr, notes, GROUPS, params, n_threads=n_threads)
        first, stages, stage, t_stage = None, {}, None, c0
        try:
            while True:
                p = next(gen)
                now = time.perf_counter()
                if p.stage != stage:
                    if stage is not None:
                        stages[stage] = stages.get(stage, 0.0) + now - t_stage
                    stage, t_stage = p.stage, now
                if first is None and p.cost is not None:
                    first = now - c0
        except StopIteration as stop:
            res = stop.value
        for s in res.stems:
            sf.write(work / f"whole_{s.name.replace(' ', '_')}.wav", s.audio.T, sr, subtype="FLOAT")
    return time.perf_counter() - c0, first if first is not None else float("nan"), stages


def long_child(args) -> None:
    """Run in a child process: separate the long recording, print stage times and peak RSS."""
    import json

    minutes = args.long_only
    wav = Path(args.workdir) / f"piano_{minutes}min.wav"
    notes = json.loads((Path(args.workdir) / f"piano_{minutes}min.json").read_text())
    from stemroll.core.score import Note
    notes = [Note(**n) for n in notes]
    with engine_threads(1):
        t = streamed_separation(wav, notes, Path(args.workdir), iterations=args.long_iterations,
                                n_threads=available_cores())
    report_stages(t)
    print(f"    peak resident memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


def long_recording(args) -> None:
    import dataclasses
    import json

    minutes = args.long_minutes
    wav = Path(args.workdir) / f"piano_{minutes}min.wav"
    notes = write_piano_wav(wav, minutes * 60.0)
    (Path(args.workdir) / f"piano_{minutes}min.json").write_text(json.dumps([dataclasses.asdict(n) for n in notes]))
    print(f"\n== long recording: {minutes} min stereo 44.1 kHz, {len(notes)} notes, "
          f"{args.long_iterations} iterations, in a child process ==")
    subprocess.run([sys.executable, __file__, args.workdir, "--long-only", str(minutes),
                    "--long-iterations", str(args.long_iterations)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", help="folder for the synthetic recordings and stems")
    ap.add_argument("--long-minutes", type=int, default=0, help="also separate a recording this long (memory)")
    ap.add_argument("--long-iterations", type=int, default=10)
    ap.add_argument("--long-only", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--skip-libfmp", action="store_true", help="libfmp takes seconds per iteration")
    ap.add_argument("--quick", action="store_true", help="small jobs, to check the script itself")
    args = ap.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    if args.long_only:
        long_child(args)
        return
    import numba

    print("== machine ==")
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if k in os.environ:
            print(f"  warning: {k}={os.environ[k]} is set (slower BLAS kernel); unset it for this command")
    for info in threadpool_info():
        print(f"  {info['user_api']}: {info['internal_api']} {info.get('version')} kernel "
              f"{info.get('architecture')} threads {info['num_threads']} ({Path(info['filepath']).name})")
    print(f"  cores {available_cores()}, load average {os.getloadavg()[0]:.1f}, numpy {np.__version__}, "
          f"numba {numba.__version__}")
    peak1 = matmul_peak(1)
    print(f"  float32 matmul peak: {peak1:.0f} GFLOP/s per CPU second on 1 thread, "
          f"{matmul_peak(available_cores()):.0f} per wall second on {available_cores()}")
    with engine_threads(1):
        compare_180(args, peak1)
        scaling(args)
    five_minutes(args)
    if args.long_minutes:
        long_recording(args)


if __name__ == "__main__":
    main()
