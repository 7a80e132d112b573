"""``stemroll-gui`` / ``python -m stemroll``: start the editor.

    stemroll-gui [FILES...] [--demo]

FILES are a recording and/or its MIDI file, or a ``.stemroll`` project. With nothing given, the
bundled demo opens on the very first start (and with ``--demo`` at any time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, QSettings, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from .. import __version__, resources_dir
from .document import PALETTE

FIRST_START_KEY = "first_start_done"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="stemroll-gui", description="Stemroll: paint a score's notes into groups "
                                "and separate the recording into one stem per group.")
    p.add_argument("files", nargs="*", help="a recording and/or its MIDI file, or a .stemroll project")
    p.add_argument("--demo", action="store_true", help="open the bundled demo piece")
    p.add_argument("--version", action="version", version=f"Stemroll {__version__}")
    p.add_argument("--smoke-test", metavar="OUT_DIR", type=Path, default=None,
                   help="self-test: open the demo (or FILES), separate, export stems to OUT_DIR, quit")
    p.add_argument("--smoke-iterations", type=int, default=8, help="passes for --smoke-test (default 8)")
    return p.parse_args(argv)


def app_icon() -> QIcon:
    """The application icon: the bundled file when there is one, else a drawn piano-roll."""
    icons = resources_dir() / "icons"
    for name in ("stemroll.svg", "stemroll.png", "stemroll-256.png"):
        if (icons / name).exists():
            return QIcon(str(icons / name))
    icon = QIcon()
    for size in (16, 32, 64, 128, 256):
        pix = QPixmap(size, size)
        pix.fill(Qt.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor("#1d2330"))
        p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.18, size * 0.18)
        bars = ((0.12, 0.22, 0.42), (0.40, 0.40, 0.48), (0.20, 0.58, 0.36), (0.55, 0.74, 0.33))
        for i, (x, y, w) in enumerate(bars):
            p.setBrush(QColor(PALETTE[i % len(PALETTE)]))
            p.drawRoundedRect(QRectF(x * size, y * size, w * size, size * 0.1), size * 0.03, size * 0.03)
        p.end()
        icon.addPixmap(pix)
    return icon


def apply_style(app: QApplication) -> None:
    """Fusion with a dark palette that matches the canvas (the spectrogram reads best on dark)."""
    app.setStyle("Fusion")
    pal = QPalette()
    c = {
        QPalette.Window: "#25282d", QPalette.WindowText: "#e6e6e6", QPalette.Base: "#1c1e22",
        QPalette.AlternateBase: "#23262b", QPalette.ToolTipBase: "#f5f5dc", QPalette.ToolTipText: "#111111",
        QPalette.Text: "#e6e6e6", QPalette.Button: "#33373d", QPalette.ButtonText: "#e6e6e6",
        QPalette.BrightText: "#ff6b6b", QPalette.Link: "#56B4E9", QPalette.Highlight: "#2f6ea3",
        QPalette.HighlightedText: "#ffffff", QPalette.PlaceholderText: "#8a8f98", QPalette.Mid: "#4a4f57",
        QPalette.Dark: "#16181b", QPalette.Light: "#4a4f57", QPalette.Midlight: "#3b3f46",
        QPalette.Shadow: "#0b0c0e",
    }
    for role, colour in c.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        pal.setColor(QPalette.Disabled, role, QColor("#6f747c"))
    pal.setColor(QPalette.Disabled, QPalette.Button, QColor("#2b2e33"))
    app.setPalette(pal)


def build_window(args: argparse.Namespace, settings: QSettings | None = None, *, data_dir=None,
                 autosave_interval_s: float = 60.0):
    """The main window with the requested files (or the demo) starting to open.

    With ``data_dir`` (``ui.autosave.data_dir()`` in the application) the window autosaves there and,
    once the event loop runs, offers to recover the work of a session that crashed.
    """
    from .main_window import MainWindow

    settings = settings if settings is not None else QSettings()
    win = MainWindow(settings, autosave_dir=data_dir, autosave_interval_s=autosave_interval_s)
    win.setWindowIcon(app_icon())
    first = not settings.value(FIRST_START_KEY, False, type=bool)
    settings.setValue(FIRST_START_KEY, True)
    if args.files:
        win.open_paths(args.files)
    elif args.demo or first:
        win.open_demo()
    if data_dir is not None:
        QTimer.singleShot(0, win.offer_recovery)
    return win


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "stemroll"])
    app.setOrganizationName("Stemroll")
    app.setApplicationName("Stemroll")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("stemroll")
    app.setWindowIcon(app_icon())
    apply_style(app)
    if args.smoke_test is not None:
        from PySide6.QtCore import QStandardPaths

        QStandardPaths.setTestModeEnabled(True)  # leave the user's settings and recent files alone
        settings = QSettings(str(args.smoke_test / "smoke-settings.ini"), QSettings.IniFormat)
        if not args.files:
            args.demo = True
        win = build_window(args, settings)
        from .smoke import SmokeTest

        win._smoke = SmokeTest(win, args.smoke_test, iterations=args.smoke_iterations)
    else:
        from .autosave import data_dir

        win = build_window(args, data_dir=data_dir())
    win.show()
    QTimer.singleShot(0, win.canvas.setFocus)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
