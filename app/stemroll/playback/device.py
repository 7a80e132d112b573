"""The sound device seen through sounddevice/PortAudio: lazy import, availability in plain words, formats.

``import sounddevice`` raises OSError when the PortAudio library is missing, so nothing here imports it
at module level: :func:`load_sounddevice` does, once, and every failure becomes a message a user can
act on. PortAudio lists devices only when it initialises; :func:`refresh_devices` re-scans (for a device
plugged in after start-up) when no stream is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

NO_PORTAUDIO = "The PortAudio library is missing: install the Debian package libportaudio2."
NO_DEVICE = "No audio output device was found, so playback is off. Everything else works."
DEVICE_LOST = "The audio output device stopped (was it unplugged or taken by another program?), so playback stopped."
DEVICE_STALLED = "The audio output device stopped responding, so playback stopped."
NOTHING_LOADED = "There is nothing to play yet: open an audio file first."

_sd: ModuleType | None = None
_import_error: str | None = None
_open_streams = 0  # streams opened by players and not closed yet; refresh_devices() waits for zero


def load_sounddevice() -> ModuleType | None:
    """The sounddevice module, or None when PortAudio cannot be loaded (see :func:`playback_status`)."""
    global _sd, _import_error
    if _sd is None and _import_error is None:
        try:
            import sounddevice
        except OSError as e:  # PortAudio library not found
            _import_error = str(e)
        else:
            _sd = sounddevice
    return _sd


@dataclass(frozen=True)
class PlaybackStatus:
    """Whether audio output works. ``message`` is empty when available, plain words otherwise."""

    available: bool
    message: str = ""
    device_index: int | None = None
    device_name: str = ""
    max_channels: int = 0
    default_rate: int = 0
    high_latency_s: float = 0.0

    @property
    def state(self) -> str:
        return "available" if self.available else "unavailable"


def playback_status(device: int | str | None = None, *, refresh: bool = False) -> PlaybackStatus:
    """Resolve ``device`` (None: the default output) and say whether playback can work.

    ``refresh=True`` re-scans devices first (only when no stream is open). Never raises.
    """
    sd = load_sounddevice()
    if sd is None:
        return PlaybackStatus(False, NO_PORTAUDIO)
    if refresh:
        refresh_devices()
    try:
        if device is None:
            index = sd.default.device[1]
            if index is None or index < 0:
                outputs = [d for d in sd.query_devices() if d["max_output_channels"] > 0]
                if not outputs:
                    return PlaybackStatus(False, NO_DEVICE)
                index = outputs[0]["index"]
        else:
            index = sd.query_devices(device, kind="output")["index"] if isinstance(device, str) else device
        info = sd.query_devices(index)
    except (sd.PortAudioError, ValueError, TypeError):
        return PlaybackStatus(False, NO_DEVICE)
    if info["max_output_channels"] < 1:
        return PlaybackStatus(False, NO_DEVICE)
    return PlaybackStatus(
        True,
        "",
        int(index),
        str(info["name"]),
        int(info["max_output_channels"]),
        int(round(info["default_samplerate"])),
        float(info["default_high_output_latency"]),
    )


def refresh_devices() -> bool:
    """Re-initialise PortAudio so it lists devices again; False (nothing done) while a stream is open."""
    sd = load_sounddevice()
    if sd is None or _open_streams > 0:
        return False
    sd._terminate()
    sd._initialize()
    return True


def output_format(status: PlaybackStatus, channels: int, sample_rate: int) -> tuple[int, int]:
    """Device ``(channels, sample_rate)`` to render a ``channels``-channel source for.

    Mono and stereo sources play on two outputs where the device has them; wider sources keep their
    width up to what the device has. The source rate is kept when the device accepts it, otherwise the
    device's default rate (the player resamples).
    """
    if not status.available:
        return channels, sample_rate
    n_out = max(1, min(max(channels, 2), status.max_channels))
    sd = load_sounddevice()
    try:
        sd.check_output_settings(device=status.device_index, channels=n_out, dtype="float32", samplerate=sample_rate)
        return n_out, sample_rate
    except (sd.PortAudioError, ValueError):
        return n_out, status.default_rate or sample_rate


def stream_opened() -> None:
    global _open_streams
    _open_streams += 1


def stream_closed() -> None:
    global _open_streams
    _open_streams = max(0, _open_streams - 1)
