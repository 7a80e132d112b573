"""Thread budgets: the worker's BLAS limit is applied and lifted."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info

from stemroll.core.threads import available_cores, default_engine_threads, engine_threads


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_engine_threads_limits_blas_inside_and_restores_after():
    with engine_threads(1) as n:
        assert n == 1
        inside = _blas_threads()
        assert inside and all(t == 1 for t in inside)  # scipy's BLAS was loaded first, so it is limited too
    assert len(_blas_threads()) >= len(inside)


def test_default_threads_leave_a_core_for_the_ui():
    cores = available_cores()
    assert default_engine_threads() == max(1, cores - 1)
    assert default_engine_threads(interactive=False) == cores
    with pytest.raises(ValueError, match="n_blas"):
        with engine_threads(0):
            pass


def test_engine_on_a_worker_thread_leaves_the_main_thread_responsive():
    """The kernels release the GIL: a main-thread ticker keeps running while the worker factorises."""
    import threading
    import time

    import numpy as np

    from stemroll.core.nmf import nmf_steps, run
    from stemroll.core.nmf_blocks import load_kernels

    load_kernels()  # compiled (or loaded) before the clock starts
    rng = np.random.default_rng(0)
    F, N, K = 513, 3000, 40
    W0 = rng.random((F, K), dtype=np.float32)
    H0 = rng.random((K, N), dtype=np.float32) * (rng.random((K, N)) < 0.2)
    V = rng.random((F, N), dtype=np.float32)
    done = threading.Event()

    def worker():
        with engine_threads(1):
            run(nmf_steps(V, W0, H0, iterations=30, n_threads=1))
        done.set()

    t = threading.Thread(target=worker)
    gaps = []
    last = time.perf_counter()
    t.start()
    while not done.is_set():
        time.sleep(0.002)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    t.join()
    assert len(gaps) > 20
    assert np.median(gaps) < 0.02 and max(gaps) < 0.3, f"main thread starved: max gap {max(gaps):.3f} s"
