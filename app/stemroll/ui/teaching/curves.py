"""The loss curves of one or more engines: the same loss, against iteration or against engine time.

The y axis is logarithmic (log10 of the loss plotted, the loss itself labelled), with the real values (not normalised: NMF and NAE minimise the same
divergence of the same V, so their numbers compare directly). Few points are drawn as dots, so a
single step shows as one new dot.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

from .axes import tick_font
from .readout import scientific
from .runner import ENGINE_COLOURS, ENGINES, LOSS_NAMES

DOTS_BELOW = 80  # curves with fewer points show each point


class LogLossAxis(pg.AxisItem):
    """y = log10(loss), labelled with the loss itself: the finest of decades, 1-2-5 or every digit
    whose labels stay apart (plain nice steps when the view spans less than a factor of two)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        if not (np.isfinite(minVal) and np.isfinite(maxVal)) or maxVal <= minVal or size <= 0:
            return []
        gap_px = 1.6 * QFontMetricsF(tick_font(self)).height()
        px_per_unit = size / (maxVal - minVal)
        lo, hi = 10.0 ** minVal, 10.0 ** maxVal
        decades = range(int(np.floor(minVal)), int(np.ceil(maxVal)) + 1)
        best = None
        for mults in ((1,), (1, 2, 5), tuple(range(1, 10))):
            ys = np.log10([m * 10.0 ** e for e in decades for m in mults if lo <= m * 10.0 ** e <= hi])
            if len(ys) and (len(ys) < 2 or np.diff(ys).min() * px_per_unit >= gap_px):
                best = ys
        if best is not None and len(best) >= 2:
            return [(1.0, [float(v) for v in best])]
        n = max(2, int(size / gap_px))
        step = 10.0 ** np.floor(np.log10((hi - lo) / n))
        step *= next(m for m in (1, 2, 5, 10) if (hi - lo) / (step * m) <= n)
        vals = np.arange(np.ceil(lo / step) * step, hi + 0.5 * step, step)
        return [(1.0, [float(np.log10(v)) for v in vals if v > 0])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            text = scientific(10.0 ** v, 3, trim=True)
            out.append(text[4:] if text.startswith("1 × 10") else text)  # 1 × 10⁵ -> 10⁵
        return out


class StepAxis(pg.AxisItem):
    """The x axis: whole iterations (no 0.5 iteration ticks), or seconds."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.integer = True

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802
        levels = super().tickSpacing(minVal, maxVal, size)
        if not self.integer:
            return levels
        kept = [(sp, off) for sp, off in levels if sp >= 1]
        return kept or [(1.0, 0.0)]


class CurvesPlot(pg.PlotWidget):
    """``set_curves(costs, times)`` with dicts engine -> sequence; ``set_x_mode('iteration' | 'time')``."""

    def __init__(self, parent=None):
        super().__init__(parent, background="#16181b", axisItems={"left": LogLossAxis("left"),
                                                                  "bottom": StepAxis("bottom")})
        self.setMenuEnabled(False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.25)
        self.placeholder = pg.TextItem("The loss appears here: one point per iteration (Step or Run)",
                                       color="#9aa0a6", anchor=(0.5, 0.5))
        self.placeholder.setPos(0.5, 0.5)
        self.addItem(self.placeholder, ignoreBounds=True)
        self.legend = self.addLegend(offset=(-10, 10), labelTextColor="#e6e6e6", brush="#16181bcc")
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.costs: dict[str, list[float]] = {}
        self.times: dict[str, list[float]] = {}
        self.x_mode = "iteration"
        self.divergence = "kl"
        self._labels()

    def set_divergence(self, divergence: str) -> None:
        self.divergence = divergence
        self._labels()

    def set_x_mode(self, mode: str) -> None:
        if mode not in ("iteration", "time"):
            raise ValueError(f"x mode must be 'iteration' or 'time', got '{mode}'")
        self.x_mode = mode
        self.getAxis("bottom").integer = mode == "iteration"
        self._labels()
        self._redraw()
        self.enableAutoRange()

    def _labels(self) -> None:
        self.getPlotItem().setTitle(f"approximation loss: {LOSS_NAMES.get(self.divergence, 'loss')}",
                                    color="#f0f0f0", **({} if self.getPlotItem().titleLabel.opts.get("size")
                                                        else {"size": "12pt"}))
        self.setLabel("left", "loss (log scale)")
        self.setLabel("bottom", "iteration" if self.x_mode == "iteration" else
                      "engine time (s): computing only, pauses and drawing left out")

    def clear_curves(self) -> None:
        for item in self.curves.values():
            self.removeItem(item)
        self.legend.clear()
        self.curves, self.costs, self.times = {}, {}, {}
        self.placeholder.setVisible(True)
        self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
        self.enableAutoRange()

    def set_curves(self, costs: dict, times: dict) -> None:
        for name, c in costs.items():
            self.costs[name] = [float(v) for v in c]
            self.times[name] = [float(v) for v in times.get(name, ())]
            if name not in self.curves:
                colour = ENGINE_COLOURS.get(name, "#e6e6e6")
                self.curves[name] = self.plot([], [], name=ENGINES.get(name, name), pen=pg.mkPen(colour, width=2.5),
                                              symbolBrush=colour, symbolPen=None, symbolSize=7)
        self._redraw()

    def _redraw(self) -> None:
        self.placeholder.setVisible(not any(self.costs.values()))
        dots = max((len(c) for c in self.costs.values()), default=0) < DOTS_BELOW
        for name, item in self.curves.items():
            y = np.log10(np.maximum(np.asarray(self.costs.get(name, ()), dtype=float), 1e-30))
            if self.x_mode == "time":
                x = np.asarray(self.times.get(name, ()), dtype=float)[: len(y)]
                y = y[: len(x)]
            else:
                x = np.arange(len(y), dtype=float)
            item.setSymbol("o" if dots else None)
            item.setData(x, y)

    def as_rows(self) -> list[tuple[str, int, float, float]]:
        """(engine, iteration, loss, engine time s) for every point, engines in plotting order."""
        rows = []
        for name in self.curves:
            c, t = self.costs.get(name, []), self.times.get(name, [])
            for i, v in enumerate(c):
                rows.append((name, i, v, t[i] if i < len(t) else float("nan")))
        return rows
