"""Transport: play / pause / stop, the time, loop and follow; drives ``stemroll.playback.Player``.

Before a separation the player plays the recording; afterwards it plays the stems mixed with the
groups panel's solo and mute. The play position is polled at about 30 Hz and re-emitted as
``position_changed(float)`` for the canvas playhead. Without an output device the transport is
disabled with the reason, and everything else keeps working.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

from ...core.constraints import RESIDUAL_GROUP
from ...core.display import format_time
from ..document import Document

POLL_MS = 33


def make_player():
    """A Player, or (None, reason) when audio output is not possible here."""
    try:
        from ...playback import Player
    except Exception as e:  # noqa: BLE001 - PortAudio missing raises OSError on import
        return None, f"Playback is not available ({e})"
    try:
        player = Player()
    except Exception as e:  # noqa: BLE001
        return None, f"Playback is not available ({e})"
    reason = player_problem(player)
    return player, reason


def player_problem(player) -> str | None:
    status = getattr(player, "status", None)
    status = status() if callable(status) else status
    if status is None:
        return None
    ok = getattr(status, "ok", getattr(status, "available", True))
    return None if ok else str(getattr(status, "reason", "") or "no audio output device")


class TransportPanel(QWidget):
    """Signals: ``position_changed(float)`` seconds, ``playing_changed(bool)``."""

    position_changed = Signal(float)
    playing_changed = Signal(bool)

    def __init__(self, doc: Document, parent: QWidget | None = None, *, player=None, reason: str | None = None):
        super().__init__(parent)
        self._doc = doc
        if player is None and reason is None:
            player, reason = make_player()
        self._player = player
        self.reason = reason
        self._position_s = 0.0
        self._start_s = 0.0
        self._loop = (0.0, 0.0)
        self._solo: set[int] = set()
        self._mute: set[int] = set()
        self._playing = False
        st = self.style()
        self.play_button = QToolButton()
        self.play_button.setIcon(st.standardIcon(QStyle.SP_MediaPlay))
        self.play_button.setToolTip("Play or pause (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button = QToolButton()
        self.stop_button.setIcon(st.standardIcon(QStyle.SP_MediaStop))
        self.stop_button.setToolTip("Stop and go back to where playing started")
        self.stop_button.clicked.connect(self.stop)
        self.home_button = QToolButton()
        self.home_button.setIcon(st.standardIcon(QStyle.SP_MediaSkipBackward))
        self.home_button.setToolTip("Go to the start (Home)")
        self.home_button.clicked.connect(self.go_home)
        self.time_label = QLabel()
        self.time_label.setToolTip("Playhead position / length of the recording")
        self.time_label.setMinimumWidth(120)
        self.loop_check = QCheckBox("Loop")
        self.loop_check.setToolTip("Repeat the loop range (drag in the time ruler to set it)")
        self.loop_check.toggled.connect(self._apply_loop)
        self.follow_check = QCheckBox("Follow")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Scroll the view to keep the playhead in sight while playing")
        self.source_label = QLabel()
        self.source_label.setToolTip("What you hear: the recording, or the stems with solo and mute")
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

    # ---- state ----------------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self._player is not None and self.reason is None

    @property
    def playing(self) -> bool:
        return self._playing and self.follow_check.isChecked()

    @property
    def position_s(self) -> float:
        return self._position_s

    def _duration_s(self) -> float:
        a = self._doc.audio
        return a.duration_s if a is not None else 0.0

    def _sources(self):
        """(names, group ids, arrays float32 (channels, n)) the player should mix, and the sample rate."""
        doc = self._doc
        if doc.result is not None:
            st = doc.result.stems
            return [s.name for s in st], [s.group_id for s in st], [s.audio for s in st], doc.result.sample_rate
        if doc.audio is not None:
            return ["recording"], [None], [doc.audio.samples], doc.audio.sample_rate
        return [], [], [], 0

    def gains(self) -> list[float]:
        """Per-source gains from solo/mute (1 or 0), in the order of ``_sources``."""
        _, ids, _, _ = self._sources()
        soloed = self._solo & set(ids)
        return [0.0 if (g in self._mute or (soloed and g not in soloed)) and g is not None else 1.0 for g in ids]

    # ---- commands -------------------------------------------------------------------------------
    @Slot()
    def toggle_play(self) -> None:
        if not self.available or self._doc.audio is None:
            return
        if self._playing:
            self._player.pause()
            self._set_playing(False)
        else:
            self._start_s = self._position_s
            self._player.play()
            self._set_playing(True)

    @Slot()
    def stop(self) -> None:
        if self.available:
            self._player.stop()
        self._set_playing(False)
        self.seek(self._start_s)

    @Slot()
    def go_home(self) -> None:
        self.seek(0.0)

    @Slot()
    def go_end(self) -> None:
        self.seek(self._duration_s())

    @Slot(float)
    def seek(self, t_s: float) -> None:
        t_s = min(max(0.0, float(t_s)), self._duration_s())
        if self.available:
            self._player.seek(t_s)
        self._start_s = t_s if not self._playing else self._start_s
        self._set_position(t_s)

    @Slot(float, float)
    def set_loop(self, a_s: float, b_s: float) -> None:
        self._loop = (min(a_s, b_s), max(a_s, b_s))
        has = self._loop[1] > self._loop[0]
        if has != self.loop_check.isChecked():
            self.loop_check.setChecked(has)
        else:
            self._apply_loop()

    def set_solo_mute(self, soloed: set[int], muted: set[int]) -> None:
        self._solo, self._mute = set(soloed), set(muted)
        if self.available and self._doc.result is not None:
            self._player.set_gains(self.gains())

    def shutdown(self) -> None:
        self.timer.stop()
        if self._player is not None:
            close = getattr(self._player, "close", None)
            if close is not None:
                close()
        self._playing = False

    # ---- internals ------------------------------------------------------------------------------
    def _apply_loop(self, *_args) -> None:
        if self.available:
            a, b = self._loop
            self._player.set_loop(a, b) if self.loop_check.isChecked() and b > a else self._player.set_loop(None)

    def _reload(self) -> None:
        names, ids, arrays, rate = self._sources()
        was_playing = self._playing
        if self.available and arrays:
            self._player.load(arrays, rate, gains=self.gains())
            if was_playing:
                self._player.seek(self._position_s)
                self._player.play()
        self.source_label.setText("" if not names else
                                  ("Stems" if self._doc.result is not None else "Recording"))
        self._set_position(min(self._position_s, self._duration_s()))
        self._update_enabled()

    def _update_enabled(self) -> None:
        ok = self.available and self._doc.audio is not None
        for w in (self.play_button, self.stop_button, self.home_button, self.loop_check):
            w.setEnabled(ok)
        if not self.available:
            tip = self.reason or "Playback is not available"
            self.play_button.setToolTip(tip)
            self.source_label.setText("No audio output")
            self.source_label.setToolTip(tip)

    def _set_playing(self, on: bool) -> None:
        if on == self._playing:
            return
        self._playing = on
        self.play_button.setIcon(self.style().standardIcon(QStyle.SP_MediaPause if on else QStyle.SP_MediaPlay))
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
        self._set_position(float(self._player.position_s))
        if not self._player.is_playing:
            self._set_playing(False)
