"""Rendering the playback buffer off the audio callback: stems + mix settings -> device-format frames.

:func:`render` is pure (numpy/scipy). :class:`RenderWorker` runs renders on one background thread and
coalesces requests, so a burst of solo/mute clicks costs one render of the latest state. NumPy releases
the GIL while it mixes, so the audio callback keeps running during a render.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from math import gcd

import numpy as np

from .mixdown import channel_matrix, mix_stems, to_frames


@dataclass(frozen=True, eq=False)
class RenderJob:
    """Everything one render needs. ``stems``: float32 ``(channels, n_samples)`` each, at ``sample_rate``
    Hz; ``gains`` float64, ``solo``/``mute`` bool, all ``(n_stems,)``; output ``out_channels`` at
    ``out_rate`` Hz. ``revision`` grows with every request."""

    stems: tuple[np.ndarray, ...]
    sample_rate: int
    gains: np.ndarray
    solo: np.ndarray
    mute: np.ndarray
    out_channels: int
    out_rate: int
    revision: int


def render(job: RenderJob) -> np.ndarray:
    """Mix, resample if the device rate differs, map channels, clip to [-1, 1].

    Returns a C-contiguous float32 frame-major buffer ``(n_frames, out_channels)`` with
    ``n_frames = ceil(n_samples * out_rate / sample_rate)``.
    """
    n_in, n = job.stems[0].shape
    settings = dict(gains=job.gains, solo=job.solo, mute=job.mute)
    if n_in == job.out_channels and job.out_rate == job.sample_rate:
        buf = np.empty((n, n_in), np.float32)
        mix_stems(job.stems, **settings, out=buf.T)
    else:
        mix = mix_stems(job.stems, **settings)
        if job.out_rate != job.sample_rate:
            from scipy.signal import resample_poly

            g = gcd(job.out_rate, job.sample_rate)
            mix = resample_poly(mix, job.out_rate // g, job.sample_rate // g, axis=1).astype(np.float32)
        buf = to_frames(mix, channel_matrix(n_in, job.out_channels))
    np.clip(buf, -1.0, 1.0, out=buf)
    return buf


class RenderWorker:
    """One background thread that renders the latest submitted job and hands the result to ``on_done``.

    ``on_done(job, buffer, error)`` runs on the worker thread; ``error`` is a plain message or None.
    The thread exists only while there is work, so an idle player holds no thread.
    """

    def __init__(self, on_done: Callable[[RenderJob, np.ndarray | None, str | None], None]):
        self._on_done = on_done
        self._cond = threading.Condition()
        self._pending: RenderJob | None = None
        self._thread: threading.Thread | None = None
        self._requested = 0
        self._done = 0

    def submit(self, job: RenderJob) -> None:
        with self._cond:
            self._pending = job
            self._requested = max(self._requested, job.revision)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stemroll-playback-render", daemon=True)
                self._thread.start()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until every submitted job is rendered (or superseded); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._done >= self._requested, timeout_s)

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._done < self._requested

    def _run(self) -> None:
        while True:
            with self._cond:
                job, self._pending = self._pending, None
                if job is None:
                    self._thread = None
                    self._cond.notify_all()
                    return
            buf, error = None, None
            try:
                buf = render(job)
            except MemoryError:
                error = "there is not enough memory to prepare the audio for playback"
            except Exception as e:  # keep the worker alive; the player shows the message
                error = f"preparing the audio for playback failed ({e})"
            try:
                self._on_done(job, buf, error)
            finally:
                with self._cond:
                    self._done = max(self._done, job.revision)
                    self._cond.notify_all()
