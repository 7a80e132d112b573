"""Run panel: Separate / Cancel, a progress bar, the live cost plot and whether the stems are up to date."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ...core.display import format_time
from ..document import Document

STAGES = {"analyse": "Analysing the recording", "factorise": "Fitting the notes", "resynthesise": "Building the stems",
          "refine": "Refining on a longer window",
          "done": "Done", "read MIDI": "Reading the MIDI file", "read audio": "Reading the audio"}
STALE_COLOUR = "#D55E00"
FRESH_COLOUR = "#009E73"


class CostPlot(pg.PlotWidget):
    """The model's misfit per pass in dB relative to the first pass (lower is better), live.

    The axes' ranges change only in whole 5 dB steps and at the start of a run, so a live update
    repaints the curve and not the axes (keeps the window responsive while the engine runs).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, background=None)
        self.setMinimumHeight(110)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.enableAutoRange(False)
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setLabel("bottom", "pass")
        self.setLabel("left", "misfit (dB)")
        self.curve = self.plot([], [], pen=pg.mkPen("#56B4E9", width=2), skipFiniteCheck=True)
        self.setToolTip("How far the model is from the recording after each pass, in dB below the first "
                        "pass; the curve flattens when more passes would not help")
        self._costs: list[float] = []
        self._passes = 10
        self._x_max = 10
        self._y_min = -5.0
        self._apply_range()

    def start(self, passes: int) -> None:
        """Clear the plot for a run of at most ``passes`` passes."""
        self._passes = max(int(passes), 1)
        self._x_max = min(self._passes, 20)
        self._y_min = -5.0
        self.set_costs([])
        self._apply_range()

    def set_costs(self, costs) -> None:
        self._costs = [float(c) for c in costs]
        if not self._costs:
            self.curve.setData([], [])
            return
        c = np.maximum(np.asarray(self._costs, dtype=float), 1e-30)
        y = 10.0 * np.log10(c / c[0])
        x_max, y_min = self._x_max, self._y_min
        while len(c) - 1 > x_max:  # the pass axis doubles as the run goes on (few axis redraws)
            x_max = min(2 * x_max, self._passes) if x_max < self._passes else len(c) - 1
        if y.min() < y_min + 0.5:
            y_min = 5.0 * np.floor((y.min() - 0.5) / 5.0)
        if (x_max, y_min) != (self._x_max, self._y_min):
            self._x_max, self._y_min = x_max, y_min
            self._apply_range()
        # The engine computes the cost every few passes and repeats it in between: draw the line
        # through the computed points (where the value changes, and the last pass), not as stairs.
        keep = np.ones(len(c), bool)
        keep[1:-1] = c[1:-1] != c[:-2]
        self.curve.setData(np.flatnonzero(keep).astype(float), y[keep])

    def finish(self) -> None:
        """Fit the x axis to the passes actually made."""
        self._x_max = max(len(self._costs) - 1, 1)
        self._apply_range()

    def _apply_range(self) -> None:
        self.setRange(xRange=(0, self._x_max), yRange=(self._y_min, 0.5), padding=0.02)

    def costs(self) -> list[float]:
        return list(self._costs)


class RunPanel(QWidget):
    """Signals: ``separate_requested()``, ``cancel_requested()``. Fed by the separation task."""

    separate_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self._doc = doc
        self._running = False
        self._iterations = 0
        self.separate_button = QPushButton("Separate")
        self.separate_button.setToolTip("Split the recording into one stem per group, guided by the notes (Ctrl+R)")
        self.separate_button.setMinimumHeight(30)
        font = self.separate_button.font()
        font.setBold(True)
        self.separate_button.setFont(font)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running separation; the previous stems stay (Ctrl+.)")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setToolTip("Progress of the running separation")
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        self.state_label.setToolTip("Whether the stems match the notes as they are now")
        self.plot = CostPlot()
        self.separate_button.clicked.connect(self.separate_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)

        row = QHBoxLayout()
        row.addWidget(self.separate_button, 2)
        row.addWidget(self.cancel_button, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.state_label)
        lay.addWidget(self.plot, 1)
        for sig in (doc.score_changed, doc.result_changed, doc.audio_changed):
            sig.connect(self.update_state)
        self.update_state()

    # ---- fed by the main window ---------------------------------------------------------------
    def run_started(self, iterations: int) -> None:
        self._running = True
        self._iterations = max(iterations, 1)
        self.plot.start(iterations)
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        self.update_state()

    def on_progress(self, p) -> None:
        self.progress.setValue(int(round(1000 * min(max(p.fraction, 0.0), 1.0))))
        text = STAGES.get(p.stage, p.stage)
        if p.stage == "factorise" and p.iteration is not None:
            text += f": pass {p.iteration + 1} of {self._iterations}"
        self.progress.setFormat(f"{text}  ({format_time(p.elapsed_s)})")

    def on_costs(self, costs) -> None:
        self.plot.set_costs(costs)

    def run_ended(self, message: str) -> None:
        self._running = False
        self.progress.setFormat(message)
        result = self._doc.result
        if result is not None and message.startswith("Done"):
            self.plot.set_costs(result.costs)
            self.plot.finish()
            self.progress.setValue(1000)
        self.update_state()

    @property
    def running(self) -> bool:
        return self._running

    def update_state(self) -> None:
        doc = self._doc
        can = doc.audio is not None and len(doc.score) > 0
        self.separate_button.setEnabled(can and not self._running)
        self.cancel_button.setEnabled(self._running)
        if doc.audio is None:
            tip = "Open an audio recording first (File > Open audio)"
        elif len(doc.score) == 0:
            tip = "Import the MIDI file of the piece, or draw notes, first"
        else:
            tip = "Split the recording into one stem per group, guided by the notes (Ctrl+R)"
        self.separate_button.setToolTip(tip)
        if self._running:
            text, colour = "Separating… you can keep editing; the stems will be marked out of date.", None
        elif doc.result is None:
            text, colour = "No stems yet: press Separate.", None
        elif doc.result_is_stale:
            text, colour = ("Stems out of date: the notes changed since they were made. Separate again "
                            "to update them.", STALE_COLOUR)
        else:
            r = doc.result
            text = f"Stems up to date: {len(r.stems) - 1} groups + residual."
            colour = FRESH_COLOUR
        self.state_label.setText(text)
        self.state_label.setStyleSheet(f"color: {colour}; font-weight: bold;" if colour else "")
        self.state_label.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)

    @property
    def stale(self) -> bool:
        return self._doc.result_is_stale
