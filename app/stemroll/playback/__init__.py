"""Audition: stems mixed with gain/solo/mute into a pre-rendered buffer, played through PortAudio. Qt-free.

Usage from the editor (all calls from the GUI thread)::

    from stemroll.playback import Player, playback_status

    status = playback_status()            # never raises; status.available, status.message (plain words)
    player = Player(on_stopped=handler)   # handler(reason), reason "end" or "error"; see threads below
    player.set_mixture(audio.samples, audio.sample_rate)   # before separation: float32 (channels, n)
    player.set_stems(stems, sr)           # after separation: list of float32 (channels, n), one shape
    player.set_solo(1) / set_mute(2, False) / set_gain(0, 0.5) / set_mix(gains=, solo=, mute=)
    ok = player.play()                    # False -> player.last_error says why (no device, ...)
    player.pause(); player.stop(); player.seek(12.5)
    player.set_loop(4.0, 8.0); player.clear_loop()
    # QTimer at ~30 Hz:
    playhead_x = player.position_s        # seconds; also checks the device is still alive
    playing = player.is_playing
    player.close()                        # on exit

Behaviour:

* The mix is rendered off the audio thread (a background render thread, coalescing bursts of
  changes); the audio callback only copies slices of the ready buffer and picks up a new one by a
  single reference assignment. A mix change while playing is spliced in ~0.1 s ahead of the play
  position with a 30 ms crossfade, so it is click-free. ``wait_rendered()`` blocks until the latest
  change is installed (tests; ``play()`` calls it itself).
* Mute wins over solo; if any stem is soloed only soloed stems sound. Gains are linear factors.
* ``position_s`` counts frames handed to the device, so it advances at the device's real-time pace
  and holds still while paused. The end of the buffer stops playback (``on_stopped("end")``), and the
  next ``play()`` starts from the beginning. ``stop()`` returns to the start, or to the loop start.
* Loops wrap inside the callback without a gap; playback that is past the loop end plays to the end.
* The device is the default output (or ``Player(device=...)``), opened on ``play()`` with two
  channels for mono/stereo material (mono is duplicated, wider material folded down to what the
  device has), at the material's rate or, if the device refuses it, the device's rate (resampled).
  ``blocksize`` is left to the host (JACK uses its period) and the device buffer is at least 0.1 s,
  which rides out the short GIL pauses of a busy worker; NumPy releases the GIL while it computes.
* A device that stops (unplugged, finished early, or silent for 2 s) ends playback, sets
  ``last_error`` to a plain message and calls ``on_stopped("error")``.

Threads: ``on_stopped`` runs on PortAudio's thread for the end of the buffer and for a device
error reported by PortAudio, or inside ``position_s``/``is_playing`` when the polling notices a dead
device. A Qt caller should emit a signal from it (queued to the GUI thread) and do nothing else.

Diagnostics: ``underflow_count`` (callbacks since ``play()`` that reported an output underflow),
``mix_buffer`` (the read-only frame-major buffer being played, at ``output_rate`` Hz), and a test
tap (``enable_tap()``, then ``tapped()`` / ``last_block()``: copies of what reached the device).

``sounddevice`` is imported lazily: without the PortAudio library, ``playback_status()`` says so and
``play()`` returns False; everything else in Stemroll keeps working.
"""

from .device import PlaybackStatus, playback_status, refresh_devices
from .mixdown import effective_gains, mix_stems
from .player import Player

__all__ = ["Player", "PlaybackStatus", "playback_status", "refresh_devices", "mix_stems", "effective_gains"]
