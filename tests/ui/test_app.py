"""Start-up: arguments, the demo on the very first start, files from the command line, the icon."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from stemroll.ui.app import FIRST_START_KEY, app_icon, build_window, parse_args
from stemroll.ui.session import demo_paths


def _build(qtbot, argv, settings):
    win = build_window(parse_args(argv), settings)
    win.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.addWidget(win)
    return win


def test_first_start_opens_the_demo_then_never_again(qtbot, settings):
    win = _build(qtbot, [], settings)
    qtbot.waitUntil(lambda: win.doc.audio is not None, timeout=30000)
    assert win.doc.audio_path == demo_paths()[0] and win.doc.midi_path == demo_paths()[1]
    assert settings.value(FIRST_START_KEY, type=bool)
    win.close()
    again = _build(qtbot, [], settings)
    assert not again.session.load_task.is_running() and again.doc.audio is None
    again.close()


def test_files_on_the_command_line(qtbot, settings, piece):
    win = _build(qtbot, [str(p) for p in piece], settings)
    qtbot.waitUntil(lambda: win.doc.audio is not None, timeout=30000)
    assert win.doc.audio_path == piece[0] and len(win.doc.score) > 0
    assert win.session.recent()[0] == [str(piece[0]), str(piece[1])]
    win.close()


def test_demo_flag_and_icon(qtbot, settings):
    settings.setValue(FIRST_START_KEY, True)
    win = _build(qtbot, ["--demo"], settings)
    qtbot.waitUntil(lambda: win.doc.audio is not None, timeout=30000)
    assert not win.windowIcon().isNull() and not app_icon().isNull()
    assert parse_args(["a.wav", "b.mid"]).files == ["a.wav", "b.mid"]
    win.close()
