"""Thread budgets for the engine, so a worker does not starve the UI thread or the audio callback.

On a machine with few cores, BLAS threads that spin while waiting steal the core the UI and the
sound card need, and two-thread BLAS slows down badly when another process holds a core. The
engine's own compiled passes run on plain threads (``nmf_steps(n_threads=...)``); BLAS is
limited with threadpoolctl. scipy's BLAS is loaded first, or threadpoolctl would not see it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_engine_threads(*, interactive: bool = True) -> int:
    """Threads for the engine: every core but one when ``interactive`` (UI and audio keep a core)."""
    cores = available_cores()
    return max(1, cores - 1) if interactive else cores


@contextmanager
def engine_threads(n_blas: int = 1) -> Iterator[int]:
    """Limit BLAS (and OpenMP) pools to ``n_blas`` threads while the block runs; yields the limit.

    The limit is process-wide (threadpoolctl sets the libraries' global pools), so wrap the
    worker's whole run, not each step. One BLAS thread is right for the block engine, whose
    products are small; the dense reference engine may want more.
    """
    if n_blas < 1:
        raise ValueError(f"n_blas must be >= 1, got {n_blas}")
    import scipy.linalg.cython_blas  # noqa: F401  load scipy's BLAS so the limit reaches it too
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n_blas, user_api="blas"), threadpool_limits(limits=n_blas, user_api="openmp"):
        yield n_blas


_blas_controller = None


def one_blas_thread():
    """Context: BLAS limited to one thread around one computation (never across a ``yield``).

    The engines' block products are small: a second BLAS thread gains nothing and, when another
    process holds a core, makes them 5-20x slower. The limit is process-wide, so hold it only
    while a pass runs. Without threadpoolctl it does nothing.
    """
    global _blas_controller
    try:
        if _blas_controller is None:
            from threadpoolctl import ThreadpoolController

            _blas_controller = ThreadpoolController()
        return _blas_controller.limit(limits=1, user_api="blas")
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
