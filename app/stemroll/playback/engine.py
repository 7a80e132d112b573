"""The real-time side of the player: what the audio callback reads and writes, and the callback itself.

Threading contract. The callback runs on PortAudio's thread and only copies memory: no buffer
allocation, no locks, no logging, no Qt. Every piece of shared state is a plain attribute written by
one side:

* ``program`` (buffer + loop, immutable) is replaced by the UI or render thread with one reference
  assignment; the callback reads it once per block.
* ``seek_req`` ``(serial, frame)`` is replaced by the UI; the callback applies a new serial once.
* ``pos``, ``ended``, ``underflows``, ``max_block``, ``last_cb`` and the tap are written by the
  callback; the UI writes ``pos`` only while no stream is running.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic

import numpy as np


@dataclass(frozen=True, slots=True)
class Program:
    """What the callback plays: ``buffer`` float32 ``(n_frames, channels)``, C-contiguous, read-only;
    a loop ``[loop_start, loop_end)`` in frames, ``loop_end == 0`` meaning no loop."""

    buffer: np.ndarray
    loop_start: int = 0
    loop_end: int = 0


class _Stop(Exception):
    """Stand-ins until sounddevice's CallbackStop/CallbackAbort are known (tests drive the callback)."""


class Engine:
    """Shared state plus :meth:`callback`. ``gen`` identifies the current stream: a callback for an
    older stream outputs silence and aborts itself."""

    def __init__(self) -> None:
        self.program: Program | None = None
        self.pos = 0
        self.seek_req = (0, 0)
        self.seek_seen = 0
        self.ended = False
        self.underflows = 0
        self.max_block = 0
        self.last_cb = 0.0
        self.gen = 0
        self.callback_stop: type[Exception] = _Stop
        self.callback_abort: type[Exception] = _Stop
        self.tap: np.ndarray | None = None
        self.tap_written = 0
        self.tap_last = 0

    # ---- UI side --------------------------------------------------------------------------------
    def current_frame(self) -> int:
        """Frame the next block starts at (a requested seek counts as done)."""
        req = self.seek_req
        return req[1] if req[0] != self.seek_seen else self.pos

    def request_seek(self, frame: int) -> None:
        """Ask the running callback to continue from ``frame``."""
        self.seek_req = (self.seek_req[0] + 1, frame)

    def settle_seek(self) -> None:
        """After the stream stopped: apply a seek the callback did not pick up."""
        req = self.seek_req
        if req[0] != self.seek_seen:
            self.seek_seen, self.pos = req

    def prepare(self, *, gen: int, stop: type[Exception], abort: type[Exception]) -> None:
        """Reset per-stream state before a stream starts."""
        self.gen = gen
        self.ended = False
        self.underflows = 0
        self.seek_seen = self.seek_req[0]
        self.callback_stop, self.callback_abort = stop, abort
        self.last_cb = monotonic()

    def enable_tap(self, frames: int, channels: int) -> None:
        self.tap = np.zeros((frames, channels), np.float32)
        self.tap_written = self.tap_last = 0

    def tapped(self) -> np.ndarray:
        """Output kept by the tap, oldest first, float32 ``(frames, channels)``."""
        tap, total = self.tap, self.tap_written
        if tap is None:
            return np.zeros((0, 0), np.float32)
        cap = tap.shape[0]
        if total <= cap:
            return tap[:total].copy()
        w = total % cap
        return np.concatenate([tap[w:], tap[:w]])

    # ---- audio thread ---------------------------------------------------------------------------
    def callback(self, gen: int, outdata: np.ndarray, frames: int, time_info, status) -> None:
        """Fill ``outdata`` float32 ``(frames, channels)`` from the program, wrapping at the loop end;
        at the end of the buffer pad with silence, set ``ended`` and raise CallbackStop."""
        if gen != self.gen:
            outdata.fill(0.0)
            raise self.callback_abort
        self.last_cb = monotonic()
        if status and status.output_underflow:
            self.underflows += 1
        if frames > self.max_block:
            self.max_block = frames
        prog = self.program
        req = self.seek_req
        if req[0] != self.seek_seen:
            self.seek_seen = req[0]
            pos = req[1]
        else:
            pos = self.pos
        buf = prog.buffer
        n = buf.shape[0]
        lo, hi = prog.loop_start, prog.loop_end
        done = 0
        while done < frames:
            wrap = pos < hi
            limit = hi if wrap else n
            k = min(limit - pos, frames - done)
            if k > 0:
                outdata[done : done + k] = buf[pos : pos + k]
                done += k
                pos += k
            if pos >= limit:
                if wrap:
                    pos = lo
                    continue
                outdata[done:] = 0.0
                self.pos = n
                self.ended = True
                self._tap_copy(outdata, frames)
                raise self.callback_stop
        self.pos = pos
        self._tap_copy(outdata, frames)

    def _tap_copy(self, outdata: np.ndarray, frames: int) -> None:
        tap = self.tap
        if tap is not None and frames <= tap.shape[0]:
            cap = tap.shape[0]
            w = self.tap_written % cap
            k = min(frames, cap - w)
            tap[w : w + k] = outdata[:k]
            if k < frames:
                tap[: frames - k] = outdata[k:frames]
            self.tap_written += frames
            self.tap_last = frames
