"""Fixtures for the main-window tests: private settings, a short synthetic piece, the real window."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from tests.material import synth, two_hand_score, write_midi

RATE = 22050


@pytest.fixture
def settings(tmp_path) -> QSettings:
    """Settings in a file of the test's own (never the user's Open Recent)."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture(scope="session")
def piece(tmp_path_factory) -> tuple[Path, Path]:
    """(audio, midi): 8 s of two synthetic hands at 22.05 kHz, and the score they were made from."""
    folder = tmp_path_factory.mktemp("piece")
    score = two_hand_score(4)
    audio = folder / "piece.wav"
    sf.write(str(audio), synth(score.notes, sample_rate=RATE), RATE, subtype="FLOAT")
    midi = write_midi(score, folder / "piece.mid")
    return audio, midi


def make_window(qtbot, settings, **kw):
    from stemroll.ui.main_window import MainWindow

    win = MainWindow(settings, **kw)
    win.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def window(qtbot, settings):
    """The real main window, shown; closing it never prompts (unsaved edits are discarded)."""
    win = make_window(qtbot, settings)
    yield win
    win.close()


def open_and_wait(qtbot, win, paths, timeout_ms: int = 20000) -> None:
    """Open files in the window and wait until the background load has finished."""
    with qtbot.waitSignal(win.session.load_task.finished, timeout=timeout_ms):
        assert win.open_paths([str(p) for p in paths])
