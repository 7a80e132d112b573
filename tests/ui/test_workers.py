"""BackgroundTask: results, errors, throttling, cooperative cancel and shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from stemroll.core.separation import Progress
from stemroll.ui.workers import BackgroundTask


def _steps(n: int, sleep_s: float, seen_threads: list | None = None):
    if seen_threads is not None:
        seen_threads.append(threading.get_ident())
    for i in range(n):
        time.sleep(sleep_s)
        yield Progress("factorise", (i + 1) / n, i, float(n - i))
    return "done"


def test_result_arrives_in_gui_thread_with_all_costs(qtbot):
    task = BackgroundTask("test")
    threads: list = []
    got = {}
    task.costs_updated.connect(lambda c: got.__setitem__("costs", c))
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        task.start(lambda: _steps(200, 0.0005, threads))
    assert blocker.args == ["done"]
    assert threads and threads[0] != threading.get_ident()
    assert got["costs"] == [float(200 - i) for i in range(200)]
    assert not task.is_running()


def test_progress_is_throttled(qtbot):
    task = BackgroundTask("test")
    count = []
    task.progress.connect(lambda p: count.append(p))
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start(lambda: _steps(2000, 0.0001))
    assert 1 <= len(count) < 200
    assert count[-1].iteration == 1999


def test_failure_is_one_line(qtbot):
    def bad():
        yield Progress("analyse", 0.0)
        raise ValueError("the score has no notes\nsecond line")

    task = BackgroundTask("test")
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        task.start(bad)
    assert blocker.args == ["ValueError: the score has no notes"]


def test_cancel_stops_at_next_step(qtbot):
    task = BackgroundTask("test")
    started = threading.Event()

    def slow():
        started.set()
        for i in range(10_000):
            time.sleep(0.01)
            yield Progress("factorise", i / 10_000, i, 1.0)

    task.start(slow)
    assert started.wait(2)
    t0 = time.monotonic()
    with qtbot.waitSignal(task.cancelled, timeout=2000):
        task.cancel()
    assert time.monotonic() - t0 < 1.0
    assert not task.is_running()
    # The task can be reused at once.
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start(lambda: _steps(3, 0.0))


def test_shutdown_while_running_waits_for_the_thread(qtbot):
    task = BackgroundTask("test")
    task.start(lambda: _steps(100_000, 0.01))
    qtbot.wait(50)
    t0 = time.monotonic()
    task.shutdown()
    assert time.monotonic() - t0 < 1.0
    assert not task.is_running()


def test_start_twice_is_refused(qtbot):
    task = BackgroundTask("test")
    task.start(lambda: _steps(1000, 0.01))
    with pytest.raises(RuntimeError, match="already running"):
        task.start(lambda: _steps(1, 0.0))
    task.shutdown()
