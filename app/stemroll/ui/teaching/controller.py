"""Drives one lesson run at a time on a worker thread (``ui.workers.BackgroundTask``) through a ``Gate``.

A run is *armed* as soon as the window shows a problem: the worker prepares it (STFT and
constraints), reports it, and waits before the first iteration. Run, Pause, Step and the
slow-motion delay only move the gate; Reset cancels and arms a fresh run. A finished run's worker
waits too, so that the matrices of either engine of a comparison can be drawn afterwards. Cancel is cooperative:
the gate wakes the worker at once, the task's event stops it at its next report.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from ..workers import BackgroundTask
from .render import Prepared
from .runner import Frame, Gate, RunOptions, RunSummary, teaching_steps

STATES = ("idle", "preparing", "ready", "running", "paused", "finished", "failed")


class RunController(QObject):
    """Signals: ``prepared(object)`` (``render.Prepared``), ``frame(object)`` (``runner.Frame``),
    ``finished(object)`` (``runner.RunSummary``), ``failed(str)``, ``state_changed(str)``."""

    prepared = Signal(object)
    frame = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    state_changed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.task = BackgroundTask("teaching", self, interval_s=0.0)  # the runner paces its own reports
        self.task.progress.connect(self._on_progress)
        self.task.finished.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(self._on_cancelled)
        self.gate: Gate | None = None
        self.options: RunOptions | None = None
        self.state = "idle"
        self.iterations_done = 0
        self.delay_s = 0.0
        self.show = None

    # ---- commands -------------------------------------------------------------------------------
    def arm(self, excerpt, options: RunOptions, *, start: str | None = None) -> None:
        """Cancel any run and prepare ``excerpt`` for ``options``; ``start``: None (wait),
        'run' or 'step' (one iteration)."""
        self.stop()
        self.options = options
        if self.show not in options.engines:
            self.show = options.engines[0]
        gate = Gate(running=start == "run", delay_s=self.delay_s, show=self.show)
        if start == "step":
            gate.step()
        self.gate = gate
        self.iterations_done = 0
        self.task.start(lambda: teaching_steps(excerpt, options, gate))
        self._set_state("preparing")
        self._pending_state = {"run": "running", "step": "paused", None: "ready"}[start]

    def run(self) -> None:
        if self.gate is not None and self.state in ("preparing", "ready", "paused", "running"):
            self.gate.run()
            self._pending_state = "running"
            if self.state != "preparing":
                self._set_state("running")

    def pause(self) -> None:
        if self.gate is not None and self.state in ("preparing", "running"):
            self.gate.pause()
            self._pending_state = "paused"
            if self.state != "preparing":
                self._set_state("paused")

    def step(self) -> None:
        if self.gate is not None and self.state in ("preparing", "ready", "paused", "running"):
            self.gate.step()
            self._pending_state = "paused"
            if self.state != "preparing":
                self._set_state("paused")

    def set_delay(self, delay_s: float) -> None:
        self.delay_s = max(0.0, float(delay_s))
        if self.gate is not None:
            self.gate.set_delay(self.delay_s)

    def set_show(self, engine: str) -> None:
        self.show = engine
        if self.gate is not None:
            self.gate.set_show(engine)

    def stop(self) -> None:
        """Cancel the run and wait for the worker (blocks for at most one iteration)."""
        if self.gate is not None:
            self.gate.cancel()
        self.task.shutdown()
        self.gate = None
        if self.state not in ("idle", "failed"):
            self._set_state("idle")

    def shutdown(self) -> None:
        """Before the window goes away."""
        self.stop()

    def is_running(self) -> bool:
        return self.task.is_running()

    # ---- reports ------------------------------------------------------------------------------------
    @Slot(object)
    def _on_progress(self, item) -> None:
        if isinstance(item, Prepared):
            self._set_state(self._pending_state)
            self.prepared.emit(item)
        elif isinstance(item, Frame):
            self.iterations_done = max((len(c) for c in item.costs.values()), default=0)
            self.frame.emit(item)
        elif isinstance(item, RunSummary):  # the worker stays, to draw another engine's result
            self._set_state("finished")
            self.finished.emit(item)

    @Slot(object)
    def _on_finished(self, _summary) -> None:
        self.gate = None
        self._set_state("idle")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.gate = None
        self._set_state("failed")
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.gate = None
        self._set_state("idle")

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
