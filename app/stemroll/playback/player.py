"""The audition player: a pre-rendered buffer, a copy-only audio callback, transport and device health.

See the package docstring (``stemroll.playback``) for the API and its threading rules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from functools import partial
from time import monotonic, sleep

import numpy as np

from . import device as dev
from .engine import Engine, Program
from .mixdown import check_stems, effective_gains, splice_crossfade, upcoming_frames
from .render import RenderJob, RenderWorker

log = logging.getLogger(__name__)

MIN_LATENCY_S = 0.1  # device buffer: rides out GIL pauses of a busy worker; fine for audition
STALL_TIMEOUT_S = 2.0  # no callback for this long while playing = the device is gone
SWAP_HOLD_FRAMES = 4096  # a swapped-in mix repeats the old one this far ahead of the play position...
SWAP_FADE_S = 0.03  # ...then crossfades to the new mix over this long
TAP_S = 6.0  # test hook: seconds of output the tap keeps


class Player:
    """Plays stems mixed with gain/solo/mute through the default (or given) output device.

    Keyword options: ``device`` (PortAudio index or name, None = default output), ``latency_s`` (device
    buffer, default max(0.1 s, the device's high latency)), ``on_stopped(reason)`` called with "end" or
    "error" when playback stops by itself (from an audio or the polling thread, never for pause/stop).
    """

    def __init__(
        self,
        *,
        device: int | str | None = None,
        latency_s: float | None = None,
        on_stopped: Callable[[str], None] | None = None,
        stall_timeout_s: float = STALL_TIMEOUT_S,
    ):
        self.on_stopped = on_stopped
        self.last_error: str | None = None
        self._device = device
        self._latency_s = latency_s
        self._stall_timeout_s = stall_timeout_s
        self._lock = threading.Lock()  # UI thread vs render thread; never taken by the audio callback
        self._worker = RenderWorker(self._on_rendered)
        self._stems: tuple[np.ndarray, ...] = ()
        self._rate = 0
        self._gains = self._solo = self._mute = np.zeros(0)
        self._revision = 0
        self._render_error: str | None = None
        self._job_format: tuple[int, int] | None = None
        self._loop_s: tuple[float, float] | None = None
        self._out_rate = 0
        self._stream = None
        self._stream_format: tuple[int, int] | None = None
        self._playing = False
        self._finished = False
        self._user_stop = False
        self._tap_on = False
        self._rt = Engine()  # everything the audio callback touches

    # ---------------------------------------------------------------- material and mix
    def set_stems(self, stems: Sequence[np.ndarray], sample_rate: int, *, gains=None, solo=None, mute=None) -> None:
        """Play these stems: float32 ``(channels, n_samples)`` each, one shape, at ``sample_rate`` Hz.

        Mix settings default to unity gain, no solo, no mute. Renders in the background; the position
        is kept. Raises ValueError for mismatched or non-finite stems.
        """
        checked = tuple(check_stems(stems))
        if int(sample_rate) != sample_rate or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive whole number of Hz, got {sample_rate}")
        k = len(checked)
        g, s, m = self._settings(k, gains, solo, mute, keep=False)
        self._stems, self._rate = checked, int(sample_rate)
        self._gains, self._solo, self._mute = g, s, m
        self._submit(self._format())

    def set_mixture(self, samples: np.ndarray, sample_rate: int) -> None:
        """Play the plain mixture (one "stem"), as before any separation exists."""
        self.set_stems([samples], sample_rate)

    def set_mix(self, *, gains=None, solo=None, mute=None) -> None:
        """Change per-stem gains (linear), solo and mute flags; None keeps a setting. Mute wins over solo."""
        g, s, m = self._settings(len(self._stems), gains, solo, mute, keep=True)
        if np.array_equal(g, self._gains) and np.array_equal(s, self._solo) and np.array_equal(m, self._mute):
            return
        self._gains, self._solo, self._mute = g, s, m
        if self._stems:
            self._submit(self._format())

    def set_gain(self, index: int, gain: float) -> None:
        g = self._gains.copy()
        g[index] = gain
        self.set_mix(gains=g)

    def set_solo(self, index: int, on: bool = True) -> None:
        s = self._solo.copy()
        s[index] = on
        self.set_mix(solo=s)

    def set_mute(self, index: int, on: bool = True) -> None:
        m = self._mute.copy()
        m[index] = on
        self.set_mix(mute=m)

    @property
    def n_stems(self) -> int:
        return len(self._stems)

    @property
    def gains(self) -> np.ndarray:
        return self._gains.copy()

    @property
    def solo(self) -> np.ndarray:
        return self._solo.copy()

    @property
    def mute(self) -> np.ndarray:
        return self._mute.copy()

    @property
    def mix_buffer(self) -> np.ndarray | None:
        """The buffer being played: read-only float32 ``(n_frames, channels)`` at :attr:`output_rate`."""
        p = self._rt.program
        return None if p is None else p.buffer

    @property
    def output_rate(self) -> int:
        """Sample rate of :attr:`mix_buffer` in Hz (the device's rate when it differs from the source)."""
        return self._out_rate or self._rate

    def wait_rendered(self, timeout_s: float | None = 10.0) -> bool:
        """Block until the latest material/mix change is installed; False on timeout."""
        return self._worker.wait(timeout_s)

    # ---------------------------------------------------------------- transport
    @property
    def duration_s(self) -> float:
        p = self._rt.program
        if p is not None:
            return p.buffer.shape[0] / self.output_rate
        return self._stems[0].shape[1] / self._rate if self._stems else 0.0

    @property
    def position_s(self) -> float:
        """Play position in seconds: frames handed to the device so far (a block ahead of the ear)."""
        self.poll()
        rate = self.output_rate
        return self._rt.current_frame() / rate if rate else 0.0

    @property
    def is_playing(self) -> bool:
        self.poll()
        return self._playing

    @property
    def loop(self) -> tuple[float, float] | None:
        return self._loop_s

    @property
    def underflow_count(self) -> int:
        """Callbacks since play() whose status reported an output underflow (audible gap)."""
        return self._rt.underflows

    def status(self, *, refresh: bool = False) -> dev.PlaybackStatus:
        """Whether the output device works; see :func:`stemroll.playback.playback_status`."""
        return dev.playback_status(self._device, refresh=refresh and self._stream is None)

    def play(self) -> bool:
        """Start (or resume) playback; True if playing. On False, :attr:`last_error` says why."""
        self.poll()
        if self._playing:
            return True
        if not self._stems:
            self.last_error = dev.NOTHING_LOADED
            return False
        status = self.status()
        if not status.available:
            status = self.status(refresh=True)  # a device may have been plugged in since start-up
        if not status.available:
            self.last_error = status.message
            return False
        fmt = dev.output_format(status, self._stems[0].shape[0], self._rate)
        if fmt != self._job_format:
            self._submit(fmt)
        if not self._worker.wait(60.0):
            self.last_error = "Preparing the audio for playback took too long."
            return False
        if self._render_error is not None:
            self.last_error = self._render_error
            return False
        self._reap_stream()
        prog, rt = self._rt.program, self._rt
        if rt.pos >= prog.buffer.shape[0]:
            rt.pos = prog.loop_start if prog.loop_end else 0
        return self._open(status, fmt)

    def pause(self) -> None:
        """Stop output and keep the position."""
        if self._stream is not None:
            self._halt_stream()
        self._playing = False
        self._rt.settle_seek()
        self._rt.ended = False

    def stop(self) -> None:
        """Stop output and go back to the start (to the loop start when a loop is set)."""
        self.pause()
        p = self._rt.program
        self._rt.pos = p.loop_start if p is not None and p.loop_end else 0

    def seek(self, t_s: float) -> None:
        """Move the play position to ``t_s`` seconds (clamped to the material); works while playing."""
        frame = int(round(min(max(float(t_s), 0.0), self.duration_s) * self.output_rate))
        if self._playing and self._stream is not None:
            self._rt.request_seek(frame)  # picked up by the next callback
        else:
            self._rt.pos = frame
            self._rt.ended = False

    def set_loop(self, t0_s: float | None, t1_s: float | None = None) -> None:
        """Loop seamlessly between ``t0_s`` and ``t1_s`` seconds (clamped to the material).

        Playback that crosses ``t1_s`` jumps back to ``t0_s``; a position after ``t1_s`` plays to the end.
        ``set_loop(None)`` is :meth:`clear_loop`. Raises ValueError for an empty range.
        """
        if t0_s is None or t1_s is None:
            self.clear_loop()
            return
        t0, t1 = max(0.0, float(t0_s)), min(float(t1_s), self.duration_s)
        if not t1 - t0 >= 1.0 / max(self.output_rate, 1):
            raise ValueError(f"loop {t0_s:.3f}-{t1_s:.3f} s is empty: the end must come after the start")
        self._loop_s = (t0, t1)
        self._reprogram()

    def clear_loop(self) -> None:
        self._loop_s = None
        self._reprogram()

    def poll(self) -> None:
        """Detect a vanished or silent device; the position/is_playing getters call this (UI timer)."""
        stream = self._stream
        if not self._playing or stream is None or self._finished:
            return
        stalled = monotonic() - self._rt.last_cb > self._stall_timeout_s
        if stalled:  # maybe only starved by this thread holding the GIL: let the callback run first
            sleep(0.05)
            stalled = monotonic() - self._rt.last_cb > self._stall_timeout_s
        if stalled or not (stream.active or self._rt.ended):
            self._fail(dev.DEVICE_STALLED if stalled else dev.DEVICE_LOST)

    def close(self) -> None:
        """Stop and release the device. Call on exit."""
        self.pause()
        self._reap_stream()
        self._worker.wait(10.0)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- test hook
    def enable_tap(self, on: bool = True) -> None:
        """Keep the last ``TAP_S`` seconds sent to the device (from the next play()), for tests."""
        self._tap_on = on
        self._rt.tap = None

    def tapped(self) -> np.ndarray:
        """Copy of the output kept by the tap, oldest first, float32 ``(frames, channels)``."""
        return self._rt.tapped()

    def last_block(self) -> np.ndarray:
        """Copy of the last block written to the device, float32 ``(frames, channels)`` (tap enabled)."""
        out = self._rt.tapped()
        return out[out.shape[0] - min(self._rt.tap_last, out.shape[0]) :]

    # ---------------------------------------------------------------- PortAudio thread
    def _on_finished(self, gen: int) -> None:
        """PortAudio's finished callback (its thread): end of buffer, or the device went away."""
        if gen != self._rt.gen:
            return
        self._finished = True
        if self._user_stop:
            return
        self._playing = False
        ended = self._rt.ended
        if not ended:
            self.last_error = dev.DEVICE_LOST
        self._notify("end" if ended else "error")

    # ---------------------------------------------------------------- internals
    def _settings(self, k, gains, solo, mute, *, keep):
        base = (self._gains, self._solo, self._mute) if keep else (np.ones(k), np.zeros(k, bool), np.zeros(k, bool))
        g = base[0] if gains is None else np.asarray(gains, dtype=np.float64).copy()
        s = base[1] if solo is None else np.asarray(solo, dtype=bool).copy()
        m = base[2] if mute is None else np.asarray(mute, dtype=bool).copy()
        effective_gains(k, gains=g, solo=s, mute=m)  # validates shapes and values
        return g, s, m

    def _format(self) -> tuple[int, int]:
        if self._stream_format is not None:
            return self._stream_format  # the running stream fixes channels and rate
        status = self.status()
        return dev.output_format(status, self._stems[0].shape[0], self._rate)

    def _submit(self, fmt: tuple[int, int]) -> None:
        self._revision += 1
        self._job_format = fmt
        job = RenderJob(self._stems, self._rate, self._gains, self._solo, self._mute, fmt[0], fmt[1], self._revision)
        self._worker.submit(job)

    def _on_rendered(self, job: RenderJob, buf: np.ndarray | None, error: str | None) -> None:
        """Install a rendered buffer (render thread). While playing, splice a crossfade from the old mix
        ahead of the play position so the swap is click-free, then swap with one assignment."""
        if error is not None:
            self._render_error = self.last_error = error[0].upper() + error[1:] + "."
            return
        self._render_error = None
        rt = self._rt
        with self._lock:
            if job.revision != self._revision:
                return  # superseded while rendering
            old = rt.program
            if old is not None and self._out_rate and job.out_rate != self._out_rate and self._stream is None:
                rt.pos = int(round(rt.pos * job.out_rate / self._out_rate))
            if self._playing and old is not None and old.buffer.shape == buf.shape:
                hold = max(SWAP_HOLD_FRAMES, 4 * rt.max_block)
                idx = upcoming_frames(
                    rt.current_frame(),
                    hold + int(SWAP_FADE_S * job.out_rate),
                    n_frames=buf.shape[0],
                    loop=(old.loop_start, old.loop_end) if old.loop_end else None,
                )
                splice_crossfade(buf, old.buffer, idx, hold=hold)
            buf.flags.writeable = False
            self._out_rate = job.out_rate
            rt.program = self._make_program(buf)

    def _make_program(self, buf: np.ndarray) -> Program:
        n = buf.shape[0]
        if self._loop_s is None:
            return Program(buf)
        rate = self.output_rate
        lo = min(int(round(self._loop_s[0] * rate)), n - 1)
        hi = min(int(round(self._loop_s[1] * rate)), n)
        return Program(buf, lo, hi) if hi > lo else Program(buf)

    def _reprogram(self) -> None:
        with self._lock:
            if self._rt.program is not None:
                self._rt.program = self._make_program(self._rt.program.buffer)

    def _open(self, status: dev.PlaybackStatus, fmt: tuple[int, int]) -> bool:
        sd, rt = dev.load_sounddevice(), self._rt
        gen = rt.gen + 1
        self._finished = self._user_stop = False
        if self._tap_on and (rt.tap is None or rt.tap.shape[1] != fmt[0]):
            rt.enable_tap(int(TAP_S * fmt[1]), fmt[0])
        rt.prepare(gen=gen, stop=sd.CallbackStop, abort=sd.CallbackAbort)
        latency = self._latency_s if self._latency_s is not None else max(MIN_LATENCY_S, status.high_latency_s)
        try:
            stream = sd.OutputStream(
                samplerate=fmt[1],
                device=status.device_index,
                channels=fmt[0],
                dtype="float32",
                latency=latency,
                callback=partial(rt.callback, gen),
                finished_callback=partial(self._on_finished, gen),
                dither_off=True,
            )
        except (sd.PortAudioError, ValueError) as e:
            self.last_error = f"The audio output {status.device_name!r} could not be opened ({e})."
            return False
        dev.stream_opened()
        self._stream, self._stream_format = stream, fmt
        rt.last_cb = monotonic()
        self._playing = True
        try:
            stream.start()
        except sd.PortAudioError as e:
            self._playing = False
            self._reap_stream()
            self.last_error = f"The audio output {status.device_name!r} could not be started ({e})."
            return False
        self.last_error = None
        return True

    def _halt_stream(self) -> None:
        """Stop the stream now (user pause/stop). A healthy stream aborts synchronously; a broken one
        is closed on a helper thread, because PortAudio can block on a device that went away."""
        self._user_stop = True
        stream = self._stream
        healthy = self._finished or (stream.active and monotonic() - self._rt.last_cb < self._stall_timeout_s)
        if healthy:
            self._reap_stream()
        else:
            self._abandon_stream()

    def _reap_stream(self) -> None:
        stream, self._stream, self._stream_format = self._stream, None, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            finally:
                dev.stream_closed()

    def _abandon_stream(self) -> None:
        stream, self._stream, self._stream_format = self._stream, None, None
        self._rt.gen += 1  # its callbacks abort themselves; a late finished callback is ignored

        def close() -> None:
            try:
                stream.abort()
                stream.close()
            except Exception:  # the device is gone; nothing left to release
                pass
            finally:
                dev.stream_closed()

        threading.Thread(target=close, name="stemroll-playback-close", daemon=True).start()

    def _fail(self, message: str) -> None:
        self._playing = False
        self.last_error = message
        self._abandon_stream()
        self._notify("error")

    def _notify(self, reason: str) -> None:
        cb = self.on_stopped
        if cb is not None:
            try:
                cb(reason)
            except Exception:
                log.exception("on_stopped(%r) raised", reason)
