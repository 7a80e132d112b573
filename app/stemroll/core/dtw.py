"""Banded, multi-resolution dynamic time warping with open ends and anchor points.

The warping path runs over a score axis (rows, ``i``) and an audio axis (columns, ``j``) with steps
(1, 1), (1, 0) and (0, 1). Each row ``i`` may only use columns ``lo[i]..hi[i]`` (a band), so a long
piece never needs a full N x M matrix: the coarsest level is small enough to solve in full, and each
finer level only searches a band around the path of the level above (as MrMsDTW does).

Both ends are open: the score may start after, and end before, the recording (a lead-in, a
decaying tail, a longer recording), and the recording may cover only part of the score, each at
a skip cost per frame left out that lies between a good and a chance match. A small penalty on
non-diagonal steps keeps the tempo steady where the features cannot tell.

A row is solved in vectorised form: with ``P[j]`` the best arrival from the row below and ``c[j]``
the horizontal step cost, ``D[j] = min(P[j], D[j-1] + c[j])`` equals ``S[j] + cummin(P - S)[j]``
with ``S = cumsum(c)``, so one Python iteration per row suffices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Generator, Sequence

import numpy as np

DIAG, VERT, HORIZ, START = 0, 1, 2, 3


@dataclass(frozen=True)
class FeaturePair:
    """One feature kind on both axes. score: (d, N), audio: (d, M) float32.

    kind ``"cosine"`` expects unit columns and costs ``1 - s.a``; ``"euclidean"`` costs ``|s - a|``.
    ``coarse``: also used at the coarse levels of ``multires_dtw`` (sparse onset features are not:
    pooled, they blur, and on a wide search they reward runs along onset-free frames).
    """

    score: np.ndarray
    audio: np.ndarray
    kind: str = "cosine"
    weight: float = 1.0
    coarse: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("cosine", "euclidean"):
            raise ValueError(f"feature kind must be 'cosine' or 'euclidean', got {self.kind!r}")
        if self.score.ndim != 2 or self.audio.ndim != 2 or self.score.shape[0] != self.audio.shape[0]:
            raise ValueError(f"score and audio features need shapes (d, N) and (d, M), got {self.score.shape} and {self.audio.shape}")

    def pooled(self, factor: int) -> "FeaturePair":
        return FeaturePair(_pool(self.score, factor, self.kind), _pool(self.audio, factor, self.kind),
                           self.kind, self.weight, self.coarse)


def _pool(x: np.ndarray, factor: int, kind: str) -> np.ndarray:
    if factor == 1:
        return x
    n = -(-x.shape[1] // factor)
    xp = np.zeros((x.shape[0], n * factor), dtype=np.float32)
    xp[:, : x.shape[1]] = x
    out = xp.reshape(x.shape[0], n, factor).mean(axis=2)
    if kind == "cosine":
        norm = np.linalg.norm(out, axis=0)
        out = out / np.where(norm < 1e-9, 1.0, norm)
    return out.astype(np.float32)


def block_cost(feats: Sequence[FeaturePair], i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    """Local cost of rows i0..i1-1 against columns j0..j1-1: float32 (i1 - i0, j1 - j0)."""
    total = np.zeros((i1 - i0, j1 - j0), dtype=np.float32)
    for f in feats:
        s, a = f.score[:, i0:i1], f.audio[:, j0:j1]
        dot = s.T @ a
        if f.kind == "cosine":
            total += f.weight * np.maximum(0.0, 1.0 - dot)
        else:
            sq = (s * s).sum(axis=0)[:, None] + (a * a).sum(axis=0)[None, :] - 2.0 * dot
            total += f.weight * np.sqrt(np.maximum(sq, 0.0))
    return total


def band_from_path(path: np.ndarray, factor: int, n_rows: int, n_cols: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Band (lo, hi) at a ``factor`` times finer resolution around a coarse path, widened by ``radius``."""
    lo = np.full(n_rows, n_cols, dtype=np.int64)
    hi = np.full(n_rows, -1, dtype=np.int64)
    for k in range(factor):
        rows = np.minimum(path[:, 0] * factor + k, n_rows - 1)
        np.minimum.at(lo, rows, path[:, 1] * factor)
        np.maximum.at(hi, rows, path[:, 1] * factor + factor - 1)
    return monotone_band(lo - radius, hi + radius, n_cols)


