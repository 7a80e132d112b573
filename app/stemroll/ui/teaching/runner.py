"""A lesson's run as a generator for ``ui.workers.BackgroundTask`` (Qt-free): paced, live, comparable.

``teaching_steps`` builds the problem, yields a ``render.Prepared``, then drives one or more
engines (NMF, NAE) in lock-step, one iteration each per permit of a ``Gate`` (run, pause, single
step, slow motion, cancel), and yields a ``Frame`` when there is something to show: at most about
every ``FRAME_S`` seconds while running freely, after every iteration in step mode or slow motion.
An engine's step carries live references ``W`` / ``H`` to its arrays (``core.nmf.NMFStep``,
``core.nae.NAEStep``); they are copied here, in the worker thread, while the engine is suspended.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Generator

import numpy as np

from ...core.nae import nae_steps
from ...core.nmf import nmf_steps
from ...core.params import SeparationParams
from ...core.spectral import STFTConfig
from .gate import Gate
from .problem import Excerpt, Problem, build_problem
from .render import Matrices, Renderer

FRAME_S = 1.0 / 25.0  # the screen's pace: no more frames than this while running freely
RENDER_SHARE = 0.3  # at most about this share of the worker's time goes to drawing images

ENGINES = {"nmf": "NMF", "nae": "NAE", "nae-pgd": "NAE (gradient)"}
ENGINE_COLOURS = {"nmf": "#56B4E9", "nae": "#E69F00", "nae-pgd": "#CC79A7"}
LOSS_NAMES = {"kl": "KL divergence D(V | WH)", "euclidean": "½ ‖V − WH‖²"}


@dataclass(frozen=True)
class RunOptions:
    """``engines``: keys of ``ENGINES`` run side by side; ``divergence``: 'kl' or 'euclidean';
    at most ``iterations`` updates each; an engine stops early when its relative cost change
    falls below ``tol``."""

    engines: tuple[str, ...] = ("nmf",)
    divergence: str = "kl"
    iterations: int = 100
    tol: float = 1e-4

    def __post_init__(self) -> None:
        unknown = [e for e in self.engines if e not in ENGINES]
        if not self.engines or unknown:
            raise ValueError(f"engines must be some of {', '.join(ENGINES)}, got {self.engines}")
        if self.divergence not in LOSS_NAMES:
            raise ValueError(f"divergence must be 'kl' or 'euclidean', got '{self.divergence}'")
        if self.iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {self.iterations}")


@dataclass
class Track:
    """One engine's history: costs (before each update, then the final one) and cumulative
    engine seconds at each cost (waiting and drawing excluded)."""

    costs: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    engine_s: float = 0.0
    done: bool = False
    result: object = None
    step: object = None  # the last step (its W / H are live while the engine is suspended)
    final: Matrices | None = None  # the result, drawn once
    live: bool = True  # its steps carry W and H


@dataclass(frozen=True)
class Frame:
    """What the GUI shows after some iterations: every engine's costs and times so far (tuples),
    which are done, which report W and H while running (``live``), and the shown engine's
    ``Matrices`` (None when it does not report them: then only its start and result are drawn)."""

    costs: dict
    times: dict
    done: dict
    matrices: Matrices | None
    live: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    """A finished run: each engine's result (``NMFResult`` / ``NAEResult``), costs and times."""

    results: dict
    costs: dict
    times: dict


def engine_steps(name: str, problem: Problem, opts: RunOptions) -> Generator:
    """The engine called ``name`` on the problem, as the separation would run it."""
    if name == "nmf":
        return nmf_steps(problem.V, problem.W0, problem.H0, divergence=opts.divergence,
                         iterations=opts.iterations, tol=opts.tol)
    return nae_steps(problem.V, problem.W0, problem.H0, divergence=opts.divergence, iterations=opts.iterations,
                     tol=opts.tol, rule="pgd" if name == "nae-pgd" else "mu")


def warm_up(opts: RunOptions) -> None:
    """Run each engine twice on a tiny problem: the one-time costs (loading the compiled NMF
    kernels takes about a second) fall in the preparation, not in the first step or the timings."""
    rng = np.random.default_rng(0)
    tiny = Problem(rng.random((33, 24), dtype=np.float32), rng.random((33, 3), dtype=np.float32),
                   rng.random((3, 24), dtype=np.float32), [], (), STFTConfig(64, 16), 8000, 0.0,
                   SeparationParams())
    small = RunOptions(opts.engines, opts.divergence, 2, 0.0)
    for name in opts.engines:
        gen = engine_steps(name, tiny, small)
        for _ in gen:
            pass


