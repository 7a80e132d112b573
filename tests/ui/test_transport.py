"""Transport: play/pause/stop/seek/loop and solo/mute reach the player; the playhead follows; no device."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt

from stemroll.core.constraints import RESIDUAL_GROUP
from stemroll.core.params import SeparationParams
from stemroll.core.separation import SeparationResult, Stem
from stemroll.core.spectral import STFTConfig
from stemroll.io.audio import Audio
from stemroll.ui.document import Document
from stemroll.ui.panels.transport import TransportPanel
from tests.ui.conftest import make_window, open_and_wait


class FakePlayer:
    """Follows stemroll.playback.Player's interface; the position runs on the wall clock."""

    def __init__(self, on_stopped):
        self.on_stopped = on_stopped
        self.calls: list = []
        self.stems = []
        self.rate = 0
        self.solo = self.mute = np.zeros(0, bool)
        self.loop = None
        self.last_error = None
        self._t0 = None
        self._pos = 0.0

    def set_stems(self, stems, sample_rate, *, gains=None, solo=None, mute=None):
        self.stems, self.rate = list(stems), sample_rate
        k = len(self.stems)
        self.solo = np.zeros(k, bool) if solo is None else np.asarray(solo)
        self.mute = np.zeros(k, bool) if mute is None else np.asarray(mute)
        self.calls.append(("set_stems", k))

    def set_mixture(self, samples, sample_rate):
        self.set_stems([samples], sample_rate)

    def set_mix(self, *, gains=None, solo=None, mute=None):
        self.solo, self.mute = np.asarray(solo), np.asarray(mute)
        self.calls.append(("set_mix", tuple(self.solo), tuple(self.mute)))

    @property
    def position_s(self):
        return self._pos + (time.monotonic() - self._t0 if self._t0 is not None else 0.0)

    @property
    def is_playing(self):
        return self._t0 is not None

    def play(self):
        self._t0 = time.monotonic()
        self.calls.append(("play",))
        return True

    def pause(self):
        self._pos = self.position_s
        self._t0 = None
        self.calls.append(("pause",))

    def stop(self):
        self._t0 = None
        self._pos = 0.0
        self.calls.append(("stop",))

    def seek(self, t_s):
        self._pos = t_s
        if self._t0 is not None:
            self._t0 = time.monotonic()
        self.calls.append(("seek", round(t_s, 3)))

    def set_loop(self, a, b=None):
        self.loop = (a, b)

    def clear_loop(self):
        self.loop = None

    def close(self):
        self.calls.append(("close",))


def _fake(box):
    def make(on_stopped):
        box.append(FakePlayer(on_stopped))
        return box[-1], None
    return make


def _doc_with_result(n=22050, rate=22050):
    doc = Document()
    doc.set_audio(Audio(np.zeros((1, n), np.float32), rate))
    stems = [Stem("a", 0, np.zeros((1, n), np.float32), 3), Stem("b", 1, np.zeros((1, n), np.float32), 2),
             Stem("residual", RESIDUAL_GROUP, np.zeros((1, n), np.float32), 0)]
    return doc, SeparationResult(stems, rate, [1.0], STFTConfig(), SeparationParams())


def test_mixture_then_stems_with_solo_and_mute(qtbot):
    doc, result = _doc_with_result()
    box = []
    t = TransportPanel(doc, make_player=_fake(box))
    qtbot.addWidget(t)
    player = box[0]
    assert player.calls[-1] == ("set_stems", 1) and t.source_label.text() == "Hearing: recording"
    doc.set_result(result, revision=doc.score.revision)
    assert player.calls[-1] == ("set_stems", 3) and t.source_label.text() == "Hearing: stems"
    t.set_solo_mute({1}, {RESIDUAL_GROUP})
    assert player.calls[-1] == ("set_mix", (False, True, False), (False, False, True))
    assert t.gains() == [0.0, 1.0, 0.0]
    t.set_solo_mute(set(), {0})
    assert t.gains() == [0.0, 1.0, 1.0]


def test_play_polls_position_pause_stop_seek_loop(qtbot):
    doc, _ = _doc_with_result(n=22050 * 4)
    box = []
    t = TransportPanel(doc, make_player=_fake(box))
    qtbot.addWidget(t)
    positions = []
    t.position_changed.connect(positions.append)
    t.seek(1.0)
    qtbot.mouseClick(t.play_button, Qt.LeftButton)
    assert t.playing and t.timer.isActive()
    qtbot.wait(200)
    assert len(positions) >= 3 and positions[-1] > 1.05  # polled at ~30 Hz
    qtbot.mouseClick(t.play_button, Qt.LeftButton)
    assert not t.playing and box[0].calls[-1] == ("pause",)
    qtbot.mouseClick(t.stop_button, Qt.LeftButton)
    assert t.position_s == 1.0  # back to where playing started
    t.set_loop(2.0, 3.0)
    assert t.loop_check.isChecked() and box[0].loop == (2.0, 3.0)
    t.loop_check.setChecked(False)
    assert box[0].loop is None
    t.set_loop(0.0, 0.0)
    assert not t.loop_check.isChecked()
    t.seek(99.0)
    assert t.position_s == 4.0 and t.time_label.text() == "0:04.0 / 0:04.0"


def test_player_stopping_by_itself_is_reported(qtbot):
    doc, _ = _doc_with_result()
    box = []
    t = TransportPanel(doc, make_player=_fake(box))
    qtbot.addWidget(t)
    qtbot.mouseClick(t.play_button, Qt.LeftButton)
    box[0].last_error = "The audio output device stopped."
    with qtbot.waitSignal(t.message, timeout=2000) as blocker:
        box[0].on_stopped("error")  # as PortAudio's thread would
    assert blocker.args == ["The audio output device stopped."]
    assert not t.playing


def test_no_device_disables_the_transport_with_the_reason(qtbot):
    doc, _ = _doc_with_result()
    t = TransportPanel(doc, make_player=lambda cb: (None, "No audio output device was found."))
    qtbot.addWidget(t)
    assert not t.available and not t.play_button.isEnabled()
    assert t.play_button.toolTip() == "No audio output device was found."
    t.toggle_play()
    assert not t.playing


def test_space_plays_and_the_playhead_follows_in_the_window(qtbot, settings, piece):
    box = []
    win = make_window(qtbot, settings, make_player=_fake(box))
    open_and_wait(qtbot, win, piece)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=3000)
    qtbot.keyClick(win, Qt.Key_Space)
    assert win.transport.playing
    qtbot.waitUntil(lambda: win.canvas.playhead() > 0.1, timeout=3000)
    qtbot.keyClick(win, Qt.Key_Space)
    assert not win.transport.playing
    qtbot.keyClick(win, Qt.Key_End)
    assert win.transport.position_s == win.doc.audio.duration_s
    qtbot.keyClick(win, Qt.Key_Home)
    assert win.transport.position_s == 0.0 and win.canvas.playhead() == 0.0
    win.canvas.seek_requested.emit(2.5)
    assert box[0].calls[-1] == ("seek", 2.5)
    win.canvas.loop_changed.emit(1.0, 2.0)
    assert box[0].loop == (1.0, 2.0)
    win.close()
    assert ("close",) in box[0].calls