def monotone_band(lo: np.ndarray, hi: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip to [0, n_cols) and make both edges non-decreasing (every row reachable)."""
    lo = np.minimum.accumulate(np.clip(lo, 0, n_cols - 1)[::-1])[::-1]
    hi = np.maximum.accumulate(np.clip(hi, 0, n_cols - 1))
    return lo, np.maximum(hi, lo)


def clip_to_anchors(lo: np.ndarray, hi: np.ndarray, anchors: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Force every path through each anchor cell (i, j): rows above keep j + 1 and beyond, rows below
    keep j - 1 and before; row i itself is free, so the path crosses column j there."""
    lo, hi = lo.copy(), hi.copy()
    for ai, aj in anchors:
        hi[:ai] = np.minimum(hi[:ai], max(aj - 1, 0))
        lo[ai + 1:] = np.maximum(lo[ai + 1:], min(aj + 1, n_cols - 1))
        lo[ai] = min(lo[ai], aj)
        hi[ai] = max(hi[ai], aj)
    lo2, hi2 = monotone_band(lo, hi, n_cols)
    return lo2, np.maximum(hi2, lo2)


def banded_dtw(feats: Sequence[FeaturePair], lo: np.ndarray, hi: np.ndarray, *,
               weights: tuple[float, float, float] = (1.0, 1.0, 1.0), skip_cost: float | None = 0.0,
               step_penalty: float = 0.0, row_skip_cost: float | None = None,
               block_cells: int = 300_000) -> Generator[float, None, tuple[np.ndarray, np.ndarray]]:
    """DTW restricted to a band; yields progress 0..1, returns (path, local cost along it).

    weights: (diagonal, vertical = score advances, horizontal = audio advances) step weights; the
    symmetric default makes every path between two cells carry the same total weight, so the
    weights themselves favour no tempo.
    skip_cost: None ties the path to the first and last audio frame; a number lets the score start
    and end anywhere in the first/last row's band, at this cost per audio frame left out at either
    end (0: free subsequence search; about the cost of a poor match: a lead-in of silence or a
    decaying tail is left out, but music that matches is not).
    step_penalty: added to every vertical and horizontal step. Between fixed ends the numbers of
    both differ by a constant, so this only penalises zig-zags: local tempo changes that are
    undone later (a prior for steady tempo where the features are ambiguous).
    row_skip_cost: None makes the path cover every score row; a number also lets it start in the
    first audio frame at a later row, or end in the last audio frame at an earlier row, at this
    cost per score row left out (a recording of part of the score).
    Returns path int64 (L, 2) of (row, column) from start to end, and float32 (L,) local costs.
    """
    n_rows = len(lo)
    n_cols = feats[0].audio.shape[1]
    wd, wv, wh = weights
    offsets = np.concatenate([[0], np.cumsum(hi - lo + 1)])  # steps are stored row after row:
    steps = np.empty(int(offsets[-1]), dtype=np.int8)  # memory is the band's area, never N x M
    prev = None
    prev_lo = 0
    best_early = (np.inf, -1)  # (cost, row) of the best path ending in the last audio frame before the last row
    i0 = 0
    while i0 < n_rows:
        i1 = i0 + 1
        while i1 < n_rows and (i1 + 1 - i0) * (hi[i1] - lo[i0] + 1) <= block_cells:
            i1 += 1
        cost = block_cost(feats, i0, i1, int(lo[i0]), int(hi[i1 - 1]) + 1)
        for i in range(i0, i1):
            a, b = int(lo[i]), int(hi[i])
            c = cost[i - i0, a - lo[i0]: b - lo[i0] + 1].astype(np.float64)
            if prev is None:
                cols = np.arange(a, b + 1, dtype=np.float64)
                p = wd * c + (cols * skip_cost if skip_cost is not None else np.where(cols == 0, 0.0, np.inf))
                start = True
            else:
                ext = np.full(b - a + 2, np.inf)  # ext[k] = D_prev at column a - 1 + k
                s0, s1 = max(prev_lo, a - 1), min(prev_lo + len(prev) - 1, b)
                if s1 >= s0:
                    ext[s0 - a + 1: s1 - a + 2] = prev[s0 - prev_lo: s1 - prev_lo + 1]
                diag = ext[:-1] + wd * c
                vert = ext[1:] + wv * c + step_penalty
                p = np.minimum(diag, vert)
                start = False
                late_start = row_skip_cost is not None and a == 0 and row_skip_cost * i + wd * c[0] < p[0]
                if late_start:
                    p[0] = row_skip_cost * i + wd * c[0]
            s = np.cumsum(wh * c + step_penalty)
            q = p - s
            run = np.minimum.accumulate(q)
            cur = s + run
            st = np.full(len(c), START, np.int8) if start else np.where(vert < diag, VERT, DIAG).astype(np.int8)
            if not start and late_start:
                st[0] = START
            st[q > run] = HORIZ
            steps[offsets[i]: offsets[i + 1]] = st
            if row_skip_cost is not None and b == n_cols - 1 and i < n_rows - 1:
                early = cur[-1] + row_skip_cost * (n_rows - 1 - i)
                if early < best_early[0]:
                    best_early = (early, i)
            prev, prev_lo = cur, a
        i0 = i1
        yield i0 / n_rows
    cols = np.arange(prev_lo, prev_lo + len(prev))
    end = prev + (n_cols - 1 - cols) * skip_cost if skip_cost is not None else np.where(cols == n_cols - 1, prev, np.inf)
    k = int(np.argmin(end))
    i_end, j_end = n_rows - 1, prev_lo + k
    if best_early[0] < end[k]:
        i_end, j_end = best_early[1], n_cols - 1
    elif not np.isfinite(end[k]):
        raise ValueError("no warping path satisfies the constraints (anchors out of order or outside the audio)")
    path = _backtrack(steps, offsets, lo, i_end, j_end)
    return path, path_cost(feats, path)


def skip_cost_estimate(feats: Sequence[FeaturePair], lo: np.ndarray, hi: np.ndarray, *, fraction: float = 0.5,
                       n_rows: int = 256, n_pairs: int = 20000, seed: int = 0) -> float:
    """Cost of leaving one audio frame out at an end of the path.

    For each feature the "good" level is its cost at the best cell of sampled rows (within the
    band) and the "chance" level its median cost over random cells of the whole matrix. Features
    that describe content (``coarse``) contribute ``good + fraction * (chance - good)``: audio that
    matches worse than chance (a silent lead-in against the first chord) is left out, music that
    matches is not. Timing features (onsets) contribute their good level only: frames without
    onsets on both sides agree, which says nothing about whether the frame belongs to the piece.
    """
    n, m = feats[0].score.shape[1], feats[0].audio.shape[1]
    rng = np.random.default_rng(seed)
    pairs = np.stack([rng.integers(0, n, n_pairs), rng.integers(0, m, n_pairs)], axis=1)
    best = []
    for i in np.unique(np.linspace(0, n - 1, min(n, n_rows)).astype(int)):
        row = block_cost(feats, int(i), int(i) + 1, int(lo[i]), int(hi[i]) + 1)[0]
        best.append((int(i), int(lo[i]) + int(np.argmin(row))))
    best = np.asarray(best, dtype=np.int64)
    total = 0.0
    for f in feats:
        good = float(np.median(path_cost([f], best)))
        chance = float(np.median(path_cost([f], pairs)))
        total += good + (fraction * max(0.0, chance - good) if f.coarse else 0.0)
    return total


def _backtrack(steps: np.ndarray, offsets: np.ndarray, lo: np.ndarray, i: int, j: int) -> np.ndarray:
    out = []
    while True:
        out.append((i, j))
        s = steps[offsets[i] + j - lo[i]]
        if s == START:
            break
        if s == DIAG:
            i, j = i - 1, j - 1
        elif s == VERT:
            i -= 1
        else:
            j -= 1
    return np.asarray(out[::-1], dtype=np.int64)


def path_cost(feats: Sequence[FeaturePair], path: np.ndarray) -> np.ndarray:
    """Local cost along a path: float32 (L,)."""
    total = np.zeros(len(path), dtype=np.float32)
    for f in feats:
        s, a = f.score[:, path[:, 0]], f.audio[:, path[:, 1]]
        if f.kind == "cosine":
            total += f.weight * np.maximum(0.0, 1.0 - (s * a).sum(axis=0))
        else:
            total += f.weight * np.linalg.norm(s - a, axis=0)
    return total


def multires_dtw(feats: Sequence[FeaturePair], *, anchors: np.ndarray | None = None, max_cells: int = 4_000_000,
                 radius_s: float = 1.0, frame_rate: float = 50.0, factor: int = 4,
                 weights: tuple[float, float, float] = (1.0, 1.0, 1.0), min_coarse: int = 4,
                 skip_fraction: float = 0.5, step_penalty: float = 0.1, reliability_margin: float = 0.15,
                 ) -> Generator[float, None, tuple[np.ndarray, np.ndarray]]:
    """Multi-resolution DTW with open begin and end; yields progress, returns (path, cost).

    The ends are open at a skip cost per left-out audio frame or score frame
    (``skip_cost_estimate`` with ``skip_fraction``), estimated anew at each level.

    anchors: int (K, 2) cells (score row, audio column) at full resolution the path must visit.
    The coarsest level (a power of ``factor``, at least ``min_coarse``) holds at most ``max_cells``
    cells and is solved in full with the ``coarse`` features only; each finer level searches a band
    of ``radius_s`` seconds (at least two coarse frames) around the projected path, and the finest
    level adds the other features, each scaled by its ``reliability`` along the path found so far
    (``reliability_margin`` 0 keeps the weights as given). Memory is O(rows * band width) at every
    level.
    """
    n, m = feats[0].score.shape[1], feats[0].audio.shape[1]
    anchors = np.zeros((0, 2), dtype=np.int64) if anchors is None else np.asarray(anchors, dtype=np.int64).reshape(-1, 2)
    levels = [1]
    while (levels[-1] < min_coarse or (n / levels[-1]) * (m / levels[-1]) > max_cells) and min(n, m) / levels[-1] > 8 * factor:
        levels.append(levels[-1] * factor)
    levels = levels[::-1]
    path = None
    for k, f in enumerate(levels):
        lf = [p.pooled(f) for p in feats if f == 1 or p.coarse]
        nf, mf = lf[0].score.shape[1], lf[0].audio.shape[1]
        if path is None:
            lo, hi = np.zeros(nf, dtype=np.int64), np.full(nf, mf - 1, dtype=np.int64)
        else:
            r = max(2 * factor, int(round(radius_s * frame_rate / f)))
            lo, hi = band_from_path(path, factor, nf, mf, r)
        if f == 1 and path is not None and reliability_margin > 0:
            guide = np.minimum(path * factor + factor // 2, [nf - 1, mf - 1])
            lf = [p if p.coarse else replace(p, weight=p.weight * reliability(p, guide, margin=reliability_margin))
                  for p in lf]
        lo, hi = clip_to_anchors(lo, hi, _level_anchors(anchors, f, nf, mf), mf)
        skip = skip_cost_estimate(lf, lo, hi, fraction=skip_fraction)
        gen = banded_dtw(lf, lo, hi, weights=weights, skip_cost=skip, step_penalty=step_penalty, row_skip_cost=skip)
        try:
            while True:
                yield (k + next(gen)) / len(levels)
        except StopIteration as stop:
            path, cost = stop.value
    return path, cost


def reliability(feat: FeaturePair, guide: np.ndarray, *, margin: float = 0.15, n_pairs: int = 20000,
                seed: int = 0) -> float:
    """How much a feature agrees with a guide path (cells (row, column) found from other features),
    in [0, 1]: 1 when its mean cost along the guide is at least ``margin`` below its mean cost over
    random cells, 0 when it is no better than chance (onsets of bowed or reverberant sound that
    the onset detector misses or misplaces)."""
    rng = np.random.default_rng(seed)
    n, m = feat.score.shape[1], feat.audio.shape[1]
    pairs = np.stack([rng.integers(0, n, n_pairs), rng.integers(0, m, n_pairs)], axis=1)
    chance = float(path_cost([replace(feat, weight=1.0)], pairs).mean())
    along = float(path_cost([replace(feat, weight=1.0)], guide).mean())
    if chance <= 0:
        return 0.0
    return float(np.clip((1.0 - along / chance) / margin, 0.0, 1.0))


def _level_anchors(anchors: np.ndarray, f: int, nf: int, mf: int) -> np.ndarray:
    """Anchors at a coarser level, keeping only a strictly increasing subset."""
    out, last = [], (-1, -1)
    for i, j in anchors // f:
        i, j = min(int(i), nf - 1), min(int(j), mf - 1)
        if i > last[0] and j > last[1]:
            out.append((i, j))
            last = (i, j)
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)
