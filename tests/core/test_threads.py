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
