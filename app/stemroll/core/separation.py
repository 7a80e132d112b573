"""The whole separation as a generator: STFT -> constraints -> NMF -> soft masks -> stems.

``separate_steps`` yields ``Progress`` values (stage, fraction, iteration, cost) and returns a
``SeparationResult`` with the stems in memory. Stems have the input's channel count and exact
length; the residual stem is the mixture minus the group stems, so ``sum(stems) == mix`` up to
float rounding. For long recordings the same pipeline streams: ``model_steps`` fits the model
and returns it (``core.stem_stream.SeparationModel``), ``core.stem_stream.stem_blocks`` makes the
stems block by block, and the recording may be read from its file (``core.samples``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Generator, Sequence

import numpy as np

from .constraints import RESIDUAL_GROUP, Component, build_constraints
from .informed_nmf import informed_nmf_steps
from .nmf import NMFResult, NMFStep, nmf_steps, scale_activations
from .params import SeparationParams
from .priors import decay_prior_steps, note_spans
from .refine import fine_stft_config, fine_templates, half_magnitude, refine_steps
from .samples import Samples, as_samples
from .score import Note, NoteGroup
from .segments import magnitude
from .spectral import STFTConfig
from .stem_stream import SeparationModel, stem_blocks
from .threads import default_engine_threads
from .unisons import UnisonRegion, unison_regions


COST_EVERY = 5  # the engines compute their cost (a logarithm per cell for KL) every 5th iteration


@dataclass(frozen=True)
class Progress:
    """One report from a running separation. ``fraction`` in [0, 1]."""

    stage: str  # 'analyse' | 'factorise' | 'refine' | 'resynthesise' | 'done'
    fraction: float
    iteration: int | None = None
    cost: float | None = None
    elapsed_s: float = 0.0


@dataclass
class Stem:
    """One separated part: ``audio`` float32 (channels, n_samples) at the input's rate."""

    name: str
    group_id: int
    audio: np.ndarray
    note_count: int

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.audio, dtype=np.float64)))) if self.audio.size else 0.0


@dataclass
class SeparationResult:
    """Stems (groups in order, residual last), the factorisation and its costs.

    ``cfg``, ``W`` (cfg.n_bins, K) and ``H`` (K, n_frames) are the model the masks came from: after
    a refinement (``core.refine``) the long window and its templates. ``costs`` are the
    factorisation's (on the analysis window). ``unisons``: where two groups hold the same pitch
    (``core.unisons``: how those stretches are split, for the user to check). ``decay_db_per_s``:
    group id -> how fast its notes fall after the attack (``core.priors``; below -5 dB/s: a
    decaying part such as a piano), when the decay prior ran and the group has notes long enough.
    """

    stems: list[Stem]
    sample_rate: int
    costs: list[float]
    cfg: STFTConfig
    params: SeparationParams
    W: np.ndarray | None = None
    H: np.ndarray | None = None
    components: list[Component] = field(default_factory=list)
    elapsed_s: float = 0.0
    converged: bool = False
    unisons: list[UnisonRegion] = field(default_factory=list)
    decay_db_per_s: dict[int, float] = field(default_factory=dict)

    def stem(self, name: str) -> Stem:
        for s in self.stems:
            if s.name == name:
                return s
        raise KeyError(name)


