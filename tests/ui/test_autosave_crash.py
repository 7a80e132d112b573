"""Crash recovery with a real crash: the editor runs in its own process on a small project, makes an
edit, autosaves, and is killed with SIGKILL; the next start offers the work and Recover restores it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from stemroll.core.params import SeparationParams
from stemroll.io.project import load_project, save_project
from stemroll.ui.autosave import AUTOSAVE_NAME, ENV_DATA_DIR, LOCK_NAME

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

# The editor as ``stemroll.ui.app.main`` builds it, with a short autosave interval, plus a test hook:
# once the project has opened, delete its first note and report the autosaves on stdout.
EDITOR = textwrap.dedent("""
    import sys
    from pathlib import Path
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from stemroll.core import edits
    from stemroll.ui.app import FIRST_START_KEY, apply_style, build_window, parse_args
    from stemroll.ui.autosave import data_dir

    app = QApplication(["stemroll"])
    app.setOrganizationName("Stemroll")
    app.setApplicationName("Stemroll")
    apply_style(app)
    settings = QSettings(sys.argv[2], QSettings.IniFormat)
    settings.setValue(FIRST_START_KEY, True)
    win = build_window(parse_args([sys.argv[1]]), settings, data_dir=data_dir(), autosave_interval_s=0.2)

    def edit(*_):
        victim = win.doc.score.notes[0].id
        win.doc.push_edit(edits.DeleteNotes((victim,)))
        print("EDITED", victim, flush=True)

    win.session.load_task.finished.connect(edit)
    win.autosaver.saved.connect(lambda path: print("AUTOSAVED", path, flush=True))
    win.show()
    sys.exit(app.exec())
""")


def _read_until(proc, word: str, timeout_s: float) -> list[str]:
    """Lines of the child's stdout up to the first that starts with ``word``."""
    lines = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line.strip())
        if line.startswith(word):
            return lines
    raise AssertionError(f"no {word} from the editor within {timeout_s} s: {lines}; stderr: "
                         f"{proc.stderr.read() if proc.poll() is not None else '(still running)'}")


def test_kill_9_then_recover(qtbot, piece, tmp_path):
    from tests.material import two_hand_score
    from stemroll.io.midi import load_midi

    score = load_midi(piece[1])
    assert len(score) == len(two_hand_score(4).notes)
    project = save_project(tmp_path / "song.stemroll", score, params=SeparationParams(iterations=5),
                           audio_path=piece[0], midi_path=piece[1])
    data = tmp_path / "data"
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **{ENV_DATA_DIR: str(data)})
    proc = subprocess.Popen([sys.executable, str(script), str(project), str(tmp_path / "first.ini")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        edited = _read_until(proc, "EDITED", 90)
        victim = int(edited[-1].split()[1])
        autosaved = _read_until(proc, "AUTOSAVED", 30)
        autosave = Path(autosaved[-1].split(maxsplit=1)[1])
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # What the crash left: the running-session marker and the autosave holding the edit.
    folder = autosave.parent
    assert (folder / LOCK_NAME).exists() and autosave.name == AUTOSAVE_NAME
    assert victim not in load_project(autosave).score
    assert victim in load_project(project).score  # the project file itself was never touched

    # The next start: the offer comes first, nothing is applied until Recover is clicked.
    from stemroll.ui.app import FIRST_START_KEY, build_window, parse_args
    from stemroll.ui.autosave import data_dir

    settings = QSettings(str(tmp_path / "second.ini"), QSettings.IniFormat)
    settings.setValue(FIRST_START_KEY, True)
    os.environ[ENV_DATA_DIR] = str(data)
    try:
        win = build_window(parse_args([]), settings, data_dir=data_dir())
    finally:
        del os.environ[ENV_DATA_DIR]
    win.ask_unsaved = lambda: QMessageBox.Discard
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.recovery_box is not None and win.recovery_box.isVisible(), timeout=5000)
    assert "song.stemroll" in win.recovery_box.text()
    assert len(win.doc.score) == 0
    with qtbot.waitSignal(win.session.recovered, timeout=30000):
        win.recovery_box.recover_button.click()
    doc = win.doc
    assert victim not in doc.score and len(doc.score) == len(score) - 1
    assert doc.project_path == project and doc.dirty and doc.audio is not None
    assert doc.params.iterations == 5
    assert not folder.exists()
    assert win.save()  # Save writes the recovered work into the original project
    assert victim not in load_project(project).score
    win.close()
    assert list((data / "autosave").iterdir()) == []
