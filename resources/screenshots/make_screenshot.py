"""Take the main window's screenshot: the demo opened, separated, the right hand soloed.

    QT_QPA_PLATFORM=offscreen python resources/screenshots/make_screenshot.py [OUT.png] [--passes N]
    xvfb-run -a python resources/screenshots/make_screenshot.py OUT.png      # a real X window

Uses a settings file of its own in a temporary folder (never the user's Open Recent).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=str(Path(__file__).with_name("main_window.png")))
    ap.add_argument("--passes", type=int, default=50)
    ap.add_argument("--size", default="1440x900")
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from stemroll.ui.app import app_icon, apply_style
    from stemroll.ui.main_window import MainWindow

    apply_style(app)
    tmp = tempfile.mkdtemp()
    win = MainWindow(QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat))
    win.setWindowIcon(app_icon())
    w, h = (int(v) for v in args.size.split("x"))
    win.resize(w, h)
    win.show()

    def wait(cond, timeout_s=300.0):
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout_s:
                raise TimeoutError("gave up waiting")
            app.processEvents()
            time.sleep(0.01)

    win.open_demo()
    wait(lambda: win.doc.audio is not None and not win.session.busy())
    win.doc.set_params(replace(win.doc.params, iterations=args.passes))
    win.session.separate()
    wait(lambda: win.doc.result is not None and not win.session.busy())
    right = win.doc.score.groups[0].id
    win.groups_panel.button(right, "solo").click()
    win.transport.seek(12.0)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    win.grab().save(args.out)
    print(f"{args.out}: {win.width()}x{win.height()}, {len(win.doc.result.costs)} passes, "
          f"{win.doc.result.elapsed_s:.1f} s")
    win.doc.mark_saved()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
