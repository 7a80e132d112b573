"""The spectrogram as uint8 image tiles with a 256-entry colour table (pyqtgraph's fast path).

Tiles of at most ``TILE_FRAMES`` columns keep every image far below the 32,767 columns at which
``ImageItem.setImage`` would switch automatic downsampling on (blurry, ~80 ms per zoom step), and
let Qt skip the tiles outside the view. Each tile is placed so that frame ``k`` is centred at
``k * hop_s`` seconds and row ``r`` at MIDI pitch ``pitch_lo + r / rows_per_semitone``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ...core.display import DisplaySpectrogram

TILE_FRAMES = 4096
COLOUR_MAP = "magma"


def colour_table(name: str = COLOUR_MAP) -> np.ndarray:
    """uint8 (256, 3) lookup table of a perceptually uniform pyqtgraph colour map."""
    return pg.colormap.get(name).getLookupTable(0.0, 1.0, nPts=256, alpha=False)


class SpectrogramLayer:
    """Owns the image tiles shown in one ViewBox."""

    def __init__(self, view: pg.ViewBox, *, colour_map: str = COLOUR_MAP):
        self._view = view
        self._lut = colour_table(colour_map)
        self.tiles: list[pg.ImageItem] = []
        self.display: DisplaySpectrogram | None = None

    def set_display(self, disp: DisplaySpectrogram | None) -> None:
        for item in self.tiles:
            self._view.removeItem(item)
        self.tiles = []
        self.display = disp
        if disp is None or disp.n_frames == 0:
            return
        img = disp.to_uint8()
        x0, y0, _, height = disp.extent()
        for f0 in range(0, disp.n_frames, TILE_FRAMES):
            part = np.ascontiguousarray(img[:, f0: f0 + TILE_FRAMES])
            item = pg.ImageItem(axisOrder="row-major")
            item.setImage(part, autoLevels=False, levels=(0, 255), lut=self._lut, autoDownsample=False)
            item.setRect(QRectF(x0 + f0 * disp.hop_s, y0, part.shape[1] * disp.hop_s, height))
            item.setZValue(-20)
            self._view.addItem(item, ignoreBounds=True)
            self.tiles.append(item)

    def value_at(self, t_s: float, pitch: float) -> float | None:
        """dB at (t_s, pitch), or None outside the image."""
        d = self.display
        if d is None:
            return None
        x0, y0, w, h = d.extent()
        if not (x0 <= t_s < x0 + w and y0 <= pitch < y0 + h):
            return None
        return float(d.db[d.row_of(pitch), d.frame_of(t_s)])
