"""Run the core's generators on a QThread, with cooperative cancel and throttled progress.

A generator (``stemroll.core.separation.separate_steps``, ``ui.jobs.load_steps``...) yields
``Progress`` values and returns a result. ``BackgroundTask.start(make_gen)`` builds the generator
inside a worker thread and drives it; between two steps the worker checks a ``threading.Event``, so
``cancel()`` takes effect at the next step however busy the loop is (a queued call would never
arrive). Only signals cross threads, and what reaches the screen is throttled to about 30 Hz.

On close: ``shutdown()`` cancels, quits and waits for the thread (destroying a running QThread
aborts the process).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Generator

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

FRAME_S = 1.0 / 30.0


class _Worker(QObject):
    """Lives in the worker thread; drives one generator to its end, to an error or to a cancel."""

    progress = Signal(object)  # the latest Progress
    costs_updated = Signal(object)  # list[float]: every cost reported so far
    finished = Signal(object)  # the generator's return value
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, make_gen: Callable[[], Generator], cancel_event: threading.Event, interval_s: float):
        super().__init__()
        self._make_gen = make_gen
        self._cancel = cancel_event
        self._interval_s = interval_s

    @Slot()
    def run(self) -> None:
        costs: list[float] = []
        last_emit = -1.0
        last_stage = None
        pending = None
        gen = None
        try:
            gen = self._make_gen()
            while True:
                if self._cancel.is_set():
                    gen.close()
                    self.cancelled.emit()
                    return
                try:
                    step = next(gen)
                except StopIteration as stop:
                    if pending is not None:
                        self.progress.emit(pending)
                    if costs:
                        self.costs_updated.emit(list(costs))
                    self.finished.emit(stop.value)
                    return
                cost = getattr(step, "cost", None)
                # The live curve is the factorisation's cost; the refinement fits another model.
                if cost is not None and getattr(step, "stage", "factorise") == "factorise":
                    costs.append(float(cost))
                pending = step
                now = time.monotonic()
                stage = getattr(step, "stage", None)
                if now - last_emit >= self._interval_s or stage != last_stage:
                    self.progress.emit(step)
                    if costs:
                        self.costs_updated.emit(list(costs))
                    pending = None
                    last_emit = now
                    last_stage = stage
        except Exception as e:  # noqa: BLE001 - every failure reaches the user as one line
            self.failed.emit(_plain(e))
        finally:
            self._make_gen = None
            # Push this object back to the GUI thread so it can be deleted there once the thread ends.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())


def _plain(e: Exception) -> str:
    from ..io.errors import InputError

    if isinstance(e, InputError):
        return str(e)
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class BackgroundTask(QObject):
    """One background job at a time. Signals are delivered in the GUI thread.

    ``progress(object)``, ``costs_updated(object)``, ``finished(object)``, ``failed(str)``,
    ``cancelled()``, and ``running_changed(bool)``.
    """

    progress = Signal(object)
    costs_updated = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    running_changed = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None, *, interval_s: float = FRAME_S):
        super().__init__(parent)
        self._name = name
        self._interval_s = interval_s
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._cancel: threading.Event | None = None
        self.tag = None  # anything the starter wants to remember about the job (e.g. a score revision)

    def is_running(self) -> bool:
        return self._worker is not None

    def start(self, make_gen: Callable[[], Generator], *, tag=None) -> None:
        """Run ``make_gen()`` (called in the worker thread) to completion in the background."""
        if self.is_running():
            raise RuntimeError(f"{self._name} is already running")
        self.tag = tag
        self._cancel = threading.Event()
        thread = QThread(self)
        thread.setObjectName(self._name)
        worker = _Worker(make_gen, self._cancel, self._interval_s)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.costs_updated.connect(self._on_costs_updated)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._thread, self._worker = thread, worker
        thread.start()
        self.running_changed.emit(True)

    def cancel(self) -> None:
        """Ask the job to stop at its next step; ``cancelled`` follows (or ``finished`` if it was done)."""
        if self._cancel is not None:
            self._cancel.set()

    def shutdown(self) -> None:
        """Cancel and wait for the thread to end (call before the window goes away)."""
        self.cancel()
        thread = self._thread
        if thread is not None:
            thread.quit()
            thread.wait()
        self._release()

    # ---- slots: run in the GUI thread ------------------------------------------------------
    def _current(self) -> bool:
        return self._worker is not None and self.sender() is self._worker

    @Slot(object)
    def _on_progress(self, step) -> None:
        if self._current():
            self.progress.emit(step)

    @Slot(object)
    def _on_costs_updated(self, costs) -> None:
        if self._current():
            self.costs_updated.emit(costs)

    @Slot(object)
    def _on_finished(self, value) -> None:
        if self._current():
            self._release()
            self.finished.emit(value)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._current():
            self._release()
            self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        if self._current():
            self._release()
            self.cancelled.emit()

    def _release(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        self._cancel = None
        if thread is not None:
            thread.quit()
            thread.wait()
            worker.deleteLater()
            thread.deleteLater()
            self.running_changed.emit(False)