def resolve_stft(sample_rate: int, params: SeparationParams) -> STFTConfig:
    """The STFT configuration for a file at ``sample_rate`` given the parameters."""
    if params.n_fft:
        return STFTConfig(params.n_fft, params.hop_length or params.n_fft // 4)
    cfg = STFTConfig.for_rate(sample_rate, window_s=params.window_s)
    if params.hop_length:
        cfg = STFTConfig(cfg.n_fft, params.hop_length)
    return cfg


def soft_masks(W: np.ndarray, H: np.ndarray, comp_groups: np.ndarray, group_ids: Sequence[int], *,
               power: float) -> np.ndarray:
    """Alpha-Wiener masks per group: (W_g H_g)^p / sum over all components' groups (W_c H_c)^p.

    Returns float32 (len(group_ids), n_bins, n_frames); the residual group's share is what is
    left (1 - sum), and bins that no component explains go entirely to the residual.
    """
    n_bins, n_frames = W.shape[0], H.shape[1]
    models = []
    for g in list(group_ids) + [RESIDUAL_GROUP]:
        idx = np.flatnonzero(comp_groups == g)
        Vg = W[:, idx] @ H[idx] if len(idx) else np.zeros((n_bins, n_frames), np.float32)
        models.append(np.power(Vg, np.float32(power), dtype=np.float32))
    total = np.sum(models, axis=0) + np.float32(1e-20)
    return np.stack([m / total for m in models[:-1]]).astype(np.float32, copy=False)


def factorise_steps(V: np.ndarray, W0: np.ndarray, H0: np.ndarray, params: SeparationParams, *,
                    n_threads: int | None = None, rng: np.random.Generator | None = None,
                    comp_groups: np.ndarray | None = None):
    """The engine ``params.engine`` chooses ('nmf' or 'nae') as a generator of ``NMFStep``s.

    With the 'nmf' engine, the 'kl' divergence, ``params.template_focus > 0`` and the components'
    groups given, the templates learn where their group dominates (``core.informed_nmf``).
    """
    if _focused(params) and comp_groups is not None:
        return informed_nmf_steps(V, W0, H0, comp_groups, iterations=params.iterations, tol=params.tol,
                                  focus=params.template_focus, cost_every=COST_EVERY, n_threads=n_threads)
    if params.engine == "nae":
        from .nae import nae_steps

        return nae_steps(V, W0, H0, divergence=params.divergence, iterations=params.iterations, tol=params.tol,
                         rng=rng)
    return nmf_steps(V, W0, H0, divergence=params.divergence, iterations=params.iterations, tol=params.tol,
                     n_threads=n_threads, cost_every=COST_EVERY)


def _focused(params: SeparationParams) -> bool:
    return params.engine == "nmf" and params.divergence == "kl" and params.template_focus > 0


def _factorise(V: np.ndarray, cons, H0: np.ndarray, notes: Sequence[Note], params: SeparationParams, *,
               sample_rate: int, cfg: STFTConfig, n_threads: int | None, rng: np.random.Generator
               ) -> Generator[NMFStep, None, tuple[NMFResult, dict[int, float]]]:
    """The factorisation stage: yields ``NMFStep``s, returns (result, decay rates per group in dB/s).

    With the informed engine and ``params.decay_prior`` it runs ``core.priors.decay_prior_steps``
    (the rates are measured there); otherwise ``factorise_steps`` (no rates).
    """
    if _focused(params) and params.decay_prior:
        spans = note_spans(notes, cons.components, n_frames=V.shape[1], sample_rate=sample_rate,
                           hop_length=cfg.hop_length, onset_tolerance_s=params.onset_tolerance_s,
                           offset_tolerance_s=params.offset_tolerance_s)
        res, rates, _ = yield from decay_prior_steps(
            V, cons.W0, H0, cons.component_groups(), spans, cons.components, iterations=params.iterations,
            tol=params.tol, focus=params.template_focus, frame_rate=sample_rate / cfg.hop_length,
            cost_every=COST_EVERY, n_threads=n_threads)
        return res, rates
    res = yield from factorise_steps(V, cons.W0, H0, params, n_threads=n_threads, rng=rng,
                                     comp_groups=cons.component_groups())
    return res, {}


def model_steps(audio, sample_rate: int, notes: Sequence[Note], groups: Sequence[NoteGroup],
                params: SeparationParams = SeparationParams(), *, rng: np.random.Generator | None = None,
                n_threads: int | None = None) -> Generator[Progress, None, SeparationModel]:
    """Analyse ``audio`` and fit the model its stems come from (``core.stem_stream``).

    audio: float32 array (channels, n_samples), or a ``core.samples.Samples`` source (read
    segment by segment: the analysis, and the refinement's long window, never hold it whole).
    Yields 'analyse', 'factorise' and 'refine' ``Progress``; returns a ``SeparationModel``.
    The spectrograms are freed before it returns.
    """
    t_start = time.perf_counter()
    src = audio_source(audio)
    if sample_rate <= 0:
        raise ValueError(f"sample rate must be positive, got {sample_rate}")
    rng = rng if rng is not None else np.random.default_rng(params.seed)
    cfg = resolve_stft(sample_rate, params)
    threads = n_threads or default_engine_threads()
    yield Progress("analyse", 0.0, elapsed_s=time.perf_counter() - t_start)
    V = magnitude(src, cfg, threads=threads)  # (bins, frames), mean of the channels' magnitudes
    cons = build_constraints(notes, groups, n_frames=V.shape[1], sample_rate=sample_rate, cfg=cfg,
                             params=params, rng=rng)
    H0 = scale_activations(V, cons.W0, cons.H0)
    yield Progress("analyse", 1.0, elapsed_s=time.perf_counter() - t_start)

    gen = _factorise(V, cons, H0, notes, params, sample_rate=sample_rate, cfg=cfg, n_threads=n_threads, rng=rng)
    total = max(params.iterations, 1)
    try:
        while True:
            step: NMFStep = next(gen)
            yield Progress("factorise", step.iteration / total, step.iteration, step.cost,
                           time.perf_counter() - t_start)
    except StopIteration as stop:
        res, rates = stop.value
    W, H, costs, converged = res.W, res.H, list(res.costs), res.converged
    del V, H0, gen, res  # the coarse spectrogram is not needed any more: free it before the fine one

    fine = fine_stft_config(cfg, sample_rate, params)
    coarse_n_fft = cfg.n_fft
    if fine is not None:
        yield Progress("refine", 0.0, elapsed_s=time.perf_counter() - t_start)
        V_fine = half_magnitude(src, fine, segment_frames=1024 * cfg.n_fft // fine.n_fft, threads=threads)
        W_fine0 = fine_templates(cons.components, cfg=cfg, fine=fine, sample_rate=sample_rate, params=params,
                                 rng=rng)
        gen = refine_steps(V_fine, W_fine0, H, cons.component_groups(), params=params, n_threads=n_threads)
        try:
            while True:
                step = next(gen)
                yield Progress("refine", (step.iteration + 1) / max(params.fine_iterations, 1), step.iteration,
                               None, time.perf_counter() - t_start)
        except StopIteration as stop:
            W, H = stop.value.W, stop.value.H
        del V_fine, gen
        cfg = fine
    counts = {g.id: 0 for g in groups}
    for note in notes:
        counts[note.group_id] = counts.get(note.group_id, 0) + 1
    return SeparationModel(
        sample_rate, src.channels, src.n_samples, cfg, params, W, H, cons.component_groups(), tuple(groups),
        counts, segment_frames=max(1, 512 * coarse_n_fft // cfg.n_fft),  # the long window: as much memory per block
        costs=costs, converged=converged, components=cons.components, unisons=unison_regions(notes),
        decay_db_per_s=rates, elapsed_s=time.perf_counter() - t_start)


def separate_steps(audio: np.ndarray, sample_rate: int, notes: Sequence[Note], groups: Sequence[NoteGroup],
                   params: SeparationParams = SeparationParams(), *, rng: np.random.Generator | None = None,
                   n_threads: int | None = None) -> Generator[Progress, None, SeparationResult]:
    """Separate ``audio`` (float32, shape (channels, n_samples)) into one stem per group plus a residual.

    Stereo is analysed on the channels' mean magnitude and every channel gets the same masks, so
    the stems keep the stereo image. Groups without notes give silent stems. Analysis and
    resynthesis run segment by segment (``core.segments``), so no full-size complex STFT is held;
    the stems are collected in memory (``model_steps`` + ``core.stem_stream.stem_blocks`` stream
    them instead). ``n_threads``: threads for the engine's kernels and for the resynthesis
    (default ``core.threads.default_engine_threads()``: every core but one).
    """
    t_start = time.perf_counter()
    src = audio_source(audio)
    model = yield from model_steps(src, sample_rate, notes, groups, params, rng=rng, n_threads=n_threads)
    n = src.n_samples
    out = np.empty((model.n_stems, src.channels, n), np.float32)
    for s0, block in stem_blocks(model, src, threads=n_threads or default_engine_threads()):
        out[:, :, s0: s0 + block.shape[2]] = block
        yield Progress("resynthesise", min(1.0, (s0 + block.shape[2]) / max(n, 1)),
                       elapsed_s=time.perf_counter() - t_start)
    stems = [Stem(name, gid, out[i], count) for i, (name, gid, count) in enumerate(model.stem_names())]
    elapsed = time.perf_counter() - t_start
    yield Progress("done", 1.0, elapsed_s=elapsed)
    return SeparationResult(stems, sample_rate, model.costs, model.cfg, params, model.W, model.H, model.components,
                            elapsed, model.converged, model.unisons, model.decay_db_per_s)


def audio_source(audio) -> Samples:
    """A ``Samples`` source for ``audio``; arrays become float32 (channels, n_samples)."""
    return as_samples(audio, dtype=np.float32)
