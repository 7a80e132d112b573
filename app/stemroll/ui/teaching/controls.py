"""The lesson's controls: what to factorise (engine, comparison, loss, iterations, excerpt) and how
fast (Run, Pause, Step, Reset, slow-motion delay), which matrices to show, the loss curve's x axis.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QSpinBox, QVBoxLayout, QWidget)

from .problem import DEFAULT_EXCERPT_S
from .runner import ENGINES, RunOptions

EXCERPTS = {"first": f"First {DEFAULT_EXCERPT_S:g} s", "visible": "Visible in the editor", "loop": "Editor loop",
            "whole": "Whole piece", "custom": "Custom"}
MAX_DELAY_MS = 1000


def _combo(items: dict, tip: str) -> QComboBox:
    box = QComboBox()
    for key, text in items.items():
        box.addItem(text, key)
    box.setToolTip(tip)
    return box


class ControlBar(QWidget):
    """Signals: ``setup_changed()`` (anything that needs a new run), ``run_clicked()``,
    ``pause_clicked()``, ``step_clicked()``, ``reset_clicked()``, ``delay_changed(float)`` (seconds),
    ``show_changed(str)`` (engine key), ``x_mode_changed(str)`` ('iteration' | 'time'),
    ``excerpt_chosen(str)`` (a key of ``EXCERPTS``)."""

    setup_changed = Signal()
    run_clicked = Signal()
    pause_clicked = Signal()
    step_clicked = Signal()
    reset_clicked = Signal()
    delay_changed = Signal(float)
    show_changed = Signal(str)
    x_mode_changed = Signal(str)
    excerpt_chosen = Signal(str)

    def __init__(self, *, has_editor: bool, iterations: int = 100, divergence: str = "kl", parent=None):
        super().__init__(parent)
        self.engine = _combo(ENGINES, "The engine: NMF (multiplicative updates of W and H) or the nonnegative "
                             "autoencoder NAE (H = encoder × V, masked by the score)")
        self.compare = QCheckBox("Compare with")
        self.compare.setToolTip("Run a second engine on the same excerpt and constraints, in lock-step; "
                                "both loss curves share one plot")
        self.other = _combo(ENGINES, "The engine to compare with")
        self.other.setCurrentIndex(1)
        self.divergence = _combo({"kl": "KL divergence", "euclidean": "Euclidean"},
                                 "The loss both engines minimise: generalised Kullback-Leibler divergence "
                                 "or half the squared Euclidean distance")
        self.divergence.setCurrentIndex(max(0, self.divergence.findData(divergence)))
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 5000)
        self.iterations.setValue(iterations)
        self.iterations.setKeyboardTracking(False)
        self.iterations.setToolTip("At most this many iterations (an engine stops earlier when its loss settles)")
        self.excerpt = _combo({k: v for k, v in EXCERPTS.items()
                               if has_editor or k not in ("visible", "loop")},
                              "Which part of the piece to factorise: keep it short (seconds) so the views stay live")
        self.t0 = self._seconds("Start of the excerpt in the piece")
        self.t1 = self._seconds("End of the excerpt in the piece")
        self.t1.setValue(DEFAULT_EXCERPT_S)

        self.run = self._button("Run", "Iterate continuously (Space toggles Run / Pause)", bold=True)
        self.pause = self._button("Pause", "Stop before the next iteration (Space)")
        self.step = self._button("Step", "Exactly one iteration per click (→)")
        self.reset = self._button("Reset", "Back to the start: W0 and H0 from the score (R)")
        self.delay = QSlider(Qt.Orientation.Horizontal)
        self.delay.setRange(0, MAX_DELAY_MS)
        self.delay.setSingleStep(10)
        self.delay.setPageStep(100)
        self.delay.setMinimumWidth(140)
        self.delay.setToolTip("Slow motion: pause between iterations, 0 to 1 s")
        self.delay_label = QLabel()
        self.show_engine = _combo({"nmf": "NMF"}, "Whose W, H and W H the matrices show during a comparison")
        self.show_engine.setEnabled(False)
        self.x_mode = _combo({"iteration": "iteration", "time": "engine time"},
                             "Plot the loss against the iteration or against the engine's computing time")

        self.setup_widgets = []
        row1 = QHBoxLayout()
        for w in (QLabel("Engine"), self.engine, self.compare, self.other, QLabel("Loss"), self.divergence,
                  QLabel("Iterations"), self.iterations, QLabel("Excerpt"), self.excerpt, self.t0, QLabel("to"),
                  self.t1):
            row1.addWidget(w)
            self.setup_widgets.append(w)
        row1.addStretch(1)
        row2 = QHBoxLayout()
        for w in (self.run, self.pause, self.step, self.reset, QLabel("  Slow motion"), self.delay,
                  self.delay_label, QLabel("  Matrices of"), self.show_engine, QLabel("  Loss against"), self.x_mode):
            row2.addWidget(w)
        row2.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 2)
        lay.addLayout(row1)
        lay.addLayout(row2)

        for box in (self.engine, self.other, self.divergence):
            box.currentIndexChanged.connect(self._on_setup)
        self.compare.toggled.connect(self._on_setup)
        self.iterations.valueChanged.connect(self._on_setup)
        self.t0.valueChanged.connect(self._on_times_edited)
        self.t1.valueChanged.connect(self._on_times_edited)
        self.excerpt.currentIndexChanged.connect(lambda _i: self.excerpt_chosen.emit(self.excerpt.currentData()))
        self.run.clicked.connect(self.run_clicked)
        self.pause.clicked.connect(self.pause_clicked)
        self.step.clicked.connect(self.step_clicked)
        self.reset.clicked.connect(self.reset_clicked)
        self.delay.valueChanged.connect(self._on_delay)
        self.show_engine.currentIndexChanged.connect(
            lambda _i: self.show_changed.emit(self.show_engine.currentData() or ""))
        self.x_mode.currentIndexChanged.connect(lambda _i: self.x_mode_changed.emit(self.x_mode.currentData()))
        self._on_delay(0)
        self._fill_show()

    def _seconds(self, tip: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(0.0, 36000.0)
        s.setDecimals(1)
        s.setSingleStep(1.0)
        s.setSuffix(" s")
        s.setKeyboardTracking(False)
        s.setToolTip(tip)
        return s

    def _button(self, text: str, tip: str, *, bold: bool = False) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.setMinimumWidth(72)
        if bold:
            f = QFont()
            f.setBold(True)
            b.setFont(f)
        return b

    def set_compact(self, on: bool) -> None:
        """Hide the setup row (engine, loss, iterations, excerpt), e.g. in presentation mode."""
        for w in self.setup_widgets:
            w.setVisible(not on)

    # ---- reading ----------------------------------------------------------------------------------
    def options(self, *, tol: float) -> RunOptions:
        engines = [self.engine.currentData()]
        if self.compare.isChecked() and self.other.currentData() not in engines:
            engines.append(self.other.currentData())
        return RunOptions(tuple(engines), self.divergence.currentData(), self.iterations.value(), tol)

    def time_range(self) -> tuple[float, float]:
        return float(self.t0.value()), float(self.t1.value())

    def set_time_range(self, t0_s: float, t1_s: float, *, key: str) -> None:
        """Show an excerpt chosen from ``EXCERPTS`` without it counting as a custom edit."""
        for w, v in ((self.t0, t0_s), (self.t1, t1_s)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        i = self.excerpt.findData(key)
        if i >= 0 and i != self.excerpt.currentIndex():
            self.excerpt.blockSignals(True)
            self.excerpt.setCurrentIndex(i)
            self.excerpt.blockSignals(False)
        self.setup_changed.emit()

    def set_state(self, state: str) -> None:
        """Enable the buttons that make sense in a controller state (see ``controller.STATES``)."""
        live = state in ("preparing", "ready", "running", "paused")
        self.pause.setEnabled(state in ("preparing", "running"))
        self.run.setEnabled(state != "running")
        self.step.setEnabled(True)
        self.reset.setEnabled(live or state in ("finished", "failed"))
        self.run.setText("Run" if state != "paused" else "Resume")

    # ---- slots ---------------------------------------------------------------------------------------
    def _on_setup(self, *_args) -> None:
        self.other.setEnabled(self.compare.isChecked())
        self._fill_show()
        self.setup_changed.emit()

    def _on_times_edited(self, *_args) -> None:
        i = self.excerpt.findData("custom")
        self.excerpt.blockSignals(True)
        self.excerpt.setCurrentIndex(i)
        self.excerpt.blockSignals(False)
        self.setup_changed.emit()

    def _on_delay(self, ms: int) -> None:
        self.delay_label.setText(f"{ms:4d} ms")
        self.delay_changed.emit(ms / 1000.0)

    def _fill_show(self) -> None:
        engines = self.options(tol=0.0).engines
        current = self.show_engine.currentData()
        self.show_engine.blockSignals(True)
        self.show_engine.clear()
        for e in engines:
            self.show_engine.addItem(ENGINES[e], e)
        self.show_engine.setCurrentIndex(max(0, self.show_engine.findData(current)))
        self.show_engine.blockSignals(False)
        self.show_engine.setEnabled(len(engines) > 1)
        self.show_changed.emit(self.show_engine.currentData())
