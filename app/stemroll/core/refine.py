"""Template refinement at a finer frequency resolution, with the activations of the factorisation.

The factorisation runs on a window short enough to follow the notes in time (about 93 ms); its
activations H say when each (group, pitch) sounds and how loud. A window twice as long resolves
partials twice as finely, which is what separates instruments whose partials lie close together
(a piano's two hands, the chorale's voices), but it smears the notes in time and makes the
activations harder to estimate. So the templates are learned again on the long-window
spectrogram *with H kept fixed* (the frames of both STFTs share their centres: same hop), and
the soft masks are computed and applied at the long window.

The fine templates start as fresh combs with bands ``fine_tolerance_cents`` wide (twice as many
partials: the finer grid resolves them) and learn with the same group-focused update as the
factorisation (``core.informed_nmf`` with ``update_H=False``).

Memory: the long-window magnitude has twice the bins of the analysis one, so it is held in half
precision (``half_magnitude``; 3 significant digits are plenty for fitting templates) after the
analysis magnitude has been released: the peak stays that of the analysis stage.
"""

from __future__ import annotations

from typing import Generator, Sequence

import numpy as np

from .constraints import Component, component_templates
from .informed_nmf import informed_nmf_steps
from .nmf import NMFResult, NMFStep, scale_activations
from .params import SeparationParams
from .segments import magnitude
from .spectral import STFTConfig


def fine_stft_config(cfg: STFTConfig, sample_rate: int, params: SeparationParams) -> STFTConfig | None:
    """The long-window STFT for the refinement: the power of two closest to ``params.fine_window_s``
    seconds with the coarse STFT's hop (frames share their centres). None when refinement is off
    (``fine_window_s = 0`` or ``fine_iterations = 0``) or the window is not longer than ``cfg``'s."""
    if params.fine_window_s <= 0 or params.fine_iterations <= 0:
        return None
    n_fft = int(2 ** round(np.log2(max(16.0, sample_rate * params.fine_window_s))))
    if n_fft <= cfg.n_fft:
        return None
    return STFTConfig(n_fft, cfg.hop_length)


def half_magnitude(audio: np.ndarray, cfg: STFTConfig, *, segment_frames: int = 512, threads: int = 1) -> np.ndarray:
    """Mean of the channels' STFT magnitudes in half precision: float16 (n_bins, n_frames), Fortran order.

    audio: float (channels, n_samples). Computed ``segment_frames`` frames at a time, so no
    full-size float32 or complex temporary exists; values above float16's range are clipped.
    ``threads``: segments computed at once.
    """
    return magnitude(audio, cfg, segment_frames=segment_frames, dtype=np.float16, threads=threads)


def fine_templates(components: Sequence[Component], *, cfg: STFTConfig, fine: STFTConfig, sample_rate: int,
                   params: SeparationParams, rng: np.random.Generator) -> np.ndarray:
    """Starting templates at the fine resolution, float32 (fine.n_bins, K): combs with
    ``params.fine_tolerance_cents`` bands and ``n_harmonics * fine.n_fft / cfg.n_fft`` partials."""
    n_harmonics = max(1, int(round(params.n_harmonics * fine.n_fft / cfg.n_fft)))
    return component_templates(components, n_bins=fine.n_bins, sample_rate=sample_rate, n_fft=fine.n_fft,
                               n_harmonics=n_harmonics, tolerance_cents=params.fine_tolerance_cents, rng=rng)


def refine_steps(V_fine: np.ndarray, W_fine0: np.ndarray, H: np.ndarray, comp_groups: np.ndarray, *,
                 params: SeparationParams, cost_every: int | None = None, n_threads: int | None = None
                 ) -> Generator[NMFStep, None, NMFResult]:
    """Learn the fine templates with the activations fixed.

    V_fine: float16 or float32 (fine bins, n_frames), the long-window magnitude; W_fine0: (fine bins, K) from
    ``fine_templates``; H: (K, n_frames) from the factorisation (rescaled once so that the model
    has V_fine's energy, then only the templates' unit-sum normalisation moves it). Yields one
    ``NMFStep`` per iteration and returns the fine W with the rescaled H. The refinement runs a
    fixed ``params.fine_iterations``, so by default no cost is computed (nan; a cost costs a
    logarithm per cell of the long window); ``cost_every=k`` computes it every k-th iteration.
    ``n_threads``: threads for the engine's kernels.
    """
    if V_fine.shape[1] != H.shape[1]:
        raise ValueError(f"the fine spectrogram has {V_fine.shape[1]} frames, the activations {H.shape[1]}")
    H = scale_activations(V_fine, W_fine0, H)
    return (yield from informed_nmf_steps(V_fine, W_fine0, H, comp_groups, iterations=params.fine_iterations,
                                          tol=0.0, focus=params.template_focus, update_H=False,
                                          cost_every=cost_every or 1, costs=cost_every is not None,
                                          n_threads=n_threads))