def live_model(step, shape_W: tuple, shape_H: tuple):
    """(W, H) of the model whose cost ``step`` reports (its ``W`` / ``H`` fields: live references,
    read only), or (None, None) when the step carries none of the expected shapes."""
    W, H = getattr(step, "W", None), getattr(step, "H", None)
    ok = (isinstance(W, np.ndarray) and isinstance(H, np.ndarray) and W.shape == shape_W and H.shape == shape_H)
    return (W, H) if ok else (None, None)


def _render(renderer: Renderer, name: str, track: Track) -> Matrices | None:
    if track.done and track.result is not None:
        if track.final is None:
            track.final = renderer.render(name, len(track.costs) - 1, track.result.W, track.result.H)
        return track.final
    step = track.step
    if step is None:
        return None
    p = renderer.problem
    W, H = live_model(step, p.W0.shape, p.H0.shape)
    if W is None:
        return None
    return renderer.render(name, step.iteration, W, H)


def teaching_steps(ex: Excerpt, opts: RunOptions, gate: Gate, *, frame_s: float = FRAME_S
                   ) -> Generator[object, None, RunSummary | None]:
    """Prepare, then run ``opts.engines`` in lock-step as ``gate`` allows (see the module text).

    Yields one ``Prepared``, ``Frame`` values, and a ``RunSummary`` when every engine is done;
    then waits (drawing another engine's result when ``gate.show`` changes) until the gate is
    cancelled. Returns the ``RunSummary``, or None when cancelled before the end.
    """
    problem = build_problem(ex)
    renderer = Renderer(problem)
    warm_up(opts)
    yield renderer.prepared(opts.divergence, opts.engines)
    gens = {e: engine_steps(e, problem, opts) for e in opts.engines}
    tracks = {e: Track() for e in opts.engines}
    interval = frame_s
    last_emit = -math.inf

    def frame(shown: str | None) -> Frame:
        nonlocal interval, last_emit
        t = time.perf_counter()
        m = _render(renderer, shown, tracks[shown]) if shown in tracks else None
        interval = max(frame_s, (time.perf_counter() - t) / RENDER_SHARE)
        last_emit = time.monotonic()
        return Frame({e: tuple(k.costs) for e, k in tracks.items()}, {e: tuple(k.times) for e, k in tracks.items()},
                     {e: k.done for e, k in tracks.items()}, m, {e: k.live for e, k in tracks.items()})

    try:
        while not all(k.done for k in tracks.values()):
            permit = gate.acquire()
            if permit is False:
                return None
            if permit == "show":
                yield frame(gate.show)
                continue
            for name, gen in gens.items():
                k = tracks[name]
                if k.done:
                    continue
                t = time.perf_counter()
                try:
                    k.step = next(gen)
                except StopIteration as stop:
                    k.engine_s += time.perf_counter() - t
                    k.done, k.result, k.step = True, stop.value, None
                    extra = len(k.result.costs) - len(k.costs)
                    k.costs = [float(c) for c in k.result.costs]
                    k.times += [k.engine_s] * max(extra, 0)
                    continue
                k.engine_s += time.perf_counter() - t
                if k.live and len(k.costs) == 0:
                    k.live = live_model(k.step, problem.W0.shape, problem.H0.shape)[0] is not None
                k.costs.append(float(k.step.cost))
                k.times.append(k.engine_s)
            finished = all(k.done for k in tracks.values())
            if (finished or gate.will_wait() or gate.delay_s >= frame_s
                    or time.monotonic() - last_emit >= interval):
                yield frame(gate.show if gate.show in tracks else opts.engines[0])
            gate.mark()
        summary = RunSummary({e: k.result for e, k in tracks.items()}, {e: list(k.costs) for e, k in tracks.items()},
                             {e: list(k.times) for e, k in tracks.items()})
        yield summary
        # Finished: stay until cancelled, to draw another engine's result on request.
        gate.pause()
        while True:
            permit = gate.acquire()
            if permit is False:
                return summary
            if permit == "show":
                yield frame(gate.show)
    finally:
        for gen in gens.values():
            gen.close()
