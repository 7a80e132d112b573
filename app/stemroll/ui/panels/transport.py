"""Transport: play / pause / stop, the time, loop and follow; drives ``stemroll.playback.Player``.

Before a separation the player plays the recording; afterwards it plays the stems mixed with the
groups panel's solo and mute. While playing, the position is polled at about 30 Hz and re-emitted
as ``position_changed(float)`` for the canvas playhead. Without an output device the transport is
disabled and says why in plain words; everything else keeps working.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QToolButton, QWidget

from ...core.display import format_time
from ..document import Document
from ..icons import transport_icon

POLL_MS = 33


def default_player(on_stopped):
    """(player, None) when audio output works here, else (None, the reason in plain words)."""
    from ...playback import Player, playback_status

    status = playback_status()
    if not status.available:
        return None, status.message
    return Player(on_stopped=on_stopped), None


class TransportPanel(QWidget):
    """Signals: ``position_changed(float)`` seconds, ``playing_changed(bool)``, ``message(str)``
    (something the user should read, e.g. why playback stopped)."""

    position_changed = Signal(float)
    playing_changed = Signal(bool)
    message = Signal(str)
    _player_stopped = Signal(str)  # emitted from PortAudio's thread, delivered in the GUI thread

    def __init__(self, doc: Document, parent: QWidget | None = None, *, make_player=default_player):
        super().__init__(parent)
        self._doc = doc
        self._player_stopped.connect(self._on_player_stopped)
        self._player, self.reason = make_player(self._player_stopped.emit)
        self._position_s = 0.0
        self._start_s = 0.0
        self._loop = (0.0, 0.0)
        self._solo: set[int] = set()
        self._mute: set[int] = set()
        self._playing = False
        self._icons = {False: transport_icon("play"), True: transport_icon("pause")}
        self.home_button = self._button("home", "Go to the start (Home)", self.go_home)
        self.play_button = self._button("play", "Play or pause (Space)", self.toggle_play)
        self.stop_button = self._button("stop", "Stop and go back to where playing started", self.stop)
        self.time_label = QLabel()
        self.time_label.setToolTip("Playhead position / length of the recording")
        self.time_label.setMinimumWidth(110)
        self.loop_check = QCheckBox("Loop")
        self.loop_check.setToolTip("Repeat the loop range (drag in the time ruler above the spectrogram to set it)")
        self.loop_check.toggled.connect(self._apply_loop)
        self.follow_check = QCheckBox("Follow")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Turn the page to keep the playhead in sight while playing")
        self.source_label = QLabel()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        for w in (self.home_button, self.play_button, self.stop_button, self.time_label, self.loop_check,
                  self.follow_check, self.source_label):
            lay.addWidget(w)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        doc.audio_changed.connect(self._reload)
        doc.result_changed.connect(self._reload)
        self._reload()

    def _button(self, icon: str, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setIcon(transport_icon(icon))
        b.setAutoRaise(True)
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    # ---- state ----------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self._player is not None

    @property
    def player(self):
        return self._player

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def follow(self) -> bool:
        """Whether the canvas should turn pages to keep the playhead in sight."""
        return self._playing and self.follow_check.isChecked()

    @property
    def position_s(self) -> float:
        return self._position_s

    def _duration_s(self) -> float:
        a = self._doc.audio
        return a.duration_s if a is not None else 0.0

    def stem_ids(self) -> list[int]:
        """Group id of each stem the player mixes (the residual is -1); empty before a separation."""
        r = self._doc.result
        return [s.group_id for s in r.stems] if r is not None else []

    def mix_flags(self) -> tuple[np.ndarray, np.ndarray]:
        """(solo, mute) bool arrays, one entry per stem, from the groups' solo and mute."""
        ids = self.stem_ids()
        return (np.array([g in self._solo for g in ids], dtype=bool),
                np.array([g in self._mute for g in ids], dtype=bool))

    def gains(self) -> list[float]:
        """What each stem contributes (1 or 0): mute wins over solo; with any solo only soloed stems sound."""
        solo, mute = self.mix_flags()
        return [0.0 if m or (solo.any() and not s) else 1.0 for s, m in zip(solo, mute)]

    # ---- commands -------------------------------------------------------------------------------
    @Slot()
    def toggle_play(self) -> None:
        if not self.available or self._doc.audio is None:
            return
        if self._playing:
            self._player.pause()
            self._set_playing(False)
            return
        self._start_s = self._position_s
        if self._player.play():
            self._set_playing(True)
        else:
            self.message.emit(self._player.last_error or "Playback could not start.")

    @Slot()
    def stop(self) -> None:
        if self.available:
            self._player.stop()
        self._set_playing(False)
        self.seek(self._start_s)

    @Slot()
    def go_home(self) -> None:
        self._start_s = 0.0
        self.seek(0.0)

    @Slot()
    def go_end(self) -> None:
        self.seek(self._duration_s())

    @Slot(float)
    def seek(self, t_s: float) -> None:
        t_s = min(max(0.0, float(t_s)), self._duration_s())
        if self.available:
            self._player.seek(t_s)
        if not self._playing:
            self._start_s = t_s
        self._set_position(t_s)

    @Slot(float, float)
    def set_loop(self, a_s: float, b_s: float) -> None:
        """The canvas's loop range in seconds; (0, 0) clears it."""
        self._loop = (min(a_s, b_s), max(a_s, b_s))
        has = self._loop[1] > self._loop[0]
        if has != self.loop_check.isChecked():
            self.loop_check.setChecked(has)
        else:
            self._apply_loop()

    def set_solo_mute(self, soloed: set[int], muted: set[int]) -> None:
        self._solo, self._mute = set(soloed), set(muted)
        if self.available and self._doc.result is not None:
            solo, mute = self.mix_flags()
            self._player.set_mix(solo=solo, mute=mute)

    def shutdown(self) -> None:
        self.timer.stop()
        self._playing = False
        if self._player is not None:
            self._player.close()

    # ---- internals ------------------------------------------------------------------------------
    def _apply_loop(self, *_args) -> None:
        if not self.available:
            return
        a, b = self._loop
        try:
            if self.loop_check.isChecked() and b > a:
                self._player.set_loop(a, b)
            else:
                self._player.clear_loop()
        except ValueError:
            self._player.clear_loop()

    def _reload(self) -> None:
        doc = self._doc
        if self.available:
            if doc.result is not None:
                solo, mute = self.mix_flags()
                self._player.set_stems([s.audio for s in doc.result.stems], doc.result.sample_rate,
                                       solo=solo, mute=mute)
            elif doc.audio is not None:
                self._player.set_mixture(doc.audio.samples, doc.audio.sample_rate)
            else:
                self._player.stop()
                self._set_playing(False)
            self._apply_loop()
        if doc.result is not None:
            self.source_label.setText("Hearing: stems")
            self.source_label.setToolTip("You hear the separated stems; solo and mute them in the groups panel")
        elif doc.audio is not None:
            self.source_label.setText("Hearing: recording")
            self.source_label.setToolTip("You hear the recording; after Separate you hear the stems")
        else:
            self.source_label.setText("")
        self._set_position(min(self._position_s, self._duration_s()))
        self._update_enabled()

    def _update_enabled(self) -> None:
        ok = self.available and self._doc.audio is not None
        for w in (self.play_button, self.stop_button, self.home_button, self.loop_check):
            w.setEnabled(ok)
        if not self.available:
            self.source_label.setText("No audio output")
            self.source_label.setToolTip(self.reason or "Playback is not available")
            for w in (self.play_button, self.stop_button, self.home_button):
                w.setToolTip(self.reason or "Playback is not available")

    def _set_playing(self, on: bool) -> None:
        if on == self._playing:
            return
        self._playing = on
        self.play_button.setIcon(self._icons[on])
        self.timer.start() if on else self.timer.stop()
        self.playing_changed.emit(on)

    def _set_position(self, t_s: float) -> None:
        self._position_s = t_s
        self.time_label.setText(f"{format_time(t_s)} / {format_time(self._duration_s())}")
        self.position_changed.emit(t_s)

    @Slot()
    def _poll(self) -> None:
        if not self.available:
            return
        playing = self._player.is_playing
        self._set_position(float(self._player.position_s))
        if not playing:
            self._set_playing(False)

    @Slot(str)
    def _on_player_stopped(self, reason: str) -> None:
        if self.available:
            self._set_position(float(self._player.position_s))
        self._set_playing(False)
        if reason == "error":
            self.message.emit(self._player.last_error or "Playback stopped.")
