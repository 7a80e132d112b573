"""The four matrices of V ≈ W H, drawn as in a textbook figure.

    (groups)      H · activations   (numbers)
    W · templates W H · model       V · recording   dB

W shares the pitch axis with the model and the recording; H shares the time axis (seconds of the
piece) with them and can follow the editor's time axis. V and W H use the same dB scale (relative
to V's loudest cell, its dark end set so that V's median cell sits a quarter up); W (per column)
and H use their own, with exact zeros (the score's hard constraints) in black.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal

from ...core.display import format_time
from ...core.units import midi_to_hz, note_name
from ..canvas.axes import TimeAxis
from ..canvas.spectrogram_item import colour_table
from .axes import ComponentAxis, PitchAxis
from .render import FACTOR_FLOOR_DB, SPEC_FLOOR_DB, Layout, Matrices, Prepared

BACKGROUND = "#16181b"
SPEC_MAP = "magma"
FACTOR_MAP = "viridis"
TITLE_PT = 12


def factor_table() -> np.ndarray:
    """uint8 (256, 3): index 0 black (exact zero), 1..255 viridis."""
    lut = colour_table(FACTOR_MAP)
    lut[0] = 0
    return lut


class MatrixViews(pg.GraphicsLayoutWidget):
    """Signals: ``hovered(str)``: a plain-words readout of the value under the pointer."""

    hovered = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.layout_: Layout | None = None
        self.prepared: Prepared | None = None
        self.matrices: Matrices | None = None
        self.colours: tuple[str, ...] = ()
        spec_lut, fac_lut = colour_table(SPEC_MAP), factor_table()
        ci = self.ci
        ci.layout.setHorizontalSpacing(6)
        ci.layout.setVerticalSpacing(16)
        ci.setContentsMargins(4, 4, 4, 4)

        self.legend = ci.addLabel("", row=0, col=0, justify="left")
        self.H_plot = ci.addPlot(row=0, col=1, axisItems={"left": ComponentAxis("left"), "top": TimeAxis("top")})
        self.readout = ci.addLabel("", row=0, col=2, justify="left")
        self.W_plot = ci.addPlot(row=1, col=0, axisItems={"left": PitchAxis("left", mode="note"),
                                                          "bottom": ComponentAxis("bottom")})
        self.WH_plot = ci.addPlot(row=1, col=1, axisItems={"bottom": TimeAxis(),
                                                           "left": PitchAxis("left", mode="note")})
        self.V_plot = ci.addPlot(row=1, col=2, axisItems={"bottom": TimeAxis(),
                                                          "right": PitchAxis("right", mode="hz")})
        self.spec_bar = pg.ColorBarItem(values=(SPEC_FLOOR_DB, 0.0), colorMap=pg.colormap.get(SPEC_MAP),
                                        interactive=False, width=14, label="dB (V, W H)")
        self.factor_bar = pg.ColorBarItem(values=(FACTOR_FLOOR_DB, 0.0), colorMap=pg.colormap.get(FACTOR_MAP),
                                          interactive=False, width=14, label="dB below peak (W, H)")
        ci.addItem(self.factor_bar, row=0, col=3)
        ci.addItem(self.spec_bar, row=1, col=3)

        titles = {self.W_plot: "W · templates", self.H_plot: "H · activations", self.WH_plot: "W H · model",
                  self.V_plot: "V · recording"}
        for plot, title in titles.items():
            plot.setTitle(title, size=f"{TITLE_PT}pt", color="#f0f0f0")
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.getViewBox().setDefaultPadding(0.0)
        self.H_plot.showAxis("top")
        self.H_plot.hideAxis("bottom")
        self.H_plot.getViewBox().invertY(True)
        self.V_plot.hideAxis("left")
        self.V_plot.showAxis("right")
        self.W_plot.setLabel("left", "pitch (log frequency)")
        self.V_plot.setLabel("right", "frequency (Hz)")
        for plot in (self.WH_plot, self.V_plot):
            plot.setLabel("bottom", "time (m:ss)")
        self.WH_plot.setXLink(self.H_plot)
        self.V_plot.setXLink(self.H_plot)
        self.WH_plot.setYLink(self.W_plot)
        self.V_plot.setYLink(self.W_plot)
        for plot in (self.W_plot, self.H_plot):
            plot.getViewBox().setMouseEnabled(x=plot is self.H_plot, y=plot is self.W_plot)

        self.images = {}
        for name, plot, lut in (("W", self.W_plot, fac_lut), ("H", self.H_plot, fac_lut),
                                ("WH", self.WH_plot, spec_lut), ("V", self.V_plot, spec_lut)):
            item = pg.ImageItem(axisOrder="row-major")
            item.setLookupTable(lut)
            plot.addItem(item)
            self.images[name] = item
        lay = ci.layout
        for col, stretch in ((0, 2), (1, 5), (2, 5), (3, 0)):
            lay.setColumnStretchFactor(col, stretch)
        lay.setRowStretchFactor(0, 2)
        lay.setRowStretchFactor(1, 3)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def sync_axes(self) -> None:
        """Give W H and V the margins of H and W, so that their views line up with H (in time)
        and W (in pitch) edge to edge. Call after fonts change."""
        self.WH_plot.getAxis("left").setWidth(int(self.H_plot.getAxis("left").fixedWidth))
        h = int(self.W_plot.getAxis("bottom").fixedHeight)
        for plot in (self.WH_plot, self.V_plot):
            plot.getAxis("bottom").setHeight(h)

    @property
    def time_view(self) -> pg.ViewBox:
        """The view whose x axis is time (the others follow it)."""
        return self.H_plot.getViewBox()

    # ---- data ---------------------------------------------------------------------------------
    def set_prepared(self, prep: Prepared, colours, *, fit_time: bool = True) -> None:
        """Show a new problem: V, the start W0 / H0, component marks in ``colours`` (one per component)."""
        self.prepared, self.layout_ = prep, prep.layout
        L = prep.layout
        lut = colour_table(SPEC_MAP, data_floor_db=SPEC_FLOOR_DB, shown_floor_db=prep.shown_floor_db)
        for name in ("V", "WH"):
            self.images[name].setLookupTable(lut)
        self.spec_bar.setLevels((prep.shown_floor_db, 0.0))
        self.colours = tuple(colours)
        for plot, orient in ((self.H_plot, "left"), (self.W_plot, "bottom")):
            plot.getAxis(orient).set_components(L.labels, self.colours, L.kinds)
        self.sync_axes()
        time_rect = QRectF(L.t0_s - 0.5 * L.hop_s, 0, L.n_frames * L.hop_s, 1)
        rh = 1.0 / L.rows_per_semitone
        pitch_y0, pitch_h = L.pitch_lo - 0.5 * rh, L.n_rows * rh
        self._put("V", prep.V_img, QRectF(time_rect.x(), pitch_y0, time_rect.width(), pitch_h))
        self.set_matrices(prep.start)
        self.W_plot.setRange(xRange=(-0.5, max(L.K, 1) - 0.5), yRange=(pitch_y0, pitch_y0 + pitch_h), padding=0)
        self.H_plot.setRange(yRange=(-0.5, max(L.K, 1) - 0.5), padding=0)
        if fit_time:
            self.H_plot.setRange(xRange=(time_rect.left(), time_rect.right()), padding=0)

    def set_matrices(self, m: Matrices) -> None:
        L = self.layout_
        if L is None:
            return
        self.matrices = m
        rh = 1.0 / L.rows_per_semitone
        x0, w = L.t0_s - 0.5 * L.hop_s, L.n_frames * L.hop_s
        y0, h = L.pitch_lo - 0.5 * rh, L.n_rows * rh
        self._put("W", m.W_img, QRectF(-0.5, y0, max(L.K, 1), h))
        self._put("H", m.H_img, QRectF(x0, -0.5, w, max(L.K, 1)))
        self._put("WH", m.WH_img, QRectF(x0, y0, w, h))

    def _put(self, name: str, img: np.ndarray, rect: QRectF) -> None:
        item = self.images[name]
        if img.size == 0:
            item.clear()
            return
        item.setImage(np.ascontiguousarray(img), autoLevels=False, levels=(0, 255), autoDownsample=False)
        item.setRect(rect)

    def set_legend(self, html: str) -> None:
        self.legend.setText(html)

    def set_readout(self, html: str) -> None:
        self.readout.setText(html)

    # ---- hover readout --------------------------------------------------------------------------
    def _on_mouse_moved(self, pos) -> None:
        text = self.describe(pos)
        if text:
            self.hovered.emit(text)

    def describe(self, scene_pos) -> str:
        """The value under ``scene_pos`` in plain words, or ''."""
        L, m, prep = self.layout_, self.matrices, self.prepared
        if L is None or m is None:
            return ""
        for plot in (self.W_plot, self.H_plot, self.WH_plot, self.V_plot):
            vb = plot.getViewBox()
            if not vb.sceneBoundingRect().contains(scene_pos):
                continue
            pt = vb.mapSceneToView(QPointF(scene_pos))
            x, y = float(pt.x()), float(pt.y())
            j = int(np.rint((x - L.t0_s) / L.hop_s))
            r = int(np.rint((y - L.pitch_lo) * L.rows_per_semitone))
            k = int(np.rint(x if plot is self.W_plot else y))
            where = f"{note_name(int(round(y)))} ({float(midi_to_hz(y)):.0f} Hz)"
            if plot is self.W_plot and 0 <= k < L.K and 0 <= r < L.n_rows:
                b = int(np.clip(np.rint(float(midi_to_hz(y)) * L.n_fft / L.sample_rate), 0, L.n_bins - 1))
                return f"W[{where}, {self._comp(k)}] = {m.W[b, k]:.4g}"
            if plot is self.H_plot and 0 <= k < L.K and 0 <= j < L.n_frames:
                return f"H[{self._comp(k)}, {format_time(x, decimals=2)}] = {m.H[k, j]:.4g}"
            if 0 <= j < L.n_frames and 0 <= r < L.n_rows:
                t = format_time(x, decimals=2)
                return (f"{where} at {t}:  V {prep.V_db[r, j]:.1f} dB,  W H {m.WH_db[r, j]:.1f} dB  "
                        f"(0 dB = loudest cell of V)")
        return ""

    def _comp(self, k: int) -> str:
        L = self.layout_
        g = L.group_ids[k]
        return f"{L.labels[k]} of {L.group_names.get(g, 'residual')}"
