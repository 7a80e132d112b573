"""The spectrogram as uint8 image tiles with a 256-entry colour table (pyqtgraph's fast path).

Tiles of at most ``TILE_FRAMES`` columns keep every image far below the 32,767 columns at which
``ImageItem.setImage`` would switch automatic downsampling on (blurry, ~80 ms per zoom step), and
let Qt skip the tiles outside the view. Each tile is placed so that frame ``k`` is centred at
``k * hop_s`` seconds and row ``r`` at MIDI pitch ``pitch_lo + r / rows_per_semitone``.

Zoomed out, a time-pyramid level (the loudest of every ``POOL ** level`` frames) is shown instead,
so no column is skipped (onsets stay visible) and fewer pixels are scaled.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...core.display import DisplaySpectrogram

TILE_FRAMES = 4096
POOL = 4  # frames pooled per pyramid step
COLOUR_MAP = "magma"


def colour_table(name: str = COLOUR_MAP, *, data_floor_db: float = -80.0, shown_floor_db: float | None = None) -> np.ndarray:
    """uint8 (256, 3) lookup table of a perceptually uniform pyqtgraph colour map.

    Index ``i`` stands for ``data_floor_db * (1 - i / 255)`` dB; the colour scale runs from
    ``shown_floor_db`` (darkest; default ``data_floor_db``) to 0 dB, so contrast changes only
    swap this table and never re-quantise the image.
    """
    shown = data_floor_db if shown_floor_db is None else shown_floor_db
    db = data_floor_db * (1.0 - np.arange(256) / 255.0)
    pos = np.clip((db - shown) / -shown, 0.0, 1.0)
    return pg.colormap.get(name).map(pos, mode="byte")[:, :3].astype(np.uint8)


def pool_time(img: np.ndarray, factor: int) -> np.ndarray:
    """Max over every ``factor`` columns: uint8 (rows, frames) -> (rows, ceil(frames / factor))."""
    rows, frames = img.shape
    pad = -frames % factor
    if pad:
        img = np.concatenate([img, np.repeat(img[:, -1:], pad, axis=1)], axis=1)
    return img.reshape(rows, -1, factor).max(axis=2)


class SpectrogramLayer:
    """Owns the image tiles (one list per pyramid level) shown in one ViewBox."""

    def __init__(self, view: pg.ViewBox, *, colour_map: str = COLOUR_MAP):
        self._view = view
        self.colour_map = colour_map
        self._lut = colour_table(colour_map)
        self.levels: list[list[pg.ImageItem]] = []
        self.level = 0
        self.display: DisplaySpectrogram | None = None
        self.shown_floor_db: float | None = None  # None: automatic (see DisplaySpectrogram.auto_floor_db)

    @property
    def tiles(self) -> list[pg.ImageItem]:
        """Tiles of the full-resolution level."""
        return self.levels[0] if self.levels else []

    def set_display(self, disp: DisplaySpectrogram | None) -> None:
        for level in self.levels:
            for item in level:
                self._view.removeItem(item)
        self.levels = []
        self.display = disp
        if disp is None or disp.n_frames == 0:
            return
        self._lut = self._table()
        img = disp.to_uint8()
        x0, y0, _, height = disp.extent()
        factor = 1
        while True:
            level = []
            for f0 in range(0, img.shape[1], TILE_FRAMES):
                part = np.ascontiguousarray(img[:, f0: f0 + TILE_FRAMES])
                item = pg.ImageItem(axisOrder="row-major")
                item.setImage(part, autoLevels=False, levels=(0, 255), lut=self._lut, autoDownsample=False)
                item.setRect(QRectF(x0 + f0 * factor * disp.hop_s, y0, part.shape[1] * factor * disp.hop_s, height))
                item.setZValue(-20)
                item.setVisible(factor == 1)
                self._view.addItem(item, ignoreBounds=True)
                level.append(item)
            self.levels.append(level)
            if img.shape[1] <= TILE_FRAMES // 2:
                break
            img = pool_time(img, POOL)
            factor *= POOL
        self.level = 0

    def effective_floor_db(self) -> float | None:
        """The dB at the dark end of the colour scale now (None without a display)."""
        if self.display is None:
            return None
        return self.shown_floor_db if self.shown_floor_db is not None else self.display.auto_floor_db()

    def set_floor(self, floor_db: float | None) -> None:
        """Contrast: the dB shown darkest (None: automatic). Swaps the colour table only."""
        if floor_db is not None and not floor_db < 0:
            raise ValueError(f"the colour scale's floor must be below 0 dB, got {floor_db}")
        self.shown_floor_db = floor_db
        if self.display is None:
            return
        self._lut = self._table()
        for level in self.levels:
            for item in level:
                item.setLookupTable(self._lut)

    def _table(self) -> np.ndarray:
        return colour_table(self.colour_map, data_floor_db=self.display.floor_db, shown_floor_db=self.effective_floor_db())

    def update_level(self, seconds_per_pixel: float) -> None:
        """Show the coarsest level that still has at least one column per screen pixel."""
        if not self.levels or self.display is None:
            return
        frames_per_px = seconds_per_pixel / self.display.hop_s
        level = 0
        while level + 1 < len(self.levels) and frames_per_px >= POOL ** (level + 1):
            level += 1
        if level != self.level:
            for item in self.levels[self.level]:
                item.setVisible(False)
            for item in self.levels[level]:
                item.setVisible(True)
            self.level = level

    def value_at(self, t_s: float, pitch: float) -> float | None:
        """dB at (t_s, pitch), or None outside the image."""
        d = self.display
        if d is None:
            return None
        x0, y0, w, h = d.extent()
        if not (x0 <= t_s < x0 + w and y0 <= pitch < y0 + h):
            return None
        return float(d.db[d.row_of(pitch), d.frame_of(t_s)])
