"""Screenshots of the teaching window on the bundled demo, for the educators' guide.

    xvfb-run -a python -m stemroll.ui.teaching.screenshots OUT_FOLDER [--size 1440x900] [--editor]

Writes teaching_start.png (the score's constraints, before any update), teaching_step.png (three
single steps), teaching_run.png (while running, slow motion), teaching_compare.png and
teaching_compare_time.png (NMF beside NAE, against iteration, then against engine time with NAE's
matrices) and
teaching_presentation.png (F5, during a run). ``--editor`` opens the demo in the real editor and
the window from it (time axis linked); by default the window observes a document of its own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stemroll.ui.teaching.screenshots")
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", default="1440x900")
    ap.add_argument("--editor", action="store_true", help="open the window from the real editor")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ... import resources_dir
    from ..app import apply_style
    from . import TeachingWindow, open_teaching_window

    apply_style(app)

    def wait(cond, timeout_s: float = 120.0) -> None:
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError("gave up waiting")
            app.processEvents()
            time.sleep(0.005)

    def settle(n: int = 10) -> None:
        for _ in range(n):
            app.processEvents()
            time.sleep(0.01)

    editor = None
    if args.editor:
        from PySide6.QtCore import QSettings

        from ..main_window import MainWindow

        editor = MainWindow(QSettings(str(Path(tempfile.mkdtemp()) / "settings.ini"), QSettings.IniFormat))
        editor.show()
        editor.open_demo()
        wait(lambda: editor.doc.audio is not None and not editor.session.busy())
        win = open_teaching_window(editor)
    else:
        from ...io.audio import load_audio
        from ...io.midi import load_midi
        from ..document import Document

        doc = Document()
        demo = resources_dir() / "demo"
        doc.set_score(load_midi(demo / "demo.mid"))
        doc.set_audio(load_audio(demo / "demo.flac"))
        win = TeachingWindow(doc)
        win.show()
    w, h = (int(v) for v in args.size.split("x"))
    win.resize(w, h)
    wait(lambda: win.prepared is not None and win.controller.state == "ready")
    settle()

    def shot(name: str) -> None:
        settle()
        path = args.out / f"teaching_{name}.png"
        win.grab().save(str(path))
        print(f"{path}: {win.controller.state}, "
              + ", ".join(f"{e} {len(c)} costs" for e, c in (win.last_frame.costs if win.last_frame else {}).items()))

    def costs_of(engine: str) -> int:
        return len(win.last_frame.costs.get(engine, ())) if win.last_frame is not None else 0

    shot("start")
    for i in range(3):
        win.step()
        wait(lambda: costs_of("nmf") == i + 1)
    shot("step")
    win.controls.delay.setValue(60)
    win.run()
    wait(lambda: costs_of("nmf") >= 12)
    shot("run")
    win.pause()
    win.controls.delay.setValue(0)
    win.controls.compare.setChecked(True)
    wait(lambda: win.controller.state == "ready" and win.prepared.engines == ("nmf", "nae"), 30)
    win.run()
    wait(lambda: win.controller.state == "finished", 300)
    shot("compare")
    win.controls.x_mode.setCurrentIndex(win.controls.x_mode.findData("time"))
    win.controls.show_engine.setCurrentIndex(win.controls.show_engine.findData("nae"))
    wait(lambda: win.views.matrices is not None and win.views.matrices.engine == "nae", 30)
    shot("compare_time")
    win.controls.x_mode.setCurrentIndex(0)
    win.controls.compare.setChecked(False)
    wait(lambda: win.controller.state == "ready" and win.prepared.engines == ("nmf",), 30)
    win.set_presentation(True)
    win.controls.delay.setValue(80)
    win.run()
    wait(lambda: costs_of("nmf") >= 20)
    shot("presentation")
    win.close()
    if editor is not None:
        editor.doc.mark_saved()
        editor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
