"""What the teaching views draw, computed in the worker thread (Qt-free).

``Renderer`` turns a problem and a model (W, H) into copies and display images: W on the pitch
axis, H, and the model WH on the same dB scale as V. Only these copies cross to the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import PitchMap, Problem, pitch_map_for, to_db, to_uint8
from ...core.threads import one_blas_thread

SPEC_FLOOR_DB = -80.0  # V and WH: dB below the loudest cell of V
FACTOR_FLOOR_DB = -60.0  # W (per column) and H (whole matrix): dB below their largest entry


@dataclass(frozen=True)
class Layout:
    """How the problem is drawn: components (labels, group ids, kinds), the pitch rows, the time axis.

    Row ``r`` of a pitch image is centred at MIDI pitch ``pitch_lo + r / rows_per_semitone``;
    frame ``j`` at ``t0_s + j * hop_s`` seconds of the piece.
    """

    labels: tuple[str, ...]
    group_ids: tuple[int, ...]
    kinds: tuple[str, ...]
    group_names: dict
    t0_s: float
    hop_s: float
    n_frames: int
    n_bins: int
    pitch_lo: float
    rows_per_semitone: int
    n_rows: int
    divergence: str
    n_fft: int
    sample_rate: int

    @property
    def K(self) -> int:
        return len(self.labels)

    @property
    def duration_s(self) -> float:
        return self.n_frames * self.hop_s


@dataclass(frozen=True)
class Matrices:
    """One model, copied: ``W`` float32 (n_bins, K), ``H`` float32 (K, n_frames); images for the
    views: ``W_img`` uint8 (n_rows, K) (each column in dB below its peak), ``H_img`` uint8
    (K, n_frames) (dB below the largest activation), ``WH_db`` float32 (n_rows, n_frames) (dB on
    V's scale) and ``WH_img`` uint8. ``iteration`` is -1 for the start (W0, H0)."""

    engine: str
    iteration: int
    W: np.ndarray
    H: np.ndarray
    W_img: np.ndarray
    H_img: np.ndarray
    WH_db: np.ndarray
    WH_img: np.ndarray


@dataclass(frozen=True)
class Prepared:
    """The first report of a run: the layout, V (``V_db`` float32 (n_rows, n_frames), dB below
    its loudest cell, and ``V_img`` uint8), and the start W0, H0 rendered."""

    layout: Layout
    V_db: np.ndarray
    V_img: np.ndarray
    start: Matrices
    engines: tuple[str, ...]
    shown_floor_db: float = SPEC_FLOOR_DB  # the colour scale of V and W H starts here (see auto_floor_db)


class Renderer:
    """Display images of models of one problem (the dB reference is V's loudest row cell)."""

    def __init__(self, problem: Problem, pitch_map: PitchMap | None = None):
        self.problem = problem
        self.pm = pitch_map or pitch_map_for(problem)
        V_rows = self.pm(problem.V)
        self.ref = float(V_rows.max()) if V_rows.size else 0.0
        self.V_db = to_db(V_rows, ref=self.ref, floor_db=SPEC_FLOOR_DB)

    def layout(self, divergence: str) -> Layout:
        p, pm = self.problem, self.pm
        names = {g.id: g.name for g in p.groups}
        return Layout(tuple(c.label for c in p.components), tuple(c.group_id for c in p.components),
                      tuple(c.kind for c in p.components), names, p.t0_s, p.hop_s, p.n_frames,
                      int(p.V.shape[0]), pm.pitch_lo, pm.rows_per_semitone, pm.n_rows, divergence, p.cfg.n_fft,
                      p.sample_rate)

    def prepared(self, divergence: str, engines: tuple[str, ...]) -> Prepared:
        start = self.render("start", -1, self.problem.W0, self.problem.H0)
        return Prepared(self.layout(divergence), self.V_db, to_uint8(self.V_db, floor_db=SPEC_FLOOR_DB), start,
                        tuple(engines), auto_floor_db(self.V_db))

    def render(self, engine: str, iteration: int, W: np.ndarray, H: np.ndarray) -> Matrices:
        """Copies of W (n_bins, K) and H (K, n_frames) and their images (see ``Matrices``)."""
        W = np.array(W, dtype=np.float32, order="C")
        H = np.array(H, dtype=np.float32, order="C")
        W_rows = self.pm(W)
        peak = W_rows.max(axis=0, initial=0.0)
        W_db = to_db(W_rows / np.where(peak > 0, peak, 1.0), ref=1.0, floor_db=FACTOR_FLOOR_DB)
        H_db = to_db(H, ref=float(H.max(initial=0.0)), floor_db=FACTOR_FLOOR_DB)
        with one_blas_thread():  # small products: a second BLAS thread only fights for a busy core
            WHT = H.T @ W[self.pm.bins].T  # (n_frames, bins): frame-major, only the bins the rows read
        WH_db = to_db(self.pm.frames(WHT, sliced=True).T, ref=self.ref, floor_db=SPEC_FLOOR_DB)
        return Matrices(engine, iteration, W, H, factor_image(W_db, W_rows > 0), factor_image(H_db, H > 0), WH_db,
                        to_uint8(WH_db, floor_db=SPEC_FLOOR_DB))




def auto_floor_db(db: np.ndarray, *, median_at: float = 0.25, loudest_floor_db: float = -30.0) -> float:
    """The colour scale's dark end for V and W H: the median cell of V sits ``median_at`` of the way
    up (as the editor's spectrogram does), within [SPEC_FLOOR_DB, loudest_floor_db]."""
    if db.size == 0:
        return SPEC_FLOOR_DB
    median = float(np.median(db[:, :: max(1, db.shape[1] // 2000)]))
    return float(np.clip(median / (1.0 - median_at), SPEC_FLOOR_DB, loudest_floor_db))


def factor_image(db: np.ndarray, nonzero: np.ndarray) -> np.ndarray:
    """uint8 image of a factor: 0 only for exact zeros (the score's hard constraints, drawn black),
    1..255 for dB in [FACTOR_FLOOR_DB, 0]."""
    img = to_uint8(db, floor_db=FACTOR_FLOOR_DB)
    img[nonzero & (img == 0)] = 1
    img[~nonzero] = 0
    return img
