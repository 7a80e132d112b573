"""Take the alignment screenshot: the demo's score, shifted and stretched on purpose, aligned to its recording.

    QT_QPA_PLATFORM=offscreen python resources/screenshots/make_align_screenshot.py [OUT.png]
    xvfb-run -a python resources/screenshots/make_align_screenshot.py OUT.png      # a real X window

Writes the distorted MIDI copy (10 % slower, 0.8 s late, plus one note that is never played) into a
temporary folder, opens it with demo.flac, runs Align, pins one note, and shows the first doubtful
note. Uses a settings file of its own (never the user's Open Recent).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

STRETCH, SHIFT_S = 1.10, 0.8


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(Path(__file__).with_name("align.png")))
    ap.add_argument("--size", default="1440x900")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from stemroll.core.score import Note, Score
    from stemroll.io.midi import load_midi, save_midi
    from stemroll.ui.app import app_icon, apply_style
    from stemroll.ui.main_window import MainWindow
    from stemroll.ui.session import demo_paths

    tmp = Path(tempfile.mkdtemp(prefix="stemroll_align_"))
    audio, midi = demo_paths()
    score = load_midi(midi)
    notes = [n.evolve(onset_s=n.onset_s * STRETCH + SHIFT_S, offset_s=n.offset_s * STRETCH + SHIFT_S)
             for n in score.notes]
    right = score.groups[0].id
    stray = Note(score.next_note_id(), 80, 9.0, 9.4, 80, right, notes[0].track, notes[0].channel, notes[0].track_name)
    shifted = tmp / "demo_shifted.mid"
    save_midi(Score.from_notes(notes + [stray], score.groups), shifted)

    apply_style(app)
    win = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.IniFormat))
    win.setWindowIcon(app_icon())
    w, h = (int(v) for v in args.size.split("x"))
    win.resize(w, h)
    win.show()

    def wait(cond, timeout_s=120.0):
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError("gave up waiting")
            app.processEvents()
            time.sleep(0.01)

    win.open_paths([audio, shifted])
    wait(lambda: win.doc.audio is not None and len(win.doc.score) and not win.session.busy())
    win.aligner.align()
    wait(lambda: not win.aligner.task.is_running())
    aligned_msg = win.statusBar().currentMessage()
    # Pin a note of the second phrase where it is heard, as a user would after listening.
    pinned = min((n for n in win.doc.score.notes if n.onset_s > 6.0 and n.pitch > 70), key=lambda n: n.onset_s)
    win.canvas.set_selection({pinned.id})
    win.aligner.pin_selected(pinned.onset_s)
    win.canvas.spec_view.setRange(xRange=(4.0, 13.0), yRange=(40.0, 84.0), padding=0.0)
    win.canvas.set_selection(())
    win.transport.seek(9.0)
    win.statusBar().showMessage(aligned_msg, 0)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.02)
    win.grab().save(args.out)
    doubt = [(n, c) for n, c in ((win.doc.score.note(i), c) for i, c in win.doc.confidence().items()) if c < 0.5]
    print(f"{args.out}: {win.width()}x{win.height()}; {aligned_msg}")
    for n, c in sorted(doubt, key=lambda nc: nc[0].onset_s):
        print(f"  doubtful: pitch {n.pitch} at {n.onset_s:.2f} s, confidence {c:.2f}{' (the stray note)' if n.id == stray.id else ''}")
    win.doc.mark_saved()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
