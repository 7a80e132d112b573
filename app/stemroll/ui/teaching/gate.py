"""The pace of a lesson's run: set from the GUI thread, obeyed by the worker between iterations."""

from __future__ import annotations

import math
import threading
import time


class Gate:
    """The pace of a run, set from the GUI thread, obeyed by the worker between iterations.

    ``run()`` lets iterations follow each other (``delay_s`` apart: slow motion); ``pause()``
    stops before the next one; ``step()`` grants exactly one more; ``cancel()`` ends the run.
    ``show`` names the engine whose matrices are drawn.
    """

    def __init__(self, *, running: bool = False, delay_s: float = 0.0, show: str | None = None):
        self._cond = threading.Condition()
        self._free = running
        self._credits = 0
        self._delay_s = float(delay_s)
        self._cancelled = False
        self._last_end = -math.inf
        self._show = show
        self._show_changed = False

    # ---- GUI side -------------------------------------------------------------------------
    def run(self) -> None:
        with self._cond:
            self._free = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._free, self._credits = False, 0
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        with self._cond:
            self._free = False
            self._credits += int(n)
            self._cond.notify_all()

    def set_delay(self, delay_s: float) -> None:
        with self._cond:
            self._delay_s = max(0.0, float(delay_s))
            self._cond.notify_all()

    def set_show(self, engine: str) -> None:
        with self._cond:
            if engine != self._show:
                self._show, self._show_changed = engine, True
                self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    # ---- worker side ------------------------------------------------------------------------
    @property
    def show(self) -> str | None:
        return self._show

    @property
    def delay_s(self) -> float:
        return self._delay_s

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def will_wait(self) -> bool:
        """True when the next iteration needs another click (paused, or stepping)."""
        with self._cond:
            return not self._free and self._credits == 0

    def acquire(self) -> bool | str:
        """Block until the next iteration may start: True; False when cancelled; 'show' when the
        shown engine changed (draw it, then ask again)."""
        with self._cond:
            while True:
                if self._cancelled:
                    return False
                if self._show_changed:
                    self._show_changed = False
                    return "show"
                if self._free:
                    wait = self._last_end + self._delay_s - time.monotonic()
                    if wait <= 0:
                        return True
                    self._cond.wait(wait)
                elif self._credits > 0:
                    self._credits -= 1
                    return True
                else:
                    self._cond.wait(0.5)

    def mark(self) -> None:
        """An iteration (and its drawing) ended: slow motion counts its delay from here."""
        with self._cond:
            self._last_end = time.monotonic()
